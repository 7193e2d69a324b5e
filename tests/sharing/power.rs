//! Rule 7: one client cannot power down the others' debug port. A
//! CTRL/STAT write clearing the power-up requests while another client is
//! connected keeps them set; the power-down is applied when the last client
//! leaves. (The virtual target acknowledges power requests at once and
//! faults every AP access without debug power, as hardware does.)

use std::net::SocketAddr;

use serde_json::json;

use crate::common::{start_server, Client};
use crate::support::*;

fn ctrl_stat(client: &mut Client) -> u32 {
    read_dp(client, DP_CTRL_STAT)
}

/// Two powered clients; the first powers down and leaves as pyOCD does,
/// the second keeps working, then leaves in its own way. Afterwards a fresh
/// client, which does not power up, finds the port powered down.
fn power_down_is_deferred_to_the_last_client(leave: impl FnOnce(Client)) {
    let server = start_server();
    let addr = server.local_addr();
    let mut leaver = powered_session(addr);
    let mut stayer = powered_session(addr);

    leaver.ok("write_dp", json!([DP_CTRL_STAT, 0]));
    assert_eq!(read_ap(&mut stayer, AP_IDR), AHB_AP_IDR);
    assert_eq!(ctrl_stat(&mut stayer) & POWER_UP_ACKS, POWER_UP_ACKS);
    leaver.ok("disconnect", json!([]));
    leaver.ok("close", json!([]));
    assert_eq!(read_ap(&mut stayer, AP_IDR), AHB_AP_IDR);

    leave(stayer);
    assert_port_found_powered_down(addr);
}

fn assert_port_found_powered_down(addr: SocketAddr) {
    wait_until_probe_closed(addr);
    let mut fresh = Client::session(addr);
    assert_eq!(ctrl_stat(&mut fresh) & POWER_UP_ACKS, 0);
    fresh.err("read_ap", json!([AP_IDR]), 12);
}

#[test]
fn power_down_waits_for_the_last_client_to_disconnect() {
    power_down_is_deferred_to_the_last_client(|mut stayer| {
        stayer.ok("disconnect", json!([]));
        stayer.ok("close", json!([]));
    });
}

#[test]
fn power_down_waits_for_the_last_client_to_die() {
    power_down_is_deferred_to_the_last_client(kill);
}

#[test]
fn power_down_asked_by_the_longest_staying_client_is_applied_when_it_leaves() {
    let server = start_server();
    let addr = server.local_addr();
    let mut requester = powered_session(addr);
    let mut other = powered_session(addr);
    requester.ok("write_dp", json!([DP_CTRL_STAT, 0]));
    assert_eq!(read_ap(&mut other, AP_IDR), AHB_AP_IDR);
    other.ok("disconnect", json!([]));
    other.ok("close", json!([]));

    requester.ok("disconnect", json!([]));
    requester.ok("close", json!([]));
    assert_port_found_powered_down(addr);
}

#[test]
fn a_client_alone_powers_down_at_once() {
    let server = start_server();
    let mut alone = powered_session(server.local_addr());
    alone.ok("write_dp", json!([DP_CTRL_STAT, 0]));
    assert_eq!(ctrl_stat(&mut alone) & POWER_UP_ACKS, 0);
    alone.err("read_ap", json!([AP_IDR]), 12);
}

/// The control for the tests above: the virtual port keeps its power across
/// sessions, so a port found powered down was powered down on request.
#[test]
fn port_is_not_powered_down_unless_a_client_asked() {
    let server = start_server();
    let addr = server.local_addr();
    let first = powered_session(addr);
    let mut second = powered_session(addr);
    kill(first);
    second.ok("disconnect", json!([]));
    second.ok("close", json!([]));
    wait_until_probe_closed(addr);

    let mut fresh = Client::session(addr);
    assert_eq!(ctrl_stat(&mut fresh) & POWER_UP_ACKS, POWER_UP_ACKS);
    assert_eq!(read_ap(&mut fresh, AP_IDR), AHB_AP_IDR);
}
