//! The event bus: what happens to the served probes, for whoever listens
//! (docs/protocol.md, "Events"; the management API's `GET /events`).
//!
//! One [`EventBus`] serves a whole process: a farm makes one and gives a
//! clone to every probe's server (`ServerConfig::events`), so the
//! management API's stream hears every probe; `serve --probe` has its own.
//! Producers call [`EventBus::publish`] with the probe's id (its
//! `unique_id`, which is also its id in `GET /probes`) and an [`Event`];
//! consumers hold a [`Subscription`] made by [`EventBus::subscribe`].
//!
//! # Publishing (any thread)
//!
//! ```text
//! bus.publish(&probe_id, Event::Session(SessionEvent {
//!     what: SessionChange::Opened,
//!     session: id.clone(),
//!     holder: holder.clone(),
//!     detail: serde_json::Map::from_iter([("port".into(), port.into())]),
//! }));
//! ```
//!
//! `publish` never blocks beyond a short lock held while the line is put
//! into each interested subscriber's queue; nobody listening costs one
//! lock and a scan of the subscribers (a producer that publishes often,
//! like a probe's loop, checks [`Interest`] first and then costs one
//! atomic load). The event is stamped with the time of the call and
//! rendered to its JSON line once, whatever the number of subscribers.
//! Where to publish from: a probe's loop publishes `client`, `lock` and
//! `target` events itself, [`crate::server::ServerHandle::retire`]
//! publishes `probe retired`, the farm publishes `present`, `unplugged`
//! and `replugged`; `session` events are the sessions code's, through the
//! bus of the probe's server ([`crate::server::ServerHandle::events`]) or
//! of the farm ([`crate::farm::Farm::events`]).
//!
//! # Subscribing
//!
//! A subscriber's queue holds at most [`QUEUE_CAPACITY`] lines: when it is
//! full the oldest line is dropped, and the next [`Subscription::take`]
//! starts with a `dropped` line saying how many were lost, so a subscriber
//! that does not read costs bounded memory and never slows a producer.
//! Dropping the [`Subscription`] unsubscribes.
//!
//! # Files
//!
//! - `kinds.rs`: [`EventKind`], [`KindSet`], [`Event`] and its JSON line.
//! - `mailbox.rs`: one subscriber's bounded queue.

mod kinds;
mod mailbox;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;

pub use kinds::{
    dropped_line, timestamp, ClientChange, ClientRef, DhcsrReader, Event, EventKind, KindSet,
    LockChange, ProbeChange, SessionChange, SessionEvent, TargetChange,
};
pub use mailbox::Wake;

use mailbox::Mailbox;

/// Lines one subscriber's queue holds before the oldest are dropped.
pub const QUEUE_CAPACITY: usize = 1024;

/// Which events a subscriber hears.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only these probes' events; `None` for every probe's.
    pub probes: Option<Vec<String>>,
    pub kinds: KindSet,
}

impl Filter {
    pub fn matches(&self, probe: &str, kind: EventKind) -> bool {
        self.kinds.contains(kind) && self.hears_probe(probe)
    }

    pub fn hears_probe(&self, probe: &str) -> bool {
        self.probes
            .as_ref()
            .is_none_or(|probes| probes.iter().any(|p| p == probe))
    }

    /// The probe a `dropped` line names: the only one heard, if one.
    fn single_probe(&self) -> Option<&str> {
        match self.probes.as_deref() {
            Some([probe]) => Some(probe),
            _ => None,
        }
    }
}

/// Events published and dropped since the bus was made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// Events that reached at least one subscriber, by kind (in
    /// [`EventKind::ALL`] order).
    pub published: [u64; 5],
    /// Lines dropped from full subscriber queues (one per subscriber).
    pub dropped: u64,
}

/// The bus; cheap to clone, every clone the same bus.
#[derive(Clone, Default)]
pub struct EventBus(Arc<Shared>);

#[derive(Default)]
struct Shared {
    mailboxes: Mutex<Vec<Arc<Mailbox>>>,
    /// Counts subscribes and unsubscribes, for [`Interest`].
    generation: AtomicU64,
    published: [AtomicU64; 5],
    dropped: AtomicU64,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("subscribers", &self.subscribers())
            .finish()
    }
}

impl EventBus {
    pub fn new() -> EventBus {
        EventBus::default()
    }

    /// Offers `event` of `probe` to every subscriber that hears it (see
    /// the module doc).
    pub fn publish(&self, probe: &str, event: Event) {
        self.publish_at(probe, &event, SystemTime::now());
    }

    fn publish_at(&self, probe: &str, event: &Event, time: SystemTime) {
        let kind = event.kind();
        let mailboxes = self.0.mailboxes.lock();
        let mut line: Option<Arc<str>> = None;
        for mailbox in mailboxes
            .iter()
            .filter(|mailbox| mailbox.filter.matches(probe, kind))
        {
            let line = line.get_or_insert_with(|| event.to_line(probe, time, false).into());
            if mailbox.push(line.clone()) {
                self.0.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        if line.is_some() {
            self.0.published[kind.index()].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A new subscriber hearing what `filter` lets through; `wake` is
    /// called whenever its empty queue gets a line.
    pub fn subscribe(&self, filter: Filter, wake: Option<Wake>) -> Subscription {
        let mailbox = Arc::new(Mailbox::new(filter, QUEUE_CAPACITY, wake));
        self.0.mailboxes.lock().push(mailbox.clone());
        self.0.generation.fetch_add(1, Ordering::SeqCst);
        Subscription {
            bus: self.clone(),
            mailbox,
        }
    }

    /// Subscribers now.
    pub fn subscribers(&self) -> usize {
        self.0.mailboxes.lock().len()
    }

    /// The kinds of `probe`'s events someone hears now.
    pub fn interest(&self, probe: &str) -> KindSet {
        self.0
            .mailboxes
            .lock()
            .iter()
            .filter(|mailbox| mailbox.filter.hears_probe(probe))
            .fold(KindSet::NONE, |kinds, mailbox| {
                kinds.union(mailbox.filter.kinds)
            })
    }

    fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::SeqCst)
    }

    pub fn counts(&self) -> EventCounts {
        EventCounts {
            published: std::array::from_fn(|i| self.0.published[i].load(Ordering::Relaxed)),
            dropped: self.0.dropped.load(Ordering::Relaxed),
        }
    }

    fn unsubscribe(&self, mailbox: &Arc<Mailbox>) {
        self.0
            .mailboxes
            .lock()
            .retain(|other| !Arc::ptr_eq(other, mailbox));
        self.0.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// One subscriber's end: what it takes, and its queue; dropping it
/// unsubscribes.
pub struct Subscription {
    bus: EventBus,
    mailbox: Arc<Mailbox>,
}

impl Subscription {
    /// Lines to send first, before anything published since subscribing:
    /// the state as it is now, each event of its probe rendered with
    /// `"current": true` (those the filter lets through).
    pub fn greet(&self, greeting: &[(&str, Event)]) {
        let now = SystemTime::now();
        let lines = greeting
            .iter()
            .filter(|(probe, event)| self.mailbox.filter.matches(probe, event.kind()))
            .map(|(probe, event)| Arc::from(event.to_line(probe, now, true)))
            .collect();
        self.mailbox.push_front(lines);
    }

    /// Takes up to `max` lines, in order; when lines were dropped before
    /// them, a `dropped` line comes first (so up to `max + 1`).
    pub fn take(&self, max: usize) -> Vec<Arc<str>> {
        let taken = self.mailbox.take(max);
        let mut lines = Vec::with_capacity(taken.lines.len() + 1);
        if taken.dropped > 0 {
            let probe = self.mailbox.filter.single_probe();
            let line = dropped_line(probe, taken.dropped, SystemTime::now());
            lines.push(Arc::from(line));
        }
        lines.extend(taken.lines);
        lines
    }

    /// Lines waiting now.
    pub fn queued(&self) -> usize {
        self.mailbox.len()
    }

    /// Waits up to `timeout` for something to take; true if there is.
    pub fn wait(&self, timeout: Duration) -> bool {
        self.mailbox.wait(timeout)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.bus.unsubscribe(&self.mailbox);
    }
}

/// What a frequent producer (a probe's loop) keeps to know cheaply which
/// of its probe's events anyone hears: recomputed only when someone
/// subscribed or unsubscribed since.
#[derive(Debug)]
pub struct Interest {
    probe: String,
    generation: Option<u64>,
    kinds: KindSet,
}

impl Interest {
    pub fn new(probe: &str) -> Interest {
        Interest {
            probe: probe.to_owned(),
            generation: None,
            kinds: KindSet::NONE,
        }
    }

    /// The kinds of this probe's events someone hears now.
    pub fn kinds(&mut self, bus: &EventBus) -> KindSet {
        let generation = bus.generation();
        if self.generation != Some(generation) {
            self.generation = Some(generation);
            self.kinds = bus.interest(&self.probe);
        }
        self.kinds
    }
}
