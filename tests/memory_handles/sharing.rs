//! Handles and the sharing rules: handle accesses queue behind another
//! client's lock like any probe request and leave that client's AP state
//! alone; a handle is its connection's only and dies with it.

use serde_json::json;

use crate::common::{powered_session, start_server_with_memory_handles, Client};
use crate::support::{
    as_bytes, as_u32, as_words, with_handle, AP_CSW, AP_DRW, AP_TAR, RAM_BASE, SILENCE,
};

/// B's own CSW: word size, single increment, HPROT and MasterType bits
/// (DeviceEn reads as one).
const B_CSW: u32 = 0x2300_0052;

#[test]
fn handle_accesses_wait_for_a_lock_holder_and_leave_its_ap_state_alone() {
    let server = start_server_with_memory_handles();
    let (mut a, handle) = with_handle(server.local_addr());
    let mut b = powered_session(server.local_addr());
    b.ok("lock", json!([]));
    b.ok("write_ap", json!([AP_CSW, B_CSW]));
    b.ok("write_ap", json!([AP_TAR, RAM_BASE + 0x100]));

    let ids = a.pipeline(&[
        (
            "write_block32",
            json!([handle, RAM_BASE + 0x800, [0x1111_1111, 0x2222_2222]]),
        ),
        ("write_mem", json!([handle, RAM_BASE + 0x805, 0x77, 8])),
        ("read_block8", json!([handle, RAM_BASE + 0x803, 4])),
        ("read_mem", json!([handle, RAM_BASE + 0x106, 16])),
    ]);
    a.wait_until_server_has_read();
    a.assert_no_response_within(SILENCE);

    // B goes on streaming through the TAR and CSW it set before A queued.
    b.ok(
        "write_ap_multiple",
        json!([AP_DRW, [0xAAAA_0001u32, 0xBBBB_0002u32]]),
    );
    assert_eq!(as_u32(&b.ok("read_ap", json!([AP_TAR]))), RAM_BASE + 0x108);
    assert_eq!(as_u32(&b.ok("read_ap", json!([AP_CSW]))), B_CSW);
    b.ok("write_ap", json!([AP_DRW, 0xCCCC_0003u32]));
    assert_eq!(as_u32(&b.ok("read_ap", json!([AP_TAR]))), RAM_BASE + 0x10C);
    b.ok("unlock", json!([]));

    a.recv_ok(ids[0]);
    a.recv_ok(ids[1]);
    assert_eq!(as_bytes(&a.recv_ok(ids[2])), [0x11, 0x22, 0x77, 0x22]);
    // B's second word, written while A waited: its upper halfword.
    assert_eq!(as_u32(&a.recv_ok(ids[3])), 0xBBBB);
    let b_words = a.ok("read_block32", json!([handle, RAM_BASE + 0x100, 3]));
    assert_eq!(as_words(&b_words), [0xAAAA_0001, 0xBBBB_0002, 0xCCCC_0003]);
    // A's accesses put CSW back as B left it.
    assert_eq!(as_u32(&b.ok("read_ap", json!([AP_CSW]))), B_CSW);
}

#[test]
fn a_handle_holder_under_its_own_lock_is_not_disturbed_by_another_clients_registers() {
    let server = start_server_with_memory_handles();
    let (mut a, handle) = with_handle(server.local_addr());
    let mut b = powered_session(server.local_addr());
    a.ok("lock", json!([]));
    let b_ids = b.pipeline(&[
        ("write_ap", json!([AP_CSW, 0x0300_0000u32])),
        ("write_ap", json!([AP_TAR, RAM_BASE + 0x804])),
        ("write_ap", json!([AP_DRW, 0xEEu32])),
    ]);
    b.wait_until_server_has_read();
    a.ok("write_block32", json!([handle, RAM_BASE + 0x800, [0, 0]]));
    let words = a.ok("read_block32", json!([handle, RAM_BASE + 0x800, 2]));
    assert_eq!(as_words(&words), [0, 0]);
    b.assert_no_response_within(SILENCE);
    a.ok("unlock", json!([]));
    for id in b_ids {
        b.recv_ok(id);
    }
    // B's byte write, with B's CSW, landed where B's TAR pointed.
    let words = a.ok("read_block32", json!([handle, RAM_BASE + 0x800, 2]));
    assert_eq!(as_words(&words), [0, 0xEE]);
}

#[test]
fn a_handle_is_valid_only_on_its_connection_and_dies_with_it() {
    let server = start_server_with_memory_handles();
    let (mut a, a_handle) = with_handle(server.local_addr());
    let (mut b, b_handle) = with_handle(server.local_addr());
    assert_ne!(a_handle, b_handle);
    let message = b.err("read_mem", json!([a_handle, RAM_BASE, 32]), 1);
    assert_eq!(message, "invalid handle received from remote memory access");
    a.ok("write_mem", json!([a_handle, RAM_BASE, 0x1234_5678, 32]));
    drop(a);

    let mut c = powered_session(server.local_addr());
    let message = c.err("read_mem", json!([a_handle, RAM_BASE, 32]), 1);
    assert_eq!(message, "invalid handle received from remote memory access");
    // B's handle outlives A.
    let word = b.ok("read_mem", json!([b_handle, RAM_BASE, 32]));
    assert_eq!(as_u32(&word), 0x1234_5678);
}

#[test]
fn a_handle_asked_for_before_hello_is_refused_like_everything_else() {
    let server = start_server_with_memory_handles();
    let mut c = Client::connect(server.local_addr());
    let message = c.err("get_memory_interface_for_ap", json!([1, 0]), 1);
    assert_eq!(message, "hello required");
}
