//! Facts about the virtual target and small steps the sharing tests share.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{wait_until, Client};

pub use probeshare::sim::dp::{DPIDR_VALUE, STICKYERR, STKERRCLR};
pub use probeshare::sim::mem_ap::AHB_AP_IDR;
pub use probeshare::sim::RAM_BASE;

/// DP register addresses as the protocol carries them.
pub const DP_IDR: u32 = 0x0;
pub const DP_ABORT: u32 = 0x0;
pub const DP_CTRL_STAT: u32 = 0x4;
pub const DP_SELECT: u32 = 0x8;
/// DLCR: DP address 0x4 in DPBANKSEL bank 1 (a DPv1 banks only 0x4).
pub const DP_DLCR: u32 = 0x4;
/// SELECT with DPBANKSEL = 1 (APSEL 0, APBANKSEL 0): DP 0x4 is DLCR.
pub const SELECT_DLCR_BANK: u32 = 0x1;
/// DLCR as the virtual DP resets it: bit 6 reads as one, TURNROUND 0
/// (one cycle).
pub const DLCR_RESET: u32 = 1 << 6;

/// CDBGPWRUPREQ | CSYSPWRUPREQ, what pyOCD writes to power the port up.
pub const POWER_UP_REQUESTS: u32 = 0x5000_0000;
/// CDBGPWRUPACK | CSYSPWRUPACK.
pub const POWER_UP_ACKS: u32 = 0xA000_0000;

/// Registers of the AHB-AP (APSEL 0, bank in bits 7:4).
pub const AP_CSW: u32 = 0x00;
pub const AP_TAR: u32 = 0x04;
pub const AP_DRW: u32 = 0x0C;
pub const AP_IDR: u32 = 0xFC;

/// CSW: 32-bit transfers, TAR fixed / TAR incremented after each one.
pub const CSW_WORD: u32 = 0x0300_0002;
pub const CSW_WORD_INCREMENT: u32 = 0x0300_0012;
/// CSW: 8-bit and 16-bit transfers, TAR fixed.
pub const CSW_BYTE: u32 = 0x0300_0000;
pub const CSW_HALFWORD: u32 = 0x0300_0001;

/// Nothing is mapped here: a DRW access faults.
pub const UNMAPPED: u32 = 0x1000_0000;

/// What the sim answers (status 3) when a probe operation reaches it while
/// the probe is closed: how a test sees that the hardware was closed.
pub const NOT_OPEN: &str = "probe is not open";

/// How long a "nothing answered yet" check listens.
pub const SILENCE: Duration = Duration::from_millis(150);

pub fn as_u32(value: &Value) -> u32 {
    value
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or_else(|| panic!("not a 32-bit value: {value}"))
}

pub fn read_dp(client: &mut Client, addr: u32) -> u32 {
    as_u32(&client.ok("read_dp", json!([addr])))
}

pub fn read_ap(client: &mut Client, addr: u32) -> u32 {
    as_u32(&client.ok("read_ap", json!([addr])))
}

pub fn write_ap(client: &mut Client, addr: u32, value: u32) {
    client.ok("write_ap", json!([addr, value]));
}

/// Requests debug and system power, as pyOCD does after connecting.
pub fn power_up(client: &mut Client) {
    client.ok("write_dp", json!([DP_CTRL_STAT, POWER_UP_REQUESTS]));
    let ctrl_stat = read_dp(client, DP_CTRL_STAT);
    assert_eq!(ctrl_stat & POWER_UP_ACKS, POWER_UP_ACKS, "{ctrl_stat:#x}");
}

/// A session (hello, open, connect SWD) with the debug port powered up.
pub fn powered_session(addr: SocketAddr) -> Client {
    let mut client = Client::session(addr);
    power_up(&mut client);
    client
}

pub fn wire_protocol(client: &mut Client) -> Value {
    client.ok("readprop", json!(["wire_protocol"]))
}

/// The client dies: its socket is closed without a word.
pub fn kill(client: Client) {
    let _ = client.stream.shutdown(std::net::Shutdown::Both);
    drop(client);
}

/// Waits until the wire is down and the hardware closed, as seen by a
/// fresh client that never opened: `readprop wire_protocol` is null and a
/// DP read reaches a closed probe.
pub fn wait_until_probe_closed(addr: SocketAddr) {
    let mut observer = Client::hello(addr);
    wait_until("the probe to be closed", || {
        if wire_protocol(&mut observer) != Value::Null {
            return false;
        }
        let response = observer.call("read_dp", json!([DP_IDR]));
        response["status"] == 3 && response["error"] == NOT_OPEN
    });
}
