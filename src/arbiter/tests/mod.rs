//! Behaviour tests of the sharing rules, driven through a fake worker.

mod contexts;
mod counting;
mod death;
mod locking;
mod power;
mod scheduling;
mod using;

use std::collections::{HashMap, VecDeque};

use crate::probe::{
    Op, OpOutput, ProbeError, ProbeResult, ProtocolRequest, SequenceOutput, WireProtocol,
};
use crate::worker::{Completion, Job, Task};

use super::{Action, Arbiter, ArbiterConfig, Outcome, Request};
use crate::ids::{ClientId, Ticket};

pub(super) const A: ClientId = ClientId(1);
pub(super) const B: ClientId = ClientId(2);
pub(super) const C: ClientId = ClientId(3);
pub(super) const D: ClientId = ClientId(4);

/// An arbiter wired to a fake worker that runs jobs when told to.
pub(super) struct Bench {
    pub arbiter: Arbiter,
    /// Jobs handed to the worker and not completed yet, in worker order.
    running: VecDeque<Job>,
    /// Every probe operation handed to the worker, in worker order
    /// (memory-handle requests are not listed).
    pub sent: Vec<Op>,
    /// Sizes of the batches handed to the worker.
    pub batches: Vec<usize>,
    replies: HashMap<Ticket, (ClientId, Outcome)>,
    pub internal_failures: Vec<&'static str>,
    failures: Vec<(Op, ProbeError)>,
    answers: Vec<(Op, OpOutput)>,
    next_ticket: u64,
}

impl Bench {
    pub fn new() -> Self {
        Self::with_max_in_flight(ArbiterConfig::default().max_in_flight)
    }

    pub fn with_max_in_flight(max_in_flight: usize) -> Self {
        Bench {
            arbiter: Arbiter::new(ArbiterConfig { max_in_flight }),
            running: VecDeque::new(),
            sent: Vec::new(),
            batches: Vec::new(),
            replies: HashMap::new(),
            internal_failures: Vec::new(),
            failures: Vec::new(),
            answers: Vec::new(),
            next_ticket: 100,
        }
    }

    /// Bench with the given clients connected to the server.
    pub fn with_clients(clients: &[ClientId]) -> Self {
        let mut bench = Self::new();
        for &client in clients {
            bench.arbiter.add_client(client);
        }
        bench
    }

    pub fn submit(&mut self, client: ClientId, request: Request) -> Ticket {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        self.arbiter.submit(client, ticket, request);
        ticket
    }

    pub fn op(&mut self, client: ClientId, op: Op) -> Ticket {
        self.submit(client, Request::Probe(op))
    }

    pub fn lock(&mut self, client: ClientId) -> Ticket {
        self.submit(client, Request::Lock)
    }

    pub fn unlock(&mut self, client: ClientId) -> Ticket {
        self.submit(client, Request::Unlock)
    }

    /// The next time the worker runs `op`, it fails with `error`.
    pub fn fail_next(&mut self, op: Op, error: ProbeError) {
        self.failures.push((op, error));
    }

    /// The next time the worker runs `op`, it answers `output`.
    pub fn answer_next(&mut self, op: Op, output: OpOutput) {
        self.answers.push((op, output));
    }

    /// One `poll`; returns the number of jobs it handed to the worker.
    pub fn poll(&mut self) -> usize {
        let mut actions = Vec::new();
        self.arbiter.poll(&mut actions);
        let mut executes = 0;
        let mut jobs = 0;
        for action in actions {
            match action {
                Action::Execute(batch) => {
                    let batch = batch.jobs;
                    executes += 1;
                    jobs += batch.len();
                    self.batches.push(batch.len());
                    self.sent
                        .extend(batch.iter().flat_map(|job| match &job.task {
                            Task::Probe(op) => vec![op.clone()],
                            Task::Memory(_) | Task::MassErase => Vec::new(),
                            Task::Sequence(ops) => ops.clone(),
                        }));
                    self.running.extend(batch);
                }
                Action::Reply {
                    client,
                    ticket,
                    outcome,
                } => {
                    let earlier = self.replies.insert(ticket, (client, outcome));
                    assert!(earlier.is_none(), "ticket {ticket} answered twice");
                }
                Action::InternalFailed { op, .. } => self.internal_failures.push(op),
            }
        }
        assert!(executes <= 1, "one poll must send at most one batch");
        jobs
    }

    /// The worker finishes its oldest job; returns its task.
    pub fn finish_one(&mut self) -> Option<Task> {
        let job = self.running.pop_front()?;
        let result = self.run(&job.task);
        self.arbiter.complete(Completion { id: job.id, result });
        Some(job.task)
    }

    pub fn finish_all(&mut self) {
        while self.finish_one().is_some() {}
    }

    /// Polls and runs jobs until nothing more happens.
    pub fn settle(&mut self) {
        loop {
            self.poll();
            if self.running.is_empty() {
                return;
            }
            self.finish_all();
        }
    }

    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// The reply to `ticket`, checked to have gone to `client`.
    pub fn reply(&self, client: ClientId, ticket: Ticket) -> Option<Outcome> {
        self.replies.get(&ticket).map(|(to, outcome)| {
            assert_eq!(
                *to, client,
                "reply to ticket {ticket} went to the wrong client"
            );
            outcome.clone()
        })
    }

    pub fn assert_ok(&self, client: ClientId, ticket: Ticket) {
        match self.reply(client, ticket) {
            Some(Outcome::Ok(_)) => {}
            other => panic!("ticket {ticket}: expected success, got {other:?}"),
        }
    }

    /// How many times `op` was handed to the worker.
    pub fn sent_count(&self, op: &Op) -> usize {
        self.sent.iter().filter(|sent| *sent == op).count()
    }

    /// Open the probe and connect with the default protocol, as pyOCD does,
    /// for each client in turn.
    pub fn open_and_connect(&mut self, clients: &[ClientId]) {
        for &client in clients {
            let open = self.op(client, Op::Open);
            let connect = self.op(client, Op::Connect(ProtocolRequest::Default));
            self.settle();
            self.assert_ok(client, open);
            self.assert_ok(client, connect);
        }
    }

    fn run(&mut self, task: &Task) -> ProbeResult<OpOutput> {
        match task {
            Task::Probe(op) => self.run_op(op),
            Task::Memory(_) | Task::MassErase => Ok(OpOutput::Done),
            Task::Sequence(ops) => Ok(OpOutput::Sequence(SequenceOutput::run(ops, |op| {
                self.run_op(op)
            }))),
        }
    }

    fn run_op(&mut self, op: &Op) -> ProbeResult<OpOutput> {
        if let Some(at) = self.failures.iter().position(|(failing, _)| failing == op) {
            return Err(self.failures.remove(at).1);
        }
        if let Some(at) = self.answers.iter().position(|(answered, _)| answered == op) {
            return Ok(self.answers.remove(at).1);
        }
        Ok(match op {
            Op::Connect(ProtocolRequest::Default) => OpOutput::Connected(WireProtocol::Swd),
            Op::Connect(ProtocolRequest::Specific(p)) => OpOutput::Connected(*p),
            // CTRL/STAT of a powered-up port: all requests acknowledged.
            Op::ReadDp(0x4) => OpOutput::Word(0xF000_0000),
            Op::ReadDp(addr) | Op::ReadAp(addr) => OpOutput::Word(*addr),
            Op::IsResetAsserted | Op::HasSwo => OpOutput::Bool(false),
            _ => OpOutput::Done,
        })
    }
}

pub(super) fn read(addr: u32) -> Op {
    Op::ReadAp(addr)
}

pub(super) fn word(value: u32) -> Option<Outcome> {
    Some(Outcome::Ok(OpOutput::Word(value)))
}

pub(super) fn done() -> Option<Outcome> {
    Some(Outcome::Ok(OpOutput::Done))
}
