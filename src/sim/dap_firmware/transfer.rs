//! DAP_Transfer and DAP_TransferBlock: register transactions on the
//! target, with the reference firmware's semantics.
//!
//! - Requests run in order; the first one not acknowledged OK (after WAIT
//!   retries) ends the command. The response count is the number of
//!   requests that completed, the response byte the last acknowledge.
//! - A WAIT is retried `wait_retry` times before it is reported.
//! - After a command that ends with a write, the firmware reads RDBUFF so
//!   that the write's acknowledge is known before it answers (on the wire
//!   a write is posted); that read's acknowledge becomes the response.
//! - A value-match read (bit 4) reads until `(value & match_mask)` equals
//!   the match value, at most `1 + match_retry` times, else it reports
//!   Value Mismatch (bit 4) with OK and ends the command. A match-mask
//!   write (bit 5) only sets the mask, which persists.
//! - AP reads are not posted here: the target returns an AP read's own data
//!   (it models the RDBUFF read a firmware does), so each read is one
//!   target read.
//! - Bit 7 (timestamp) is ignored and no timestamps are sent: the firmware
//!   has no test-domain timer and does not advertise one (capability bit 5),
//!   exactly what the reference firmware built without a timer does.
//! - The protocol-error bit (3) is set only for an injected read parity
//!   error (`sim::faults`): the target is driven at the acknowledge level,
//!   with no wire whose parity could fail by itself. As in the reference
//!   firmware it is the whole response byte (no ACK bits).
//! - Without DAP_Connect, no transaction runs: count 0, response 0.
//! - A transaction the SW-DP does not acknowledge (after a line reset,
//!   anything but a DPIDR read: `sim::line`) is NO_ACK (0b111), not
//!   retried, and ends the command like any other failure.
//! - Every DP or AP register transfer the host asked for that runs against
//!   the target is counted in [`FirmwareStats::transfers`](super::FirmwareStats),
//!   acknowledged or not; a WAIT-retried or value-match read counts once.
//!   The firmware's own RDBUFF read after writes and match-mask writes
//!   (which reach no register) are not counted.
//!
//! The whole request is parsed before anything runs, so a malformed
//! command changes nothing.

use crate::sim::dp::DP_RDBUFF;
use crate::sim::target::{Ack, SwdTarget};

use super::commands::{Firmware, Port};
use super::cursor::Cursor;

pub(super) use crate::sim::dp::DP_ABORT;

// Transfer request bits.
const AP_N_DP: u8 = 1 << 0;
const READ: u8 = 1 << 1;
const ADDRESS: u8 = 0b11 << 2;
const VALUE_MATCH: u8 = 1 << 4;
const MATCH_MASK: u8 = 1 << 5;

// Transfer response bits.
pub(super) const ACK_OK: u8 = 1;
pub(super) const ACK_WAIT: u8 = 2;
pub(super) const ACK_FAULT: u8 = 4;
pub(super) const ACK_NO_ACK: u8 = 7;
pub(super) const PROTOCOL_ERROR: u8 = 1 << 3;
pub(super) const VALUE_MISMATCH: u8 = 1 << 4;

/// One DAP_Transfer request: its request byte and, for writes and
/// value-match reads, its data word.
struct Request {
    op: u8,
    data: u32,
}

impl Request {
    fn carries_data(op: u8) -> bool {
        op & READ == 0 || op & VALUE_MATCH != 0
    }
}

impl Firmware {
    pub(super) fn transfer(&mut self, args: &mut Cursor, out: &mut Vec<u8>) -> Option<()> {
        let _dap_index = args.u8()?;
        let count = args.u8()?;
        let mut requests = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let op = args.u8()?;
            let data = if Request::carries_data(op) {
                args.u32()?
            } else {
                0
            };
            requests.push(Request { op, data });
        }
        let header = out.len();
        out.extend([0, 0]);
        if self.port == Port::Disabled {
            return Some(());
        }
        let (done, response) = self.run_transfers(&requests, out);
        out[header] = done;
        out[header + 1] = response;
        Some(())
    }

    /// Runs the requests; returns how many completed and the response byte.
    fn run_transfers(&mut self, requests: &[Request], out: &mut Vec<u8>) -> (u8, u8) {
        let settings = self.transfer;
        let mut target = self.target.lock();
        let mut done = 0u8;
        let mut response = 0;
        let mut ends_with_write = false;
        for request in requests {
            let op = request.op;
            let sets_match_mask = op & READ == 0 && op & MATCH_MASK != 0;
            if !sets_match_mask {
                self.transfers += 1;
            }
            let outcome = if sets_match_mask {
                self.transfer.match_mask = request.data;
                Ok(())
            } else if op & READ == 0 {
                ends_with_write = true;
                with_retries(settings.wait_retry, || {
                    access(&mut target, op, request.data)
                })
                .map(drop)
                .map_err(ack_bits)
            } else if op & VALUE_MATCH != 0 {
                ends_with_write = false;
                let mask = self.transfer.match_mask;
                read_until_match(&mut target, op, request.data, mask, settings)
            } else {
                ends_with_write = false;
                with_retries(settings.wait_retry, || access(&mut target, op, 0))
                    .map(|value| out.extend(value.to_le_bytes()))
                    .map_err(ack_bits)
            };
            match outcome {
                Ok(()) => {
                    done += 1;
                    response = ACK_OK;
                }
                Err(failure) => return (done, failure),
            }
        }
        if ends_with_write {
            response = confirm_writes(&mut target, settings.wait_retry);
        }
        (done, response)
    }

    pub(super) fn transfer_block(&mut self, args: &mut Cursor, out: &mut Vec<u8>) -> Option<()> {
        let _dap_index = args.u8()?;
        let count = args.u16()?;
        let op = args.u8()? & (AP_N_DP | READ | ADDRESS);
        let is_read = op & READ != 0;
        let values: Vec<u32> = if is_read {
            vec![0; usize::from(count)]
        } else {
            args.take(usize::from(count) * 4)?
                .chunks_exact(4)
                .filter_map(|word| word.try_into().ok().map(u32::from_le_bytes))
                .collect()
        };
        let header = out.len();
        out.extend([0, 0, 0]);
        if self.port == Port::Disabled || count == 0 {
            return Some(());
        }
        let wait_retry = self.transfer.wait_retry;
        let mut target = self.target.lock();
        let mut done = 0u16;
        let mut response = ACK_OK;
        for value in values {
            self.transfers += 1;
            match with_retries(wait_retry, || access(&mut target, op, value)) {
                Ok(read) => {
                    if is_read {
                        out.extend(read.to_le_bytes());
                    }
                    done += 1;
                }
                Err(ack) => {
                    response = ack_bits(ack);
                    break;
                }
            }
        }
        if !is_read && response == ACK_OK {
            response = confirm_writes(&mut target, wait_retry);
        }
        out[header..header + 2].copy_from_slice(&done.to_le_bytes());
        out[header + 2] = response;
        Some(())
    }
}

/// One transaction as a request byte describes it; writes read as 0.
fn access(target: &mut SwdTarget, op: u8, value: u32) -> Result<u32, Ack> {
    let address = op & ADDRESS;
    match (op & AP_N_DP != 0, op & READ != 0) {
        (false, true) => target.dp_read(address),
        (true, true) => target.ap_read(address),
        (false, false) => target.dp_write(address, value).map(|()| 0),
        (true, false) => target.ap_write(address, value).map(|()| 0),
    }
}

/// Repeats a transaction answered WAIT, up to `retries` more times.
fn with_retries(retries: u16, mut attempt: impl FnMut() -> Result<u32, Ack>) -> Result<u32, Ack> {
    let mut left = retries;
    loop {
        match attempt() {
            Err(Ack::Wait) if left > 0 => left -= 1,
            outcome => return outcome,
        }
    }
}

fn read_until_match(
    target: &mut SwdTarget,
    op: u8,
    expected: u32,
    mask: u32,
    settings: super::commands::TransferSettings,
) -> Result<(), u8> {
    for _ in 0..=settings.match_retry {
        let value =
            with_retries(settings.wait_retry, || access(target, op, 0)).map_err(ack_bits)?;
        if value & mask == expected {
            return Ok(());
        }
    }
    Err(ACK_OK | VALUE_MISMATCH)
}

/// Reads RDBUFF after posted writes; returns the acknowledge bits.
fn confirm_writes(target: &mut SwdTarget, wait_retry: u16) -> u8 {
    match with_retries(wait_retry, || target.dp_read(DP_RDBUFF)) {
        Ok(_) => ACK_OK,
        Err(ack) => ack_bits(ack),
    }
}

fn ack_bits(ack: Ack) -> u8 {
    match ack {
        Ack::Wait => ACK_WAIT,
        Ack::Fault => ACK_FAULT,
        Ack::NoAck => ACK_NO_ACK,
        // The reference firmware reports a read parity error as the
        // protocol error bit alone.
        Ack::ParityError => PROTOCOL_ERROR,
    }
}
