//! Deciding requests: what the head of the next client turns into, given
//! the current counts, lock and hardware state.
//!
//! Each decision is made in two halves: [`Arbiter::plan`] looks at the head
//! without changing anything, so a head that cannot run yet (no room in
//! flight, a barrier waiting for the worker to drain) stays queued in its
//! place; [`Arbiter::commit`] then takes it and applies the plan.

use crate::ids::{ClientId, JobId, Ticket};
use crate::probe::{Op, OpOutput, ProbeError, ProtocolRequest, WireProtocol};
use crate::worker::{Job, Task};

use super::counts::Kind;
use super::power;
use super::{Action, Arbiter, JobKind, Outcome, Owner, Request, SharingError};

/// What one request turns into.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Plan {
    Refuse(SharingError),
    GrantLock,
    ReleaseLock,
    /// The probe is already open: count and answer.
    CountOpen,
    HardwareOpen,
    /// Not the last `open`: count down and answer.
    ReleaseOpen,
    /// The last `open`: count down and close the hardware.
    HardwareClose,
    /// The wire is already up with this protocol: count and answer.
    CountConnect(WireProtocol),
    HardwareConnect(ProtocolRequest),
    ReleaseConnect,
    /// The last `connect`: count down, apply a deferred power-down,
    /// disconnect the hardware.
    HardwareDisconnect,
    /// A CTRL/STAT write dropping a power-up request while others are
    /// connected: sent with the requests kept set (rule 7).
    MaskedPowerDown(u32),
    /// A CTRL/STAT read, with the power-down the client asked for if it
    /// was masked.
    CtrlStatRead(Option<u32>),
    /// Any other operation, sent as it is.
    Forward {
        ctrl_stat: bool,
    },
    /// Register operations sent as one job.
    Sequence,
    /// A sequence with an operation that cannot be part of one.
    RefuseSequence,
}

/// What a plan needs before it can be committed.
enum Need {
    Nothing,
    /// One slot in flight.
    Slot,
    /// An empty pipeline.
    Barrier,
}

impl Plan {
    fn need(&self) -> Need {
        match self {
            Plan::HardwareOpen
            | Plan::HardwareClose
            | Plan::HardwareConnect(_)
            | Plan::HardwareDisconnect => Need::Barrier,
            Plan::MaskedPowerDown(_)
            | Plan::CtrlStatRead(_)
            | Plan::Forward { .. }
            | Plan::Sequence => Need::Slot,
            _ => Need::Nothing,
        }
    }

    /// Answered from the counts alone (rule 12).
    fn only_counts(&self) -> bool {
        matches!(
            self,
            Plan::CountOpen | Plan::ReleaseOpen | Plan::CountConnect(_) | Plan::ReleaseConnect
        )
    }
}

/// The arbiter's own work, which goes before any client's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cleanup {
    Disconnect,
    Close,
}

impl Arbiter {
    /// Decides requests until nothing more can be decided now.
    pub(super) fn dispatch(&mut self, batch: &mut Vec<Job>, out: &mut Vec<Action>) {
        let mut counted_for_others = false;
        while self.barriers_in_flight == 0 {
            if let Some(cleanup) = self.cleanup_needed() {
                if self.in_flight.is_empty() {
                    self.run_cleanup(cleanup, batch);
                }
                return;
            }
            let exclusive = self.contexts.window_holder().or(self.lock.holder());
            if let Some(holder) = exclusive.filter(|_| !counted_for_others) {
                counted_for_others = true;
                self.answer_counts_of_others(holder, batch, out);
            }
            let Some(client) = self.schedule.next(exclusive) else {
                return;
            };
            let Some((_, request)) = self.schedule.head(client) else {
                return;
            };
            let plan = self.plan(client, request);
            let can_run = match plan.need() {
                Need::Nothing => true,
                Need::Slot => self.in_flight.len() < self.max_in_flight,
                Need::Barrier => self.in_flight.is_empty(),
            };
            if !can_run {
                return;
            }
            let Some((ticket, request)) = self.schedule.pop(client) else {
                return;
            };
            self.commit(client, ticket, request, plan, batch, out);
        }
    }

    /// Rule 12: the heads of clients waiting behind `holder` that only
    /// move counts are answered now, each client's in its order.
    fn answer_counts_of_others(
        &mut self,
        holder: ClientId,
        batch: &mut Vec<Job>,
        out: &mut Vec<Action>,
    ) {
        let waiting: Vec<ClientId> = self
            .schedule
            .waiting_clients()
            .filter(|&client| client != holder)
            .collect();
        for client in waiting {
            while let Some((_, request)) = self.schedule.head(client) {
                let plan = self.plan(client, request);
                if !plan.only_counts() {
                    break;
                }
                let Some((ticket, request)) = self.schedule.pop(client) else {
                    break;
                };
                self.commit(client, ticket, request, plan, batch, out);
            }
        }
    }

    fn plan(&self, client: ClientId, request: &Request) -> Plan {
        let op = match request {
            Request::Lock => return Plan::GrantLock,
            Request::Unlock if self.lock.holder() == Some(client) => return Plan::ReleaseLock,
            Request::Unlock => return Plan::Refuse(SharingError::NotLockHolder),
            Request::Memory(_) | Request::MassErase => return Plan::Forward { ctrl_stat: false },
            Request::Sequence(ops) if ops.iter().any(is_counted) => return Plan::RefuseSequence,
            Request::Sequence(_) => return Plan::Sequence,
            Request::Probe(op) => op,
        };
        self.plan_op(client, op)
    }

    /// The plan of one probe operation of `client`.
    fn plan_op(&self, client: ClientId, op: &Op) -> Plan {
        let mine = self.refs.of(client);
        match *op {
            Op::Open if self.hardware.open => Plan::CountOpen,
            Op::Open => Plan::HardwareOpen,
            Op::Close if mine.opens == 0 => Plan::Refuse(SharingError::CloseWithoutOpen),
            Op::Close if self.hardware.open && self.refs.is_last(client, Kind::Open) => {
                Plan::HardwareClose
            }
            Op::Close => Plan::ReleaseOpen,
            Op::Connect(wanted) => match (self.hardware.wire, wanted) {
                (None, _) => Plan::HardwareConnect(wanted),
                (Some(up), ProtocolRequest::Default) => Plan::CountConnect(up),
                (Some(up), ProtocolRequest::Specific(p)) if p == up => Plan::CountConnect(up),
                (Some(up), ProtocolRequest::Specific(_)) => {
                    Plan::Refuse(SharingError::ProtocolConflict(up))
                }
            },
            Op::Disconnect if mine.connects == 0 => {
                Plan::Refuse(SharingError::DisconnectWithoutConnect)
            }
            Op::Disconnect
                if self.hardware.wire.is_some() && self.refs.is_last(client, Kind::Connect) =>
            {
                Plan::HardwareDisconnect
            }
            Op::Disconnect => Plan::ReleaseConnect,
            Op::WriteDp { addr, value }
                if self.contexts.is_ctrl_stat(client, addr, false)
                    && power::is_power_down(value)
                    && self.refs.others_connected(client) =>
            {
                Plan::MaskedPowerDown(value)
            }
            Op::ReadDp(addr) if self.contexts.is_ctrl_stat(client, addr, true) => {
                Plan::CtrlStatRead(self.power_views.get(&client).copied())
            }
            Op::WriteDp { addr, .. } => Plan::Forward {
                ctrl_stat: self.contexts.is_ctrl_stat(client, addr, false),
            },
            _ => Plan::Forward { ctrl_stat: false },
        }
    }

    fn commit(
        &mut self,
        client: ClientId,
        ticket: Ticket,
        request: Request,
        plan: Plan,
        batch: &mut Vec<Job>,
        out: &mut Vec<Action>,
    ) {
        let owner = Owner::Client(client, ticket);
        let mut answer = |outcome| {
            out.push(Action::Reply {
                client,
                ticket,
                outcome,
            })
        };
        match plan {
            Plan::Refuse(error) => answer(Outcome::Sharing(error)),
            Plan::GrantLock => {
                self.lock.acquire(client);
                answer(Outcome::Ok(OpOutput::Done));
            }
            Plan::ReleaseLock => {
                self.lock.release(client);
                answer(Outcome::Ok(OpOutput::Done));
            }
            Plan::CountOpen => {
                self.refs.add(client, Kind::Open);
                answer(Outcome::Ok(OpOutput::Done));
            }
            Plan::ReleaseOpen => {
                self.refs.release(client, Kind::Open);
                answer(Outcome::Ok(OpOutput::Done));
            }
            Plan::CountConnect(up) => {
                self.refs.add(client, Kind::Connect);
                answer(Outcome::Ok(OpOutput::Connected(up)));
            }
            Plan::ReleaseConnect => {
                self.refs.release(client, Kind::Connect);
                answer(Outcome::Ok(OpOutput::Done));
            }
            Plan::HardwareOpen => {
                self.send(Task::Probe(Op::Open), owner, JobKind::Open, batch);
            }
            Plan::HardwareClose => {
                self.refs.release(client, Kind::Open);
                self.send(Task::Probe(Op::Close), owner, JobKind::Close, batch);
            }
            Plan::HardwareConnect(wanted) => {
                let connect = Task::Probe(Op::Connect(wanted));
                self.send(connect, owner, JobKind::Connect, batch);
            }
            Plan::HardwareDisconnect => {
                self.refs.release(client, Kind::Connect);
                self.disconnect_wire(owner, batch);
            }
            Plan::RefuseSequence => answer(Outcome::Probe(ProbeError::InvalidArgument(
                "open, close, connect and disconnect cannot run in a sequence".to_owned(),
            ))),
            Plan::Sequence => {
                if let Request::Sequence(ops) = request {
                    // Every operation of the sequence belongs to the job
                    // about to be sent.
                    let job = self.next_job;
                    let (ops, parts) = ops
                        .into_iter()
                        .map(|op| self.prepare_part(client, op, job))
                        .unzip();
                    self.send_sequence(ops, parts, owner, batch);
                }
            }
            Plan::MaskedPowerDown(value) => {
                self.hardware.deferred_power_down = Some(value);
                self.power_views.insert(client, value);
                if let Request::Probe(op) = request {
                    let kept = Task::Probe(power::keep_powered(op));
                    self.send_for_client(client, owner, kept, JobKind::Plain, batch);
                }
            }
            Plan::CtrlStatRead(power_view) => {
                if let Some(task) = request.into_task() {
                    let kind = power_view.map_or(JobKind::Plain, JobKind::CtrlStatView);
                    self.send_for_client(client, owner, task, kind, batch);
                }
            }
            Plan::Forward { ctrl_stat } => {
                if ctrl_stat {
                    self.hardware.deferred_power_down = None;
                    self.power_views.remove(&client);
                }
                // `plan` only forwards work for the worker.
                if let Some(task) = request.into_task() {
                    self.send_for_client(client, owner, task, JobKind::Plain, batch);
                }
            }
        }
    }

    /// Sends a client's register operation or memory-handle request: the
    /// client's view and register window take note of it (rules 9–11),
    /// and it goes out as the hardware must see it for that client.
    fn send_for_client(
        &mut self,
        client: ClientId,
        owner: Owner,
        task: Task,
        kind: JobKind,
        batch: &mut Vec<Job>,
    ) {
        let kind = match (kind, self.contexts.dhcsr_read(client, &task)) {
            (JobKind::Plain, Some(index)) => JobKind::DhcsrRead(index),
            (kind, _) => kind,
        };
        // The job about to be sent gets this id.
        let job = self.next_job;
        self.contexts.sent(client, &task, job);
        let task = self.contexts.for_hardware(client, task);
        self.send(task, owner, kind, batch);
    }

    /// One operation of a sequence, taken as if it were sent alone: the
    /// power-down rule, the client's view and register window; returns it
    /// as the hardware must see it and how its output is taken.
    fn prepare_part(&mut self, client: ClientId, op: Op, job: JobId) -> (Op, JobKind) {
        let (op, kind) = match self.plan_op(client, &op) {
            Plan::MaskedPowerDown(value) => {
                self.hardware.deferred_power_down = Some(value);
                self.power_views.insert(client, value);
                (power::keep_powered(op), JobKind::Plain)
            }
            Plan::CtrlStatRead(power_view) => {
                (op, power_view.map_or(JobKind::Plain, JobKind::CtrlStatView))
            }
            Plan::Forward { ctrl_stat: true } => {
                self.hardware.deferred_power_down = None;
                self.power_views.remove(&client);
                (op, JobKind::Plain)
            }
            _ => (op, JobKind::Plain),
        };
        let task = Task::Probe(op);
        let kind = match (kind, self.contexts.dhcsr_read(client, &task)) {
            (JobKind::Plain, Some(index)) => JobKind::DhcsrRead(index),
            (kind, _) => kind,
        };
        self.contexts.sent(client, &task, job);
        let Task::Probe(op) = task else {
            unreachable!("built as a probe task above");
        };
        (self.contexts.op_for_hardware(client, op), kind)
    }

    /// What the counts no longer justify: a wire up that nobody is
    /// connected to, or a probe open that nobody has opened.
    pub(super) fn cleanup_needed(&self) -> Option<Cleanup> {
        let held = self.refs.total();
        if held.connects == 0 && self.hardware.wire.is_some() {
            Some(Cleanup::Disconnect)
        } else if held.opens == 0 && self.hardware.open {
            Some(Cleanup::Close)
        } else {
            None
        }
    }

    fn run_cleanup(&mut self, cleanup: Cleanup, batch: &mut Vec<Job>) {
        match cleanup {
            Cleanup::Disconnect => self.disconnect_wire(Owner::Internal, batch),
            Cleanup::Close => {
                self.send(
                    Task::Probe(Op::Close),
                    Owner::Internal,
                    JobKind::Close,
                    batch,
                );
            }
        }
    }

    /// The wire's last user is gone: first the power-down clients asked for
    /// while others still needed the port, then the hardware disconnect.
    fn disconnect_wire(&mut self, owner: Owner, batch: &mut Vec<Job>) {
        if let Some(requested) = self.hardware.deferred_power_down.take() {
            for op in power::deferred_power_down(requested) {
                self.send(Task::Probe(op), Owner::Internal, JobKind::Plain, batch);
            }
        }
        let disconnect = Task::Probe(Op::Disconnect);
        self.send(disconnect, owner, JobKind::Disconnect, batch);
    }
}

/// Operations that move counts or take the wire up or down: never part of
/// a sequence.
fn is_counted(op: &Op) -> bool {
    matches!(op, Op::Open | Op::Close | Op::Connect(_) | Op::Disconnect)
}
