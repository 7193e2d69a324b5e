//! nRESET from one client resets the target for all, as on a real bench,
//! and every client then sees S_RESET_ST in its next DHCSR read (rule 11):
//! pyOCD's `reset` and `assert_reset`, and a DAP-port client's
//! DAP_SWJ_Pins and DAP_ResetTarget.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use serde_json::json;

use crate::common::Client;
use crate::core_debug::*;
use crate::steps::*;

use probeshare::cmsis_dap::tcp::TcpTransport;
use probeshare::cmsis_dap::Transport;
use probeshare::server::{self, Limits, ServerConfig, ServerHandle};
use probeshare::sim::cortex::core::regsel;
use probeshare::sim::cortex::flash::RESET_HANDLER;
use probeshare::sim::{self, dap_firmware::UsbModel};

/// Where A leaves the PC before the reset (any address but the reset
/// handler's).
const PARKED_PC: u32 = 0x0000_0200;

/// Each client reads DHCSR until S_RESET_ST is clear: what happened so far
/// is news to nobody.
fn settle(clients: &mut [&mut Client]) {
    for client in clients.iter_mut() {
        dhcsr(client);
    }
    for (index, client) in clients.iter_mut().enumerate() {
        let value = dhcsr(client);
        assert_eq!(value & S_RESET_ST, 0, "client {index} before: {value:#x}");
    }
}

/// `name`'s next DHCSR read shows S_RESET_ST, the one after it does not.
fn assert_reset_seen_once(client: &mut Client, name: &str) -> u32 {
    let first = dhcsr(client);
    assert_ne!(
        first & S_RESET_ST,
        0,
        "{name}'s first DHCSR read after the reset: {first:#x}"
    );
    let second = dhcsr(client);
    assert_eq!(
        second & S_RESET_ST,
        0,
        "{name}'s second DHCSR read: {second:#x}"
    );
    first
}

/// A halts the core to catch the reset vector and moves the PC away from
/// it, so that a reset shows in the PC.
fn catch_reset(a: &mut Client) {
    write_word(a, DEMCR, DEMCR_VC_CORERESET);
    halt_core(a);
    write_core_register(a, u32::from(regsel::DEBUG_RETURN_ADDRESS), PARKED_PC);
}

/// The reset happened to the target: A's core halted at the reset vector,
/// the PC reloaded from the vector table.
fn assert_core_was_reset(a: &mut Client) {
    let first = assert_reset_seen_once(a, "A");
    assert_ne!(
        first & S_HALT,
        0,
        "A: halted at the reset vector {first:#x}"
    );
    let pc = read_core_register(a, u32::from(regsel::DEBUG_RETURN_ADDRESS));
    assert_word(pc, RESET_HANDLER, "A's PC after the reset");
}

#[test]
fn reset_by_one_client_resets_the_target_and_every_client_sees_it() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let (mut a, mut b, mut c) = (
        memory_session(addr),
        memory_session(addr),
        memory_session(addr),
    );
    catch_reset(&mut a);
    settle(&mut [&mut a, &mut b, &mut c]);

    b.ok("reset", json!([]));

    assert_core_was_reset(&mut a);
    assert_reset_seen_once(&mut c, "C");
    assert_reset_seen_once(&mut b, "B");
}

#[test]
fn assert_reset_by_one_client_holds_the_target_in_reset_for_every_client() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let (mut a, mut b) = (memory_session(addr), memory_session(addr));
    catch_reset(&mut a);
    settle(&mut [&mut a, &mut b]);

    b.ok("assert_reset", json!([true]));
    assert_eq!(a.ok("is_reset_asserted", json!([])), true);
    for round in 0..2 {
        let held = dhcsr(&mut a);
        assert_ne!(
            held & S_RESET_ST,
            0,
            "A while held, read {round}: {held:#x}"
        );
    }
    b.ok("assert_reset", json!([false]));

    assert_core_was_reset(&mut a);
    assert_reset_seen_once(&mut b, "B");
}

/// A server serving the virtual target on a pyOCD port and a DAP port.
fn start_server_with_dap_port() -> ServerHandle {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let dap = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    server::spawn_with_dap(
        listener,
        Some(dap),
        sim::virtual_probe("sim", UsbModel::None).expect("virtual probe"),
        ServerConfig {
            limits: Limits {
                register_window: Duration::from_secs(60),
                ..Limits::default()
            },
            ..ServerConfig::default()
        },
    )
    .expect("server starts")
}

/// A raw CMSIS-DAP client of the DAP port, connected with SWD.
fn dap_client(addr: SocketAddr) -> TcpTransport {
    let mut dap = TcpTransport::connect(addr).expect("connect to the DAP port");
    assert_eq!(
        command(&mut dap, &[0x02, 0x01]),
        [0x02, 0x01],
        "DAP_Connect"
    );
    dap
}

fn command(dap: &mut TcpTransport, packet: &[u8]) -> Vec<u8> {
    dap.write_packet(packet).expect("request sent");
    let mut reply = vec![0; 1024];
    let length = dap
        .read_packet(&mut reply, crate::common::DEADLINE)
        .expect("reply");
    reply.truncate(length);
    reply
}

/// DAP_SWJ_Pins driving nRESET (bit 7) low or high, no wait.
fn nreset_pins(asserted: bool) -> [u8; 7] {
    let level = if asserted { 0x00 } else { 0x80 };
    [0x10, level, 0x80, 0, 0, 0, 0]
}

#[test]
fn nreset_through_dap_swj_pins_is_seen_by_a_pyocd_client() {
    let server = start_server_with_dap_port();
    let (mut a, mut b) = (
        memory_session(server.local_addr()),
        memory_session(server.local_addr()),
    );
    let mut dap = dap_client(server.dap_addr().expect("a DAP port"));
    catch_reset(&mut a);
    settle(&mut [&mut a, &mut b]);

    let asserted = command(&mut dap, &nreset_pins(true));
    assert_eq!(
        (asserted[0], asserted[1] & 0x80),
        (0x10, 0x00),
        "{asserted:?}"
    );
    assert_eq!(a.ok("is_reset_asserted", json!([])), true);
    let released = command(&mut dap, &nreset_pins(false));
    assert_eq!(
        (released[0], released[1] & 0x80),
        (0x10, 0x80),
        "{released:?}"
    );

    assert_core_was_reset(&mut a);
    assert_reset_seen_once(&mut b, "B");
}

#[test]
fn dap_reset_target_is_seen_by_every_pyocd_client() {
    let server = start_server_with_dap_port();
    let (mut a, mut b) = (
        memory_session(server.local_addr()),
        memory_session(server.local_addr()),
    );
    let mut dap = dap_client(server.dap_addr().expect("a DAP port"));
    catch_reset(&mut a);
    settle(&mut [&mut a, &mut b]);

    let reply = command(&mut dap, &[0x0A]);
    assert_eq!(reply[..2], [0x0A, 0x00], "DAP_ResetTarget: {reply:?}");

    assert_core_was_reset(&mut a);
    assert_reset_seen_once(&mut b, "B");
}

/// A DAP_Transfer reading DHCSR through AP 0 as OpenOCD does: SELECT, CSW,
/// TAR, then DRW; returns DHCSR.
fn dap_dhcsr(dap: &mut TcpTransport) -> u32 {
    let mut packet = vec![0x05, 0x00, 0x04];
    packet.push(0x08); // DP write SELECT: AP 0, bank 0
    packet.extend(0u32.to_le_bytes());
    packet.push(0x01); // AP write CSW: 32-bit, no increment
    packet.extend(0x2300_0002u32.to_le_bytes());
    packet.push(0x05); // AP write TAR
    packet.extend(DHCSR.to_le_bytes());
    packet.push(0x0F); // AP read DRW
    let reply = command(dap, &packet);
    assert_eq!(reply[..3], [0x05, 0x04, 0x01], "DAP_Transfer: {reply:?}");
    u32::from_le_bytes(reply[3..7].try_into().unwrap())
}

#[test]
fn reset_by_a_pyocd_client_is_seen_by_a_dap_client() {
    let server = start_server_with_dap_port();
    let mut a = memory_session(server.local_addr());
    let mut b = memory_session(server.local_addr());
    let mut dap = dap_client(server.dap_addr().expect("a DAP port"));
    settle(&mut [&mut a, &mut b]);
    dap_dhcsr(&mut dap);
    let before = dap_dhcsr(&mut dap);
    assert_eq!(before & S_RESET_ST, 0, "the DAP client before: {before:#x}");

    b.ok("reset", json!([]));

    assert_reset_seen_once(&mut a, "A");
    let first = dap_dhcsr(&mut dap);
    assert_ne!(
        first & S_RESET_ST,
        0,
        "the DAP client's first read: {first:#x}"
    );
    let second = dap_dhcsr(&mut dap);
    assert_eq!(
        second & S_RESET_ST,
        0,
        "the DAP client's second: {second:#x}"
    );
    assert_reset_seen_once(&mut b, "B");
}
