//! What the worker runs for a job: a [`Task`].
//!
//! The worker runs two kinds of work, and the layers below it keep them
//! apart: a probe operation (`probe::Op`, exactly the `DebugProbe`
//! methods) goes to the probe, and a memory-handle request
//! (`memap::MemoryRequest`) goes to `memap`, which carries it out as AP
//! register accesses on the same probe. A task is one or the other; the
//! arbiter sends its own work (cleanup, deferred power-downs) and every
//! client's as tasks, so jobs, batches, flush points and completions are
//! the same for both.
//!
//! Where the two differ is said once, where it matters: a memory request
//! saves the AP's TAR holder first and leaves the AP's state unknown
//! (`context`), and it is the server's transfer, so sticky flags are
//! neither refused nor noted for it (`sticky`).

use crate::memap::MemoryRequest;
use crate::probe::Op;

/// One piece of work for the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    /// A probe operation, run by the `DebugProbe`.
    Probe(Op),
    /// A memory-handle request, run by `memap` over the probe.
    Memory(MemoryRequest),
    /// Probe operations that run as one, in order, up to the first that
    /// fails (a CMSIS-DAP packet of a DAP port client): the result is an
    /// `OpOutput::Sequence` with what ran and the failure that stopped it.
    Sequence(Vec<Op>),
    /// A mass erase of the target through the method `crate::mass_erase`
    /// finds for it; the server's own transfers, like a memory request's.
    MassErase,
}

impl Task {
    /// The wire name of the request the task came from (for logs).
    pub fn name(&self) -> &'static str {
        match self {
            Task::Probe(op) => op.name(),
            Task::Memory(request) => request.name(),
            Task::Sequence(_) => "sequence",
            Task::MassErase => "mass_erase",
        }
    }
}
