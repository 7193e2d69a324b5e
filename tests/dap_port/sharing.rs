//! DAP clients sharing the probe with each other and with pyOCD clients.
//!
//! DAP_Connect and DAP_Disconnect are the counted `connect` and
//! `disconnect` of the sharing rules (docs/protocol.md, Sharing, rule 3):
//! the first client's wire stays, whichever port it came from, and goes
//! down when the last connected client of either port lets go. A packet
//! runs as one; across packets, each client's SELECT, CSW and TAR are its
//! own (rule 9), so clients with different transfer sizes and addresses
//! interleave freely. The interleaving tests run each client in a thread
//! of its own, all started together, so their packets overlap at the
//! server in whatever order the machine gives.

use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::thread;

use probeshare::probe::{DebugProbe, ProtocolRequest, WireProtocol};
use serde_json::json;

use crate::common::{wait_until, Client};
use crate::dap::*;
use crate::support::*;

/// The wire as the loop last published it (at the end of its turn, which
/// may be just after a reply has reached the client: wait for a change).
fn wire(server: &DapServer) -> Option<WireProtocol> {
    server.handle.status().wire_protocol
}

fn wait_for_swd(server: &DapServer) {
    wait_until("the wire up with SWD", || {
        wire(server) == Some(WireProtocol::Swd)
    });
}

#[test]
fn a_dap_client_connects_on_the_swd_wire_a_pyocd_client_brought_up() {
    let server = DapServer::start();
    let mut pyocd = Client::session(server.pyocd_addr());
    wait_for_swd(&server);

    // The driver asks for SWD: counted, and told SWD.
    let mut probe = driver(server.dap_addr());
    probe.open().unwrap();
    assert_eq!(
        probe
            .connect(ProtocolRequest::Specific(WireProtocol::Swd))
            .unwrap(),
        WireProtocol::Swd
    );
    wait_until("both clients counted", || {
        server.handle.status().connect_count == 2
    });
    assert_eq!(probe.read_dp(DP_IDR).unwrap(), DPIDR_VALUE);

    // Another DAP client: the default port is the wire in place; JTAG is
    // refused with mode 0, as firmware without it answers.
    let mut raw = RawDap::connect(server.dap_addr());
    assert_eq!(raw.call(&[DAP_CONNECT, 0]), [DAP_CONNECT, 1]);
    assert_eq!(raw.call(&[DAP_CONNECT, 2]), [DAP_CONNECT, 0]);
    assert_eq!(wire(&server), Some(WireProtocol::Swd));

    // pyOCD leaves: the DAP clients keep the wire.
    pyocd.ok("disconnect", json!([]));
    pyocd.ok("close", json!([]));
    assert_eq!(probe.read_dp(DP_IDR).unwrap(), DPIDR_VALUE);
    assert_eq!(raw.call(&[DAP_DISCONNECT]), [DAP_DISCONNECT, DAP_OK]);
    assert_eq!(probe.read_dp(DP_IDR).unwrap(), DPIDR_VALUE);
    assert_eq!(wire(&server), Some(WireProtocol::Swd));

    // The last one goes: the wire goes down.
    probe.disconnect().unwrap();
    wait_until("the wire to go down", || wire(&server).is_none());
}

#[test]
fn a_pyocd_client_shares_the_wire_a_dap_client_brought_up() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut pyocd = Client::hello(server.pyocd_addr());
    pyocd.ok("open", json!([]));
    let refused = pyocd.err("connect", json!(["JTAG"]), 3);
    assert!(refused.contains("already connected using SWD"), "{refused}");
    pyocd.ok("connect", json!(["SWD"]));
    assert_eq!(read_dp(&mut pyocd, DP_IDR), DPIDR_VALUE);

    // The DAP client leaves by disconnecting: pyOCD keeps the wire.
    assert_eq!(dap.call(&[DAP_DISCONNECT]), [DAP_DISCONNECT, DAP_OK]);
    assert_eq!(read_dp(&mut pyocd, DP_IDR), DPIDR_VALUE);
    assert_eq!(wire(&server), Some(WireProtocol::Swd));
    // It connects again beside pyOCD: the wire in place, counted.
    assert_eq!(dap.call(&[DAP_CONNECT, 1]), [DAP_CONNECT, 1]);
    wait_until("both clients counted", || {
        server.handle.status().connect_count == 2
    });
    pyocd.ok("disconnect", json!([]));
    let reply = dap.call(&transfer(&[(dp_read(DP_IDR), None)]));
    assert_eq!(words(&reply, 3), [DPIDR_VALUE]);
    // Its connection closing releases its reference.
    drop(dap);
    wait_until("the wire to go down", || wire(&server).is_none());
}

/// One client's part of an interleaving test: its CSW, where its data
/// lives, how a value sits in DRW and comes back out of it.
#[derive(Clone, Copy)]
struct Role {
    csw: u32,
    base: u32,
    /// Address step per element.
    step: u32,
    /// How many elements it writes and reads back.
    count: u32,
}

impl Role {
    fn address(&self, i: u32) -> u32 {
        self.base + i * self.step
    }

    /// The element `i` of client `tag` (fits the element size).
    fn value(&self, tag: u32, i: u32) -> u32 {
        let word = 0x1000_0000 * tag + 0x0001_0001 * (i + 1);
        match self.step {
            4 => word,
            2 => word & 0xFFFF,
            _ => word & 0xFF,
        }
    }

    /// What DRW carries for element `i` at `addr`: the value in its byte
    /// lanes.
    fn lanes(&self, value: u32, addr: u32) -> u32 {
        value << (8 * (addr % 4))
    }

    fn out_of_lanes(&self, drw: u32, addr: u32) -> u32 {
        let value = drw >> (8 * (addr % 4));
        match self.step {
            4 => value,
            2 => value & 0xFFFF,
            _ => value & 0xFF,
        }
    }
}

const WORDS: Role = Role {
    csw: CSW_WORD_INCREMENT,
    base: RAM_BASE + 0x3000,
    step: 4,
    count: 200,
};
const BYTES: Role = Role {
    csw: CSW_BYTE | 0x10,
    base: RAM_BASE + 0x3401,
    step: 1,
    count: 200,
};
const HALFWORDS: Role = Role {
    csw: CSW_HALFWORD | 0x10,
    base: RAM_BASE + 0x3802,
    step: 2,
    count: 200,
};

/// A raw DAP client's part: CSW once; then per element its own TAR, a DRW
/// write, TAR again and a DRW read, each a packet of its own, so other
/// clients' packets land between them; then the whole run read back
/// through DRW's auto-increment from one TAR write, one packet per
/// element. Returns the mismatches it saw.
fn dap_part(addr: SocketAddr, role: Role, tag: u32, start: &Barrier) -> Vec<String> {
    let mut dap = RawDap::session(addr);
    let ok = |reply: &[u8], count: u8| reply[..3] == [DAP_TRANSFER, count, ACK_OK];
    assert!(ok(
        &dap.call(&transfer(&[(ap_write(AP_CSW), Some(role.csw))])),
        1
    ));
    start.wait();
    let mut wrong = Vec::new();
    for i in 0..role.count {
        let addr = role.address(i);
        let value = role.value(tag, i);
        let tar = transfer(&[(ap_write(AP_TAR), Some(addr))]);
        assert!(ok(&dap.call(&tar), 1));
        let write = transfer(&[(ap_write(AP_DRW), Some(role.lanes(value, addr)))]);
        assert!(ok(&dap.call(&write), 1));
        assert!(ok(&dap.call(&tar), 1));
        let read = dap.call(&transfer(&[(ap_read(AP_DRW), None)]));
        assert!(ok(&read, 1), "{read:02x?}");
        let got = role.out_of_lanes(words(&read, 3)[0], addr);
        if got != value {
            wrong.push(format!("client {tag} element {i}: {got:#x} for {value:#x}"));
        }
    }
    let tar = transfer(&[(ap_write(AP_TAR), Some(role.base))]);
    assert!(ok(&dap.call(&tar), 1));
    for i in 0..role.count {
        let read = dap.call(&transfer(&[(ap_read(AP_DRW), None)]));
        let got = role.out_of_lanes(words(&read, 3)[0], role.address(i));
        let value = role.value(tag, i);
        if got != value {
            wrong.push(format!(
                "client {tag} read-back {i}: {got:#x} for {value:#x}"
            ));
        }
    }
    wrong
}

/// Checks what the clients left in memory.
fn check_memory(server: &DapServer, role: Role, tag: u32) {
    for i in 0..role.count {
        let addr = role.address(i);
        let word = server.memory_word(addr & !3);
        assert_eq!(
            role.out_of_lanes(word, addr),
            role.value(tag, i),
            "client {tag} element {i} in memory"
        );
    }
}

#[test]
fn two_dap_clients_interleave_with_their_own_csw_and_tar() {
    let server = DapServer::start();
    let addr = server.dap_addr();
    let start = Arc::new(Barrier::new(2));
    let parts: Vec<_> = [(WORDS, 1), (BYTES, 2)]
        .into_iter()
        .map(|(role, tag)| {
            let start = start.clone();
            thread::spawn(move || dap_part(addr, role, tag, &start))
        })
        .collect();
    let wrong: Vec<String> = parts
        .into_iter()
        .flat_map(|part| part.join().expect("client thread"))
        .collect();
    assert!(wrong.is_empty(), "{} wrong: {wrong:#?}", wrong.len());
    check_memory(&server, WORDS, 1);
    check_memory(&server, BYTES, 2);
}

/// The pyOCD client's part: bytes of its own, a request per access, no
/// lock, as pyOCD without memory handles moves them.
fn pyocd_part(addr: SocketAddr, role: Role, tag: u32, start: &Barrier) -> Vec<String> {
    let mut pyocd = Client::session(addr);
    power_up(&mut pyocd);
    write_ap(&mut pyocd, AP_CSW, role.csw);
    start.wait();
    let mut wrong = Vec::new();
    for i in 0..role.count {
        let addr = role.address(i);
        let value = role.value(tag, i);
        write_ap(&mut pyocd, AP_TAR, addr);
        write_ap(&mut pyocd, AP_DRW, role.lanes(value, addr));
        write_ap(&mut pyocd, AP_TAR, addr);
        let got = role.out_of_lanes(read_ap(&mut pyocd, AP_DRW), addr);
        if got != value {
            wrong.push(format!("pyOCD element {i}: {got:#x} for {value:#x}"));
        }
    }
    write_ap(&mut pyocd, AP_TAR, role.base);
    for i in 0..role.count {
        let got = role.out_of_lanes(read_ap(&mut pyocd, AP_DRW), role.address(i));
        let value = role.value(tag, i);
        if got != value {
            wrong.push(format!("pyOCD read-back {i}: {got:#x} for {value:#x}"));
        }
    }
    wrong
}

/// The driver's part: words, each write a packet of its own (deferred
/// writes off), reads through DAP_TransferBlock.
fn driver_part(addr: SocketAddr, role: Role, tag: u32, start: &Barrier) -> Vec<String> {
    let mut probe = memory_driver(addr, role.csw);
    probe.set_deferred_writes(false);
    start.wait();
    let mut wrong = Vec::new();
    for i in 0..role.count {
        let addr = role.address(i);
        let value = role.value(tag, i);
        probe.write_ap(AP_TAR, addr).unwrap();
        probe.write_ap(AP_DRW, value).unwrap();
        let got = driver_read_word(&mut probe, addr);
        if got != value {
            wrong.push(format!("driver element {i}: {got:#x} for {value:#x}"));
        }
    }
    probe.write_ap(AP_TAR, role.base).unwrap();
    let got = probe.read_ap_multiple(AP_DRW, role.count).unwrap();
    let expected: Vec<u32> = (0..role.count).map(|i| role.value(tag, i)).collect();
    if got != expected {
        wrong.push(format!("driver block read-back: {got:x?}"));
    }
    wrong
}

#[test]
fn a_dap_client_moving_words_beside_a_pyocd_client_moving_bytes() {
    let server = DapServer::start();
    let (dap_addr, pyocd_addr) = (server.dap_addr(), server.pyocd_addr());
    let start = Arc::new(Barrier::new(3));
    let (s1, s2, s3) = (start.clone(), start.clone(), start);
    let parts = vec![
        thread::spawn(move || driver_part(dap_addr, WORDS, 1, &s1)),
        thread::spawn(move || pyocd_part(pyocd_addr, BYTES, 2, &s2)),
        thread::spawn(move || dap_part(dap_addr, HALFWORDS, 3, &s3)),
    ];
    let wrong: Vec<String> = parts
        .into_iter()
        .flat_map(|part| part.join().expect("client thread"))
        .collect();
    assert!(wrong.is_empty(), "{} wrong: {wrong:#?}", wrong.len());
    check_memory(&server, WORDS, 1);
    check_memory(&server, BYTES, 2);
    check_memory(&server, HALFWORDS, 3);
}

#[test]
fn a_dap_client_is_connected_or_not_however_often_it_connects() {
    // OpenOCD sends DAP_Connect again after each line reset; one
    // DAP_Disconnect lets go, as with firmware.
    let server = DapServer::start();
    let mut dap = RawDap::connect(server.dap_addr());
    assert_eq!(
        dap.call(&[DAP_DISCONNECT]),
        [DAP_DISCONNECT, DAP_OK],
        "not connected"
    );
    for _ in 0..3 {
        assert_eq!(dap.call(&[DAP_CONNECT, 1]), [DAP_CONNECT, 1]);
        assert_eq!(dap.call(&[DAP_CONNECT, 0]), [DAP_CONNECT, 1]);
    }
    let status = server.handle.status();
    assert_eq!(status.client_list[0].connect_count, 1, "{status:?}");
    assert_eq!(dap.call(&[DAP_DISCONNECT]), [DAP_DISCONNECT, DAP_OK]);
    wait_until("the wire to go down", || wire(&server).is_none());
    assert_eq!(dap.call(&[DAP_DISCONNECT]), [DAP_DISCONNECT, DAP_OK]);
    // Connect and disconnect sent together: the disconnect wins.
    dap.send_all(&[vec![DAP_CONNECT, 1], vec![DAP_DISCONNECT]]);
    assert_eq!(dap.recv(), [DAP_CONNECT, 1]);
    assert_eq!(dap.recv(), [DAP_DISCONNECT, DAP_OK]);
    wait_until("the wire to go down again", || wire(&server).is_none());
    assert_eq!(dap.call(&[DAP_CONNECT, 1]), [DAP_CONNECT, 1]);
    wait_for_swd(&server);
}

#[test]
fn a_dap_client_whose_first_request_found_no_probe_opens_it_later() {
    // A DAP client has no `open` of its own: the port opens the probe
    // with its first request. If that open fails (the probe is unplugged),
    // the next request tries again.
    let server = DapServer::start();
    let mut dap = RawDap::connect(server.dap_addr());
    server.plug.unplug();
    assert_eq!(dap.call(&[DAP_CONNECT, 1]), [DAP_CONNECT, 0]);
    server.plug.replug();
    assert_eq!(dap.call(&[DAP_CONNECT, 1]), [DAP_CONNECT, 1]);
    let reply = dap.call(&transfer(&[(dp_read(DP_IDR), None)]));
    assert_eq!(words(&reply, 3), [DPIDR_VALUE]);
}

#[test]
fn a_dap_clients_power_down_is_masked_while_others_are_connected() {
    // docs/protocol.md, Sharing, rule 7, for a raw DP write in a packet.
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut pyocd = Client::session(server.pyocd_addr());
    power_up(&mut pyocd);
    let reply = dap.call(&transfer(&[
        (dp_write(DP_CTRL_STAT), Some(0)),
        (dp_read(DP_CTRL_STAT), None),
    ]));
    assert_eq!(reply[..3], [DAP_TRANSFER, 2, ACK_OK]);
    let seen = words(&reply, 3)[0];
    assert_eq!(
        seen & POWER_UP_ACKS,
        0,
        "the DAP client sees its power-down: {seen:#x}"
    );
    // The port stays powered for pyOCD.
    assert_eq!(
        read_dp(&mut pyocd, DP_CTRL_STAT) & POWER_UP_ACKS,
        POWER_UP_ACKS
    );
    assert_eq!(read_ap(&mut pyocd, AP_IDR), AHB_AP_IDR);
}

#[test]
fn a_core_register_transfer_spread_over_packets_keeps_others_out() {
    // docs/protocol.md, Sharing, rule 10: from a DAP client's DCRSR write
    // (a register read) to its DCRDR read, in packets of their own, no
    // other client's request runs.
    use probeshare::sim::cortex::debug::{C_DEBUGEN, C_HALT, DBGKEY, DCRSR_REGWNR};
    use probeshare::sim::cortex::scs::{DCRDR, DCRSR, DHCSR, SCS_BASE};
    use std::time::Duration;

    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut pyocd = Client::session(server.pyocd_addr());
    power_up(&mut pyocd);
    let word = |dap: &mut RawDap, requests: &[(u8, Option<u32>)]| {
        let reply = dap.call(&transfer(requests));
        assert_eq!(reply[..3], [DAP_TRANSFER, requests.len() as u8, ACK_OK]);
        words(&reply, 3).first().copied()
    };
    word(
        &mut dap,
        &[
            (ap_write(AP_CSW), Some(CSW_WORD)),
            (ap_write(AP_TAR), Some(SCS_BASE + DHCSR)),
            (ap_write(AP_DRW), Some(DBGKEY | C_DEBUGEN | C_HALT)),
        ],
    );
    // R0 = 0x600D_F00D: DCRDR, then DCRSR with REGWnR.
    word(&mut dap, &[(ap_write(AP_TAR), Some(SCS_BASE + DCRDR))]);
    word(&mut dap, &[(ap_write(AP_DRW), Some(0x600D_F00D))]);
    word(&mut dap, &[(ap_write(AP_TAR), Some(SCS_BASE + DCRSR))]);
    word(&mut dap, &[(ap_write(AP_DRW), Some(DCRSR_REGWNR))]);
    // Read R0: DCRSR written, the window opens.
    word(&mut dap, &[(ap_write(AP_DRW), Some(0))]);
    let held = pyocd.send("read_dp", json!([DP_IDR]));
    pyocd.wait_until_server_has_read();
    pyocd.assert_no_response_within(Duration::from_millis(150));
    word(&mut dap, &[(ap_write(AP_TAR), Some(SCS_BASE + DHCSR))]);
    word(&mut dap, &[(ap_read(AP_DRW), None)]);
    word(&mut dap, &[(ap_write(AP_TAR), Some(SCS_BASE + DCRDR))]);
    // The DCRDR read closes it.
    let r0 = word(&mut dap, &[(ap_read(AP_DRW), None)]);
    assert_eq!(r0, Some(0x600D_F00D));
    assert_eq!(pyocd.recv_ok(held), json!(DPIDR_VALUE));
}
