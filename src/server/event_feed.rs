//! What one probe's loop tells the event bus (docs/protocol.md, "Events"):
//! clients joining and leaving, the lock, the target; a new subscriber's
//! greeting; and the server's own DHCSR read, sent to the arbiter under
//! [`POLLER`] when it is due.
//!
//! Building an event costs nothing while nobody hears its kind: the feed
//! asks its [`Interest`], one atomic load, before anything else.

use std::time::{Duration, Instant};

use super::target::{TargetPoller, TargetState};
use crate::arbiter::{Arbiter, Notice, Request};
use crate::dap::registers::DHCSR;
use crate::events::{
    ClientChange, ClientRef, DhcsrReader, Event, EventBus, EventKind, Filter, Interest, KindSet,
    LockChange, ProbeChange, Subscription, Wake,
};
use crate::ids::{ClientId, Ticket};
use crate::memap::{MemoryOp, MemoryRequest};
use crate::probe::ApAddress;

/// The arbiter's name for the server's own DHCSR reads. Connections get
/// ids from 3 up (the loop's poll tokens below that are its own), so no
/// connection ever has it.
pub const POLLER: ClientId = ClientId(1);

/// One probe's loop as a producer of events.
pub struct EventFeed {
    bus: EventBus,
    probe: String,
    interest: Interest,
    target: TargetState,
    /// The last DHCSR value seen, and who read it.
    last_dhcsr: Option<(u32, DhcsrReader)>,
    poller: TargetPoller,
    notices: Vec<Notice>,
}

impl EventFeed {
    /// The feed of probe `probe` (its `unique_id`) on `bus`, reading DHCSR
    /// itself at most once per `poll_interval`.
    pub fn new(bus: EventBus, probe: &str, poll_interval: Duration) -> EventFeed {
        EventFeed {
            interest: Interest::new(probe),
            bus,
            probe: probe.to_owned(),
            target: TargetState::default(),
            last_dhcsr: None,
            poller: TargetPoller::new(poll_interval),
            notices: Vec::new(),
        }
    }

    /// Whether anyone hears this probe's events of `kind`.
    pub fn hears(&mut self, kind: EventKind) -> bool {
        self.interest.kinds(&self.bus).contains(kind)
    }

    /// Publishes `event` of this probe if anyone hears its kind: for
    /// events the loop decides itself (the sessions code's `session`
    /// events, from the loop's session turn).
    pub fn publish(&mut self, event: Event) {
        if self.hears(event.kind()) {
            self.bus.publish(&self.probe, event);
        }
    }

    /// A connection joined or left.
    pub fn client(&mut self, what: ClientChange, client: ClientRef) {
        if self.hears(EventKind::Client) {
            self.publish(Event::Client { what, client });
        }
    }

    /// Publishes what the arbiter noticed since last asked; `name` gives
    /// a client's name for events (`None` for one unknown, whose lock
    /// events are left out).
    pub fn take_notices(
        &mut self,
        arbiter: &mut Arbiter,
        name: impl Fn(ClientId) -> Option<ClientRef>,
    ) {
        let mut notices = std::mem::take(&mut self.notices);
        arbiter.take_notices(&mut notices);
        let lock_heard = self.hears(EventKind::Lock);
        for notice in notices.drain(..) {
            let (what, client, holder) = match notice {
                Notice::Dhcsr { reader, value } => {
                    self.dhcsr(reader, value, Instant::now());
                    continue;
                }
                _ if !lock_heard => continue,
                Notice::LockGranted(client) => (LockChange::Granted, client, None),
                Notice::LockReleased(client) => (LockChange::Released, client, None),
                Notice::LockWaiting { client, holder } => {
                    (LockChange::Waiting, client, Some(holder))
                }
            };
            if let Some(client) = name(client) {
                let holder = holder.and_then(&name);
                self.publish(Event::Lock {
                    what,
                    client,
                    holder,
                });
            }
        }
        self.notices = notices;
    }

    fn dhcsr(&mut self, reader: Option<ClientId>, dhcsr: u32, now: Instant) {
        self.poller.seen(now);
        let read_by = if reader == Some(POLLER) {
            DhcsrReader::Server
        } else {
            DhcsrReader::Client
        };
        self.last_dhcsr = Some((dhcsr, read_by));
        for what in self.target.observe(dhcsr) {
            self.publish(Event::Target {
                what,
                dhcsr,
                read_by,
            });
        }
    }

    /// The wire is down: what DHCSR said no longer holds.
    pub fn wire_down(&mut self) {
        self.target = TargetState::default();
        self.last_dhcsr = None;
    }

    /// The target's state as far as DHCSR told.
    pub fn target(&self) -> TargetState {
        self.target
    }

    /// The last DHCSR value seen since the wire came up, and who read it.
    pub fn last_dhcsr(&self) -> Option<(u32, DhcsrReader)> {
        self.last_dhcsr
    }

    /// A subscriber of this probe's `kinds`, greeted with the state as it
    /// is: the probe present, and the target's run state if known.
    pub fn subscribe(&self, kinds: KindSet, wake: Option<Wake>) -> Subscription {
        let filter = Filter {
            probes: Some(vec![self.probe.clone()]),
            kinds,
        };
        let subscription = self.bus.subscribe(filter, wake);
        let mut greeting = vec![Event::Probe {
            what: ProbeChange::Present,
            reason: None,
        }];
        if let Some((dhcsr, read_by)) = self.last_dhcsr {
            greeting.extend(self.target.current().into_iter().map(|what| Event::Target {
                what,
                dhcsr,
                read_by,
            }));
        }
        let greeting: Vec<(&str, Event)> = greeting
            .into_iter()
            .map(|event| (self.probe.as_str(), event))
            .collect();
        subscription.greet(&greeting);
        subscription
    }

    /// Sends the server's own DHCSR read to `arbiter` if it is due (see
    /// `target`); `may_read` is false while the server retires.
    pub fn poll(&mut self, arbiter: &mut Arbiter, may_read: bool) {
        if !is_connected(arbiter) {
            self.wire_down();
        }
        if self.poll_due_in(arbiter, may_read) != Some(Duration::ZERO) {
            return;
        }
        self.poller.sending(Instant::now());
        let ticket = Ticket(self.poller.reads());
        let read = MemoryRequest::Access {
            ap: ApAddress::V1(0),
            op: MemoryOp::Read {
                addr: DHCSR,
                size: 32,
            },
        };
        arbiter.submit(POLLER, ticket, Request::Memory(read));
    }

    /// How long until the server's own DHCSR read is due (zero: now), if
    /// it is to be made at all: only while someone hears target events,
    /// the probe is connected and `may_read`.
    pub fn poll_due_in(&mut self, arbiter: &Arbiter, may_read: bool) -> Option<Duration> {
        if !may_read || !is_connected(arbiter) || !self.hears(EventKind::Target) {
            return None;
        }
        self.poller.due_in(Instant::now())
    }

    /// The poller's read came back.
    pub fn poll_answered(&mut self, ok: bool) {
        self.poller.answered(ok);
    }

    /// DHCSR reads the server made itself.
    pub fn polls(&self) -> u64 {
        self.poller.reads()
    }
}

/// Whether the probe is open and some client has the wire up: the only
/// time the server reads DHCSR itself.
fn is_connected(arbiter: &Arbiter) -> bool {
    arbiter.is_open() && arbiter.wire_protocol().is_some() && arbiter.connect_count() > 0
}
