//! The management interface of `serve --config`: health, and the live
//! state of every configured probe as a JSON list over plain HTTP.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use serde_json::{json, Value};

use common::{free_port, wait_until, Client};
use probeshare::config::{self, Config};
use probeshare::farm::{self, Farm};
use probeshare::management::{ManagementServer, ProbeBoard};

/// A farm of two virtual targets and its management interface, as
/// `serve --config` starts them.
fn start() -> (Farm, ManagementServer, Config) {
    let text = format!(
        "[management]\nlisten = \"127.0.0.1:{}\"\n\
         [[probe]]\nserial = \"sim:alpha\"\nport = {}\n\
         [[probe]]\nserial = \"sim:beta\"\nport = {}\n",
        free_port(),
        free_port(),
        free_port()
    );
    let config = config::parse(&text, "test.toml").expect("valid configuration");
    let farm = Farm::start(&config).expect("farm starts");
    let board = ProbeBoard::new();
    board.publish(&farm, &config);
    let management = ManagementServer::start(
        config.management.listen,
        farm::client_filter(&config),
        board,
    )
    .expect("management starts");
    (farm, management, config)
}

/// Sends one HTTP/1.1 request and returns the status code and body.
fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(common::DEADLINE)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status code");
    (status, body.to_string())
}

fn probes(addr: SocketAddr) -> Vec<Value> {
    let (status, body) = http(addr, "GET", "/probes");
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body).expect("JSON");
    list.as_array().expect("an array").clone()
}

#[test]
fn healthz_answers_ok() {
    let (_farm, management, _) = start();
    let (status, body) = http(management.local_addr(), "GET", "/healthz");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": "ok"})
    );
}

#[test]
fn probes_lists_every_configured_probe_in_file_order() {
    let (_farm, management, config) = start();
    let list = probes(management.local_addr());
    let ids: Vec<&Value> = list.iter().map(|probe| &probe["id"]).collect();
    assert_eq!(ids, [&json!("sim:alpha"), &json!("sim:beta")]);
    for (probe, entry) in list.iter().zip(&config.probes) {
        assert_eq!(probe["kind"], "sim");
        assert_eq!(probe["state"], "present");
        assert_eq!(probe["port"], entry.port);
        assert_eq!(probe["bind_address"], format!("127.0.0.1:{}", entry.port));
        assert_eq!(probe["clients"], 0);
        assert_eq!(probe["lock_holder"], Value::Null);
        assert_eq!(probe["wire_protocol"], Value::Null);
    }
}

#[test]
fn probes_shows_a_connected_client_and_the_lock_it_holds() {
    let (farm, management, config) = start();
    let alpha = &config.probes[0].probe;
    let alpha_addr = farm.server(alpha).expect("alpha served").local_addr();
    let mut client = Client::session(alpha_addr);
    client.ok("lock", json!([]));
    let peer = client
        .stream
        .local_addr()
        .expect("client address")
        .to_string();

    let mut list = Vec::new();
    wait_until("the lock to show in /probes", || {
        list = probes(management.local_addr());
        list[0]["lock_holder"] == json!(peer)
    });
    assert_eq!(list[0]["clients"], 1);
    assert_eq!(list[0]["open_count"], 1);
    assert_eq!(list[0]["connect_count"], 1);
    assert_eq!(list[0]["wire_protocol"], "SWD");
    assert_eq!(list[1]["clients"], 0, "beta has no client");

    drop(client);
    wait_until("the departed client to leave /probes", || {
        probes(management.local_addr())[0]["clients"] == 0
    });
}

#[test]
fn unknown_paths_are_404_and_other_methods_405() {
    let (_farm, management, _) = start();
    assert_eq!(http(management.local_addr(), "GET", "/nope").0, 404);
    assert_eq!(http(management.local_addr(), "POST", "/probes").0, 405);
}
