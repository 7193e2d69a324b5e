//! Halting debug of the virtual Cortex-M4 (ARMv7-M C1.6), driven as pyOCD
//! drives it without memory handles: one word at a time through the
//! AHB-AP's TAR and DRW, with CSW set to 32-bit transfers and no
//! auto-increment ([`CSW_WORD`]). A core register transfer is the DCRSR /
//! DHCSR / DCRDR sequence pyOCD spreads over several requests.
//!
//! Shared by the `sharing` and `client_context` test binaries; each uses
//! part of it.
#![allow(dead_code, unused_imports)]

use serde_json::{json, Value};

use crate::common::{wait_until, Client};
use crate::support::*;

use probeshare::sim::cortex::scs;

pub use probeshare::sim::cortex::debug::{
    C_DEBUGEN, C_HALT, C_STEP, DBGKEY, DCRSR_REGWNR, DEMCR_VC_CORERESET, S_HALT, S_REGRDY,
    S_RESET_ST, S_RETIRE_ST,
};

/// Addresses of the halting-debug registers and AIRCR.
pub const DHCSR: u32 = scs::SCS_BASE + scs::DHCSR;
pub const DCRSR: u32 = scs::SCS_BASE + scs::DCRSR;
pub const DCRDR: u32 = scs::SCS_BASE + scs::DCRDR;
pub const DEMCR: u32 = scs::SCS_BASE + scs::DEMCR;
pub const AIRCR: u32 = scs::SCS_BASE + scs::AIRCR;

/// An AIRCR write that resets the system (SYSRESETREQ with its key).
pub const AIRCR_SYSTEM_RESET: u32 = scs::VECTKEY | scs::AIRCR_SYSRESETREQ;
/// DHCSR writes: debug enabled and halted / running / stepping once.
pub const DHCSR_HALT: u32 = DBGKEY | C_DEBUGEN | C_HALT;
pub const DHCSR_RUN: u32 = DBGKEY | C_DEBUGEN;
pub const DHCSR_STEP: u32 = DBGKEY | C_DEBUGEN | C_STEP;

pub type Requests = Vec<(&'static str, Value)>;

/// A word write: TAR, then DRW.
pub fn write_word_requests(addr: u32, value: u32) -> Requests {
    vec![
        ("write_ap", json!([AP_TAR, addr])),
        ("write_ap", json!([AP_DRW, value])),
    ]
}

/// A word read: TAR, then DRW (the second response is the word).
pub fn read_word_requests(addr: u32) -> Requests {
    vec![
        ("write_ap", json!([AP_TAR, addr])),
        ("read_ap", json!([AP_DRW])),
    ]
}

pub fn write_word(client: &mut Client, addr: u32, value: u32) {
    write_ap(client, AP_TAR, addr);
    write_ap(client, AP_DRW, value);
}

pub fn read_word(client: &mut Client, addr: u32) -> u32 {
    write_ap(client, AP_TAR, addr);
    read_ap(client, AP_DRW)
}

pub fn dhcsr(client: &mut Client) -> u32 {
    read_word(client, DHCSR)
}

/// Enables halting debug and halts the core; returns once DHCSR says so.
pub fn halt_core(client: &mut Client) {
    write_word(client, DHCSR, DHCSR_HALT);
    wait_until("the core to halt", || dhcsr(client) & S_HALT != 0);
}

/// A core register write: the value to DCRDR, then DCRSR with REGWnR.
pub fn register_write_requests(regsel: u32, value: u32) -> Requests {
    let mut requests = write_word_requests(DCRDR, value);
    requests.extend(write_word_requests(DCRSR, regsel | DCRSR_REGWNR));
    requests
}

/// A core register read: DCRSR, DHCSR (S_REGRDY), then DCRDR. Of the six
/// responses, the fourth is DHCSR and the sixth the register's value.
pub fn register_read_requests(regsel: u32) -> Requests {
    let mut requests = write_word_requests(DCRSR, regsel);
    requests.extend(read_word_requests(DHCSR));
    requests.extend(read_word_requests(DCRDR));
    requests
}

/// Index of DHCSR's and of the register's value in the responses to
/// [`register_read_requests`].
pub const REGISTER_READ_DHCSR: usize = 3;
pub const REGISTER_READ_VALUE: usize = 5;

pub fn write_core_register(client: &mut Client, regsel: u32, value: u32) {
    for (request, arguments) in register_write_requests(regsel, value) {
        client.ok(request, arguments);
    }
}

pub fn read_core_register(client: &mut Client, regsel: u32) -> u32 {
    let results: Vec<Value> = register_read_requests(regsel)
        .into_iter()
        .map(|(request, arguments)| client.ok(request, arguments))
        .collect();
    let status = as_u32(&results[REGISTER_READ_DHCSR]);
    assert_ne!(status & S_REGRDY, 0, "DHCSR {status:#x} without S_REGRDY");
    as_u32(&results[REGISTER_READ_VALUE])
}
