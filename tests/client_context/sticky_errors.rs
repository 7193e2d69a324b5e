//! Rule 11, sticky errors: a FAULT's sticky flags are the faulting
//! client's. It sees STICKYERR in its CTRL/STAT until it writes ABORT with
//! STKERRCLR, as pyOCD does; no other client sees the flag, and no other
//! client's transfer fails because of it, even if the faulting client
//! leaves without clearing it.

use serde_json::json;

use crate::common::Client;
use crate::steps::*;
use crate::support::*;

const B_WORD: u32 = RAM_BASE + 0x600;

fn fault(client: &mut Client) {
    write_ap(client, AP_TAR, UNMAPPED);
    client.err("read_ap", json!([AP_DRW]), 12);
}

fn sticky(client: &mut Client) -> bool {
    read_dp(client, DP_CTRL_STAT) & STICKYERR != 0
}

/// B's AP transfers succeed and its CTRL/STAT is clean.
fn assert_clean_transfers(b: &mut Client, value: u32, when: &str) {
    let idr = b.call("read_ap", json!([AP_IDR]));
    assert_eq!(idr["status"], 0, "B's AP read {when} failed: {idr}");
    assert_eq!(as_u32(&idr["result"]), AHB_AP_IDR);
    let write = b.call("write_ap", json!([AP_TAR, B_WORD]));
    assert_eq!(write["status"], 0, "B's TAR write {when} failed: {write}");
    b.ok("write_ap", json!([AP_DRW, value]));
    assert_eq!(read_ap(b, AP_DRW), value, "B's word {when}");
    assert!(!sticky(b), "B sees STICKYERR {when}");
}

#[test]
fn a_fault_is_sticky_for_its_client_only() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let mut a = memory_session(addr);
    let mut b = memory_session(addr);

    fault(&mut a);
    for round in 0..3 {
        assert_clean_transfers(&mut b, 0x600D_0000 | round, "after A's fault");
        assert!(sticky(&mut a), "A lost its STICKYERR, round {round}");
    }

    a.ok("write_dp", json!([DP_ABORT, STKERRCLR]));
    assert!(!sticky(&mut a), "A's STICKYERR after its ABORT");
    assert_eq!(read_ap(&mut a, AP_IDR), AHB_AP_IDR);
    assert_clean_transfers(&mut b, 0x600D_00FF, "after A's ABORT");
}

#[test]
fn a_fault_left_uncleared_by_a_client_that_goes_away_is_gone_with_it() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let mut a = memory_session(addr);
    let mut b = memory_session(addr);

    fault(&mut a);
    kill(a);
    crate::common::wait_until("the server to see A gone", || server.status().clients == 1);
    assert_clean_transfers(&mut b, 0x600D_0001, "after A left");
    assert_clean_transfers(&mut b, 0x600D_0002, "the second time");
}
