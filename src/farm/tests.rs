//! The farm against configurations parsed from text, with virtual targets.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Mutex;
use std::time::Duration;

use super::{Farm, FarmError};
use crate::config::{self, ProbeSelector};

/// A port free on 127.0.0.1 a moment ago, never one this process was
/// given before: two calls in a row could otherwise get the same port back
/// (the first probe listener is closed before the second binds).
pub(super) fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        if HANDED_OUT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(port)
        {
            return port;
        }
    }
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

/// Asks the DAP port at `port` for its product name with a raw DAP_Info
/// packet (the 8-byte header of CMSIS-DAP over TCP: "DAP\0", the payload
/// length in little-endian, type 1 for a request, 0), and returns the
/// string of the reply, or `None` if the port does not answer.
fn dap_product(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    let request = [0x44, 0x41, 0x50, 0x00, 2, 0, 1, 0, 0x00, 0x02];
    stream.write_all(&request).ok()?;
    let mut header = [0u8; 8];
    stream.read_exact(&mut header).ok()?;
    assert_eq!(header[..4], [0x44, 0x41, 0x50, 0x00], "signature");
    assert_eq!(header[6], 2, "a response");
    let length = usize::from(u16::from_le_bytes([header[4], header[5]]));
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).ok()?;
    // DAP_Info's id, the string's length, the string and its NUL.
    assert_eq!(payload[0], 0x00, "{payload:?}");
    assert_eq!(usize::from(payload[1]) + 2, payload.len(), "{payload:?}");
    let string = payload[2..].strip_suffix(&[0]).expect("NUL-terminated");
    Some(String::from_utf8_lossy(string).into_owned())
}

fn entry_with_dap(serial: &str, port: u16, dap_port: u16) -> String {
    entry(serial, port) + &format!("dap_port = {dap_port}\n")
}

#[test]
fn an_entry_with_a_dap_port_is_served_on_both_ports() {
    let (port, dap_port, other) = (free_port(), free_port(), free_port());
    let text = entry_with_dap("sim:dap", port, dap_port) + &entry("sim:plain", other);
    let config = config::parse(&text, "test.toml").expect("valid configuration");
    let farm = Farm::start(&config).expect("the farm starts");
    let dap = ProbeSelector::Sim("dap".into());
    let plain = ProbeSelector::Sim("plain".into());
    let handle = farm.server(&dap).expect("served");
    assert_eq!(handle.dap_addr().map(|a| a.port()), Some(dap_port));
    assert_eq!(farm.dap_port(&dap), Some(dap_port));
    assert_eq!(farm.dap_port(&plain), None, "no dap_port, no DAP port");
    assert_eq!(
        dap_product(dap_port).as_deref(),
        Some("probeshare CMSIS-DAP over TCP")
    );
    assert!(
        hello(port).contains("\"status\":0"),
        "pyOCD's port as before"
    );
    farm.shutdown();
    assert!(TcpStream::connect(("127.0.0.1", dap_port)).is_err());
}

#[test]
fn a_dap_port_already_taken_fails_the_start_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dap_port = taken.local_addr().expect("address").port();
    let text = entry_with_dap("sim:x", free_port(), dap_port);
    let config = config::parse(&text, "test.toml").expect("valid");
    match Farm::start(&config) {
        Err(FarmError::Listen { probe, addr, .. }) => {
            assert_eq!(probe, ProbeSelector::Sim("x".into()));
            assert_eq!(addr.port(), dap_port);
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("started on a DAP port in use"),
    }
}

#[test]
fn the_allow_list_applies_to_the_dap_port_too() {
    let (port, dap_port) = (free_port(), free_port());
    let text = format!(
        "allow = [\"10.0.0.0/8\"]\n{}",
        entry_with_dap("sim:a", port, dap_port)
    );
    let farm = Farm::start(&config::parse(&text, "a.toml").expect("valid")).expect("starts");
    assert_eq!(dap_product(dap_port), None, "closed unanswered");
    farm.shutdown();
}

#[test]
fn a_reload_restarts_a_probe_whose_dap_port_changed_and_keeps_one_whose_did_not() {
    let (a, b) = (free_port(), free_port());
    let (a_dap, b_dap, b_new_dap) = (free_port(), free_port(), free_port());
    let before = entry_with_dap("sim:a", a, a_dap) + &entry_with_dap("sim:b", b, b_dap);
    let mut farm = Farm::start(&config::parse(&before, "t.toml").expect("valid")).expect("starts");
    let after = entry_with_dap("sim:a", a, a_dap) + &entry_with_dap("sim:b", b, b_new_dap);
    let report = farm.reload(&config::parse(&after, "t.toml").expect("valid"));
    let (a_probe, b_probe) = (
        ProbeSelector::Sim("a".into()),
        ProbeSelector::Sim("b".into()),
    );
    assert_eq!(report.unchanged, vec![a_probe]);
    assert_eq!(report.started, vec![b_probe.clone()]);
    assert_eq!(report.stopped, vec![b_probe.clone()]);
    assert_eq!(farm.dap_port(&b_probe), Some(b_new_dap));
    assert!(dap_product(b_new_dap).is_some());
    assert!(
        TcpStream::connect(("127.0.0.1", b_dap)).is_err(),
        "old one closed"
    );

    // Taking the DAP port away is a change too.
    let without = entry_with_dap("sim:a", a, a_dap) + &entry("sim:b", b);
    let report = farm.reload(&config::parse(&without, "t.toml").expect("valid"));
    assert_eq!(report.started, vec![b_probe.clone()]);
    assert_eq!(farm.dap_port(&b_probe), None);
    assert!(dap_product(a_dap).is_some(), "a untouched");
    farm.shutdown();
}

#[test]
fn disable_enable_unplug_and_replug_keep_the_dap_port() {
    let (port, dap_port) = (free_port(), free_port());
    let text = entry_with_dap("sim:x", port, dap_port);
    let mut farm = Farm::start(&config::parse(&text, "t.toml").expect("valid")).expect("starts");
    let probe = ProbeSelector::Sim("x".into());
    farm.disable(&probe).expect("disabled");
    assert!(TcpStream::connect(("127.0.0.1", dap_port)).is_err());
    farm.enable(&probe).expect("enabled");
    assert_eq!(farm.dap_port(&probe), Some(dap_port));
    assert!(dap_product(dap_port).is_some());
    farm.unplug(&probe).expect("unplugged");
    assert!(TcpStream::connect(("127.0.0.1", dap_port)).is_err());
    farm.replug(&probe).expect("replugged");
    assert!(dap_product(dap_port).is_some());
    farm.shutdown();
}
