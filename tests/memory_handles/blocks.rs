//! Word and byte blocks: across 1 KiB and 4 KiB boundaries, at every start
//! alignment and odd length, byte-exact in both directions.

use serde_json::json;

use crate::common::start_server_with_memory_handles;
use crate::support::{
    ap_fill, ap_read_bytes, ap_read_words, as_bytes, as_words, le_words, pattern, with_handle,
    RAM_BASE,
};

#[test]
fn word_blocks_across_kib_and_4_kib_boundaries_are_written_and_read_intact() {
    let server = start_server_with_memory_handles();
    let (mut c, handle) = with_handle(server.local_addr());
    // 0x3F8..0x1408: crosses four 1 KiB boundaries and one 4 KiB boundary.
    let start = RAM_BASE + 0x0FF8 - 0xC00;
    let words = le_words(&pattern(0x1010, 17));
    c.ok("write_block32", json!([handle, start, words]));
    assert_eq!(ap_read_words(&mut c, start, words.len() as u32), words);

    let other = le_words(&pattern(0x1010, 99));
    crate::support::ap_write_words(&mut c, start, &other);
    let read = c.ok("read_block32", json!([handle, start, other.len()]));
    assert_eq!(as_words(&read), other);
}

#[test]
fn byte_blocks_at_every_alignment_and_odd_length_write_exactly_their_bytes() {
    let server = start_server_with_memory_handles();
    let (mut c, handle) = with_handle(server.local_addr());
    let window = RAM_BASE + 0x2000;
    for start in 0..4u32 {
        for len in [1u32, 2, 3, 5, 7, 9, 13] {
            let around = pattern(32, (start * 16 + len) as u8);
            ap_fill(&mut c, window, &around);
            let data: Vec<u8> = pattern(len as usize, 0x80).iter().map(|b| !b).collect();
            c.ok("write_block8", json!([handle, window + 8 + start, data]));
            let mut expected = around.clone();
            let at = (8 + start) as usize;
            expected[at..at + len as usize].copy_from_slice(&data);
            assert_eq!(
                ap_read_bytes(&mut c, window, 32),
                expected,
                "write_block8 at +{start}, {len} bytes"
            );
        }
    }
}

#[test]
fn byte_blocks_at_every_alignment_and_odd_length_read_exactly_their_bytes() {
    let server = start_server_with_memory_handles();
    let (mut c, handle) = with_handle(server.local_addr());
    let window = RAM_BASE + 0x3000;
    let memory = pattern(32, 0x55);
    ap_fill(&mut c, window, &memory);
    for start in 0..4u32 {
        for len in [0u32, 1, 2, 3, 5, 7, 9, 13] {
            let read = c.ok("read_block8", json!([handle, window + 8 + start, len]));
            let at = (8 + start) as usize;
            assert_eq!(
                as_bytes(&read),
                memory[at..at + len as usize],
                "read_block8 at +{start}, {len} bytes"
            );
        }
    }
}

#[test]
fn an_unaligned_byte_block_across_a_4_kib_boundary_round_trips() {
    let server = start_server_with_memory_handles();
    let (mut c, handle) = with_handle(server.local_addr());
    let start = RAM_BASE + 0x4FF1;
    let data = pattern(0x805, 7);
    c.ok("write_block8", json!([handle, start, data]));
    assert_eq!(ap_read_bytes(&mut c, start, data.len() as u32), data);
    let read = c.ok("read_block8", json!([handle, start, data.len()]));
    assert_eq!(as_bytes(&read), data);
}
