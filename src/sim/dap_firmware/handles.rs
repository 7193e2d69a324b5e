//! The live views a firmware hands out while a driver owns it: its
//! counters ([`FirmwareStats`] through [`StatsHandle`]) and its virtual
//! cable ([`PlugHandle`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

/// Counters a driver's tests can assert on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FirmwareStats {
    /// Command packets accepted.
    pub packets: u64,
    /// The most packets in flight at once (written, response not yet read).
    pub max_outstanding: usize,
    /// Packets written while the packet count were already in flight.
    pub window_overruns: u64,
    /// Packets refused for their size.
    pub refused_packets: u64,
    /// Responses cut to the packet size.
    pub truncated_responses: u64,
    /// DP and AP register transfers run against the target for
    /// DAP_Transfer and DAP_TransferBlock requests, failed ones included
    /// (`transfer` says exactly what counts). The bench's `csw-switch`
    /// scenario reads it to see what the server adds to its clients'
    /// register accesses.
    pub transfers: u64,
}

/// A live view of a firmware's [`FirmwareStats`].
#[derive(Clone, Debug, Default)]
pub struct StatsHandle(pub(super) Arc<Mutex<FirmwareStats>>);

impl StatsHandle {
    pub fn get(&self) -> FirmwareStats {
        *self.0.lock()
    }
}

/// Whether the emulated probe is plugged in, shared so that another
/// thread can pull the virtual cable while a driver owns the transport.
#[derive(Clone, Debug)]
pub struct PlugHandle(Arc<AtomicBool>);

impl Default for PlugHandle {
    fn default() -> PlugHandle {
        PlugHandle(Arc::new(AtomicBool::new(true)))
    }
}

impl PlugHandle {
    pub fn unplug(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    pub fn replug(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_plugged(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
