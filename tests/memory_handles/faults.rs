//! A block running off the end of RAM stops at the boundary with status 12
//! (FAULT), with everything before it done; the server clears the sticky
//! error its own transfers set, so the next request of any client works.

use serde_json::json;

use crate::common::{powered_session, start_server_with_memory_handles};
use crate::support::{
    ap_fill, ap_read_bytes, ap_read_words, as_u32, sticky_flags, with_handle, AP_CSW, AP_DRW,
    AP_TAR, CSW_WORD_INCREMENT, RAM_END,
};

#[test]
fn a_word_block_faulting_at_its_first_middle_or_last_word_writes_every_word_before() {
    let server = start_server_with_memory_handles();
    let (mut c, handle) = with_handle(server.local_addr());
    let block = [0xA0A0_A0A0u32, 0xB1B1_B1B1, 0xC2C2_C2C2, 0xD3D3_D3D3];
    for words_in_ram in [0usize, 2, 3] {
        ap_fill(&mut c, RAM_END - 16, &[0x5A; 16]);
        let start = RAM_END - 4 * words_in_ram as u32;
        let message = c.err("write_block32", json!([handle, start, block]), 12);
        assert!(message.contains("FAULT"), "{message}");
        let mut expected = vec![0x5A5A_5A5A; 4 - words_in_ram];
        expected.extend_from_slice(&block[..words_in_ram]);
        assert_eq!(
            ap_read_words(&mut c, RAM_END - 16, 4),
            expected,
            "{words_in_ram} words before the end of RAM"
        );
    }
}

#[test]
fn a_byte_block_faults_at_the_boundary_with_its_bytes_before_written() {
    let server = start_server_with_memory_handles();
    let (mut c, handle) = with_handle(server.local_addr());
    ap_fill(&mut c, RAM_END - 8, &[0; 8]);
    c.err(
        "write_block8",
        json!([handle, RAM_END - 6, [1, 2, 3, 4, 5, 6, 7, 8, 9]]),
        12,
    );
    assert_eq!(
        ap_read_bytes(&mut c, RAM_END - 8, 8),
        [0, 0, 1, 2, 3, 4, 5, 6]
    );
}

#[test]
fn reads_past_the_end_of_ram_fault_and_the_next_read_works() {
    let server = start_server_with_memory_handles();
    let (mut c, handle) = with_handle(server.local_addr());
    ap_fill(&mut c, RAM_END - 4, &[1, 2, 3, 4]);
    for (request, arguments) in [
        ("read_block32", json!([handle, RAM_END - 8, 4])),
        ("read_block8", json!([handle, RAM_END - 3, 6])),
        ("read_mem", json!([handle, RAM_END, 32])),
        ("read_mem", json!([handle, RAM_END + 2, 16])),
    ] {
        c.err(request, arguments.clone(), 12);
        assert_eq!(sticky_flags(&mut c), 0, "{request} {arguments}");
        let word = c.ok("read_mem", json!([handle, RAM_END - 4, 32]));
        assert_eq!(as_u32(&word), 0x0403_0201, "after {request} {arguments}");
    }
}

#[test]
fn after_a_handle_fault_another_client_finds_the_debug_port_clean() {
    let server = start_server_with_memory_handles();
    let (mut a, handle) = with_handle(server.local_addr());
    let mut b = powered_session(server.local_addr());
    a.err("write_block32", json!([handle, RAM_END - 4, [1, 2]]), 12);
    // B drives the AP itself, clearing nothing first.
    b.ok("write_ap", json!([AP_CSW, CSW_WORD_INCREMENT]));
    b.ok("write_ap", json!([AP_TAR, RAM_END - 4]));
    assert_eq!(as_u32(&b.ok("read_ap", json!([AP_DRW]))), 1);
    assert_eq!(sticky_flags(&mut b), 0);
}
