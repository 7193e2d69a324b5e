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
//!
//! The thread may end while the loop still needs it: a panic on a reply
//! nobody foresaw, say. Whatever ends it, a guard dropped last on the
//! thread marks it ended and wakes the loop ([`ProbeWorker::has_ended`]),
//! which then answers everything the worker would have (ARCHITECTURE.md,
//! "Worker death").
//!
//! A client's DAP port packets that follow one another go into the
//! probe's transfer pipeline together (`pipeline`): while any are in
//! flight the worker takes new batches between the probe's replies instead
//! of blocking on the channel, and sends each job's completion as soon as
//! its replies are in. [`Runner`] (`runner`) is what it does per batch.

use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::ids::{ClientId, JobId};
use crate::probe::{DebugProbe, OpOutput, ProbeResult};

mod context;
mod execute;
mod line_reset;
mod pipeline;
mod runner;
mod sticky;
mod task;
mod untouched;
pub use context::DapContexts;
pub use execute::{execute, perform};
pub use line_reset::LineResets;
pub use runner::Runner;
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
    /// Set as the worker thread ends, for whatever reason.
    ended: AtomicBool,
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

/// Marks the worker ended and wakes the loop when dropped: the last thing
/// its thread does, on a return and on a panic's unwinding alike, after
/// every completion it produced has been sent (so a loop that sees the
/// mark and then drains the channel has them all).
struct EndGuard(Arc<Doorbell>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.ended.store(true, Ordering::SeqCst);
        // Unconditionally: a loop asleep with jobs in flight would
        // otherwise wait for answers that never come.
        self.0.waker.wake();
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
            ended: AtomicBool::new(false),
        });
        let ring = doorbell.clone();
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            // Declared first, so dropped after everything `run` owns.
            let _ended = EndGuard(ring.clone());
            run(probe, job_rx, done_tx, ring)
        })?;
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

    /// Whether the thread has ended. While the loop holds the handle it
    /// ends only abnormally (a panic); once this is true, every completion
    /// it sent is already waiting in [`ProbeWorker::try_completions`].
    pub fn has_ended(&self) -> bool {
        self.doorbell.ended.load(Ordering::SeqCst)
    }

    /// Why the ended thread ended, for the log: the panic's message, if it
    /// panicked. Joins the thread (it has ended, so this does not wait
    /// for more than its last instructions).
    pub fn end_cause(&mut self) -> String {
        match self.thread.take().map(JoinHandle::join) {
            Some(Err(panic)) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".to_owned());
                format!("panicked: {message}")
            }
            Some(Ok(_)) => "returned".to_owned(),
            None => "already joined".to_owned(),
        }
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
    let mut out = Vec::new();
    loop {
        if runner.has_pipelined() {
            // Pipelined jobs are in flight: take a batch that has come,
            // else wait for the probe's next reply.
            match jobs.try_recv() {
                Ok(batch) => runner.submit(probe.as_mut(), batch, &mut out),
                Err(TryRecvError::Empty) => runner.advance(probe.as_mut(), &mut out),
                Err(TryRecvError::Disconnected) => runner.settle(probe.as_mut(), &mut out),
            }
        } else {
            // Catch a prompt next batch without sleeping; else block in recv.
            spin_until(|| !jobs.is_empty());
            let Ok(batch) = jobs.recv() else {
                break;
            };
            runner.submit(probe.as_mut(), batch, &mut out);
        }
        if !out.is_empty() {
            if done.send(std::mem::take(&mut out)).is_err() {
                break;
            }
            doorbell.ring();
        }
    }
    probe
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
