//! The arbiter: how many clients share one probe.
//!
//! A pure state machine (no I/O, no threads, no clock) holding everything
//! the sharing rules of `docs/protocol.md` need: each client's queue of requests,
//! the `open`/`connect` reference counts, the wire protocol in place, the
//! lock, and the jobs the probe worker is running. The server feeds it
//! ([`Arbiter::submit`], [`Arbiter::complete`], [`Arbiter::remove_client`])
//! and then calls [`Arbiter::poll`], which returns every reply that is ready
//! and one batch of [`Job`]s for the worker. Rule 1 (`hello` first) is the
//! server's; the others live here.
//!
//! # Contract
//!
//! - **Order.** A client's requests are taken in submission order, so its
//!   operations reach the worker in that order. Replies are emitted when
//!   they are known, possibly out of order; the server puts them back in
//!   ticket order.
//! - **Fairness (rule 6).** The next request is the head of the client
//!   whose head has waited longest (see `schedule`): round-robin among busy
//!   clients, FIFO among waiting `lock`s, arrival order behind a lock.
//! - **Lock (rule 5).** Exclusive and re-entrant for its holder (nesting is
//!   counted, like pyOCD's `RLock`). While it is held only the holder's
//!   requests are taken; every request of anyone else waits, `unlock`
//!   included (a refused `unlock` is still refused after the wait, and its
//!   client's order is kept). `lock`/`unlock` never touch the hardware.
//! - **open/close, connect/disconnect (rules 2, 3).** Counted per client.
//!   The hardware `Open`/`Connect` runs when the probe is not open / the
//!   wire is not up, and only counts on success; the error of a failed one
//!   goes to its client alone. The hardware `Close`/`Disconnect` runs when
//!   the last reference is released. A release drops the client's reference
//!   even if the hardware call then fails (the client asked to let go, and
//!   a reference it believes released would pin the probe forever); the
//!   probe is then taken as closed / disconnected. Closing the probe also
//!   takes the wire down, so a later `connect` runs the hardware again even
//!   if some client never sent `disconnect`. A matching `connect` to a wire
//!   already up is answered [`OpOutput::Connected`] with that protocol.
//!   A client that has the probe open, has never sent `connect` or
//!   `disconnect`, and reads the wire protocol while the wire is up is
//!   counted as connected ([`Arbiter::observe_wire`]): pyOCD sends no
//!   `connect` then, yet relies on the wire until it disconnects.
//! - **Barriers.** A hardware `Open`, `Close`, `Connect` or `Disconnect`
//!   changes what later requests mean, so it is dispatched only when no job
//!   is in flight and nothing else is decided until it completes. Any other
//!   operation is dispatched while earlier ones run, up to
//!   [`ArbiterConfig::max_in_flight`], all decided ones in one batch.
//!   The scheduler does not skip a head that cannot run yet: a waiting
//!   barrier holds up everyone, so it cannot be starved.
//! - **Power (rule 7).** A write to DP CTRL/STAT (address `0x4`, bank 0)
//!   that clears CDBGPWRUPREQ or CSYSPWRUPREQ while another client holds a
//!   `connect` is sent with both bits set, and the value is remembered.
//!   When the last `connect` is released (by `disconnect` or by death) with
//!   a power-down still remembered, internal writes carry it out (system
//!   power first, then debug power) just before the hardware `Disconnect`.
//!   Any CTRL/STAT write that reaches the hardware unchanged replaces what
//!   was remembered, since the hardware then holds the latest request.
//! - **Death (rule 4).** [`Arbiter::remove_client`] drops the client's
//!   queued requests unanswered and releases all it holds: every lock
//!   level, `connect` and `open`. Its jobs in flight still run; their
//!   replies are swallowed but their effects count (an `Open` that succeeds
//!   after its client died leaves an unreferenced probe, which is closed).
//!   Whatever the counts no longer justify (a wire up with no `connect`, a
//!   probe open with no `open`) is undone by internal jobs that belong to
//!   no client; their failures come out as [`Action::InternalFailed`].
//! - **Errors (rule 8).** A job's result goes to the client that submitted
//!   it and to no one else; other clients' work goes on.
//! - **Counting needs no hardware (rule 12).** While a client holds the
//!   lock (or a register window), another client's `open`, `close`,
//!   `connect` or `disconnect` that only moves a count is answered at once
//!   instead of waiting for the `unlock`.
//! - **Each client alone on the port (rules 9–11).** See `context`: DP
//!   addresses carry the client's own bank, a core register transfer holds
//!   off everyone else until it is finished, and DHCSR's clear-on-read bits
//!   reach every client. CSW, TAR and sticky flags are the worker's.
//! - Completions with unknown job ids are ignored. A client id the server
//!   reuses gets nothing meant for the connection that had it before.

mod context;
mod counts;
mod error;
mod jobs;
mod power;
mod schedule;
mod step;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use crate::ids::{ClientId, JobId, Ticket};
use crate::memap::MemoryRequest;
use crate::probe::{Op, OpOutput, ProbeError, ProbeResult, WireProtocol};
use crate::worker::{Batch, Completion, Job, Task};

use context::Contexts;
use counts::{Kind, Lock, References};
use schedule::Schedule;

pub use context::RegisterWindow;
pub use error::SharingError;

/// Departed clients the worker is told of with the next batch; past this
/// many, a batch of no jobs carries them (their state is small, but a
/// server whose clients come and go without touching the probe should not
/// keep a growing list).
const MAX_DEPARTED: usize = 256;

/// What a client asks the arbiter for: the lock, which is the arbiter's
/// own, or work for the worker, which is sent as a [`Task`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Lock,
    Unlock,
    /// A probe operation.
    Probe(Op),
    /// A memory-handle request: no count or lock rule applies to it; the
    /// memory it reaches counts for the register window and DHCSR's bits
    /// like that of the client's own AP accesses (see `context`).
    Memory(MemoryRequest),
    /// Register operations that run as one, in order, up to the first that
    /// fails (a DAP port client's packet): no other client's work runs
    /// between them. Each is taken as if sent alone (views, power-down,
    /// register window, DHCSR); `open`, `close`, `connect` and
    /// `disconnect` cannot be part of one. Answered with
    /// `OpOutput::Sequence`.
    Sequence(Vec<Op>),
    /// A mass erase of the target (`crate::mass_erase`), run by the worker
    /// as one job: no count or lock rule applies to it, and no other
    /// client's transfer lands inside it.
    MassErase,
}

impl Request {
    /// The worker's task for the request; `None` for the lock's.
    fn into_task(self) -> Option<Task> {
        match self {
            Request::Lock | Request::Unlock => None,
            Request::Probe(op) => Some(Task::Probe(op)),
            Request::Memory(request) => Some(Task::Memory(request)),
            Request::Sequence(ops) => Some(Task::Sequence(ops)),
            Request::MassErase => Some(Task::MassErase),
        }
    }
}

/// How a request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok(OpOutput),
    /// Refused by the sharing rules; nothing changed.
    Sharing(SharingError),
    /// The probe operation failed.
    Probe(ProbeError),
}

impl From<ProbeResult<OpOutput>> for Outcome {
    fn from(result: ProbeResult<OpOutput>) -> Self {
        match result {
            Ok(output) => Outcome::Ok(output),
            Err(error) => Outcome::Probe(error),
        }
    }
}

/// Something for the server to do, returned by [`Arbiter::poll`].
#[derive(Debug)]
pub enum Action {
    /// Send this batch to the probe worker, its jobs in this order.
    Execute(Batch),
    /// Answer request `ticket` of `client`.
    Reply {
        client: ClientId,
        ticket: Ticket,
        outcome: Outcome,
    },
    /// A job the arbiter ran on its own behalf (cleanup after a client
    /// left, a deferred power-down) failed. Only worth logging.
    InternalFailed { op: &'static str, error: ProbeError },
}

/// Tunables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArbiterConfig {
    /// Jobs the worker may have at once (at least 1 is used). More lets a
    /// pipelining client's requests travel to the worker in fewer batches.
    pub max_in_flight: usize,
}

impl Default for ArbiterConfig {
    fn default() -> Self {
        ArbiterConfig { max_in_flight: 64 }
    }
}

/// What the hardware is doing, as far as completed jobs tell.
#[derive(Debug, Default)]
struct Hardware {
    open: bool,
    wire: Option<WireProtocol>,
    /// The CTRL/STAT value a masked power-down asked for (rule 7).
    deferred_power_down: Option<u32>,
}

/// Who a job in flight answers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Client(ClientId, Ticket),
    /// Its client died: the result is dropped.
    Gone,
    /// The arbiter's own cleanup: failures are reported as such.
    Internal,
}

/// The arbiter-visible meaning of a job, which decides what its completion
/// changes. All but `Plain` are barriers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JobKind {
    Plain,
    /// A CTRL/STAT read by a client whose power-down was masked: its result
    /// shows the power state that client asked for (the `u32` it wrote).
    CtrlStatView(u32),
    /// A read of DHCSR, whose clear-on-read bits are shared out; the index
    /// of DHCSR in a block result.
    DhcsrRead(usize),
    /// A sequence: each of its operations' outputs is taken by the kind in
    /// the job's `parts`.
    Sequence,
    Open,
    Close,
    Connect,
    Disconnect,
}

impl JobKind {
    fn is_barrier(self) -> bool {
        matches!(
            self,
            JobKind::Open | JobKind::Close | JobKind::Connect | JobKind::Disconnect
        )
    }
}

#[derive(Debug)]
struct InFlight {
    owner: Owner,
    kind: JobKind,
    name: &'static str,
    /// The kind of each operation of a sequence (empty otherwise).
    parts: Vec<JobKind>,
}

/// The sharing state machine of one probe.
#[derive(Debug)]
pub struct Arbiter {
    max_in_flight: usize,
    clients: HashSet<ClientId>,
    schedule: Schedule<(Ticket, Request)>,
    refs: References,
    lock: Lock,
    hardware: Hardware,
    /// Clients whose power-down was masked, with the CTRL/STAT value they
    /// wrote (rule 7): they see that value's power state when they read
    /// CTRL/STAT, because pyOCD waits for the acknowledge bits to clear and
    /// would otherwise stall for seconds on every disconnect.
    power_views: HashMap<ClientId, u32>,
    /// Clients that have sent `connect` or `disconnect`: they manage their
    /// own `connect` references, so reading the wire adopts nothing.
    asked_for_wire: HashSet<ClientId>,
    /// Rules 9–11: views, register window, per-client bits.
    contexts: Contexts,
    /// Gone clients the worker has not been told of yet.
    departed: Vec<ClientId>,
    in_flight: HashMap<JobId, InFlight>,
    barriers_in_flight: usize,
    next_job: JobId,
    /// Replies decided outside `poll` (by completions), emitted by it.
    ready: Vec<Action>,
    /// `lock` requests that arrived while another client held the lock.
    lock_waits: u64,
}

impl Arbiter {
    pub fn new(config: ArbiterConfig) -> Self {
        Arbiter {
            max_in_flight: config.max_in_flight.max(1),
            clients: HashSet::new(),
            schedule: Schedule::default(),
            refs: References::default(),
            lock: Lock::default(),
            hardware: Hardware::default(),
            power_views: HashMap::new(),
            asked_for_wire: HashSet::new(),
            contexts: Contexts::default(),
            departed: Vec::new(),
            in_flight: HashMap::new(),
            barriers_in_flight: 0,
            next_job: JobId(1),
            ready: Vec::new(),
            lock_waits: 0,
        }
    }

    /// A new connection. An id still registered is taken to be a reused
    /// token whose previous connection is gone, and is removed first.
    pub fn add_client(&mut self, client: ClientId) {
        if self.clients.contains(&client) {
            self.remove_client(client);
        }
        self.clients.insert(client);
    }

    /// Queues a request behind the client's earlier ones. An unknown client
    /// is added: a connection that sends requests exists.
    pub fn submit(&mut self, client: ClientId, ticket: Ticket, request: Request) {
        self.clients.insert(client);
        if matches!(request, Request::Probe(Op::Connect(_) | Op::Disconnect)) {
            self.asked_for_wire.insert(client);
        }
        if matches!(request, Request::Lock)
            && self.lock.holder().is_some_and(|holder| holder != client)
        {
            self.lock_waits += 1;
        }
        self.schedule.push(client, (ticket, request));
    }

    /// The connection is gone: rule 4 (see the module doc).
    pub fn remove_client(&mut self, client: ClientId) {
        self.clients.remove(&client);
        self.schedule.drop_client(client);
        self.lock.release_all(client);
        self.refs.release_all(client);
        self.power_views.remove(&client);
        self.asked_for_wire.remove(&client);
        self.contexts.remove(client);
        self.departed.push(client);
        for job in self.in_flight.values_mut() {
            if matches!(job.owner, Owner::Client(c, _) if c == client) {
                job.owner = Owner::Gone;
            }
        }
        self.ready
            .retain(|action| !matches!(action, Action::Reply { client: c, .. } if *c == client));
    }

    /// Removes every client (shutdown); keep polling and running the jobs
    /// until [`Arbiter::is_idle`] to disconnect and close the probe.
    pub fn release_all(&mut self) {
        let clients: Vec<ClientId> = self.clients.iter().copied().collect();
        for client in clients {
            self.remove_client(client);
        }
    }

    /// Every job in flight fails with `error`, as if the worker had said so
    /// (for a worker that is gone and will never answer).
    pub fn fail_in_flight(&mut self, error: ProbeError) {
        let ids: Vec<JobId> = self.in_flight.keys().copied().collect();
        for id in ids {
            self.complete(Completion {
                id,
                result: Err(error.clone()),
            });
        }
    }

    /// Everything that can happen now: ready replies, and at most one
    /// [`Action::Execute`] with every job decided in this call.
    pub fn poll(&mut self, out: &mut Vec<Action>) {
        out.append(&mut self.ready);
        let mut jobs = Vec::new();
        self.dispatch(&mut jobs, out);
        if !jobs.is_empty() || self.departed.len() > MAX_DEPARTED {
            self.mark_flush_points(&mut jobs);
            out.push(Action::Execute(Batch {
                jobs,
                departed: std::mem::take(&mut self.departed),
            }));
        }
    }

    /// The core register window open now (rule 10), so the server can
    /// bound how long it holds off the other clients.
    pub fn register_window(&self) -> Option<RegisterWindow> {
        self.contexts.window()
    }

    /// Closes register window `id` (its time is up), if still open; the
    /// other clients' requests then run. True if it was open.
    pub fn expire_register_window(&mut self, id: u64) -> bool {
        self.contexts.expire_window(id)
    }

    /// Marks the last job of each run of one owner's jobs, so whatever the
    /// probe deferred is settled, and its error charged, before another
    /// owner's job runs (rule 8).
    fn mark_flush_points(&self, batch: &mut [Job]) {
        // Whose job it is: a client (whatever the request), or the arbiter.
        let owner_of = |job: &Job| {
            self.in_flight.get(&job.id).map(|f| match f.owner {
                Owner::Client(client, _) => Some(client),
                Owner::Gone | Owner::Internal => None,
            })
        };
        // Open, close, connect and disconnect settle the probe themselves
        // (and a flush after a close would find the probe closed).
        let is_plain = |job: &Job| {
            self.in_flight
                .get(&job.id)
                .is_some_and(|f| !f.kind.is_barrier())
        };
        for i in 0..batch.len() {
            let next_owner = batch.get(i + 1).and_then(owner_of);
            let run_ends = next_owner.is_none() || next_owner != owner_of(&batch[i]);
            batch[i].flush_after = run_ends && is_plain(&batch[i]);
        }
    }

    /// The protocol the wire is up with, if it is (for `readprop`).
    pub fn wire_protocol(&self) -> Option<WireProtocol> {
        self.hardware.wire
    }

    /// Answers `readprop wire_protocol` for `client`: the protocol the wire
    /// is up with, if it is and is staying up.
    ///
    /// pyOCD reads the wire protocol once before deciding to connect; seeing
    /// it up, it sends no `connect`, yet relies on the wire until it sends
    /// `disconnect` when closing. So a client that has the probe open and
    /// has not itself sent `connect` or `disconnect` is counted as connected
    /// when it sees the wire up, as if it had sent a matching `connect`;
    /// otherwise the wire would go down under it when the client that did
    /// connect leaves. While a hardware `Disconnect` or `Close` runs the wire
    /// is going down, so the answer is `None` (the client then sends
    /// `connect`, which waits for it).
    pub fn observe_wire(&mut self, client: ClientId) -> Option<WireProtocol> {
        let going_down = self
            .in_flight
            .values()
            .any(|job| matches!(job.kind, JobKind::Disconnect | JobKind::Close));
        let wire = self.hardware.wire.filter(|_| !going_down)?;
        let held = self.refs.of(client);
        if held.opens > 0 && held.connects == 0 && !self.asked_for_wire.contains(&client) {
            self.refs.add(client, Kind::Connect);
        }
        Some(wire)
    }

    /// How many `lock` requests found the lock held by another client.
    pub fn lock_waits(&self) -> u64 {
        self.lock_waits
    }

    pub fn lock_holder(&self) -> Option<ClientId> {
        self.lock.holder()
    }

    /// Nothing queued, nothing in flight, no reply waiting for `poll` and no
    /// cleanup left to do.
    pub fn is_idle(&self) -> bool {
        self.schedule.is_empty()
            && self.in_flight.is_empty()
            && self.ready.is_empty()
            && self.cleanup_needed().is_none()
    }

    /// `open` references held, over all clients.
    pub fn open_count(&self) -> u64 {
        self.refs.total().opens
    }

    /// `connect` references held, over all clients.
    pub fn connect_count(&self) -> u64 {
        self.refs.total().connects
    }

    /// Whether `client` uses the probe: holds an `open`, a `connect`, the
    /// lock or the register window, or has requests waiting or running.
    pub fn is_using(&self, client: ClientId) -> bool {
        let held = self.refs.of(client);
        held.opens > 0
            || held.connects > 0
            || self.lock.holder() == Some(client)
            || self.contexts.window_holder() == Some(client)
            || self.schedule.head(client).is_some()
            || self
                .in_flight
                .values()
                .any(|job| matches!(job.owner, Owner::Client(c, _) if c == client))
    }

    /// The `open` and `connect` references `client` holds.
    pub fn references_of(&self, client: ClientId) -> (u64, u64) {
        let held = self.refs.of(client);
        (held.opens, held.connects)
    }

    /// Whether the hardware is open.
    pub fn is_open(&self) -> bool {
        self.hardware.open
    }

    /// Registered clients.
    pub fn clients(&self) -> usize {
        self.clients.len()
    }

    /// Requests waiting, over all clients.
    pub fn queued(&self) -> usize {
        self.schedule.len()
    }

    /// Jobs sent to the worker and not yet completed.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}
