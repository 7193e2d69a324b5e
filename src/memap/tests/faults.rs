//! A failed transfer stops the access where it failed, reaches the caller
//! with its kind, and leaves the debug port clean for whoever comes next.

use crate::cmsis_dap::probe::TRANSFER_CONFIGURATION;
use crate::memap::MemoryOp;
use crate::probe::{ApAddress, OpOutput, ProbeError, WireProtocol};
use crate::sim::dp::{DP_CTRL_STAT, STICKY_FLAGS};
use crate::sim::RAM_BASE;

use super::{pattern, read_mem, run, setup, Call, Recorder, AP0, CSW, RAM_END};
use crate::memap::MemAps;

fn sticky_flags(probe: &mut Recorder) -> u32 {
    probe.sim.read_dp(u32::from(DP_CTRL_STAT)).unwrap() & STICKY_FLAGS
}

fn write_words(
    probe: &mut Recorder,
    memaps: &mut MemAps,
    addr: u32,
    data: &[u32],
) -> Result<OpOutput, ProbeError> {
    let op = MemoryOp::WriteBlock32 {
        addr,
        data: data.to_vec(),
    };
    run(probe, memaps, op)
}

#[test]
fn a_word_block_stops_at_the_fault_with_every_word_before_it_written() {
    // The fault at the first, a middle and the last word of the block.
    for words_in_ram in [0u32, 2, 3] {
        let (mut probe, mut memaps) = setup();
        let start = RAM_END - 4 * words_in_ram;
        let before_start = pattern(16, 1);
        probe.bus_fill(RAM_END - 16, &before_start);
        let result = write_words(
            &mut probe,
            &mut memaps,
            start,
            &[0xA0A0_A0A0, 0xB1B1_B1B1, 0xC2C2_C2C2, 0xD3D3_D3D3],
        );
        assert!(
            matches!(result, Err(ProbeError::TransferFault(_))),
            "{words_in_ram} words in RAM: {result:?}"
        );
        let written: Vec<u8> = [0xA0u8, 0xB1, 0xC2]
            .iter()
            .take(words_in_ram as usize)
            .flat_map(|&b| [b; 4])
            .collect();
        let mut expected = before_start.clone();
        let from = 16 - written.len();
        expected[from..].copy_from_slice(&written);
        assert_eq!(
            probe.bus_bytes(RAM_END - 16, 16),
            expected,
            "{words_in_ram} words in RAM"
        );
        assert_eq!(sticky_flags(&mut probe), 0, "{words_in_ram} words in RAM");
    }
}

#[test]
fn a_read_past_the_end_faults_and_the_next_access_works() {
    let (mut probe, mut memaps) = setup();
    probe.bus_fill(RAM_END - 4, &[1, 2, 3, 4]);
    for op in [
        MemoryOp::ReadBlock32 {
            addr: RAM_END - 8,
            count: 4,
        },
        MemoryOp::ReadBlock8 {
            addr: RAM_END - 3,
            count: 5,
        },
        MemoryOp::Read {
            addr: RAM_END,
            size: 16,
        },
    ] {
        let result = run(&mut probe, &mut memaps, op.clone());
        assert!(
            matches!(result, Err(ProbeError::TransferFault(_))),
            "{op:?}: {result:?}"
        );
        assert_eq!(sticky_flags(&mut probe), 0, "{op:?}");
        assert_eq!(
            read_mem(&mut probe, &mut memaps, RAM_END - 4, 32),
            0x0403_0201
        );
    }
}

#[test]
fn after_a_fault_csw_is_put_back_and_read_anew() {
    let (mut probe, mut memaps) = setup();
    let found = probe.csw_now();
    assert!(write_words(&mut probe, &mut memaps, RAM_END - 4, &[1, 2]).is_err());
    assert_eq!(probe.csw_now(), found);
    read_mem(&mut probe, &mut memaps, RAM_BASE, 32);
    assert_eq!(probe.reads_of(CSW), 2);
}

#[test]
fn a_wait_timeout_aborts_the_transfer_and_clears_the_port() {
    let (mut probe, mut memaps) = setup();
    read_mem(&mut probe, &mut memaps, RAM_BASE, 32);
    // One more WAIT than the probe retries.
    let attempts = 1 + u32::from(TRANSFER_CONFIGURATION.wait_retry);
    probe.target().inject_wait_responses(attempts);
    let result = write_words(&mut probe, &mut memaps, RAM_BASE, &[5]);
    assert!(
        matches!(result, Err(ProbeError::TransferTimeout(_))),
        "{result:?}"
    );
    assert!(probe.calls.contains(&Call::WriteDp(0, 0x1F)));
    assert_eq!(sticky_flags(&mut probe), 0);
    assert_eq!(
        write_words(&mut probe, &mut memaps, RAM_BASE, &[6]),
        Ok(OpOutput::Done)
    );
    assert_eq!(read_mem(&mut probe, &mut memaps, RAM_BASE, 32), 6);
}

#[test]
fn under_jtag_sticky_flags_are_cleared_through_ctrl_stat() {
    let (mut probe, mut memaps) = setup();
    memaps.connected(WireProtocol::Jtag);
    assert!(write_words(&mut probe, &mut memaps, RAM_END, &[1]).is_err());
    let ctrl_stat_writes: Vec<u32> = probe
        .calls
        .iter()
        .filter_map(|c| match c {
            Call::WriteDp(0x4, value) => Some(*value),
            _ => None,
        })
        .collect();
    assert_eq!(ctrl_stat_writes.len(), 1);
    assert_eq!(
        ctrl_stat_writes[0] & 0x32,
        0x32,
        "{:#x}",
        ctrl_stat_writes[0]
    );
    assert!(!probe.calls.iter().any(|c| matches!(c, Call::WriteDp(0, _))));
}

#[test]
fn ap0_is_a_mem_ap_and_an_absent_ap_is_not() {
    let (mut probe, mut memaps) = setup();
    assert_eq!(memaps.identify(&mut probe, AP0), Ok(true));
    assert_eq!(memaps.identify(&mut probe, ApAddress::V1(1)), Ok(false));
    assert_eq!(memaps.identify(&mut probe, ApAddress::V1(255)), Ok(false));
    probe.idr = Some(0x0476_0010); // A JTAG-AP: class 0.
    assert_eq!(memaps.identify(&mut probe, AP0), Ok(false));
}

#[test]
fn identifying_on_an_unpowered_port_faults_and_leaves_it_clean() {
    let (mut probe, mut memaps) = setup();
    probe.sim.write_dp(u32::from(DP_CTRL_STAT), 0).unwrap();
    let result = memaps.identify(&mut probe, AP0);
    assert!(
        matches!(result, Err(ProbeError::TransferFault(_))),
        "{result:?}"
    );
    assert_eq!(sticky_flags(&mut probe), 0);
}
