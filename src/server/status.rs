//! The live state of one served probe, published by its loop for readers
//! on other threads (the management interface).
//!
//! The loop overwrites a shared snapshot at the end of every turn; a
//! reader takes a copy under a lock held only for that copy, so reading
//! never delays the loop by more than a few field writes. The per-client
//! list is rebuilt only when it can have changed: a connection came or
//! went, or the lock or a reference count moved.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::connection::Connection;
use super::sessions::{SessionId, SessionInfo};
use super::target::TargetState;
use super::traffic::{Ledger, Traffic};
use crate::arbiter::Arbiter;
use crate::events::DhcsrReader;
use crate::ids::ClientId;
use crate::probe::WireProtocol;

/// What a served probe is doing right now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeStatus {
    /// Connections open at the moment.
    pub clients: usize,
    /// The peer address of the connection holding the lock.
    pub lock_holder: Option<SocketAddr>,
    /// Clients that currently count as having opened the probe.
    pub open_count: u64,
    /// Clients that currently count as having connected the target.
    pub connect_count: u64,
    /// The wire protocol the probe is connected with, if it is.
    pub wire_protocol: Option<WireProtocol>,
    /// Requests waiting for their turn (not yet with the worker), over
    /// all clients.
    pub queued: usize,
    /// The probe's worker thread ended on its own (ARCHITECTURE.md,
    /// "Worker death"): the server has answered its clients with status 2
    /// and is retiring; whoever started it may serve the probe anew.
    pub worker_died: bool,
    /// Every connection open at the moment, oldest first.
    pub client_list: Vec<ClientStatus>,
    /// The loop's counters for the metrics.
    pub traffic: Traffic,
    /// The session holding the probe, if one does.
    pub session: Option<SessionInfo>,
    /// The target's run state as the DHCSR values seen tell it.
    pub target: TargetState,
    /// The last DHCSR value seen since the wire came up, and who read it.
    pub last_dhcsr: Option<(u32, DhcsrReader)>,
    /// DHCSR reads the server made itself for target events.
    pub target_polls: u64,
    /// Connections that are event streams (or about to be).
    pub subscribers: usize,
    /// Event lines waiting in those subscribers' queues.
    pub queued_events: usize,
}

/// What else the loop publishes with its arbiter, connections and ledger.
pub struct LoopFacts<'a> {
    /// The session holding the probe, if one does.
    pub session: Option<&'a SessionInfo>,
    /// Whether the worker thread died.
    pub worker_died: bool,
    pub events: EventStatus,
}

/// What the loop's event side publishes with its status.
#[derive(Clone, Copy, Debug)]
pub struct EventStatus {
    pub target: TargetState,
    pub last_dhcsr: Option<(u32, DhcsrReader)>,
    pub target_polls: u64,
    pub subscribers: usize,
    pub queued_events: usize,
}

/// One connected client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientStatus {
    pub peer: SocketAddr,
    /// The wire format it speaks (`pyocd`, `cmsis-dap`).
    pub front_end: &'static str,
    pub holds_lock: bool,
    /// The session whose port it came in through, if any.
    pub session: Option<SessionId>,
    /// Its `open` references.
    pub open_count: u64,
    /// Its `connect` references.
    pub connect_count: u64,
    pub connected_at: Instant,
}

/// A read-only view of one server's [`ProbeStatus`], cheap to clone and
/// send to other threads; it stays readable after the server ends.
#[derive(Clone, Debug, Default)]
pub struct StatusWatch(Arc<Mutex<Shared>>);

#[derive(Debug, Default)]
struct Shared {
    status: ProbeStatus,
    /// The loop's connection generation `status.client_list` was built at.
    clients_generation: u64,
}

impl StatusWatch {
    /// The latest snapshot.
    pub fn get(&self) -> ProbeStatus {
        self.0.lock().status.clone()
    }

    /// Publishes the loop's state: its arbiter, its connections (with
    /// `conns_generation`, which counts accepts and closes, so the client
    /// list is rebuilt only when it changed) and its counters.
    pub(super) fn publish(
        &self,
        arbiter: &Arbiter,
        conns: &HashMap<ClientId, Connection>,
        conns_generation: u64,
        ledger: &Ledger,
        facts: LoopFacts<'_>,
    ) {
        let LoopFacts {
            session,
            worker_died,
            events,
        } = facts;
        let lock_holder_id = arbiter.lock_holder();
        let lock_holder = lock_holder_id
            .and_then(|client| conns.get(&client))
            .map(Connection::peer);
        let mut shared = self.0.lock();
        let Shared {
            status,
            clients_generation,
        } = &mut *shared;
        let list_stale = *clients_generation != conns_generation
            || status.lock_holder != lock_holder
            || status.open_count != arbiter.open_count()
            || status.connect_count != arbiter.connect_count();
        if list_stale {
            *clients_generation = conns_generation;
            status.client_list = client_list(arbiter, conns, lock_holder_id);
        }
        if status.session.as_ref() != session {
            status.session = session.cloned();
        }
        status.clients = conns.len();
        status.lock_holder = lock_holder;
        status.open_count = arbiter.open_count();
        status.connect_count = arbiter.connect_count();
        status.wire_protocol = arbiter.wire_protocol();
        status.queued = arbiter.queued();
        status.worker_died = worker_died;
        status.target = events.target;
        status.last_dhcsr = events.last_dhcsr;
        status.target_polls = events.target_polls;
        status.subscribers = events.subscribers;
        status.queued_events = events.queued_events;
        if status.traffic.lock_waits != arbiter.lock_waits() {
            status.traffic.lock_waits = arbiter.lock_waits();
        }
        let traffic = &ledger.traffic;
        // The arbiter owns the lock-wait count; the loop's copy leaves it 0.
        let traffic_changed = status.traffic.requests != traffic.requests
            || status.traffic.latency_buckets != traffic.latency_buckets
            || status.traffic.received_bytes != traffic.received_bytes
            || status.traffic.sent_bytes != traffic.sent_bytes
            || status.traffic.connections != traffic.connections
            || status.traffic.refused_connections != traffic.refused_connections
            || status.traffic.probe_errors != traffic.probe_errors;
        if traffic_changed {
            let lock_waits = status.traffic.lock_waits;
            status.traffic.clone_from(traffic);
            status.traffic.lock_waits = lock_waits;
        }
    }
}

/// The loop's connections as published, oldest first (client ids count
/// up with each accept).
fn client_list(
    arbiter: &Arbiter,
    conns: &HashMap<ClientId, Connection>,
    lock_holder: Option<ClientId>,
) -> Vec<ClientStatus> {
    let mut ids: Vec<ClientId> = conns.keys().copied().collect();
    ids.sort_unstable();
    ids.iter()
        .filter_map(|&id| {
            let conn = conns.get(&id)?;
            let (open_count, connect_count) = arbiter.references_of(id);
            Some(ClientStatus {
                peer: conn.peer(),
                front_end: conn.front_end_name(),
                holds_lock: lock_holder == Some(id),
                session: conn.session(),
                open_count,
                connect_count,
                connected_at: conn.connected_at(),
            })
        })
        .collect()
}
