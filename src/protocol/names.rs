//! The wire name of every request: the one place each is written. The
//! request table (`commands`) is keyed by these, and each decoded value
//! names the request it came from: [`Command::name`], and `name` of the
//! probe's [`Op`] and of memap's [`MemoryRequest`] and [`MemoryOp`]
//! (defined here, with the names, so those layers do not carry wire names
//! of their own; the arbiter and the worker use them in messages).

use super::Command;
use crate::memap::{MemoryOp, MemoryRequest};
use crate::probe::Op;

pub(super) const HELLO: &str = "hello";
pub(super) const READPROP: &str = "readprop";
pub(super) const OPEN: &str = "open";
pub(super) const CLOSE: &str = "close";
pub(super) const LOCK: &str = "lock";
pub(super) const UNLOCK: &str = "unlock";
pub(super) const CONNECT: &str = "connect";
pub(super) const DISCONNECT: &str = "disconnect";
pub(super) const SWJ_SEQUENCE: &str = "swj_sequence";
pub(super) const SWD_SEQUENCE: &str = "swd_sequence";
pub(super) const JTAG_SEQUENCE: &str = "jtag_sequence";
pub(super) const SET_CLOCK: &str = "set_clock";
pub(super) const RESET: &str = "reset";
pub(super) const ASSERT_RESET: &str = "assert_reset";
pub(super) const IS_RESET_ASSERTED: &str = "is_reset_asserted";
pub(super) const FLUSH: &str = "flush";
pub(super) const READ_DP: &str = "read_dp";
pub(super) const WRITE_DP: &str = "write_dp";
pub(super) const READ_AP: &str = "read_ap";
pub(super) const WRITE_AP: &str = "write_ap";
pub(super) const READ_AP_MULTIPLE: &str = "read_ap_multiple";
pub(super) const WRITE_AP_MULTIPLE: &str = "write_ap_multiple";
pub(super) const GET_MEMORY_INTERFACE_FOR_AP: &str = "get_memory_interface_for_ap";
pub(super) const SWO_START: &str = "swo_start";
pub(super) const SWO_STOP: &str = "swo_stop";
pub(super) const SWO_READ: &str = "swo_read";
pub(super) const HAS_SWO: &str = "has_swo";
pub(super) const READ_MEM: &str = "read_mem";
pub(super) const WRITE_MEM: &str = "write_mem";
pub(super) const READ_BLOCK32: &str = "read_block32";
pub(super) const WRITE_BLOCK32: &str = "write_block32";
pub(super) const READ_BLOCK8: &str = "read_block8";
pub(super) const WRITE_BLOCK8: &str = "write_block8";
/// probeshare's own request (docs/protocol.md, "Events"): no pyOCD client
/// sends it.
pub(super) const SUBSCRIBE: &str = "subscribe";
pub(super) const PROBESHARE_FEATURES: &str = "probeshare_features";

impl Command {
    /// The wire name of the request (for logs).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Hello { .. } => HELLO,
            Command::ReadProp { .. } => READPROP,
            Command::Lock => LOCK,
            Command::Unlock => UNLOCK,
            Command::Probe(op) => op.name(),
            Command::GetMemoryInterface { .. } => GET_MEMORY_INTERFACE_FOR_AP,
            Command::Memory { op, .. } => op.name(),
            Command::Subscribe { .. } => SUBSCRIBE,
            Command::Features { .. } => PROBESHARE_FEATURES,
        }
    }
}

impl Op {
    /// The wire name of the request this operation came from (for logs).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Open => OPEN,
            Op::Close => CLOSE,
            Op::Connect(_) => CONNECT,
            Op::Disconnect => DISCONNECT,
            Op::SwjSequence { .. } => SWJ_SEQUENCE,
            Op::SwdSequence(_) => SWD_SEQUENCE,
            Op::JtagSequence { .. } => JTAG_SEQUENCE,
            Op::SetClock(_) => SET_CLOCK,
            Op::Reset => RESET,
            Op::AssertReset(_) => ASSERT_RESET,
            Op::IsResetAsserted => IS_RESET_ASSERTED,
            Op::Flush => FLUSH,
            Op::ReadDp(_) => READ_DP,
            Op::WriteDp { .. } => WRITE_DP,
            Op::ReadAp(_) => READ_AP,
            Op::WriteAp { .. } => WRITE_AP,
            Op::ReadApMultiple { .. } => READ_AP_MULTIPLE,
            Op::WriteApMultiple { .. } => WRITE_AP_MULTIPLE,
            Op::HasSwo => HAS_SWO,
            Op::SwoStart(_) => SWO_START,
            Op::SwoStop => SWO_STOP,
            Op::SwoRead => SWO_READ,
        }
    }
}

impl MemoryRequest {
    /// The wire name of the request this came from (for logs).
    pub fn name(&self) -> &'static str {
        match self {
            MemoryRequest::IdentifyAp(_) => GET_MEMORY_INTERFACE_FOR_AP,
            MemoryRequest::Access { op, .. } => op.name(),
        }
    }
}

impl MemoryOp {
    /// The wire name of the request this access came from (for logs).
    pub fn name(&self) -> &'static str {
        match self {
            MemoryOp::Read { .. } => READ_MEM,
            MemoryOp::Write { .. } => WRITE_MEM,
            MemoryOp::ReadBlock32 { .. } => READ_BLOCK32,
            MemoryOp::WriteBlock32 { .. } => WRITE_BLOCK32,
            MemoryOp::ReadBlock8 { .. } => READ_BLOCK8,
            MemoryOp::WriteBlock8 { .. } => WRITE_BLOCK8,
        }
    }
}
