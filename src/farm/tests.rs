//! The farm against configurations parsed from text, with virtual targets.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use super::{Farm, FarmError};
use crate::config::{self, ProbeSelector};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn entry(serial: &str, port: u16) -> String {
    format!("[[probe]]\nserial = \"{serial}\"\nport = {port}\n")
}

/// Sends hello and returns the first response line, or "" on EOF.
fn hello(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    // A refused peer may be closed before or after this write lands.
    let _ = stream.write_all(b"{\"id\":1,\"request\":\"hello\",\"arguments\":[1]}\n");
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while let Ok(1) = stream.read(&mut byte) {
        if byte[0] == b'\n' {
            break;
        }
        response.push(byte[0]);
    }
    String::from_utf8_lossy(&response).into_owned()
}

#[test]
fn every_sim_entry_is_served_on_its_port_and_absent_usb_probes_are_skipped() {
    let (first, second) = (free_port(), free_port());
    let text =
        entry("sim:one", first) + &entry("NOT-PLUGGED-IN", free_port()) + &entry("sim:two", second);
    let config = config::parse(&text, "test.toml").expect("valid configuration");
    let farm = Farm::start(&config).expect("the farm starts");
    let served: Vec<(ProbeSelector, u16)> = farm
        .addresses()
        .into_iter()
        .map(|(probe, addr)| (probe, addr.port()))
        .collect();
    assert_eq!(
        served,
        [
            (ProbeSelector::Sim("one".into()), first),
            (ProbeSelector::Sim("two".into()), second),
        ]
    );
    assert_eq!(
        farm.skipped(),
        [ProbeSelector::Serial("NOT-PLUGGED-IN".into())]
    );
    assert!(hello(first).contains("\"status\":0"));
    assert!(hello(second).contains("\"status\":0"));
    farm.shutdown();
    assert!(TcpStream::connect(("127.0.0.1", first)).is_err());
}

#[test]
fn a_port_already_taken_fails_the_start_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port();
    let config = config::parse(&entry("sim:x", port), "test.toml").expect("valid");
    match Farm::start(&config) {
        Err(FarmError::Listen { probe, addr, .. }) => {
            assert_eq!(probe, ProbeSelector::Sim("x".into()));
            assert_eq!(addr.port(), port);
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("started on a port in use"),
    }
}

#[test]
fn the_allow_list_of_the_file_applies_to_every_probe() {
    let (outside, inside) = (free_port(), free_port());
    let refusing = format!("allow = [\"10.0.0.0/8\"]\n{}", entry("sim:a", outside));
    let permitting = format!("allow = [\"127.0.0.0/8\"]\n{}", entry("sim:b", inside));
    let refusing =
        Farm::start(&config::parse(&refusing, "a.toml").expect("valid")).expect("the farm starts");
    let permitting = Farm::start(&config::parse(&permitting, "b.toml").expect("valid"))
        .expect("the farm starts");
    assert_eq!(hello(outside), "");
    assert!(hello(inside).contains("\"status\":0"));
    refusing.shutdown();
    permitting.shutdown();
}
