//! The SWD line as the SW-DP sees it between transactions: line resets,
//! and the reset state a line reset leaves the DP in.
//!
//! What the architecture says (Arm IHI 0031, *Arm Debug Interface
//! Architecture Specification ADIv5.0 to ADIv5.2*):
//! - **B4.3.3, "Connection and line reset sequence".** A line reset is
//!   SWDIOTMS held HIGH for at least 50 SWCLKTCK cycles, followed by at
//!   least two idle cycles (SWDIOTMS LOW). It puts the SWD interface in its
//!   reset state, and a read of DPIDR must be the first transaction after
//!   it: that read takes the interface out of the reset state.
//! - **Chapter B5, the SWJ-DP's JTAG-to-SWD switch.** At least 50 cycles
//!   HIGH, the 16-bit select sequence 0xE79E (LSB first), at least 50
//!   cycles HIGH again: the select sequence is framed by line resets, so
//!   "if SWJ-DP was already in SWD operation before sending the select
//!   sequence, the SWD interface enters line reset state". The dormant-to-SWD
//!   wake-up likewise ends with a line reset and idle cycles.
//! - **What a line reset does not do.** It resets the SWD interface's
//!   protocol state, not the DP's registers: the register descriptions
//!   (B2.2) give their reset values for a powerup reset, and none names a
//!   line reset. SELECT and CTRL/STAT (the power-up requests and their
//!   acknowledges, the sticky flags and their refusal of AP transactions)
//!   keep what they held; so, in this model, do DLCR and RDBUFF. This DP is
//!   a DPv1: it has no TARGETSEL, so the multi-drop selection of SWD
//!   protocol version 2 after a line reset does not apply.
//!
//! The model's choices where the text leaves room:
//! - **In the reset state** every transaction other than a DPIDR read gets
//!   no acknowledge at all (`Ack::NoAck` of the target, which CMSIS-DAP firmware
//!   reports as ACK 0b111) and does nothing. The DP stays in the reset
//!   state until a DPIDR read, however many requests it ignored; it is not
//!   locked out until the next line reset.
//! - **Idle cycles.** After a high run of 50 cycles or more, a packet
//!   header is only recognised after two consecutive idle cycles: a
//!   transaction that comes sooner (its start bit continues the high run)
//!   gets no acknowledge, and the line reset counts as completed by it, so
//!   the DP is in the reset state afterwards.
//! - **What counts as the line.** Only levels the probe clocks outside
//!   transactions: the bits of DAP_SWJ_Sequence and the output cycles of
//!   DAP_SWD_Sequence, and its input cycles as HIGH (nobody drives SWDIO,
//!   the pull-up holds it). A transaction ends any high run. No pattern but
//!   a line reset means anything here: the JTAG-to-SWD select code, a
//!   dormant selection alert or an activation code is clocked in and does
//!   nothing, since this SW-DP has neither a JTAG nor a dormant state.
//! - **At power-on** the DP takes transactions at once, as if a debugger
//!   had already sent its connection sequence, so a client that never sends
//!   a line reset works. A target told to (`SwdTarget::require_line_reset`)
//!   powers on as real ones do instead: it answers nothing until a line
//!   reset, and then only a DPIDR read, so a test can prove that a line
//!   reset asked for really reached the wire.

/// High cycles that make a line reset (B4.3.3: "at least 50").
pub const LINE_RESET_HIGH_CYCLES: u32 = 50;
/// Idle cycles that must follow them before a packet header
/// (B4.3.3: "at least two").
pub const LINE_RESET_IDLE_CYCLES: u32 = 2;

/// The SW-DP's line state: what the cycles since the last transaction
/// added up to, and whether the interface is in the reset state.
#[derive(Debug, Default)]
pub(crate) struct SwdLine {
    /// Consecutive cycles with SWDIO high, up to the last one clocked.
    high: u32,
    /// Consecutive idle cycles since the last high cycle.
    idle: u32,
    /// A line reset's high run has not yet had its idle cycles.
    awaiting_idle: bool,
    /// The interface is in the reset state: only a DPIDR read is answered.
    reset_state: bool,
    /// No line reset has been seen since power-on, and one is required:
    /// nothing is answered (`SwdLine::require_line_reset`).
    awaiting_line_reset: bool,
}

impl SwdLine {
    /// One SWCLK cycle outside a transaction, SWDIO at `high`.
    pub(crate) fn clock(&mut self, high: bool) {
        if high {
            self.high = self.high.saturating_add(1);
            self.idle = 0;
            if self.high >= LINE_RESET_HIGH_CYCLES {
                self.awaiting_idle = true;
                self.reset_state = true;
                self.awaiting_line_reset = false;
            }
        } else {
            self.high = 0;
            self.idle = self.idle.saturating_add(1);
            if self.idle >= LINE_RESET_IDLE_CYCLES {
                self.awaiting_idle = false;
            }
        }
    }

    /// Whether the DP answers the transaction that starts now, which is a
    /// DPIDR read if `is_dpidr_read`: false if it does not see it, or
    /// ignores it in the reset state (the target then gives no
    /// acknowledge). A DPIDR read it answers ends the reset state.
    pub(crate) fn admit(&mut self, is_dpidr_read: bool) -> bool {
        let recognised = !self.awaiting_idle && !self.awaiting_line_reset;
        self.high = 0;
        self.idle = 0;
        self.awaiting_idle = false;
        if !recognised {
            return false;
        }
        match (self.reset_state, is_dpidr_read) {
            (true, false) => false,
            (true, true) => {
                self.reset_state = false;
                true
            }
            (false, _) => true,
        }
    }

    /// Powers on as a real SW-DP does: deaf until a line reset (the
    /// opposite of this model's default, see the module doc).
    pub(crate) fn require_line_reset(&mut self) {
        self.awaiting_line_reset = true;
    }

    /// Whether the interface is in the reset state.
    pub(crate) fn in_reset_state(&self) -> bool {
        self.reset_state
    }
}
