//! Rules 2 and 3: `open`/`close` and `connect`/`disconnect` are counted
//! over all clients; the first `connect` chooses the wire protocol.

use serde_json::{json, Value};

use crate::common::{start_server, Client};
use crate::support::*;

#[test]
fn probe_stays_open_until_the_last_client_closes() {
    let server = start_server();
    let addr = server.local_addr();
    let mut first = Client::hello(addr);
    let mut second = Client::hello(addr);
    first.ok("open", json!([]));
    second.ok("open", json!([]));
    second.ok("connect", json!(["SWD"]));

    first.ok("close", json!([]));
    assert_eq!(read_dp(&mut second, DP_IDR), DPIDR_VALUE);

    second.ok("disconnect", json!([]));
    second.ok("close", json!([]));
    let mut fresh = Client::hello(addr);
    assert_eq!(wire_protocol(&mut fresh), Value::Null);
    assert_eq!(fresh.err("read_dp", json!([DP_IDR]), 3), NOT_OPEN);
}

#[test]
fn one_client_opening_twice_needs_two_closes() {
    let server = start_server();
    let mut client = Client::hello(server.local_addr());
    client.ok("open", json!([]));
    client.ok("open", json!([]));
    client.ok("close", json!([]));
    client.ok("connect", json!(["SWD"]));
    assert_eq!(read_dp(&mut client, DP_IDR), DPIDR_VALUE);
    client.ok("close", json!([]));
    assert_eq!(client.err("read_dp", json!([DP_IDR]), 3), NOT_OPEN);
}

#[test]
fn close_without_open_is_refused_and_changes_nothing() {
    let server = start_server();
    let addr = server.local_addr();
    let mut opener = Client::session(addr);
    let mut stranger = Client::hello(addr);

    // The opener's single reference is the last one: had the stranger's
    // close taken it, the probe would be closed now.
    for _ in 0..2 {
        assert_eq!(
            stranger.err("close", json!([]), 1),
            "close by a client that has not opened the probe"
        );
    }
    assert_eq!(read_dp(&mut opener, DP_IDR), DPIDR_VALUE);

    // Closing more often than opened is the same refusal.
    opener.ok("close", json!([]));
    opener.err("close", json!([]), 1);
}

#[test]
fn first_connect_chooses_and_later_matching_connects_only_count() {
    let server = start_server();
    let addr = server.local_addr();
    let mut chooser = Client::hello(addr);
    chooser.ok("open", json!([]));
    chooser.ok("connect", json!(["DEFAULT"]));
    assert_eq!(wire_protocol(&mut chooser), json!("SWD"));

    let mut same = Client::hello(addr);
    same.ok("open", json!([]));
    same.ok("connect", json!(["SWD"]));
    let mut default = Client::hello(addr);
    default.ok("open", json!([]));
    default.ok("connect", json!(["DEFAULT"]));

    let mut conflicting = Client::hello(addr);
    conflicting.ok("open", json!([]));
    assert_eq!(
        conflicting.err("connect", json!(["JTAG"]), 3),
        "probe already connected using SWD protocol"
    );
    // The refused connect holds nothing, so it cannot take the wire down.
    conflicting.call("disconnect", json!([]));
    assert_eq!(wire_protocol(&mut conflicting), json!("SWD"));

    // The wire goes down with the last of the three counted connects.
    chooser.ok("disconnect", json!([]));
    same.ok("disconnect", json!([]));
    assert_eq!(wire_protocol(&mut conflicting), json!("SWD"));
    assert_eq!(read_dp(&mut default, DP_IDR), DPIDR_VALUE);
    default.ok("disconnect", json!([]));
    assert_eq!(wire_protocol(&mut conflicting), Value::Null);
    assert_eq!(
        default.err("read_dp", json!([DP_IDR]), 3),
        "probe is not connected"
    );
}

#[test]
fn failed_first_connect_chooses_nothing() {
    let server = start_server();
    let addr = server.local_addr();
    let mut jtag = Client::hello(addr);
    jtag.ok("open", json!([]));
    // The virtual probe only speaks SWD: its own refusal, status 3.
    jtag.err("connect", json!(["JTAG"]), 3);
    assert_eq!(wire_protocol(&mut jtag), Value::Null);

    let mut swd = Client::hello(addr);
    swd.ok("open", json!([]));
    swd.ok("connect", json!(["DEFAULT"]));
    assert_eq!(wire_protocol(&mut swd), json!("SWD"));
    // The failed connect left no reference behind to keep the wire up.
    swd.ok("disconnect", json!([]));
    assert_eq!(wire_protocol(&mut swd), Value::Null);
}
