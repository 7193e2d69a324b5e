//! Reloading the farm (SIGHUP): unchanged probes keep their clients on the
//! same connection, removed ones tell their clients (status 2) and close
//! them, added ones are served; an invalid file changes nothing.

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::json;

use common::{free_port, wait_until, Client, ServerProcess, SIM_DPIDR};
use probeshare::config::{self, Config, ProbeSelector};
use probeshare::farm::{Farm, ReloadReport};

fn entry(selector: &str, port: u16) -> String {
    format!("[[probe]]\nserial = \"{selector}\"\nport = {port}\n")
}

fn parse(text: &str) -> Config {
    config::parse(text, "test.toml").expect("valid configuration")
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn sim(name: &str) -> ProbeSelector {
    ProbeSelector::Sim(name.into())
}

/// The server closed `client`'s connection cleanly: EOF, not a timeout.
fn assert_eof(client: &mut Client) {
    let mut byte = [0u8; 1];
    match client.stream.read(&mut byte) {
        Ok(0) => {}
        other => panic!("expected EOF, got {other:?}"),
    }
}

fn refuses_connections(port: u16) -> bool {
    TcpStream::connect(local(port)).is_err()
}

#[test]
fn reload_keeps_unchanged_clients_tells_removed_ones_and_serves_added_probes() {
    let (keep, gone, added) = (free_port(), free_port(), free_port());
    let mut farm = Farm::start(&parse(
        &(entry("sim:keep", keep) + &entry("sim:gone", gone)),
    ))
    .expect("start");
    let mut kept_client = Client::session(local(keep));
    let mut gone_client = Client::session(local(gone));
    assert_eq!(kept_client.ok("read_dp", json!([0])), SIM_DPIDR);
    assert_eq!(gone_client.ok("read_dp", json!([0])), SIM_DPIDR);

    let report = farm.reload(&parse(
        &(entry("sim:keep", keep) + &entry("sim:new", added)),
    ));
    assert_eq!(
        report,
        ReloadReport {
            started: vec![sim("new")],
            stopped: vec![sim("gone")],
            unchanged: vec![sim("keep")],
            failed: vec![],
        }
    );

    // Same connection, same session: the wire is still up.
    assert_eq!(kept_client.ok("read_dp", json!([0])), SIM_DPIDR);
    let message = gone_client.err("read_dp", json!([0]), 2);
    assert!(
        message.contains("removed from the configuration"),
        "{message}"
    );
    assert_eof(&mut gone_client);
    assert!(
        refuses_connections(gone),
        "a removed probe's port is closed"
    );
    assert_eq!(
        Client::session(local(added)).ok("read_dp", json!([0])),
        SIM_DPIDR
    );
    let served: Vec<ProbeSelector> = farm.addresses().into_iter().map(|(p, _)| p).collect();
    assert_eq!(served, [sim("keep"), sim("new")]);
    farm.shutdown();
}

#[test]
fn a_changed_entry_is_restarted_on_its_port_and_its_old_clients_are_told() {
    let port = free_port();
    let before = entry("sim:x", port);
    let after = before.clone() + "[probe.limits]\nmax_connections = 3\n";
    let mut farm = Farm::start(&parse(&before)).expect("start");
    let mut old_client = Client::session(local(port));

    let report = farm.reload(&parse(&after));
    assert_eq!(
        (report.started, report.stopped),
        (vec![sim("x")], vec![sim("x")])
    );
    assert!(report.unchanged.is_empty() && report.failed.is_empty());

    // The port was handed over at once: a new client reaches the new server.
    assert_eq!(
        Client::session(local(port)).ok("read_dp", json!([0])),
        SIM_DPIDR
    );
    old_client.err("read_dp", json!([0]), 2);
    assert_eof(&mut old_client);
    farm.shutdown();
}

#[test]
fn an_idle_client_of_a_removed_probe_is_closed_when_the_grace_period_ends() {
    let port = free_port();
    let mut farm = Farm::start(&parse(&entry("sim:idle", port))).expect("start");
    let mut idle = Client::session(local(port));
    let report = farm.reload_with_grace(&parse(""), Duration::from_millis(100));
    assert_eq!(report.stopped, [sim("idle")]);
    assert_eof(&mut idle);
    farm.shutdown();
}

#[test]
fn reloading_the_same_file_touches_nothing() {
    let port = free_port();
    let text = entry("sim:same", port);
    let mut farm = Farm::start(&parse(&text)).expect("start");
    let mut client = Client::session(local(port));
    let report = farm.reload(&parse(&text));
    assert_eq!(report.unchanged, [sim("same")]);
    assert!(report.started.is_empty() && report.stopped.is_empty());
    assert_eq!(client.ok("read_dp", json!([0])), SIM_DPIDR);
    farm.shutdown();
}

fn answers_hello(port: u16) -> bool {
    let Ok(stream) = TcpStream::connect(local(port)) else {
        return false;
    };
    drop(stream);
    Client::connect(local(port))
        .call("hello", json!([1]))
        .get("status")
        == Some(&json!(0))
}

#[test]
fn sighup_rereads_the_file_and_an_invalid_file_changes_nothing() {
    let dir = std::env::temp_dir().join(format!("probeshare-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("farm.toml");
    let (keep, gone, added) = (free_port(), free_port(), free_port());
    std::fs::write(&file, entry("sim:keep", keep) + &entry("sim:gone", gone)).expect("write");
    let path = file.to_str().expect("utf-8 path");
    let (server, _) =
        ServerProcess::start_serving(&["serve", "--no-management", "--config", path], 2);
    let mut kept_client = Client::session(local(keep));

    std::fs::write(&file, entry("sim:keep", keep) + &entry("sim:new", added)).expect("rewrite");
    server.signal("HUP");
    wait_until("the added probe is served", || answers_hello(added));
    wait_until("the removed probe's port is closed", || {
        refuses_connections(gone)
    });
    assert_eq!(kept_client.ok("read_dp", json!([0])), SIM_DPIDR);

    std::fs::write(&file, entry("sim:keep", keep) + "port = \"nonsense\"\n").expect("rewrite");
    server.signal("HUP");
    wait_until("the invalid file is logged", || {
        server.log.lock().expect("log").contains("not reloading")
    });
    let log = server.log.lock().expect("log").clone();
    assert!(log.contains(path), "the error names the file: {log}");
    assert!(answers_hello(added) && answers_hello(keep));
    assert_eq!(kept_client.ok("read_dp", json!([0])), SIM_DPIDR);
    let _ = std::fs::remove_dir_all(&dir);
}
