//! Rule 8: errors stay with their client. A FAULT in one client's transfer
//! is reported to that client only, with status 12; everyone's requests and
//! responses stay paired.
//!
//! What the contract can and cannot promise: the DP is one piece of
//! hardware, so a fault's sticky flag (CTRL/STAT.STICKYERR) is shared state.
//! On the virtual target, as on real ones, every AP access of *any* client
//! faults until someone writes ABORT. The contract leaves clearing it to the
//! client that caused it (as pyOCD does, inside the `lock` it wraps every AP
//! access in), so the server neither hides the flag from that client nor
//! clears it behind its back; what it does promise is that the failure is
//! answered to the client that caused it, and that other clients' queued
//! work runs and is answered as its own, not as part of the failed batch.

use serde_json::json;

use crate::common::{start_server, Client};
use crate::support::*;

/// A powered session with the AP set to 32-bit transfers.
fn memory_session(addr: std::net::SocketAddr) -> Client {
    let mut client = powered_session(addr);
    write_ap(&mut client, AP_CSW, CSW_WORD);
    client
}

#[test]
fn a_fault_is_answered_to_its_client_and_the_pairing_holds_for_all() {
    let server = start_server();
    let addr = server.local_addr();
    let mut failing = memory_session(addr);
    let mut bystander = Client::session(addr);

    let failing_ids = failing.pipeline(&[
        ("write_ap", json!([AP_TAR, UNMAPPED])),
        ("read_ap", json!([AP_DRW])),
        // Refused for the sticky flag the fault set.
        ("read_ap", json!([AP_IDR])),
        ("read_dp", json!([DP_CTRL_STAT])),
        ("write_dp", json!([DP_ABORT, STKERRCLR])),
        ("read_ap", json!([AP_IDR])),
        // TAR still names the faulting address.
        ("read_ap", json!([AP_TAR])),
    ]);
    let bystander_ids = bystander.pipeline(&vec![("read_dp", json!([DP_IDR])); 50]);

    failing.recv_ok(failing_ids[0]);
    failing.recv_status(failing_ids[1], 12);
    failing.recv_status(failing_ids[2], 12);
    let ctrl_stat = as_u32(&failing.recv_ok(failing_ids[3]));
    assert_ne!(ctrl_stat & STICKYERR, 0, "{ctrl_stat:#x}");
    failing.recv_ok(failing_ids[4]);
    assert_eq!(as_u32(&failing.recv_ok(failing_ids[5])), AHB_AP_IDR);
    assert_eq!(as_u32(&failing.recv_ok(failing_ids[6])), UNMAPPED);

    for id in bystander_ids {
        assert_eq!(as_u32(&bystander.recv_ok(id)), DPIDR_VALUE);
    }
}

#[test]
fn work_queued_behind_a_faulting_lock_holder_runs_cleanly() {
    let server = start_server();
    let addr = server.local_addr();
    let mut failing = memory_session(addr);
    let mut waiter = Client::session(addr);
    failing.ok("lock", json!([]));
    write_ap(&mut failing, AP_TAR, UNMAPPED);

    let waiting = waiter.pipeline(&[
        ("read_ap", json!([AP_IDR])),
        ("write_ap", json!([AP_TAR, RAM_BASE])),
        ("write_ap", json!([AP_DRW, 0x1234_5678])),
        ("read_ap", json!([AP_DRW])),
    ]);
    waiter.wait_until_server_has_read();

    // pyOCD's way: the fault, its check of CTRL/STAT, its ABORT, all under
    // the lock.
    failing.err("read_ap", json!([AP_DRW]), 12);
    assert_ne!(read_dp(&mut failing, DP_CTRL_STAT) & STICKYERR, 0);
    failing.ok("write_dp", json!([DP_ABORT, STKERRCLR]));
    failing.ok("unlock", json!([]));

    assert_eq!(as_u32(&waiter.recv_ok(waiting[0])), AHB_AP_IDR);
    waiter.recv_ok(waiting[1]);
    waiter.recv_ok(waiting[2]);
    assert_eq!(as_u32(&waiter.recv_ok(waiting[3])), 0x1234_5678);
}

#[test]
fn sticky_error_is_left_for_its_client_to_find_and_clear() {
    let server = start_server();
    let addr = server.local_addr();
    let mut failing = memory_session(addr);
    let mut bystander = Client::session(addr);
    write_ap(&mut failing, AP_TAR, UNMAPPED);
    failing.err("read_ap", json!([AP_DRW]), 12);

    // Another client's DP work goes on and does not wipe the evidence.
    for _ in 0..10 {
        assert_eq!(read_dp(&mut bystander, DP_IDR), DPIDR_VALUE);
    }
    let ctrl_stat = read_dp(&mut failing, DP_CTRL_STAT);
    assert_ne!(ctrl_stat & STICKYERR, 0, "{ctrl_stat:#x}");

    failing.ok("write_dp", json!([DP_ABORT, STKERRCLR]));
    assert_eq!(read_dp(&mut failing, DP_CTRL_STAT) & STICKYERR, 0);
    assert_eq!(read_ap(&mut bystander, AP_IDR), AHB_AP_IDR);
}
