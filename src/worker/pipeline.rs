//! Pipelined jobs: a client's queued DAP packets kept in flight together.
//!
//! A DAP port packet is a `Task::Sequence` of register operations. Run one
//! at a time, each would wait for its last reply before the next packet's
//! transfers go out, and the USB link would idle for a frame or more per
//! packet. When the probe has a `TransferPipeline`, consecutive such jobs
//! of one client go into it instead, each as a group of its own: the
//! probe runs them in order, each up to its first failure, and each job
//! is completed as soon as its group has finished, while later ones are
//! still in flight. The worker takes further batches between replies, so
//! the pipeline runs on across batches while the same client's packets
//! keep coming.
//!
//! A job is pipelined only when running it there is the same as running
//! it alone, at the moment it is issued:
//! - its client owes no sticky flag (no refusal to make, no CTRL/STAT to
//!   amend), no other client's line reset waits to be ended, and its CSW
//!   and TAR need no writing back (`DapContexts::settle_for_pipeline`);
//! - the pipeline holds only this client's jobs. Another client's job
//!   first waits for every pipelined job to finish and for the run to end
//!   (flush, and the sticky flags cleared after a failure), so no other
//!   client's transfer comes between a client's packets while they are in
//!   flight, and none inside one.
//!
//! What the slow path learns from each operation's result (a line reset
//! ended by a read, a failure to clear at the run's end, a FAULT that is
//! the client's STICKYERR, APs whose state is unknown after a failure) is
//! learnt here from each group's output when it finishes. Within a run,
//! a later packet of the client after a FAULT meets the DP's own
//! STICKYERR, as it would run one by one in the same run; after the run,
//! the worker's refusal.

use std::collections::VecDeque;

use crate::ids::{ClientId, JobId};
use crate::probe::{is_pipelined, DebugProbe, Op, OpOutput, ProbeError, SequenceOutput};

use super::{Completion, Job, Runner, Task};

/// A job whose transfers are in the probe's pipeline.
#[derive(Debug)]
struct Issued {
    id: JobId,
    client: ClientId,
    ops: Vec<Op>,
}

/// The pipelined jobs, oldest first, all of one client.
#[derive(Debug, Default)]
pub(super) struct Pipelined {
    jobs: VecDeque<Issued>,
    /// The last job issued ends its client's run: the run ends once the
    /// pipeline has emptied, unless a job of the same client follows.
    run_ends: bool,
}

impl Runner {
    /// Whether pipelined jobs are unfinished or their run has not ended.
    pub fn has_pipelined(&self) -> bool {
        !self.pipelined.jobs.is_empty() || self.pipelined.run_ends
    }

    /// Issues `job` to the probe's pipeline if it runs there as it would
    /// alone (see the module doc); gives it back if not.
    pub(super) fn try_pipeline(&mut self, probe: &mut dyn DebugProbe, job: Job) -> Result<(), Job> {
        let (Some(client), Task::Sequence(ops)) = (job.client, &job.task) else {
            return Err(job);
        };
        let eligible = ops.iter().all(is_pipelined)
            && probe.pipeline().is_some()
            && self
                .pipelined
                .jobs
                .front()
                .is_none_or(|j| j.client == client)
            && self.sticky.is_clear(client)
            && self.line_resets.pending().is_none_or(|c| c == client);
        if !eligible || !self.contexts.settle_for_pipeline(client, ops) {
            return Err(job);
        }
        for op in ops {
            self.memaps.observe(op);
        }
        if let Some(pipeline) = probe.pipeline() {
            pipeline.issue(ops);
        }
        self.pipelined.run_ends = job.flush_after;
        let Task::Sequence(ops) = job.task else {
            return Ok(());
        };
        self.pipelined.jobs.push_back(Issued {
            id: job.id,
            client,
            ops,
        });
        Ok(())
    }

    /// Moves the pipeline on by one reply and completes what finished; once
    /// nothing is left in flight, ends the run.
    pub fn advance(&mut self, probe: &mut dyn DebugProbe, out: &mut Vec<Completion>) {
        let more = probe.pipeline().is_some_and(|pipeline| pipeline.advance());
        self.collect_pipelined(probe, out);
        if !more {
            self.settle_pipeline(probe, out);
        }
    }

    /// Finishes every pipelined job and, if their run ended, ends it.
    pub(super) fn settle_pipeline(
        &mut self,
        probe: &mut dyn DebugProbe,
        out: &mut Vec<Completion>,
    ) {
        if let Some(pipeline) = probe.pipeline() {
            while pipeline.advance() {}
        }
        self.collect_pipelined(probe, out);
        if std::mem::take(&mut self.pipelined.run_ends) {
            // Every write was confirmed in its own group; what the probe
            // may still hold is nobody's, but a failure counts for the run.
            let _ = self.flush(probe);
            self.end_run(probe);
        }
    }

    /// Completes the pipelined jobs whose groups have finished.
    pub(super) fn collect_pipelined(
        &mut self,
        probe: &mut dyn DebugProbe,
        out: &mut Vec<Completion>,
    ) {
        while !self.pipelined.jobs.is_empty() {
            let Some(output) = probe.pipeline().and_then(|p| p.take_finished()) else {
                return;
            };
            let Some(job) = self.pipelined.jobs.pop_front() else {
                return;
            };
            self.learn(job.client, &job.ops, &output);
            out.push(Completion {
                id: job.id,
                result: Ok(OpOutput::Sequence(output)),
            });
        }
    }

    /// Takes in what a pipelined job's operations did, as `run_part` does
    /// for each operation it runs.
    fn learn(&mut self, client: ClientId, ops: &[Op], output: &SequenceOutput) {
        let wire = self.memaps.wire();
        for op in &ops[..output.outputs.len().min(ops.len())] {
            self.line_resets.after_op(Some(client), op, wire, true);
            self.cleared_by(Some(client), op);
        }
        if let Some(error) = &output.failure {
            self.note_failure(error);
            self.contexts.forget_hardware();
            if matches!(error, ProbeError::TransferFault(_)) {
                self.run.register_fault = self.run.register_fault.or(Some(client));
            }
        }
    }
}

#[cfg(test)]
mod tests;
