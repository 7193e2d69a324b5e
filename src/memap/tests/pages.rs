//! TAR is written at the start and at every auto-increment page boundary:
//! 1 KiB unless the AP is known to do better.

use crate::memap::MemoryOp;
use crate::probe::OpOutput;
use crate::sim::RAM_BASE;

use super::{pattern, read_block32, read_block8, run, setup, Call, DRW, PLAIN_AHB_AP_IDR, TAR};
use crate::memap::runs::{pages, ByteBlock};

fn words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect()
}

#[test]
fn an_ap_not_known_to_do_better_gets_a_tar_write_at_every_kib() {
    let (mut probe, mut memaps) = setup();
    probe.idr = Some(PLAIN_AHB_AP_IDR);
    let start = RAM_BASE + 0x3F0;
    read_block32(&mut probe, &mut memaps, start, 0x900 / 4);
    assert_eq!(
        probe.writes_to(TAR),
        [start, RAM_BASE + 0x400, RAM_BASE + 0x800, RAM_BASE + 0xC00]
    );
    let runs: Vec<u32> = probe
        .calls
        .iter()
        .filter_map(|c| match c {
            Call::ReadApMultiple(DRW, count) => Some(*count),
            _ => None,
        })
        .collect();
    assert_eq!(runs, [4, 256, 256, 60]);
}

#[test]
fn the_cortex_m_ahb_ap_streams_a_whole_4_kib_page_per_tar_write() {
    let (mut probe, mut memaps) = setup();
    let start = RAM_BASE + 0xFF0;
    let data = pattern(0x1800, 9);
    let op = MemoryOp::WriteBlock32 {
        addr: start,
        data: words(&data),
    };
    assert_eq!(run(&mut probe, &mut memaps, op), Ok(OpOutput::Done));
    assert_eq!(
        probe.writes_to(TAR),
        [start, RAM_BASE + 0x1000, RAM_BASE + 0x2000]
    );
    assert_eq!(probe.bus_bytes(start, 0x1800), data);
}

#[test]
fn word_blocks_across_kib_and_4_kib_boundaries_read_back_what_was_written() {
    for idr in [None, Some(PLAIN_AHB_AP_IDR)] {
        let (mut probe, mut memaps) = setup();
        probe.idr = idr;
        let start = RAM_BASE + 0x2F00;
        let data = pattern(0x2400, 21);
        probe.bus_fill(start, &data);
        assert_eq!(
            read_block32(&mut probe, &mut memaps, start, 0x900),
            words(&data),
            "IDR {idr:x?}"
        );
    }
}

#[test]
fn byte_blocks_across_page_boundaries_keep_every_byte() {
    let (mut probe, mut memaps) = setup();
    let start = RAM_BASE + 0x0FFD;
    let data = pattern(0x1409, 33);
    let op = MemoryOp::WriteBlock8 {
        addr: start,
        data: data.clone(),
    };
    assert_eq!(run(&mut probe, &mut memaps, op), Ok(OpOutput::Done));
    assert_eq!(probe.bus_bytes(start, data.len() as u32), data);
    assert_eq!(
        read_block8(&mut probe, &mut memaps, start, data.len() as u32),
        data
    );
}

#[test]
fn pages_split_a_range_at_page_multiples() {
    let split: Vec<(u32, u32)> = pages(0x3F8, 0x810, 0x400).collect();
    assert_eq!(
        split,
        [(0x3F8, 8), (0x400, 0x400), (0x800, 0x400), (0xC00, 8)]
    );
    let to_the_top: Vec<(u32, u32)> = pages(0xFFFF_FC00, 0x400, 0x400).collect();
    assert_eq!(to_the_top, [(0xFFFF_FC00, 0x400)]);
    assert_eq!(pages(0x1000, 0, 0x400).count(), 0);
}

#[test]
fn byte_blocks_split_into_head_words_and_tail() {
    let split = |addr, count| {
        let b = ByteBlock::split(addr, count);
        (b.head, b.words, b.tail)
    };
    assert_eq!(split(0x1000, 8), (0, 2, 0));
    assert_eq!(split(0x1001, 2), (2, 0, 0));
    assert_eq!(split(0x1003, 2), (1, 0, 1));
    assert_eq!(split(0x1002, 9), (2, 1, 3));
    assert_eq!(split(0x1001, 0), (0, 0, 0));
}
