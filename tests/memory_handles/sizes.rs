//! `read_mem` and `write_mem` of every size at every alignment reach
//! exactly their bytes.

use serde_json::json;

use crate::common::{assert_failure, start_server_with_memory_handles};
use crate::support::{ap_fill, ap_read_bytes, as_u32, pattern, with_handle, RAM_BASE};

#[test]
fn write_mem_of_every_size_and_alignment_changes_exactly_its_bytes() {
    let server = start_server_with_memory_handles();
    let (mut c, handle) = with_handle(server.local_addr());
    let window = RAM_BASE + 0x40;
    for (size, width) in [(8u32, 1usize), (16, 2), (32, 4)] {
        for offset in (0..8).step_by(width) {
            let before = pattern(16, offset as u8 + size as u8);
            ap_fill(&mut c, window, &before);
            let value = 0x8C7B_6A59u32 >> (32 - 8 * width as u32);
            let addr = window + 4 + offset as u32;
            c.ok("write_mem", json!([handle, addr, value, size]));
            let mut expected = before.clone();
            expected[4 + offset..4 + offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
            assert_eq!(
                ap_read_bytes(&mut c, window, 16),
                expected,
                "{size}-bit write_mem at +{offset}"
            );
        }
    }
}

#[test]
fn read_mem_of_every_size_and_alignment_returns_exactly_its_bytes() {
    let server = start_server_with_memory_handles();
    let (mut c, handle) = with_handle(server.local_addr());
    let window = RAM_BASE + 0x80;
    let memory = pattern(8, 0x41);
    ap_fill(&mut c, window, &memory);
    for (size, width) in [(8u32, 1usize), (16, 2), (32, 4)] {
        for offset in (0..8).step_by(width) {
            let mut expected = [0u8; 4];
            expected[..width].copy_from_slice(&memory[offset..offset + width]);
            let value = as_u32(&c.ok("read_mem", json!([handle, window + offset as u32, size])));
            assert_eq!(
                value,
                u32::from_le_bytes(expected),
                "{size}-bit read_mem at +{offset}"
            );
        }
    }
}

#[test]
fn a_single_access_not_aligned_to_its_size_is_refused_and_writes_nothing() {
    let server = start_server_with_memory_handles();
    let (mut c, handle) = with_handle(server.local_addr());
    let before = pattern(8, 3);
    ap_fill(&mut c, RAM_BASE, &before);
    for (addr, size) in [(RAM_BASE + 1, 16), (RAM_BASE + 3, 16), (RAM_BASE + 2, 32)] {
        let response = c.call("write_mem", json!([handle, addr, 0, size]));
        assert_failure(&response, 1, "not aligned");
        let response = c.call("read_mem", json!([handle, addr, size]));
        assert_failure(&response, 1, "not aligned");
    }
    assert_eq!(ap_read_bytes(&mut c, RAM_BASE, 8), before);
}
