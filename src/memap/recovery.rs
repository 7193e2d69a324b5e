//! Leaving the debug port clean after a transfer the server issued failed.
//!
//! The transfers of a memory-handle request are the server's, so the
//! server clears after them; and the worker clears after any client's run
//! whose transfers failed (docs/protocol.md, Sharing, rule 11: the flags
//! are that client's, and must not fail anyone else's transfers). Otherwise every AP access
//! of every client would be refused until someone did.
//!
//! - FAULT: the sticky error flags are cleared: under SWD by writing
//!   ABORT's four clear bits, under JTAG (where those ABORT bits do not
//!   exist) by writing the flags back to CTRL/STAT, which clears them.
//! - WAIT until the retries ran out: the transfer still pending in the AP
//!   is aborted with ABORT.DAPABORT, and the sticky flags cleared as above.
//! - Anything else (no acknowledge, a probe error) leaves nothing the
//!   server could clear without guessing.
//!
//! The clean-up is flushed at once, so a driver that defers writes does not
//! report its failure to the next request of another client; that failure
//! is logged, and the request's own error is what its client gets.

use crate::dap::registers::{
    ABORT_CLEAR_STICKY, ABORT_DAPABORT, DP_ABORT, DP_CTRL_STAT, STICKYCMP, STICKYERR, STICKYORUN,
};
use crate::probe::{DebugProbe, ProbeError, ProbeResult, WireProtocol};

/// CTRL/STAT's sticky flags, write-one-to-clear under JTAG.
const CTRL_STAT_STICKY: u32 = STICKYORUN | STICKYCMP | STICKYERR;

/// Whether `error` leaves something in the DP that [`recover`] clears.
pub fn leaves_sticky_flags(error: &ProbeError) -> bool {
    matches!(
        error,
        ProbeError::TransferFault(_) | ProbeError::TransferTimeout(_)
    )
}

/// Cleans up after `error`; `wire` is the protocol in use (SWD if unknown).
pub fn recover(probe: &mut dyn DebugProbe, wire: Option<WireProtocol>, error: &ProbeError) {
    let abort = match error {
        ProbeError::TransferFault(_) => false,
        ProbeError::TransferTimeout(_) => true,
        _ => return,
    };
    let cleaned =
        clear(probe, wire.unwrap_or(WireProtocol::Swd), abort).and_then(|()| probe.flush());
    if let Err(cleanup_error) = cleaned {
        log::warn!("clearing the debug port after \"{error}\" failed: {cleanup_error}");
    }
}

fn clear(probe: &mut dyn DebugProbe, wire: WireProtocol, abort: bool) -> ProbeResult<()> {
    let dapabort = if abort { ABORT_DAPABORT } else { 0 };
    match wire {
        WireProtocol::Swd => probe.write_dp(DP_ABORT, dapabort | ABORT_CLEAR_STICKY),
        WireProtocol::Jtag => {
            if abort {
                probe.write_dp(DP_ABORT, dapabort)?;
            }
            let ctrl_stat = probe.read_dp(DP_CTRL_STAT)?;
            probe.write_dp(DP_CTRL_STAT, ctrl_stat | CTRL_STAT_STICKY)
        }
    }
}
