//! The DAP port (CMSIS-DAP over TCP, for OpenOCD) pinned over real
//! sockets: an in-process server on port 0 serves the virtual target on
//! both of its ports, and the DAP clients are the project's own CMSIS-DAP
//! driver over `TcpTransport` or, for what the driver never sends, raw
//! packets. Where the port answers as CMSIS-DAP firmware does, the tests
//! compare its reply with the emulated firmware's own reply to the same
//! packet, byte for byte.
//!
//! Every wait has a deadline (`common::DEADLINE`); nothing sleeps to
//! synchronise: threads that must overlap start together at a barrier.

mod common;

#[allow(dead_code, unused_imports)]
#[path = "sharing/support.rs"]
mod support;

#[path = "dap_port/dap.rs"]
mod dap;

#[path = "dap_port/commands.rs"]
mod commands;

#[path = "dap_port/faults.rs"]
mod faults;

#[path = "dap_port/malformed.rs"]
mod malformed;

#[path = "dap_port/pipelining.rs"]
mod pipelining;

#[path = "dap_port/refused.rs"]
mod refused;

#[path = "dap_port/sharing.rs"]
mod sharing;
