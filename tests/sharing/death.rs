//! Rule 4: a client's references die with it. Whatever a dead connection
//! held (lock, `connect`, `open`) is released as if it had sent `unlock`,
//! `disconnect` and `close`, so the others go on and the probe still closes
//! when the last living user leaves.

use serde_json::{json, Value};

use crate::common::{start_server, wait_until, Client};
use crate::support::*;

#[test]
fn lock_of_a_killed_client_passes_to_the_clients_waiting_for_it() {
    let server = start_server();
    let addr = server.local_addr();
    let mut holder = Client::session(addr);
    let mut reader = Client::session(addr);
    let mut locker = Client::session(addr);
    holder.ok("lock", json!([]));

    let read = reader.send("read_dp", json!([DP_IDR]));
    reader.wait_until_server_has_read();
    let locked = locker.pipeline(&[
        ("lock", json!([])),
        ("read_dp", json!([DP_CTRL_STAT])),
        ("unlock", json!([])),
    ]);
    locker.wait_until_server_has_read();
    reader.assert_no_response_within(SILENCE);

    kill(holder);
    assert_eq!(as_u32(&reader.recv_ok(read)), DPIDR_VALUE);
    for id in locked {
        locker.recv_ok(id);
    }
}

#[test]
fn killed_client_with_a_request_in_flight_releases_what_it_held() {
    let server = start_server();
    let addr = server.local_addr();
    let mut survivor = Client::session(addr);
    let mut victim = powered_session(addr);
    // Millions of AP reads, still running when the client goes. Sent in
    // one write with a lock, which is granted without the probe: its
    // answer comes as the reads start. The victim leaves it unread, so
    // closing its socket resets the connection and the server notices at
    // once instead of waiting to deliver the long answers.
    let mut requests = vec![("lock", json!([]))];
    requests.extend(vec![("read_ap_multiple", json!([AP_IDR, 1 << 20])); 8]);
    victim.pipeline(&requests);
    let mut first_byte = [0u8; 1];
    victim
        .stream
        .peek(&mut first_byte)
        .expect("the lock granted");
    kill(victim);

    // The victim's lock is gone, so its death has been handled; its open
    // and connect went with it.
    survivor.ok("lock", json!([]));
    assert_eq!(read_dp(&mut survivor, DP_IDR), DPIDR_VALUE);
    survivor.ok("unlock", json!([]));
    survivor.ok("disconnect", json!([]));
    assert_eq!(wire_protocol(&mut survivor), Value::Null);
    survivor.ok("close", json!([]));
    wait_until_probe_closed(addr);
}

#[test]
fn killed_lock_holder_with_many_requests_queued_does_not_block_others() {
    let server = start_server();
    let addr = server.local_addr();
    let mut victim = powered_session(addr);
    let mut waiter = Client::session(addr);
    victim.ok("lock", json!([]));
    let read = waiter.send("read_dp", json!([DP_IDR]));
    waiter.wait_until_server_has_read();

    let burst: Vec<(&str, Value)> = (0..5000u32)
        .map(|i| ("write_ap", json!([AP_TAR, RAM_BASE + 4 * (i % 256)])))
        .collect();
    victim.pipeline(&burst);
    kill(victim);

    assert_eq!(as_u32(&waiter.recv_ok(read)), DPIDR_VALUE);
    // No trace of the victim's lock: a new lock is granted and released.
    waiter.ok("lock", json!([]));
    waiter.ok("unlock", json!([]));
}

#[test]
fn killed_client_waiting_behind_a_lock_does_not_disturb_the_others() {
    let server = start_server();
    let addr = server.local_addr();
    let mut holder = Client::session(addr);
    let mut victim = Client::session(addr);
    let mut waiter = Client::session(addr);
    holder.ok("lock", json!([]));

    victim.pipeline(&[
        ("lock", json!([])),
        ("read_dp", json!([DP_IDR])),
        ("unlock", json!([])),
        ("lock", json!([])),
    ]);
    victim.wait_until_server_has_read();
    let read = waiter.send("read_dp", json!([DP_IDR]));
    waiter.wait_until_server_has_read();
    kill(victim);

    holder.ok("unlock", json!([]));
    assert_eq!(as_u32(&waiter.recv_ok(read)), DPIDR_VALUE);
    // Whatever the victim's queued lock did, it does not outlive it.
    holder.ok("lock", json!([]));
    holder.ok("unlock", json!([]));
    waiter.ok("lock", json!([]));
    waiter.ok("unlock", json!([]));
}

#[test]
fn killed_client_releases_its_open_and_connect() {
    let server = start_server();
    let addr = server.local_addr();
    let mut survivor = Client::session(addr);
    let mut victim = Client::session(addr);
    // The victim's lock makes its release visible: the survivor's lock is
    // granted only once the server has dropped everything the victim held.
    victim.ok("lock", json!([]));
    kill(victim);
    survivor.ok("lock", json!([]));
    survivor.ok("unlock", json!([]));

    // The wire stays up for the survivor, whose connect and open are now
    // the last ones.
    assert_eq!(wire_protocol(&mut survivor), json!("SWD"));
    assert_eq!(read_dp(&mut survivor, DP_IDR), DPIDR_VALUE);
    survivor.ok("disconnect", json!([]));
    assert_eq!(wire_protocol(&mut survivor), Value::Null);
    survivor.ok("close", json!([]));
    assert_eq!(survivor.err("read_dp", json!([DP_IDR]), 3), NOT_OPEN);
}

#[test]
fn reset_connection_is_released_without_waiting_for_its_queued_work() {
    let server = start_server();
    let addr = server.local_addr();
    let mut holder = Client::session(addr);
    let mut victim = Client::session(addr);
    holder.ok("lock", json!([]));
    // The victim's read waits behind the lock; its readprop is answered at
    // once and left unread, so closing the socket resets the connection.
    victim.pipeline(&[
        ("readprop", json!(["vendor_name"])),
        ("read_dp", json!([DP_IDR])),
    ]);
    let mut first_byte = [0u8; 1];
    victim
        .stream
        .peek(&mut first_byte)
        .expect("the readprop answer");
    kill(victim);

    // The holder never unlocks, so the victim's read never runs: only the
    // reset itself can release the victim's connect. Once it has, the
    // holder's disconnect is the last one and takes the wire down.
    wait_until("the reset victim's connect to be released", || {
        holder.ok("disconnect", json!([]));
        if wire_protocol(&mut holder).is_null() {
            return true;
        }
        holder.ok("connect", json!(["SWD"]));
        false
    });
}

#[test]
fn probe_closes_when_every_client_has_died() {
    let server = start_server();
    let addr = server.local_addr();
    let clients: Vec<Client> = (0..3).map(|_| powered_session(addr)).collect();
    let mut locker = Client::session(addr);
    locker.ok("lock", json!([]));
    clients.into_iter().for_each(kill);
    kill(locker);
    wait_until_probe_closed(addr);
}
