//! The probe worker: one thread per probe owns the device.
//!
//! USB calls block, so no probe call may run on the event-loop thread. The
//! loop sends batches of [`Job`]s over a crossbeam channel; the worker runs
//! them in order and sends the [`Completion`]s back, then wakes the loop
//! through the shared `mio::Waker`. Batching matters: a pipelining client's
//! sixteen requests cost one channel hop each way, not sixteen.
//!
//! A job's [`Task`] is a probe operation, run by the probe, or a
//! memory-handle request, which the worker hands to `memap` (see `task`).
//!
//! The worker is also where each client gets the debug port as if it were
//! alone at the hardware (docs/protocol.md, Sharing, rules 8, 9 and 11):
//! it restores the client's CSW and TAR before its accesses (`context`),
//! and at the end of a client's run in a batch it settles the probe's
//! deferred writes and, if a transfer of that run failed, clears the sticky
//! error flags, so the next client's transfers start on a clean port. After
//! a client's line reset it reads DPIDR before anyone else's transfer, so
//! that the SW-DP has left its reset state by then (`line_reset`).

use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::ids::{ClientId, JobId};
use crate::probe::{DebugProbe, Op, OpOutput, ProbeError, ProbeResult, SequenceOutput};

mod context;
mod execute;
mod line_reset;
mod sticky;
mod task;
use crate::memap::{self, MemAps};
pub use context::DapContexts;
pub use execute::{execute, perform};
pub use line_reset::LineResets;
pub use sticky::StickyFlags;
pub use task::Task;

/// How long each side busy-waits for the other before sleeping. A
/// ping-pong client's next request, or the worker's reply, usually comes
/// within this window; catching it without a sleep/wake cycle on either
/// thread saves two scheduler wake-ups per request. Bounded, so an idle
/// server costs no CPU.
pub const SPIN: Duration = Duration::from_micros(50);

/// One task for the worker to run.
#[derive(Debug)]
pub struct Job {
    pub id: JobId,
    /// Whose task it is (`None`: the server's own); its DAP context is
    /// restored before it runs.
    pub client: Option<ClientId>,
    pub task: Task,
    /// Complete every queued transfer after this op and report a failure
    /// as its result. Set on the last job of each client's run in a batch:
    /// probes may defer writes (CMSIS-DAP does), and a deferred write's
    /// error must reach the client that wrote, not the next one (rule 8).
    pub flush_after: bool,
}

/// What the worker is given at once: jobs to run in order, and clients
/// whose connection has gone (their saved DAP context is dropped first).
#[derive(Debug, Default)]
pub struct Batch {
    pub jobs: Vec<Job>,
    pub departed: Vec<ClientId>,
}

/// The outcome of one [`Job`].
#[derive(Debug)]
pub struct Completion {
    pub id: JobId,
    pub result: ProbeResult<OpOutput>,
}

/// Something the loop can be woken through; `mio::Waker` in the server, a
/// counter in tests.
pub trait Wake: Send + Sync + 'static {
    fn wake(&self);
}

impl Wake for mio::Waker {
    fn wake(&self) {
        // A failed wake means the poll is gone, i.e. the loop is shutting down.
        let _ = mio::Waker::wake(self);
    }
}

/// Wakes the loop after a batch only when the loop is asleep (or about to
/// be): while it is busy it finds completions on its own, and a skipped
/// wake-up is a syscall and a spurious poll event saved per batch.
struct Doorbell {
    waker: Arc<dyn Wake>,
    loop_asleep: AtomicBool,
}

impl Doorbell {
    fn ring(&self) {
        // Pairs with the fence in `ProbeWorker::prepare_to_sleep`: either
        // the loop sees the completion sent before this fence, or this
        // sees the loop's flag and wakes it.
        fence(Ordering::SeqCst);
        if self.loop_asleep.load(Ordering::SeqCst) {
            self.waker.wake();
        }
    }
}

/// Handle to a running worker thread.
pub struct ProbeWorker {
    doorbell: Arc<Doorbell>,
    jobs: Option<Sender<Batch>>,
    completions: Receiver<Vec<Completion>>,
    thread: Option<JoinHandle<Box<dyn DebugProbe>>>,
}

impl ProbeWorker {
    /// Starts a worker that owns `probe` and wakes `waker` after each batch.
    pub fn spawn(probe: Box<dyn DebugProbe>, waker: Arc<dyn Wake>) -> std::io::Result<Self> {
        let (job_tx, job_rx) = crossbeam_channel::unbounded::<Batch>();
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        let name = format!("probe {}", probe.info().unique_id);
        let doorbell = Arc::new(Doorbell {
            waker,
            loop_asleep: AtomicBool::new(true),
        });
        let ring = doorbell.clone();
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || run(probe, job_rx, done_tx, ring))?;
        Ok(ProbeWorker {
            doorbell,
            jobs: Some(job_tx),
            completions: done_rx,
            thread: Some(thread),
        })
    }

    /// Queues a batch; results arrive through [`ProbeWorker::try_completions`].
    pub fn submit(&self, batch: Batch) {
        if let Some(tx) = &self.jobs {
            // The worker only exits once `jobs` is dropped, so this cannot fail.
            let _ = tx.send(batch);
        }
    }

    /// Call before the loop blocks in `poll`: from now on the worker wakes
    /// it. Returns false (and stays awake) if a completion is already
    /// waiting, in which case the loop must not block.
    pub fn prepare_to_sleep(&self) -> bool {
        self.doorbell.loop_asleep.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if self.completions.is_empty() {
            true
        } else {
            self.awake();
            false
        }
    }

    /// Call when the loop is running again: the worker stops waking it.
    pub fn awake(&self) {
        self.doorbell.loop_asleep.store(false, Ordering::SeqCst);
    }

    /// Every completion that has arrived so far (several wakes may have been
    /// folded into one event, so drain until empty).
    pub fn try_completions(&self) -> impl Iterator<Item = Completion> + '_ {
        self.completions.try_iter().flatten()
    }

    /// Stops the thread after it has run everything already submitted and
    /// returns the probe.
    pub fn join(mut self) -> Option<Box<dyn DebugProbe>> {
        self.jobs = None;
        self.thread.take().and_then(|t| t.join().ok())
    }
}

impl Drop for ProbeWorker {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    mut probe: Box<dyn DebugProbe>,
    jobs: Receiver<Batch>,
    done: Sender<Vec<Completion>>,
    doorbell: Arc<Doorbell>,
) -> Box<dyn DebugProbe> {
    let mut runner = Runner::default();
    loop {
        // Catch a prompt next batch without sleeping; else block in recv.
        spin_until(|| !jobs.is_empty());
        let Ok(batch) = jobs.recv() else {
            break;
        };
        let results = runner.run_batch(probe.as_mut(), batch);
        if done.send(results).is_err() {
            break;
        }
        doorbell.ring();
    }
    probe
}

/// What the worker keeps between jobs: the MEM-APs it drives for memory
/// handles, every client's DAP context and sticky flags, whose line reset
/// may still hold the DP in its reset state, and the transfer failures of
/// the current client's run.
#[derive(Debug, Default)]
pub struct Runner {
    memaps: MemAps,
    contexts: DapContexts,
    sticky: StickyFlags,
    line_resets: LineResets,
    run: RunFailures,
}

/// What failed in the run of jobs since the last flush point.
#[derive(Debug, Default)]
struct RunFailures {
    /// The first failure that left something in the DP to clear.
    to_clear: Option<ProbeError>,
    /// A client's register transfer FAULTed: its STICKYERR, by rule 11.
    register_fault: Option<ClientId>,
}

impl Runner {
    /// Runs a batch in order and returns one completion per job.
    pub fn run_batch(&mut self, probe: &mut dyn DebugProbe, batch: Batch) -> Vec<Completion> {
        for client in batch.departed {
            self.contexts.forget_client(client);
            self.sticky.forget_client(client);
        }
        batch
            .jobs
            .into_iter()
            .map(|job| Completion {
                id: job.id,
                result: self.run_job(probe, &job),
            })
            .collect()
    }

    fn run_job(&mut self, probe: &mut dyn DebugProbe, job: &Job) -> ProbeResult<OpOutput> {
        let mut result = match &job.task {
            Task::Sequence(ops) => Ok(self.run_sequence(probe, job.client, ops)),
            task => self.run_part(probe, job.client, task),
        };
        if job.flush_after {
            if let Err(error) = self.flush(probe) {
                // A write this client's run deferred FAULTed: its STICKYERR,
                // as for a read that faults (rule 11). Memory-handle
                // requests settle their own writes.
                let own_registers = !matches!(job.task, Task::Memory(_) | Task::MassErase);
                if own_registers && matches!(error, ProbeError::TransferFault(_)) {
                    self.run.register_fault = self.run.register_fault.or(job.client);
                }
                match &mut result {
                    Ok(OpOutput::Sequence(sequence)) if sequence.failure.is_none() => {
                        sequence.failure = Some(error);
                    }
                    Ok(_) => result = Err(error),
                    Err(_) => {}
                }
            }
            self.end_run(probe);
        }
        result
    }

    /// Runs the operations of a sequence in order, up to the first that
    /// fails.
    fn run_sequence(
        &mut self,
        probe: &mut dyn DebugProbe,
        client: Option<ClientId>,
        ops: &[Op],
    ) -> OpOutput {
        OpOutput::Sequence(SequenceOutput::run(ops, |op| {
            self.run_part(probe, client, &Task::Probe(op.clone()))
        }))
    }

    /// Runs one task for `client`: refused if its sticky flags say so, the
    /// DP taken out of another client's line reset and the client's AP
    /// state restored first, its failures noted for the end of the run.
    fn run_part(
        &mut self,
        probe: &mut dyn DebugProbe,
        client: Option<ClientId>,
        task: &Task,
    ) -> ProbeResult<OpOutput> {
        if let Some(refused) = self.sticky.refusal(client, task) {
            // A refusal never reached the probe: nothing to clear.
            return Err(refused);
        }
        let wire = self.memaps.wire();
        self.line_resets.before(probe, wire, client, task);
        let mut result = self.contexts.run(probe, &mut self.memaps, client, task);
        self.line_resets.after(client, task, wire, &result);
        match &mut result {
            Ok(output) => {
                let wire = self.memaps.wire();
                self.sticky.after(client, task, wire, output);
            }
            Err(error) => self.note_failure(error),
        }
        if sticky::is_register_fault(task, &result) {
            self.run.register_fault = self.run.register_fault.or(client);
        }
        result
    }

    /// Settles what the probe deferred; a failure counts for the run.
    fn flush(&mut self, probe: &mut dyn DebugProbe) -> ProbeResult<()> {
        probe.flush().inspect_err(|error| {
            self.contexts.forget_hardware();
            self.note_failure(error);
        })
    }

    fn note_failure(&mut self, error: &ProbeError) {
        if self.run.to_clear.is_none() && memap::leaves_sticky_flags(error) {
            self.run.to_clear = Some(error.clone());
        }
    }

    /// The run ends here: whatever its failures left set in the DP is
    /// cleared before anyone else's transfer (rule 11).
    fn end_run(&mut self, probe: &mut dyn DebugProbe) {
        let run = std::mem::take(&mut self.run);
        if let Some(failure) = run.to_clear {
            memap::recover(probe, self.memaps.wire(), &failure);
        }
        if let Some(client) = run.register_fault {
            self.sticky.faulted(client);
        }
    }
}

/// Spins until `ready` or [`SPIN`] has passed; returns the last `ready()`.
fn spin_until(ready: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if ready() {
            return true;
        }
        if start.elapsed() >= SPIN {
            return false;
        }
        // Yielding rather than pure spinning lets the clients' threads run
        // when the cores are all busy.
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests;
