//! Rule 5: the lock is exclusive. While one client holds it, the probe
//! requests of every other client wait, in arrival order, until `unlock`;
//! waiting locks are granted first come, first served; `hello` and
//! `readprop` are answered at once.

use serde_json::json;

use crate::common::{start_server, Client};
use crate::support::*;

#[test]
fn other_clients_wait_while_the_holder_works() {
    let server = start_server();
    let addr = server.local_addr();
    let mut holder = powered_session(addr);
    let mut waiter = Client::session(addr);
    holder.ok("lock", json!([]));

    let waiting = waiter.pipeline(&[
        ("read_dp", json!([DP_IDR])),
        ("write_ap", json!([AP_TAR, RAM_BASE + 0x40])),
        ("read_ap", json!([AP_TAR])),
    ]);
    waiter.wait_until_server_has_read();

    // The holder keeps using the probe, and the target state it sets up
    // stays its own for as long as it holds the lock.
    for offset in [0x10, 0x20, 0x30] {
        write_ap(&mut holder, AP_TAR, RAM_BASE + offset);
        assert_eq!(read_ap(&mut holder, AP_TAR), RAM_BASE + offset);
    }
    waiter.assert_no_response_within(SILENCE);

    holder.ok("unlock", json!([]));
    assert_eq!(as_u32(&waiter.recv_ok(waiting[0])), DPIDR_VALUE);
    waiter.recv_ok(waiting[1]);
    assert_eq!(as_u32(&waiter.recv_ok(waiting[2])), RAM_BASE + 0x40);
}

#[test]
fn hello_and_readprop_are_answered_while_another_client_holds_the_lock() {
    let server = start_server();
    let addr = server.local_addr();
    let mut holder = Client::session(addr);
    holder.ok("lock", json!([]));

    let mut idle = Client::hello(addr);
    assert_eq!(
        idle.ok("readprop", json!(["vendor_name"])),
        json!("probeshare")
    );
    let mut newcomer = Client::hello(addr);
    assert_eq!(wire_protocol(&mut newcomer), json!("SWD"));

    // Yet a probe request of theirs waits.
    let read = newcomer.send("read_dp", json!([DP_IDR]));
    newcomer.wait_until_server_has_read();
    newcomer.assert_no_response_within(SILENCE);
    holder.ok("unlock", json!([]));
    newcomer.recv_ok(read);
}

#[test]
fn waiting_locks_are_granted_in_arrival_order() {
    let server = start_server();
    let addr = server.local_addr();
    let mut holder = Client::session(addr);
    // Connected in one order, asking for the lock in another, so the grant
    // order can only come from the order of the requests.
    let mut clients: Vec<Client> = (0..3).map(|_| Client::session(addr)).collect();
    holder.ok("lock", json!([]));
    let arrival = [2, 0, 1];
    let mut lock_ids = [0; 3];
    for &index in &arrival {
        lock_ids[index] = clients[index].send("lock", json!([]));
        clients[index].wait_until_server_has_read();
    }
    for client in &mut clients {
        client.assert_no_response_within(SILENCE);
    }

    holder.ok("unlock", json!([]));
    for (turn, &index) in arrival.iter().enumerate() {
        clients[index].recv_ok(lock_ids[index]);
        for &later in &arrival[turn + 1..] {
            clients[later].assert_no_response_within(SILENCE);
        }
        clients[index].ok("unlock", json!([]));
    }
}

#[test]
fn unlock_by_a_client_that_does_not_hold_the_lock_is_refused() {
    let server = start_server();
    let addr = server.local_addr();
    let mut holder = Client::session(addr);
    let mut other = Client::session(addr);
    let mut third = Client::session(addr);
    let refusal = "unlock by a client that does not hold the lock";
    assert_eq!(other.err("unlock", json!([]), 1), refusal);

    holder.ok("lock", json!([]));
    let unlock = other.send("unlock", json!([]));
    other.wait_until_server_has_read();
    // The other's unlock did not free the lock: a third client still waits.
    let read = third.send("read_dp", json!([DP_IDR]));
    third.wait_until_server_has_read();
    third.assert_no_response_within(SILENCE);
    other.assert_no_response_within(SILENCE);

    holder.ok("unlock", json!([]));
    assert_eq!(other.recv_status(unlock, 1), refusal);
    third.recv_ok(read);
}

#[test]
fn lock_is_reentrant_for_its_holder() {
    let server = start_server();
    let addr = server.local_addr();
    let mut holder = Client::session(addr);
    let mut waiter = Client::session(addr);
    holder.ok("lock", json!([]));
    holder.ok("lock", json!([]));
    holder.ok("unlock", json!([]));

    let read = waiter.send("read_dp", json!([DP_IDR]));
    waiter.wait_until_server_has_read();
    assert_eq!(read_dp(&mut holder, DP_IDR), DPIDR_VALUE);
    waiter.assert_no_response_within(SILENCE);

    holder.ok("unlock", json!([]));
    waiter.recv_ok(read);
    assert_eq!(
        holder.err("unlock", json!([]), 1),
        "unlock by a client that does not hold the lock"
    );
}
