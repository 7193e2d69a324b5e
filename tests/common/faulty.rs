//! A server on the virtual target with its fault and recording handles
//! (tests/faults.rs, tests/wire.rs), a
//! client doing memory work through the AHB-AP, and the leak check.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use serde_json::json;

use super::{powered_session, wait_until, Client};
use probeshare::server::{self, Limits, ServerConfig, ServerHandle};
use probeshare::sim::dap_firmware::{
    FaultHandle, FirmwareConfig, PlugHandle, RecordHandle, SharedTarget, UsbModel,
};
use probeshare::sim::{self, VIRTUAL_DESCRIPTION};

/// How long the driver waits for a reply in these tests: a probe that
/// stops answering is found out this quickly (the default is 5 s).
pub const REPLY_TIMEOUT: Duration = Duration::from_millis(300);

pub const RAM: u32 = 0x2000_0000;
const CSW: u32 = 0x00;
const TAR: u32 = 0x04;
const DRW: u32 = 0x0C;
/// Word transfers, single auto-increment, pyOCD's HPROT/MasterType bits.
const CSW_WORD_INCREMENT: u32 = 0x2300_0012;
const DP_ABORT: u32 = 0x0;
/// ABORT: clear every sticky flag.
const ABORT_CLEAR_ALL: u32 = 0x1E;

/// An in-process server on the virtual target, with its handles.
pub struct FaultyServer {
    pub handle: ServerHandle,
    pub faults: FaultHandle,
    pub record: RecordHandle,
    pub target: SharedTarget,
    pub plug: PlugHandle,
}

impl FaultyServer {
    pub fn start() -> FaultyServer {
        FaultyServer::start_with_usb(UsbModel::None)
    }

    /// On `usb`'s packet size and count (full-speed HID: 64-byte packets,
    /// so a batch is many packets).
    pub fn start_with_usb(usb: UsbModel) -> FaultyServer {
        let mut driver =
            sim::virtual_driver("sim", VIRTUAL_DESCRIPTION, FirmwareConfig::for_model(usb))
                .expect("virtual probe");
        driver.set_reply_timeout(REPLY_TIMEOUT);
        let firmware = driver.transport();
        let (faults, record, target, plug) = (
            firmware.fault_handle(),
            firmware.record_handle(),
            firmware.target(),
            firmware.plug_handle(),
        );
        let handle = server::spawn(
            TcpListener::bind("127.0.0.1:0").expect("bind port 0"),
            Box::new(driver),
            ServerConfig {
                limits: Limits {
                    register_window: Duration::from_secs(60),
                    ..Limits::default()
                },
                ..ServerConfig::default()
            },
        )
        .expect("server starts");
        FaultyServer {
            handle,
            faults,
            record,
            target,
            plug,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    /// Once every client has gone: no client, lock, open or connect is
    /// left counted.
    pub fn assert_nothing_leaked(&self) {
        wait_until("the server to forget every client", || {
            let status = self.handle.status();
            status.clients == 0
                && status.lock_holder.is_none()
                && status.open_count == 0
                && status.connect_count == 0
        });
    }
}

/// A powered-up session moving words through the AHB-AP.
pub fn memory_session(addr: SocketAddr) -> Client {
    let mut c = powered_session(addr);
    c.ok("write_ap", json!([CSW, CSW_WORD_INCREMENT]));
    c
}

/// Reads the word at `address`; the raw response.
pub fn read_word(c: &mut Client, address: u32) -> serde_json::Value {
    c.ok("write_ap", json!([TAR, address]));
    c.call("read_ap", json!([DRW]))
}

pub fn write_word(c: &mut Client, address: u32, value: u32) {
    c.ok("write_ap", json!([TAR, address]));
    c.ok("write_ap", json!([DRW, value]));
}

/// Clears the sticky flags a failed transfer left this client, as pyOCD
/// does after a transfer error.
pub fn clear_sticky(c: &mut Client) {
    c.ok("write_dp", json!([DP_ABORT, ABORT_CLEAR_ALL]));
}

/// Another client's work while a fault happens: `rounds` writes and
/// read-backs of its own words at `base`, each checked, on its own
/// connection and thread. Returns how many rounds it completed.
pub fn bystander(addr: SocketAddr, base: u32, rounds: u32) -> std::thread::JoinHandle<u32> {
    let mut c = memory_session(addr);
    std::thread::spawn(move || {
        for round in 0..rounds {
            let address = base + 4 * (round % 64);
            let value = 0xB000_0000 | round;
            write_word(&mut c, address, value);
            let read = read_word(&mut c, address);
            assert_eq!(read["status"], 0, "bystander round {round}: {read}");
            assert_eq!(read["result"], value, "bystander round {round}: {read}");
        }
        c.ok("disconnect", json!([]));
        c.ok("close", json!([]));
        rounds
    })
}
