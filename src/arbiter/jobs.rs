//! Jobs in flight: sending them to the worker and taking their results.

use crate::ids::{ClientId, JobId};
use crate::probe::{Op, OpOutput, ProbeError, ProbeResult};
use crate::worker::{Completion, Job, Task};

use super::counts::Kind;
use super::power;
use super::{Action, Arbiter, InFlight, JobKind, Notice, Outcome, Owner};

/// The client a job answers to, if it is still there.
fn client_of(owner: Owner) -> Option<ClientId> {
    match owner {
        Owner::Client(client, _) => Some(client),
        Owner::Gone | Owner::Internal => None,
    }
}

impl Arbiter {
    /// Queues `task` as a job in `batch`; returns its id.
    pub(super) fn send(
        &mut self,
        task: Task,
        owner: Owner,
        kind: JobKind,
        batch: &mut Vec<Job>,
    ) -> JobId {
        let id = self.next_job;
        self.next_job = JobId(id.0 + 1);
        if kind.is_barrier() {
            self.barriers_in_flight += 1;
        }
        let name = task.name();
        let client = match owner {
            Owner::Client(client, _) => Some(client),
            Owner::Gone | Owner::Internal => None,
        };
        self.in_flight.insert(
            id,
            InFlight {
                owner,
                kind,
                name,
                parts: Vec::new(),
            },
        );
        batch.push(Job {
            id,
            client,
            task,
            flush_after: false,
        });
        id
    }

    /// Sends a sequence whose operations are taken by `parts` when done.
    pub(super) fn send_sequence(
        &mut self,
        ops: Vec<Op>,
        parts: Vec<JobKind>,
        owner: Owner,
        batch: &mut Vec<Job>,
    ) {
        let id = self.send(Task::Sequence(ops), owner, JobKind::Sequence, batch);
        if let Some(job) = self.in_flight.get_mut(&id) {
            job.parts = parts;
        }
    }

    /// The worker finished a job: apply what it changed and queue its reply
    /// for the next [`Arbiter::poll`]. Unknown ids are ignored.
    pub fn complete(&mut self, done: Completion) {
        let Some(job) = self.in_flight.remove(&done.id) else {
            return;
        };
        if job.kind.is_barrier() {
            self.barriers_in_flight -= 1;
        }
        let failed = match &done.result {
            Err(_) => true,
            Ok(OpOutput::Sequence(sequence)) => sequence.failure.is_some(),
            Ok(_) => false,
        };
        if failed {
            self.contexts.failed(done.id);
        }
        let result = self.apply(&job, done.result);
        match job.owner {
            Owner::Client(client, ticket) => self.ready.push(Action::Reply {
                client,
                ticket,
                outcome: Outcome::from(result),
            }),
            Owner::Gone => {}
            Owner::Internal => {
                if let Err(error) = result {
                    self.ready.push(Action::InternalFailed {
                        op: job.name,
                        error,
                    });
                }
            }
        }
    }

    /// Records what a finished job did to the hardware, and to its client's
    /// counts when that client is still there.
    fn apply(&mut self, job: &InFlight, result: ProbeResult<OpOutput>) -> ProbeResult<OpOutput> {
        let client = client_of(job.owner);
        match job.kind {
            JobKind::Plain => result,
            JobKind::Sequence => match result {
                Ok(OpOutput::Sequence(mut sequence)) => {
                    let outputs = std::mem::take(&mut sequence.outputs);
                    sequence.outputs = outputs
                        .into_iter()
                        .zip(job.parts.iter())
                        .map(|(output, &kind)| {
                            let part = InFlight {
                                owner: job.owner,
                                kind,
                                name: job.name,
                                parts: Vec::new(),
                            };
                            // Parts are register operations: their kinds
                            // only ever reshape a successful output.
                            match self.apply(&part, Ok(output)) {
                                Ok(output) => output,
                                Err(_) => OpOutput::Done,
                            }
                        })
                        .collect();
                    Ok(OpOutput::Sequence(sequence))
                }
                other => other,
            },
            JobKind::CtrlStatView(written) => match result {
                Ok(OpOutput::Word(actual)) => {
                    Ok(OpOutput::Word(power::viewed_ctrl_stat(actual, written)))
                }
                other => other,
            },
            JobKind::DhcsrRead(index) => {
                let mut seen = |value: u32| {
                    self.notices.push(Notice::Dhcsr {
                        reader: client,
                        value,
                    });
                    let others = self.clients.iter().copied();
                    self.contexts.dhcsr_seen(client, value, others)
                };
                match result {
                    Ok(OpOutput::Word(value)) if index == 0 => Ok(OpOutput::Word(seen(value))),
                    Ok(OpOutput::Words(mut words)) => {
                        if let Some(word) = words.get_mut(index) {
                            *word = seen(*word);
                        }
                        Ok(OpOutput::Words(words))
                    }
                    other => other,
                }
            }
            JobKind::Open => {
                if result.is_ok() {
                    self.hardware.open = true;
                    if let Some(client) = client {
                        self.refs.add(client, Kind::Open);
                    }
                }
                result
            }
            JobKind::Connect => match result {
                Ok(OpOutput::Connected(protocol)) => {
                    self.hardware.wire = Some(protocol);
                    self.hardware.deferred_power_down = None;
                    if let Some(client) = client {
                        self.refs.add(client, Kind::Connect);
                    }
                    Ok(OpOutput::Connected(protocol))
                }
                // Without a protocol the wire cannot be shared; treat the
                // connect as failed so the next one tries again.
                Ok(other) => Err(ProbeError::Probe(format!(
                    "connect returned {other:?} instead of a wire protocol"
                ))),
                Err(error) => Err(error),
            },
            // A failed close or disconnect still counts as done: see the
            // module doc on releases.
            JobKind::Close => {
                self.power_views.clear();
                self.hardware.open = false;
                self.hardware.wire = None;
                self.hardware.deferred_power_down = None;
                result
            }
            JobKind::Disconnect => {
                self.power_views.clear();
                self.hardware.wire = None;
                self.hardware.deferred_power_down = None;
                result
            }
        }
    }
}
