//! The wire format of pyOCD's remote probe protocol, version 1.
//!
//! This is the one place the format is written down in code; the sharing
//! semantics live in the arbiter and in `docs/protocol.md` ("Sharing").
//!
//! # Framing
//!
//! TCP, UTF-8. Each request is one JSON object followed by LF; each response
//! is one JSON object followed by LF, in request order. Framing and line
//! limits are the server's; this module sees one line at a time
//! ([`decode_request`]) and appends one line at a time ([`encode_response`]).
//!
//! # Requests
//!
//! `{"id": <int>, "request": <str>, "arguments": [...]}`. `arguments` may be
//! absent (no arguments). Keys may come in any order, unknown keys are
//! ignored, and a repeated key takes its last value (as Python's
//! `json.loads`). Malformed input is status 1, checked in pyOCD's server's
//! order, with its messages:
//!
//! | check | message | `id` answered |
//! |---|---|---|
//! | not UTF-8, not JSON, not an object | `invalid request format` | -1 |
//! | no `id` | `missing request ID` | -1 |
//! | `id` not an integer fitting i64 **\[ours\]** | `invalid request field 'id': ...` | -1 |
//! | no `request` | `missing request field` | the id |
//! | `arguments` not a list (`null` included) | `invalid request arguments format` | the id |
//! | `request` not a known name, or not a string | `unknown request type` | the id |
//! | wrong number of arguments | `malformed request; invalid number of arguments` | the id |
//! | an argument of the wrong type or range **\[ours\]** | `invalid argument 'addr' of read_dp: expected an unsigned 32-bit integer, got -1` | the id |
//!
//! A non-string `request` gets `unknown request type` because that is what
//! pyOCD's server answers for, say, a number there.
//!
//! ## Arguments
//!
//! Decoded strictly from their JSON text: an integer argument must be an
//! integer literal (`1.0` and `"1"` are refused), unsigned ones must not be
//! negative (`-0` is 0, as Python reads it), and every value must fit its
//! field. Named as in pyOCD's server:
//!
//! | request | arguments | rules |
//! |---|---|---|
//! | `hello` | version | any i64; checking it equals 1 is the server's |
//! | `readprop` | name | string |
//! | `open` `close` `lock` `unlock` `disconnect` `reset` `is_reset_asserted` `flush` `swo_stop` `swo_read` `has_swo` | – | |
//! | `connect` | protocol | `"DEFAULT"`, `"SWD"` or `"JTAG"`, else `invalid protocol name X` |
//! | `swj_sequence` | length, bits | length 0..=256; bits an integer of at most 256 bits, parsed without loss |
//! | `swd_sequence` | sequences | list of `[cycles]` (read) or `[cycles, bits]` (write); cycles 1..=64, bits u64 |
//! | `jtag_sequence` | cycles, tms, read_tdo, tdi | cycles 1..=64, tms 0/1, read_tdo boolean, tdi u64 |
//! | `set_clock` | freq | u32 Hz |
//! | `assert_reset` | asserted | boolean |
//! | `read_dp` `read_ap` | addr | u32 |
//! | `write_dp` `write_ap` | addr, data | u32, u32 |
//! | `read_ap_multiple` | addr, count | u32, count within the block limit |
//! | `write_ap_multiple` | addr, data | u32, list of u32 within the block limit |
//! | `get_memory_interface_for_ap` | ap_address_version, ap_nominal_address | 1 (APv1) or 2 (APv2); u64 |
//! | `read_mem` | handle, addr, xfer_size | u64, u32, 8/16/32 |
//! | `write_mem` | handle, addr, value, xfer_size | value must fit xfer_size bits |
//! | `read_block32` `read_block8` | handle, addr, word_count / byte_count | block32 addr 4-aligned; count within the block limit |
//! | `write_block32` `write_block8` | handle, addr, data | block32 addr 4-aligned; list of u32 / of 0..=255, within the block limit |
//! | `swo_start` | baudrate | u32 |
//! | `probeshare_features` **\[ours\]** | features | a list of at most 64 strings (docs/protocol.md, "Extensions") |
//!
//! Choices where pyOCD's server would accept anything Python can call with:
//! - Booleans are `true`/`false` or the integers 0 and 1 (pyOCD's STM32H7
//!   target code calls `assert_reset(1)`); `tms` likewise.
//! - Sequence bits beyond the cycle count are dropped, as pyOCD's CMSIS-DAP
//!   driver ignores them: its SWD line reset sends 56 one-bits for 51 cycles.
//!   So `swj_sequence` yields exactly `ceil(length / 8)` bytes, LSB first.
//! - The block limit ([`DecodeLimits::max_block_elements`]) bounds every
//!   count and list, `swd_sequence`'s list included.
//!
//! # Responses
//!
//! Success: `{"id":N,"status":0,"result":R}`, with `result` left out when
//! the command returns nothing (as pyOCD's server leaves out a Python
//! `None`; the client reads a missing `result` as `None`). Failure:
//! `{"id":N,"status":S,"error":"message"}`. Results by shape: words and
//! bytes as integers and lists of integers, booleans as booleans,
//! `jtag_sequence` TDO bits as an integer (none when not read),
//! `swd_sequence` as `[status, [[byte, ...], ...]]`, `connect` as nothing.
//!
//! Status codes, assigned only by [`status_code`]: 0 success, 1 general
//! error, 2 probe disconnected, 3 probe error, 10 transfer error, 11
//! transfer timeout, 12 transfer fault.

mod args;
mod commands;
mod decode;
mod encode;
mod literal;
mod names;
#[cfg(test)]
mod tests;

pub use decode::decode_request;
pub use encode::encode_response;

use crate::memap::MemoryOp;
use crate::probe::{Op, OpOutput, ProbeError};
use std::fmt;

/// One decoded request line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub id: i64,
    pub command: Command,
}

/// What a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// The server checks that `version` is 1.
    Hello {
        version: i64,
    },
    ReadProp {
        name: String,
    },
    Lock,
    Unlock,
    /// A hardware operation (open, close, connect, ..., swo_read, has_swo).
    Probe(Op),
    GetMemoryInterface {
        /// 1 for APv1 (nominal address = APSEL), 2 for APv2.
        ap_address_version: u32,
        ap_nominal_address: u64,
    },
    Memory {
        handle: u64,
        op: MemoryOp,
    },
    /// **[ours]** `probeshare_features`: the features the client declares it
    /// can use (docs/protocol.md, "Extensions"); unknown names are kept
    /// here and ignored by the server.
    Features {
        names: Vec<String>,
    },
}

/// Bounds on what one request may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest element count or list length in any request.
    pub max_block_elements: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_block_elements: 1 << 20,
        }
    }
}

/// A malformed request: answered with status 1 and `message`, under `id`
/// (-1 when the request's own id is missing or unusable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError {
    pub id: i64,
    pub message: String,
}

impl From<RequestError> for Failure {
    fn from(error: RequestError) -> Self {
        Failure::Request(error.message)
    }
}

/// A refusal by the sharing layer: status 3 when it stands for a probe
/// error (a protocol conflict on `connect`), else status 1 (`hello
/// required`, `unlock` without the lock, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharingFailure {
    pub probe_error: bool,
    pub message: String,
}

/// Everything that can fail a request; each maps to exactly one status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Bad request, hello mismatch, invalid handle, unknown property, ...
    Request(String),
    Sharing(SharingFailure),
    Probe(ProbeError),
}

impl From<ProbeError> for Failure {
    fn from(error: ProbeError) -> Self {
        Failure::Probe(error)
    }
}

impl From<SharingFailure> for Failure {
    fn from(failure: SharingFailure) -> Self {
        Failure::Sharing(failure)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Request(message) => f.write_str(message),
            Failure::Sharing(sharing) => f.write_str(&sharing.message),
            Failure::Probe(error) => error.fmt(f),
        }
    }
}

/// The wire status of a failure: the only place errors become numbers.
pub fn status_code(failure: &Failure) -> u8 {
    const GENERAL_ERROR: u8 = 1;
    const PROBE_DISCONNECTED: u8 = 2;
    const PROBE_ERROR: u8 = 3;
    const TRANSFER_ERROR: u8 = 10;
    const TRANSFER_TIMEOUT: u8 = 11;
    const TRANSFER_FAULT: u8 = 12;
    match failure {
        Failure::Request(_) => GENERAL_ERROR,
        Failure::Sharing(SharingFailure {
            probe_error: true, ..
        }) => PROBE_ERROR,
        Failure::Sharing(_) => GENERAL_ERROR,
        Failure::Probe(error) => match error {
            ProbeError::Disconnected(_) => PROBE_DISCONNECTED,
            ProbeError::Probe(_) | ProbeError::Unsupported(_) => PROBE_ERROR,
            ProbeError::Transfer(_) => TRANSFER_ERROR,
            ProbeError::TransferTimeout(_) => TRANSFER_TIMEOUT,
            ProbeError::TransferFault(_) => TRANSFER_FAULT,
            ProbeError::InvalidArgument(_) => GENERAL_ERROR,
        },
    }
}

/// A successful request's result.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Output(OpOutput),
    /// Results the server makes itself (`readprop`, a memory handle);
    /// `Value::Null` leaves `result` out.
    Value(serde_json::Value),
}
