//! Every size, alignment and length reaches exactly the bytes it names.

use crate::memap::MemoryOp;
use crate::probe::{OpOutput, ProbeError};
use crate::sim::RAM_BASE;

use super::{pattern, read_block8, read_mem, run, setup, Call, CSW, DRW};

#[test]
fn single_writes_of_every_size_and_alignment_change_only_their_bytes() {
    for (size, bytes) in [(8u8, 1u32), (16, 2), (32, 4)] {
        for offset in (0..8).step_by(bytes as usize) {
            let (mut probe, mut memaps) = setup();
            let base = RAM_BASE + 0x100;
            let before = pattern(16, 7);
            probe.bus_fill(base, &before);
            let value = 0xA1B2_C3D4u32 & (u32::MAX >> (32 - 8 * bytes));
            let op = MemoryOp::Write {
                addr: base + offset,
                value,
                size,
            };
            assert_eq!(run(&mut probe, &mut memaps, op), Ok(OpOutput::Done));
            let mut expected = before.clone();
            let at = offset as usize;
            expected[at..at + bytes as usize]
                .copy_from_slice(&value.to_le_bytes()[..bytes as usize]);
            assert_eq!(
                probe.bus_bytes(base, 16),
                expected,
                "{size}-bit write at +{offset}"
            );
        }
    }
}

#[test]
fn single_reads_of_every_size_and_alignment_return_their_bytes() {
    let (mut probe, mut memaps) = setup();
    let base = RAM_BASE + 0x200;
    let bytes = pattern(8, 3);
    probe.bus_fill(base, &bytes);
    for (size, width) in [(8u8, 1usize), (16, 2), (32, 4)] {
        for offset in (0..8).step_by(width) {
            let mut expected = [0u8; 4];
            expected[..width].copy_from_slice(&bytes[offset..offset + width]);
            assert_eq!(
                read_mem(&mut probe, &mut memaps, base + offset as u32, size),
                u32::from_le_bytes(expected),
                "{size}-bit read at +{offset}"
            );
        }
    }
}

#[test]
fn byte_blocks_of_every_start_and_length_write_exactly_their_bytes() {
    let base = RAM_BASE + 0x400;
    for start in 0..4u32 {
        for len in 0..14u32 {
            let (mut probe, mut memaps) = setup();
            let around = pattern(32, 11);
            probe.bus_fill(base, &around);
            let data = pattern(len as usize, 100 + len as u8)
                .iter()
                .map(|b| !b)
                .collect::<Vec<u8>>();
            let op = MemoryOp::WriteBlock8 {
                addr: base + 8 + start,
                data: data.clone(),
            };
            assert_eq!(run(&mut probe, &mut memaps, op), Ok(OpOutput::Done));
            let mut expected = around.clone();
            let at = (8 + start) as usize;
            expected[at..at + len as usize].copy_from_slice(&data);
            assert_eq!(
                probe.bus_bytes(base, 32),
                expected,
                "write_block8 at +{start}, {len} bytes"
            );
        }
    }
}

#[test]
fn byte_blocks_of_every_start_and_length_read_exactly_their_bytes() {
    let (mut probe, mut memaps) = setup();
    let base = RAM_BASE + 0x800;
    let memory = pattern(32, 5);
    probe.bus_fill(base, &memory);
    for start in 0..4u32 {
        for len in 0..14u32 {
            let at = (8 + start) as usize;
            assert_eq!(
                read_block8(&mut probe, &mut memaps, base + 8 + start, len),
                memory[at..at + len as usize],
                "read_block8 at +{start}, {len} bytes"
            );
        }
    }
}

#[test]
fn a_byte_block_moves_only_its_unaligned_head_and_tail_as_bytes() {
    let (mut probe, mut memaps) = setup();
    let addr = RAM_BASE + 0x1001;
    let data: Vec<u8> = (1..=13).collect();
    let op = MemoryOp::WriteBlock8 { addr, data };
    assert_eq!(run(&mut probe, &mut memaps, op), Ok(OpOutput::Done));
    let runs: Vec<&Call> = probe
        .calls
        .iter()
        .filter(|c| matches!(c, Call::WriteApMultiple(DRW, _)))
        .collect();
    // Head: 3 bytes in lanes 1..3; middle: 2 words; tail: 2 bytes in lanes 0..1.
    assert_eq!(
        runs,
        [
            &Call::WriteApMultiple(DRW, vec![1 << 8, 2 << 16, 3 << 24]),
            &Call::WriteApMultiple(DRW, vec![0x0706_0504, 0x0B0A_0908]),
            &Call::WriteApMultiple(DRW, vec![12, 13 << 8]),
        ]
    );
    let sizes: Vec<u32> = probe.writes_to(CSW).iter().map(|csw| csw & 0b111).collect();
    // Byte, word, byte, then CSW put back as found (byte size at reset).
    assert_eq!(sizes, [0, 2, 0, 0]);
}

#[test]
fn a_byte_block_without_a_whole_word_never_switches_to_word_size() {
    for (addr, len) in [(RAM_BASE + 0x1001, 2u32), (RAM_BASE + 0x1003, 3)] {
        let (mut probe, mut memaps) = setup();
        read_block8(&mut probe, &mut memaps, addr, len);
        let op = MemoryOp::WriteBlock8 {
            addr,
            data: vec![9; len as usize],
        };
        assert_eq!(run(&mut probe, &mut memaps, op), Ok(OpOutput::Done));
        let word_size_writes = probe
            .writes_to(CSW)
            .iter()
            .filter(|csw| *csw & 0b111 == 2)
            .count();
        assert_eq!(word_size_writes, 0, "{len} bytes at {addr:#x}");
    }
}

#[test]
fn empty_blocks_are_answered_without_touching_the_probe() {
    let (mut probe, mut memaps) = setup();
    let ops = [
        (
            MemoryOp::ReadBlock32 {
                addr: RAM_BASE,
                count: 0,
            },
            OpOutput::Words(vec![]),
        ),
        (
            MemoryOp::ReadBlock8 {
                addr: RAM_BASE,
                count: 0,
            },
            OpOutput::Bytes(vec![]),
        ),
        (
            MemoryOp::WriteBlock32 {
                addr: RAM_BASE,
                data: vec![],
            },
            OpOutput::Done,
        ),
        (
            MemoryOp::WriteBlock8 {
                addr: RAM_BASE + 1,
                data: vec![],
            },
            OpOutput::Done,
        ),
    ];
    for (op, output) in ops {
        assert_eq!(run(&mut probe, &mut memaps, op), Ok(output));
    }
    assert_eq!(probe.calls, []);
}

#[test]
fn impossible_accesses_are_refused_before_touching_the_probe() {
    let (mut probe, mut memaps) = setup();
    let ops = [
        MemoryOp::Read {
            addr: RAM_BASE + 1,
            size: 16,
        },
        MemoryOp::Read {
            addr: RAM_BASE + 2,
            size: 32,
        },
        MemoryOp::Write {
            addr: RAM_BASE,
            value: 0,
            size: 12,
        },
        MemoryOp::ReadBlock32 {
            addr: RAM_BASE + 2,
            count: 1,
        },
        MemoryOp::ReadBlock32 {
            addr: 0xFFFF_FFF0,
            count: 5,
        },
        MemoryOp::WriteBlock32 {
            addr: 0xFFFF_FFF8,
            data: vec![1, 2, 3],
        },
        MemoryOp::WriteBlock8 {
            addr: 0xFFFF_FFFF,
            data: vec![1, 2],
        },
    ];
    for op in ops {
        let result = run(&mut probe, &mut memaps, op.clone());
        assert!(
            matches!(result, Err(ProbeError::InvalidArgument(_))),
            "{op:?}: {result:?}"
        );
    }
    assert_eq!(probe.calls, []);
}

#[test]
fn the_last_bytes_of_the_address_space_are_within_reach() {
    let (mut probe, mut memaps) = setup();
    // Nothing is mapped there on the sim: the access is made, and faults.
    let op = MemoryOp::ReadBlock8 {
        addr: 0xFFFF_FFFE,
        count: 2,
    };
    assert!(matches!(
        run(&mut probe, &mut memaps, op),
        Err(ProbeError::TransferFault(_))
    ));
}
