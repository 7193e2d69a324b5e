//! CSW: attribute bits kept, the register put back as found, read once and
//! remembered until something may have changed it, narrow sizes checked.

use crate::memap::MemoryOp;
use crate::probe::{Op, OpOutput, ProbeError, ProtocolRequest};
use crate::sim::RAM_BASE;

use super::{read_block32, read_mem, run, setup, CSW};

/// MasterType debugger (bit 29); HPROT cacheable, privileged, data; byte
/// size, no increment (DeviceEn reads as one).
const CLIENT_CSW: u32 = 0x2B00_0040;

#[test]
fn attribute_bits_are_kept_and_csw_is_put_back_as_the_client_left_it() {
    let (mut probe, mut memaps) = setup();
    probe.sim.write_ap(CSW, CLIENT_CSW).unwrap();
    let op = MemoryOp::WriteBlock32 {
        addr: RAM_BASE,
        data: vec![1, 2, 3],
    };
    assert_eq!(run(&mut probe, &mut memaps, op), Ok(OpOutput::Done));
    // The transfers ran with the client's attributes, word size, increment.
    assert_eq!(probe.writes_to(CSW), [CLIENT_CSW | 0x12, CLIENT_CSW]);
    assert_eq!(probe.csw_now(), CLIENT_CSW);
    assert_eq!(read_mem(&mut probe, &mut memaps, RAM_BASE + 1, 8), 0);
    assert_eq!(probe.csw_now(), CLIENT_CSW);
}

#[test]
fn csw_already_right_for_the_access_is_not_put_back() {
    let (mut probe, mut memaps) = setup();
    probe.sim.write_ap(CSW, 0x2300_0052).unwrap();
    read_block32(&mut probe, &mut memaps, RAM_BASE, 2);
    assert_eq!(probe.writes_to(CSW), [0x2300_0052]);
}

#[test]
fn csw_is_read_once_and_remembered_between_accesses() {
    let (mut probe, mut memaps) = setup();
    for _ in 0..3 {
        read_mem(&mut probe, &mut memaps, RAM_BASE, 32);
    }
    assert_eq!(probe.reads_of(CSW), 1);
}

#[test]
fn a_client_csw_write_makes_the_next_access_read_csw_again() {
    let (mut probe, mut memaps) = setup();
    read_mem(&mut probe, &mut memaps, RAM_BASE, 32);
    memaps.observe(&Op::WriteAp {
        addr: CSW,
        value: CLIENT_CSW,
    });
    probe.sim.write_ap(CSW, CLIENT_CSW).unwrap();
    read_mem(&mut probe, &mut memaps, RAM_BASE, 32);
    assert_eq!(probe.reads_of(CSW), 2);
    assert_eq!(probe.writes_to(CSW).last(), Some(&CLIENT_CSW));
}

#[test]
fn writes_to_other_registers_and_other_aps_keep_csw_remembered() {
    let (mut probe, mut memaps) = setup();
    read_mem(&mut probe, &mut memaps, RAM_BASE, 32);
    for op in [
        Op::WriteAp {
            addr: 0x04,
            value: 0,
        },
        Op::WriteAp {
            addr: 0x0100_0000,
            value: 0,
        },
        Op::WriteApMultiple {
            addr: 0x0C,
            values: vec![0],
        },
        Op::WriteDp {
            addr: 0x8,
            value: 0,
        },
        Op::WriteDp {
            addr: 0x0,
            value: 0x1E,
        },
        Op::ReadAp(CSW),
        Op::Flush,
    ] {
        memaps.observe(&op);
    }
    read_mem(&mut probe, &mut memaps, RAM_BASE, 32);
    assert_eq!(probe.reads_of(CSW), 1);
}

#[test]
fn resets_sequences_and_power_writes_make_csw_read_again() {
    for op in [
        Op::Reset,
        Op::AssertReset(true),
        Op::SwjSequence {
            bit_count: 8,
            bits: vec![0xFF],
        },
        Op::SwdSequence(vec![]),
        Op::WriteDp {
            addr: 0x4,
            value: 0,
        },
    ] {
        let (mut probe, mut memaps) = setup();
        read_mem(&mut probe, &mut memaps, RAM_BASE, 32);
        memaps.observe(&op);
        read_mem(&mut probe, &mut memaps, RAM_BASE, 32);
        assert_eq!(probe.reads_of(CSW), 2, "after {op:?}");
        assert_eq!(probe.reads_of(0xFC), 1, "after {op:?}");
    }
}

#[test]
fn a_new_connection_makes_the_ap_identified_again() {
    let (mut probe, mut memaps) = setup();
    read_mem(&mut probe, &mut memaps, RAM_BASE, 32);
    memaps.observe(&Op::Connect(ProtocolRequest::Default));
    read_mem(&mut probe, &mut memaps, RAM_BASE, 32);
    assert_eq!(probe.reads_of(0xFC), 2);
    assert_eq!(probe.reads_of(CSW), 2);
}

#[test]
fn a_narrow_size_is_checked_once_per_ap() {
    let (mut probe, mut memaps) = setup();
    for _ in 0..3 {
        read_mem(&mut probe, &mut memaps, RAM_BASE + 1, 8);
        read_mem(&mut probe, &mut memaps, RAM_BASE + 2, 16);
    }
    // The first read learns CSW; one read-back for bytes, one for halfwords.
    assert_eq!(probe.reads_of(CSW), 3);
}

#[test]
fn an_ap_that_moves_only_words_refuses_narrow_accesses_and_keeps_memory() {
    let (mut probe, mut memaps) = setup();
    probe.words_only = true;
    probe.bus_fill(RAM_BASE, &[0x11, 0x22, 0x33, 0x44]);
    for _ in 0..2 {
        let op = MemoryOp::Write {
            addr: RAM_BASE + 1,
            value: 0xAA,
            size: 8,
        };
        let result = run(&mut probe, &mut memaps, op);
        assert!(
            matches!(&result, Err(ProbeError::Transfer(m)) if m.contains("8-bit transfers are not supported")),
            "{result:?}"
        );
    }
    assert_eq!(probe.bus_bytes(RAM_BASE, 4), [0x11, 0x22, 0x33, 0x44]);
    let op = MemoryOp::WriteBlock8 {
        addr: RAM_BASE + 1,
        data: vec![1, 2, 3, 4, 5],
    };
    assert!(run(&mut probe, &mut memaps, op).is_err());
    assert_eq!(probe.bus_bytes(RAM_BASE, 4), [0x11, 0x22, 0x33, 0x44]);
    // Words still work.
    assert_eq!(read_mem(&mut probe, &mut memaps, RAM_BASE, 32), 0x4433_2211);
}
