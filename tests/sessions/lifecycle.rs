//! How sessions end: closed through the management interface, stopped by
//! their `stop` command, expired (and renewed); their ports close, their
//! clients stay as ordinary clients.

use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use crate::common::{wait_until, Client, SIM_DPIDR};
use crate::support::{command, Bench, PROBE};

fn expiry(answer: &serde_json::Value) -> SystemTime {
    let text = answer["expires"].as_str().expect("an expiry");
    humantime::parse_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn closing_ends_the_reservation_and_the_ports_but_not_the_clients_in() {
    let bench = Bench::start();
    let session = bench.opened("ci", 60);
    let mut insider = Client::session(session.addr());
    let listed = bench.sessions();
    assert_eq!(listed[0]["session"], session.id());
    assert_eq!(listed[0]["holder"], "ci");
    assert_eq!(listed[0]["probe"], PROBE);
    let (_, all) = bench.call("GET", "/sessions", None);
    assert_eq!(all, listed);
    wait_until("the session's client to be counted", || {
        bench.sessions()[0]["clients"] == 1
    });

    let (status, closed) = bench.call("DELETE", &session.path(), None);
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["state"], "closed");
    assert_eq!(bench.sessions(), json!([]));
    assert!(
        TcpStream::connect(session.addr()).is_err(),
        "the session port is closed"
    );
    assert!(
        TcpStream::connect(session.dap_addr()).is_err(),
        "so is its DAP port"
    );
    // Outsiders may use the probe again, beside the client still in.
    let mut outsider = Client::session(bench.probe_addr());
    assert_eq!(outsider.ok("read_dp", json!([0])), SIM_DPIDR);
    assert_eq!(insider.ok("read_dp", json!([0])), SIM_DPIDR);

    let (status, again) = bench.call("DELETE", &session.path(), None);
    assert_eq!(
        (status, again["error"].as_str()),
        (404, Some("no such session"))
    );
}

#[test]
fn the_stop_command_ends_the_session() {
    let bench = Bench::start();
    let session = bench.opened("ci", 60);
    let mut insider = Client::connect(session.addr());
    let answer = command(&mut insider, json!({"name": "stop"}));
    assert_eq!(answer, json!({"name": "stop", "status": 0}));
    wait_until("the session to end", || bench.sessions() == json!([]));
    let mut outsider = Client::session(bench.probe_addr());
    assert_eq!(outsider.ok("read_dp", json!([0])), SIM_DPIDR);
}

#[test]
fn a_session_expires_at_its_time_to_live_and_renewal_moves_the_expiry() {
    let bench = Bench::start();
    let session = bench.opened("ci", 2);
    let renew = format!("{}/renew", session.path());
    let (status, renewed) = bench.call("POST", &renew, Some(json!({"ttl_secs": 600})));
    assert_eq!(status, 200, "{renewed}");
    let moved = expiry(&renewed).duration_since(expiry(&session.0)).unwrap();
    assert!(moved >= Duration::from_secs(590), "moved by {moved:?}");
    // Without a body: its own time to live from now, here 2 s.
    let renewed_at = Instant::now();
    let (status, renewed) = bench.call("POST", &renew, None);
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(renewed["ttl_secs"], 2);

    let mut outsider = Client::hello(bench.probe_addr());
    outsider.err("open", json!([]), 3);
    wait_until("the session to expire", || bench.sessions() == json!([]));
    assert!(
        renewed_at.elapsed() >= Duration::from_millis(1900),
        "expired after {:?}",
        renewed_at.elapsed()
    );
    outsider.ok("open", json!([]));
    assert!(
        TcpStream::connect(session.addr()).is_err(),
        "the port closed"
    );
}

#[test]
fn unknown_sessions_and_bad_requests_are_refused_plainly() {
    let bench = Bench::start();
    let path = format!("/probes/{PROBE}/sessions");
    let (status, answer) = bench.call("POST", &format!("{path}/99/renew"), None);
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("no such session"))
    );
    let (status, answer) = bench.call("POST", &path, Some(json!({"holder": "x"})));
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("ttl_secs"),
        "{answer}"
    );
    let (status, _) = bench.call("POST", &path, Some(json!({"holder": "", "ttl_secs": 5})));
    assert_eq!(status, 400);
    let (status, _) = bench.call("POST", &path, Some(json!({"holder": "x", "ttl_secs": 0})));
    assert_eq!(status, 400);
    let (status, answer) = bench.call("POST", "/probes/sim:nobody/sessions", None);
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("no such probe"))
    );
    let (status, _) = bench.call("PUT", &path, None);
    assert_eq!(status, 405);
}
