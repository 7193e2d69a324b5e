//! Rule 12: counting needs no hardware. `open` of a probe already open,
//! `connect` to a wire already up, and a `close`/`disconnect` that is not
//! the last are answered at once, even while another client holds the
//! lock; the lock still holds everything that touches the hardware.

use serde_json::json;

use crate::common::{start_server, Client};
use crate::steps::*;
use crate::support::*;

/// Sends `request` and requires its answer while the lock is held.
fn answered_at_once(client: &mut Client, request: &str, arguments: serde_json::Value) {
    let id = client.send(request, arguments.clone());
    recv_promptly(client, id, &format!("{request} {arguments}"));
}

/// A probe read of `client`'s waits for the holder's `unlock`.
fn assert_probe_work_waits_for_unlock(holder: &mut Client, client: &mut Client) {
    let read = client.send("read_dp", json!([DP_IDR]));
    client.wait_until_server_has_read();
    client.assert_no_response_within(SILENCE);
    holder.ok("unlock", json!([]));
    assert_eq!(as_u32(&client.recv_ok(read)), DPIDR_VALUE);
}

#[test]
fn open_and_connect_that_only_count_are_answered_while_another_client_holds_the_lock() {
    let server = start_server();
    let addr = server.local_addr();
    let mut holder = Client::session(addr);
    holder.ok("lock", json!([]));

    let mut newcomer = Client::hello(addr);
    answered_at_once(&mut newcomer, "open", json!([]));
    answered_at_once(&mut newcomer, "connect", json!(["SWD"]));
    answered_at_once(&mut newcomer, "connect", json!(["DEFAULT"]));
    assert_probe_work_waits_for_unlock(&mut holder, &mut newcomer);
}

#[test]
fn close_and_disconnect_that_are_not_the_last_are_answered_while_another_client_holds_the_lock() {
    let server = start_server();
    let addr = server.local_addr();
    let mut holder = Client::session(addr);
    let mut leaver = Client::session(addr);
    let mut other = Client::session(addr);
    holder.ok("lock", json!([]));

    answered_at_once(&mut leaver, "disconnect", json!([]));
    answered_at_once(&mut leaver, "close", json!([]));
    // The holder's references keep the probe open and the wire up.
    assert_eq!(read_dp(&mut holder, DP_IDR), DPIDR_VALUE);
    assert_eq!(wire_protocol(&mut leaver), json!("SWD"));
    assert_probe_work_waits_for_unlock(&mut holder, &mut other);
}
