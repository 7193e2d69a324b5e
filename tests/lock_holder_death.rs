//! A client that dies holding the probe lock must not strand the requests
//! queued behind it. Found end to end (tests/pyocd_e2e.rs): a pyOCD session
//! killed mid-transfer left the other session waiting forever, because the
//! server only decided again on the next network or probe event.

mod common;

use serde_json::json;

use common::{powered_session, start_server, SIM_DPIDR};

#[test]
fn request_queued_behind_the_lock_runs_once_the_holder_disconnects() {
    let server = start_server();
    let mut holder = powered_session(server.local_addr());
    let mut waiter = powered_session(server.local_addr());
    holder.ok("lock", json!([]));

    let waiting = waiter.send("read_dp", json!([0]));
    // On loopback the waiter's line is readable at the server before the
    // holder's next one is sent, and the server handles every ready
    // connection before answering: once the holder has its answer, the
    // waiter's request is queued behind the lock.
    holder.ok("read_dp", json!([0]));
    drop(holder);

    let response = waiter.recv();
    assert_eq!(response["id"], waiting, "{response}");
    assert_eq!(response["status"], 0, "{response}");
    assert_eq!(response["result"], SIM_DPIDR, "{response}");
}
