//! One served probe without the loop: the arbiter, the worker's `Runner`
//! and the virtual target behind the real CMSIS-DAP driver, run on the
//! fuzz target's thread. The worker's results can be replaced by failures
//! ([`Faults`]) so that the arbiter and the front ends see every kind of
//! error at every point, as a failing probe would give them.

use std::collections::VecDeque;
use std::time::Duration;

use probeshare::arbiter::{Action, Arbiter, ArbiterConfig, Outcome};
use probeshare::cmsis_dap::CmsisDapProbe;
use probeshare::ids::{ClientId, Ticket};
use probeshare::probe::{DebugProbe, OpOutput, ProbeError, ProbeInfo, ProbeResult};
use probeshare::sim::dap_firmware::{FirmwareConfig, SimDapFirmware, UsbModel};
use probeshare::worker::{Batch, Runner};

use crate::input::Prng;

/// Which results of the worker become failures.
#[derive(Clone, Debug)]
pub struct Faults {
    prng: Prng,
    /// Out of 256: how often a result is replaced by a failure.
    rate: u8,
}

impl Faults {
    pub fn new(seed: u32, rate: u8) -> Faults {
        Faults {
            prng: Prng::new(seed),
            rate,
        }
    }

    /// No failures but the probe's own.
    pub fn none() -> Faults {
        Faults::new(0, 0)
    }

    fn error(&mut self) -> ProbeError {
        let text = "injected by the fuzz target".to_string();
        match self.prng.below(6) {
            0 => ProbeError::Disconnected(text),
            1 => ProbeError::Probe(text),
            2 => ProbeError::Transfer(text),
            3 => ProbeError::TransferTimeout(text),
            4 => ProbeError::TransferFault(text),
            _ => ProbeError::Unsupported("an injected operation"),
        }
    }

    /// `result`, or a failure in its place. A sequence's result stays a
    /// sequence (the worker always answers one), stopped at a failure
    /// after some of its operations, as the worker reports it.
    pub fn apply(&mut self, result: ProbeResult<OpOutput>) -> ProbeResult<OpOutput> {
        if self.rate == 0 || self.prng.below(256) >= u64::from(self.rate) {
            return result;
        }
        match result {
            Ok(OpOutput::Sequence(mut sequence)) if sequence.failure.is_none() => {
                let ran = self.prng.below(sequence.outputs.len() as u64 + 1);
                sequence.outputs.truncate(ran as usize);
                sequence.failure = Some(self.error());
                Ok(OpOutput::Sequence(sequence))
            }
            Ok(OpOutput::Sequence(sequence)) => Ok(OpOutput::Sequence(sequence)),
            _ => Err(self.error()),
        }
    }
}

/// A reply the arbiter gave.
#[derive(Debug)]
pub struct Reply {
    pub client: ClientId,
    pub ticket: Ticket,
    pub outcome: Outcome,
}

/// The arbiter with a worker that runs batches when told to.
pub struct ProbeBench {
    pub arbiter: Arbiter,
    runner: Runner,
    probe: CmsisDapProbe<SimDapFirmware>,
    faults: Faults,
    /// Batches handed to the worker and not run yet, oldest first.
    batches: VecDeque<Batch>,
    /// Internal jobs that failed (only logged by the server).
    pub internal_failures: usize,
}

impl ProbeBench {
    pub fn new(max_in_flight: usize, faults: Faults) -> ProbeBench {
        let config = FirmwareConfig::for_model(UsbModel::None);
        let mut probe = probeshare::sim::virtual_driver("fuzz", "fuzz target", config)
            .expect("the virtual target answers DAP_Info");
        // A reset holds nRESET for real time; the target needs none.
        probe.set_reset_timing(Duration::ZERO, Duration::ZERO);
        ProbeBench {
            arbiter: Arbiter::new(ArbiterConfig { max_in_flight }),
            runner: Runner::default(),
            probe,
            faults,
            batches: VecDeque::new(),
            internal_failures: 0,
        }
    }

    pub fn info(&self) -> ProbeInfo {
        self.probe.info().clone()
    }

    /// The fault injection, to stop it before the final drain.
    pub fn faults(&mut self) -> &mut Faults {
        &mut self.faults
    }

    /// One `poll`: the batch it decided goes to the worker, its replies
    /// are appended to `replies`.
    pub fn poll(&mut self, replies: &mut Vec<Reply>) {
        let mut actions = Vec::new();
        self.arbiter.poll(&mut actions);
        let mut batches = 0;
        for action in actions {
            match action {
                Action::Execute(batch) => {
                    batches += 1;
                    self.batches.push_back(batch);
                }
                Action::Reply {
                    client,
                    ticket,
                    outcome,
                } => replies.push(Reply {
                    client,
                    ticket,
                    outcome,
                }),
                Action::InternalFailed { .. } => self.internal_failures += 1,
            }
        }
        assert!(batches <= 1, "one poll sent {batches} batches");
    }

    /// Whether the worker has a batch to run.
    pub fn busy(&self) -> bool {
        !self.batches.is_empty()
    }

    /// The worker runs its oldest batch and reports every completion.
    pub fn run_batch(&mut self) -> bool {
        let Some(batch) = self.batches.pop_front() else {
            return false;
        };
        for mut completion in self.runner.run_batch(&mut self.probe, batch) {
            completion.result = self.faults.apply(completion.result);
            self.arbiter.complete(completion);
        }
        true
    }

    /// Polls and runs batches until the arbiter decides nothing more.
    pub fn settle(&mut self, replies: &mut Vec<Reply>) {
        loop {
            self.poll(replies);
            if !self.run_batch() {
                return;
            }
        }
    }

    /// The worker is gone: every job in flight fails, and the batches it
    /// never ran are dropped (their completions would be for unknown jobs).
    pub fn worker_lost(&mut self) {
        self.batches.clear();
        self.arbiter
            .fail_in_flight(ProbeError::Disconnected("worker lost".into()));
    }
}
