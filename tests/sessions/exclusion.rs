//! While a session is open only its ports' clients may use the probe:
//! outsiders are refused with status 3 naming the holder, DAP clients get
//! failed commands, and opening is refused (or preempts) while others use
//! the probe.

use std::net::TcpStream;

use serde_json::json;

use crate::common::farm::DapClient;
use crate::common::{wait_until, Client, DEADLINE, SIM_DPIDR};
use crate::support::Bench;
use probeshare::server::EVICTION_GRACE;

/// DAP_Connect for SWD, and a DAP_Transfer reading DPIDR.
const DAP_CONNECT_SWD: [u8; 2] = [0x02, 0x01];
const DAP_READ_DPIDR: [u8; 4] = [0x05, 0x00, 0x01, 0x02];
const DAP_ACK_OK: u8 = 0x01;

#[test]
fn outsiders_are_refused_with_status_3_naming_the_holder_and_session_clients_share() {
    let bench = Bench::start();
    let session = bench.opened("ci-job-17", 60);
    let mut outsider = Client::hello(bench.probe_addr());
    // What needs no probe is still answered.
    outsider.ok("readprop", json!(["vendor_name"]));
    for (request, arguments) in [
        ("open", json!([])),
        ("lock", json!([])),
        ("read_dp", json!([0])),
        ("connect", json!(["SWD"])),
    ] {
        let message = outsider.err(request, arguments, 3);
        assert_eq!(message, session.refusal(), "{request}");
    }
    assert!(session
        .refusal()
        .starts_with("probe reserved by ci-job-17 until 20"));

    // Two clients of the session port share the probe as usual.
    let mut first = Client::session(session.addr());
    let mut second = Client::session(session.addr());
    first.ok("lock", json!([]));
    let waiting = second.send("read_dp", json!([0]));
    assert_eq!(first.ok("read_dp", json!([0])), SIM_DPIDR);
    first.ok("unlock", json!([]));
    assert_eq!(second.recv_ok(waiting), SIM_DPIDR);
}

#[test]
fn a_dap_client_outside_gets_failed_commands_and_the_sessions_dap_port_serves() {
    let bench = Bench::start();
    let session = bench.opened("ci", 60);
    let mut outsider = DapClient::connect(bench.dap_addr());
    assert!(!outsider.product().is_empty(), "DAP_Info needs no probe");
    assert_eq!(
        outsider.command(&DAP_CONNECT_SWD),
        [0x02, 0x00],
        "mode 0: failed"
    );
    let refused = outsider.command(&DAP_READ_DPIDR);
    assert_eq!(refused[..2], [0x05, 0x00], "no transfer ran: {refused:?}");
    assert_ne!(refused[2], DAP_ACK_OK);

    let mut insider = DapClient::connect(session.dap_addr());
    assert_eq!(insider.command(&DAP_CONNECT_SWD), [0x02, 0x01]);
    let reply = insider.command(&DAP_READ_DPIDR);
    assert_eq!(reply[..3], [0x05, 0x01, DAP_ACK_OK], "{reply:?}");
    assert_eq!(reply[3..7], SIM_DPIDR.to_le_bytes());
}

#[test]
fn opening_while_a_client_uses_the_probe_is_refused_naming_it() {
    let bench = Bench::start();
    let holder = Client::session(bench.probe_addr());
    let peer = holder.stream.local_addr().unwrap().to_string();
    let (status, answer) = bench.open("ci", 60, false);
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"], format!("probe in use by {peer}"));
    assert_eq!(answer["clients"][0]["peer"], peer);
    assert_eq!(answer["clients"][0]["connect_count"], 1);
    assert_eq!(bench.sessions(), json!([]), "no session was opened");

    // A bystander that only said hello does not use the probe.
    let _bystander = Client::hello(bench.probe_addr());
    drop(holder);
    let mut opened = None;
    wait_until("the session to open once the holder left", || {
        let (status, answer) = bench.open("ci", 60, false);
        opened = Some(answer);
        status == 201
    });
}

#[test]
fn a_second_session_is_refused_with_the_first_ones_holder_and_expiry() {
    let bench = Bench::start();
    let session = bench.opened("first", 60);
    let (status, answer) = bench.open("second", 60, true);
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"], session.refusal());
    assert_eq!(answer["session"]["session"], session.id());
}

#[test]
fn preempting_tells_the_users_with_status_2_naming_the_holder_then_closes_them() {
    let bench = Bench::start();
    let mut holder = Client::session(bench.probe_addr());
    holder.ok("lock", json!([]));
    // Waits behind the lock (or, if the server reads it only after the
    // preemption, arrives after it): answered with status 2 either way.
    let mut waiter = Client::session(bench.probe_addr());
    let waiting = waiter.send("lock", json!([]));

    let (status, answer) = bench.open("night-build", 60, true);
    assert_eq!(status, 201, "{answer}");
    let told = "probe disconnected: preempted by a session of night-build";
    assert_eq!(waiter.recv_status(waiting, 2), told);
    assert_eq!(holder.err("read_dp", json!([0]), 2), told);
    assert!(holder.is_closed_by_server(), "closed once told");
    assert!(waiter.is_closed_by_server(), "closed once told");

    // The holder's lock went with it: the session's client takes it now.
    let session = crate::support::Session(answer);
    let mut insider = Client::session(session.addr());
    insider.ok("lock", json!([]));
    assert_eq!(insider.ok("read_dp", json!([0])), SIM_DPIDR);
    assert!(
        TcpStream::connect(bench.probe_addr()).is_ok(),
        "the port still accepts"
    );
}

#[test]
fn a_preempted_user_that_sends_nothing_is_closed_when_the_grace_runs_out() {
    let bench = Bench::start();
    // Holds an `open` and sends nothing more: nothing tells it why.
    let mut idle = Client::session(bench.probe_addr());
    let (status, answer) = bench.open("night-build", 60, true);
    assert_eq!(status, 201, "{answer}");
    // The read waits up to common::DEADLINE, twice the grace.
    assert!(DEADLINE > EVICTION_GRACE);
    assert!(
        idle.is_closed_by_server(),
        "closed after {EVICTION_GRACE:?}"
    );
}

#[test]
fn a_connection_over_the_limit_on_a_session_port_is_told_why() {
    let bench = Bench::start_with("[probe.limits]\nmax_connections = 1\n");
    let session = bench.opened("night-build", 60);
    let mut insider = Client::session(session.addr());
    let mut refused = Client::connect(session.addr());
    let refusal = refused.recv();
    assert_eq!(refusal["status"], 1, "{refusal}");
    assert_eq!(refusal["error"], "too many connections", "{refusal}");
    assert!(refused.is_closed_by_server());
    assert_eq!(insider.ok("read_dp", json!([0])), SIM_DPIDR);
}
