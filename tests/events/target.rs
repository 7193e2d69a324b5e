//! `target` events: from the DHCSR values clients read, and from the
//! server's own reads while nobody reads DHCSR, which take no
//! clear-on-read bit from any client (rule 11) and wait behind a lock.

use std::time::Duration;

use serde_json::json;

use crate::common::{start_server_with, Client};
use crate::core_debug::*;
use crate::subscriber::{is, Subscriber};
use crate::support::*;
use probeshare::server::{Limits, ServerHandle};

fn server() -> ServerHandle {
    start_server_with(Limits {
        register_window: Duration::from_secs(60),
        target_poll: Duration::from_millis(100),
        ..Limits::default()
    })
}

fn memory_session(addr: std::net::SocketAddr) -> Client {
    let mut client = powered_session(addr);
    write_ap(&mut client, AP_CSW, CSW_WORD);
    client
}

#[test]
fn another_clients_halt_resume_and_reset_are_heard_in_order() {
    let server = server();
    let addr = server.local_addr();
    let mut a = memory_session(addr);
    dhcsr(&mut a);
    let mut subscriber = Subscriber::start(addr, &["target"]);
    let greeting = subscriber.next();
    assert!(is(&greeting, "target", "running"), "{greeting}");
    assert_eq!(greeting["current"], true);

    halt_core(&mut a);
    let halted = subscriber.next();
    assert!(is(&halted, "target", "halted"), "{halted}");
    assert!(halted.get("current").is_none());
    write_word(&mut a, DHCSR, DHCSR_RUN);
    let running = subscriber.until_is("target", "running");
    assert_eq!(running["dhcsr"].as_u64().unwrap() & u64::from(S_HALT), 0);

    // Halt at the reset vector: reset, then halted, in that order.
    write_word(&mut a, DEMCR, DEMCR_VC_CORERESET);
    halt_core(&mut a);
    subscriber.until_is("target", "halted");
    write_word(&mut a, AIRCR, AIRCR_SYSTEM_RESET);
    dhcsr(&mut a);
    let (reset, before) = subscriber.until("a reset", |e| is(e, "target", "reset"));
    assert!(before.is_empty(), "{before:?}");
    assert_ne!(reset["dhcsr"].as_u64().unwrap() & u64::from(S_RESET_ST), 0);
}

#[test]
fn the_servers_read_tells_a_reset_and_the_polling_client_still_sees_s_reset_st_once() {
    let server = server();
    let addr = server.local_addr();
    let (mut polling, mut resetting) = (memory_session(addr), memory_session(addr));
    // The power-on reset, read once by each.
    dhcsr(&mut polling);
    dhcsr(&mut resetting);
    assert_eq!(
        dhcsr(&mut polling) & S_RESET_ST,
        0,
        "nothing happened since"
    );
    let mut subscriber = Subscriber::start(addr, &["target"]);

    write_word(&mut resetting, AIRCR, AIRCR_SYSTEM_RESET);
    // Nobody reads DHCSR now: the server does, and tells the reset.
    let reset = subscriber.until_is("target", "reset");
    assert_eq!(reset["read_by"], "server");
    assert!(server.status().target_polls >= 1);

    let first = dhcsr(&mut polling);
    assert_ne!(
        first & S_RESET_ST,
        0,
        "the polling client lost the reset: {first:#x}"
    );
    let second = dhcsr(&mut polling);
    assert_eq!(second & S_RESET_ST, 0, "seen twice: {second:#x}");
    let theirs = dhcsr(&mut resetting);
    assert_ne!(
        theirs & S_RESET_ST,
        0,
        "the resetting client's own: {theirs:#x}"
    );
}

#[test]
fn the_servers_read_waits_for_the_lock() {
    let server = server();
    let addr = server.local_addr();
    let mut holder = memory_session(addr);
    holder.ok("lock", json!([]));
    let mut subscriber = Subscriber::start(addr, &["target"]);
    crate::common::wait_until("the server's read to be queued", || {
        server.status().target_polls >= 1
    });
    let early = subscriber.within(Duration::from_millis(300));
    assert!(early.is_empty(), "read under another's lock: {early:?}");
    holder.ok("unlock", json!([]));
    // The power-on reset first (nobody has read DHCSR yet), then the state.
    let running = subscriber.until_is("target", "running");
    assert_eq!(running["read_by"], "server");
}

#[test]
fn the_servers_read_waits_for_a_core_register_transfer_to_finish() {
    let server = server();
    let addr = server.local_addr();
    let mut a = memory_session(addr);
    halt_core(&mut a);
    let mut subscriber = Subscriber::start(addr, &["target"]);
    assert!(is(&subscriber.next(), "target", "halted"), "the greeting");
    // A register read in two halves: DCRSR written opens the window
    // (rule 10), DCRDR read closes it.
    write_word(&mut a, DCRSR, 0);
    let before = server.status().target_polls;
    crate::common::wait_until("the server's read to be queued", || {
        server.status().target_polls > before
    });
    // Queued but not run: run, it would have answered within this window
    // and its value taken (the loop would have published it).
    let read_at = server.status().last_dhcsr;
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        server.status().last_dhcsr,
        read_at,
        "read inside the window"
    );
    read_word(&mut a, DCRDR);
    crate::common::wait_until("the server's read to run", || {
        server.status().target_polls > before + 1 || server.status().last_dhcsr != read_at
    });
}

#[test]
fn a_dap_port_clients_halt_is_heard_with_its_front_end() {
    use probeshare::server::{self, ServerConfig};
    use std::net::TcpListener;
    let bind = || TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let probe =
        probeshare::sim::virtual_probe("sim", probeshare::sim::dap_firmware::UsbModel::None)
            .expect("virtual probe");
    let config = ServerConfig {
        // One read by the server when the wire comes up, then none within
        // the test: the halt below must be heard from the DAP client's read.
        limits: Limits {
            target_poll: Duration::from_secs(600),
            ..Limits::default()
        },
        ..ServerConfig::default()
    };
    let server = server::spawn_with_dap(bind(), Some(bind()), probe, config).expect("server");
    let mut subscriber = Subscriber::start(server.local_addr(), &["client", "target"]);
    let dap_addr = server.dap_addr().expect("a DAP port");
    let mut driver = crate::dap::memory_driver(dap_addr, CSW_WORD);
    let joined = subscriber.until_is("client", "joined");
    assert_eq!(joined["front_end"], "cmsis-dap");

    use probeshare::probe::DebugProbe;
    driver.write_ap(AP_TAR, DHCSR).expect("TAR");
    driver.write_ap(AP_DRW, DHCSR_HALT).expect("DRW");
    let value = crate::dap::driver_read_word(&mut driver, DHCSR);
    assert_ne!(value & S_HALT, 0, "{value:#x}");
    let halted = subscriber.until_is("target", "halted");
    assert_eq!(halted["read_by"], "client");
    // The event has the value as read; the client's answer may also carry
    // clear-on-read bits owed to it (rule 11).
    let owed = u64::from(S_RESET_ST | S_RETIRE_ST);
    let heard = halted["dhcsr"].as_u64().unwrap();
    assert_eq!(u64::from(value) & !owed, heard & !owed);
}
