//! [`Runner`]: what the worker thread does with each batch. It runs the
//! jobs in order (`run_part` for each operation: sticky refusal, line
//! reset, CSW and TAR restored, the operation, and what it taught), marks
//! where a client's run ends (flush; sticky flags cleared after a failure)
//! and hands a client's DAP packets to the probe's transfer pipeline where
//! it can (`pipeline`).

use crate::ids::ClientId;
use crate::memap::{self, MemAps};
use crate::probe::{DebugProbe, Op, OpOutput, ProbeError, ProbeResult, SequenceOutput};

use super::pipeline::Pipelined;
use super::sticky::{self, StickyFlags};
use super::{Batch, Completion, DapContexts, Job, LineResets, Task};

/// What the worker keeps between jobs: the MEM-APs it drives for memory
/// handles, every client's DAP context and sticky flags, whose line reset
/// may still hold the DP in its reset state, and the transfer failures of
/// the current client's run.
#[derive(Debug, Default)]
pub struct Runner {
    pub(super) memaps: MemAps,
    pub(super) contexts: DapContexts,
    pub(super) sticky: StickyFlags,
    pub(super) line_resets: LineResets,
    pub(super) run: RunFailures,
    pub(super) pipelined: Pipelined,
}

/// What failed in the run of jobs since the last flush point.
#[derive(Debug, Default)]
pub(super) struct RunFailures {
    /// The failure whose clean-up covers the run's (`note_failure`).
    to_clear: Option<ProbeError>,
    /// A client's register transfer FAULTed: its STICKYERR, by rule 11.
    pub(super) register_fault: Option<ClientId>,
}

impl Runner {
    /// Runs a batch in order and returns one completion per job.
    pub fn run_batch(&mut self, probe: &mut dyn DebugProbe, batch: Batch) -> Vec<Completion> {
        let mut out = Vec::new();
        self.submit(probe, batch, &mut out);
        self.settle(probe, &mut out);
        out
    }

    /// Runs or, where it can (`pipeline`), issues the jobs of a batch in
    /// order; the completions of the jobs finished go to `out`, in job
    /// order.
    pub fn submit(&mut self, probe: &mut dyn DebugProbe, batch: Batch, out: &mut Vec<Completion>) {
        if !batch.departed.is_empty() {
            self.settle(probe, out);
        }
        for client in batch.departed {
            self.contexts.forget_client(client);
            self.sticky.forget_client(client);
        }
        for job in batch.jobs {
            let Err(job) = self.try_pipeline(probe, job) else {
                continue;
            };
            let job = if self.has_pipelined() {
                self.settle(probe, out);
                match self.try_pipeline(probe, job) {
                    Ok(()) => continue,
                    Err(job) => job,
                }
            } else {
                job
            };
            out.push(Completion {
                id: job.id,
                result: self.run_job(probe, &job),
            });
        }
        self.collect_pipelined(probe, out);
    }

    /// Finishes everything in flight and ends its run.
    pub fn settle(&mut self, probe: &mut dyn DebugProbe, out: &mut Vec<Completion>) {
        self.settle_pipeline(probe, out);
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
                if let Task::Probe(op) = task {
                    self.cleared_by(client, op);
                }
            }
            Err(error) => self.note_failure(error),
        }
        if sticky::is_register_fault(task, &result) {
            self.run.register_fault = self.run.register_fault.or(client);
        }
        result
    }

    /// A client's own ABORT after its FAULT in this run: its STICKYERR is
    /// cleared, as on the wire, and not noted at the run's end.
    pub(super) fn cleared_by(&mut self, client: Option<ClientId>, op: &Op) {
        if client.is_some()
            && self.run.register_fault == client
            && sticky::clears_stickyerr(op, self.memaps.wire())
        {
            self.run.register_fault = None;
        }
    }

    /// Settles what the probe deferred; a failure counts for the run.
    pub(super) fn flush(&mut self, probe: &mut dyn DebugProbe) -> ProbeResult<()> {
        probe.flush().inspect_err(|error| {
            self.contexts.forget_hardware();
            self.note_failure(error);
        })
    }

    /// Notes what `error` left in the DP for the run's end: a WAIT timeout
    /// (a transfer left pending, to abort) wins over a FAULT (flags only),
    /// in whichever order they came.
    pub(super) fn note_failure(&mut self, error: &ProbeError) {
        let pending_transfer = |error: &ProbeError| matches!(error, ProbeError::TransferTimeout(_));
        let noted_abort = self.run.to_clear.as_ref().is_some_and(pending_transfer);
        if !noted_abort && memap::leaves_sticky_flags(error) {
            self.run.to_clear = Some(error.clone());
        }
    }

    /// The run ends here: whatever its failures left set in the DP is
    /// cleared before anyone else's transfer (rule 11).
    pub(super) fn end_run(&mut self, probe: &mut dyn DebugProbe) {
        let run = std::mem::take(&mut self.run);
        if let Some(failure) = run.to_clear {
            memap::recover(probe, self.memaps.wire(), &failure);
        }
        if let Some(client) = run.register_fault {
            self.sticky.faulted(client);
        }
    }
}
