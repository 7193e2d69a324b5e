//! What the emulated firmware was asked to do to the wire, for tests that
//! must tell a command that reached the probe from one that did nothing:
//! every SWJ clock set, every DAP_SWJ_Sequence, every change of the nRESET
//! output, with the firmware clock's time.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

/// One DAP_SWJ_Sequence as the firmware clocked it out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwjSequence {
    /// Bits sent (1..=256).
    pub bits: usize,
    /// Their levels, LSB first.
    pub levels: Vec<u8>,
}

/// A change of the nRESET output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResetEdge {
    /// True: reset asserted (the line driven low).
    pub asserted: bool,
    /// When the packet that drove it arrived, on the firmware's clock.
    pub at: Duration,
}

/// Everything recorded so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    /// Every DAP_SWJ_Clock frequency accepted, in order.
    pub clocks: Vec<u32>,
    pub swj_sequences: Vec<SwjSequence>,
    pub reset_edges: Vec<ResetEdge>,
}

impl Recording {
    /// How many times nRESET was asserted and released again.
    pub fn reset_pulses(&self) -> usize {
        self.reset_edges
            .windows(2)
            .filter(|pair| pair[0].asserted && !pair[1].asserted)
            .count()
    }
}

/// A live view of a firmware's [`Recording`].
#[derive(Clone, Debug, Default)]
pub struct RecordHandle(pub(super) Arc<Mutex<Recording>>);

impl RecordHandle {
    pub fn get(&self) -> Recording {
        self.0.lock().clone()
    }

    /// Forgets what was recorded (what opening and connecting did, say).
    pub fn clear(&self) {
        *self.0.lock() = Recording::default();
    }
}
