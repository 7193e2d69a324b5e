//! The live state of one served probe, published by its loop for readers
//! on other threads (the management interface).
//!
//! The loop overwrites a shared snapshot at the end of every turn; a
//! reader takes a copy under a lock held only for that copy, so reading
//! never delays the loop by more than a few field writes. The per-client
//! list is rebuilt only when it can have changed: a connection came or
//! went, or the lock or a reference count moved.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::event_loop::EventLoop;
use super::traffic::Traffic;
use crate::arbiter::ClientId;
use crate::probe::WireProtocol;
use crate::protocol::{status_code, Failure, Reply};

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
    /// Responses sent since the server started, by wire status code.
    pub answered_by_status: BTreeMap<u8, u64>,
    /// Every connection open at the moment, oldest first.
    pub client_list: Vec<ClientStatus>,
    /// The loop's counters for the metrics.
    pub traffic: Traffic,
}

/// One connected client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientStatus {
    pub peer: SocketAddr,
    pub holds_lock: bool,
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

    pub(super) fn publish(&self, event_loop: &EventLoop) {
        let lock_holder = event_loop
            .arbiter
            .lock_holder()
            .and_then(|client| event_loop.conns.get(&client))
            .map(|conn| conn.peer);
        let lock_holder_id = event_loop.arbiter.lock_holder();
        let mut shared = self.0.lock();
        let Shared {
            status,
            clients_generation,
        } = &mut *shared;
        let list_stale = *clients_generation != event_loop.conns_generation
            || status.lock_holder != lock_holder
            || status.open_count != event_loop.arbiter.open_count()
            || status.connect_count != event_loop.arbiter.connect_count();
        if list_stale {
            *clients_generation = event_loop.conns_generation;
            status.client_list = client_list(event_loop, lock_holder_id);
        }
        status.clients = event_loop.conns.len();
        status.lock_holder = lock_holder;
        status.open_count = event_loop.arbiter.open_count();
        status.connect_count = event_loop.arbiter.connect_count();
        status.wire_protocol = event_loop.arbiter.wire_protocol();
        if status.answered_by_status != event_loop.answered {
            status.answered_by_status.clone_from(&event_loop.answered);
        }
        if status.traffic.lock_waits != event_loop.arbiter.lock_waits() {
            status.traffic.lock_waits = event_loop.arbiter.lock_waits();
        }
        let traffic = &event_loop.traffic;
        // The arbiter owns the lock-wait count; the loop's copy leaves it 0.
        let traffic_changed = status.traffic.requests != traffic.requests
            || status.traffic.latency_buckets != traffic.latency_buckets
            || status.traffic.received_bytes != traffic.received_bytes
            || status.traffic.sent_bytes != traffic.sent_bytes
            || status.traffic.connections != traffic.connections
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
fn client_list(event_loop: &EventLoop, lock_holder: Option<ClientId>) -> Vec<ClientStatus> {
    let mut ids: Vec<ClientId> = event_loop.conns.keys().copied().collect();
    ids.sort_unstable();
    ids.iter()
        .filter_map(|&id| {
            let conn = event_loop.conns.get(&id)?;
            let (open_count, connect_count) = event_loop.arbiter.references_of(id);
            Some(ClientStatus {
                peer: conn.peer,
                holds_lock: lock_holder == Some(id),
                open_count,
                connect_count,
                connected_at: conn.connected_at,
            })
        })
        .collect()
}

/// Counts one response about to be sent, by its wire status.
pub(super) fn count_answer(answered: &mut BTreeMap<u8, u64>, result: &Result<Reply, Failure>) {
    let code = match result {
        Ok(_) => 0,
        Err(failure) => status_code(failure),
    };
    *answered.entry(code).or_insert(0) += 1;
}
