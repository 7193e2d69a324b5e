//! What can happen, as values: the kinds a subscriber chooses from
//! ([`EventKind`], [`KindSet`]) and the events themselves ([`Event`]),
//! each of which knows its JSON line (docs/protocol.md, "Events").

use std::net::SocketAddr;
use std::time::SystemTime;

use serde_json::{json, Map, Value};

/// The kinds of event a subscriber picks from. (`dropped` is not one: it
/// reaches every subscriber that lost events, whatever it picked.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A probe is served, unplugged, replugged or retired.
    Probe,
    /// A connection joined or left.
    Client,
    /// The probe lock was granted, released or waited for.
    Lock,
    /// A session opened, is about to expire, or closed.
    Session,
    /// The target halted, ran, was reset or locked up (from DHCSR).
    Target,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::Probe,
        EventKind::Client,
        EventKind::Lock,
        EventKind::Session,
        EventKind::Target,
    ];

    /// The kind's name on the wire (`"event"` of each line).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Probe => "probe",
            EventKind::Client => "client",
            EventKind::Lock => "lock",
            EventKind::Session => "session",
            EventKind::Target => "target",
        }
    }

    /// The kind called `name`, if there is one.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// Every kind's name, for error messages: `probe, client, lock, session, target`.
    pub fn names() -> String {
        EventKind::ALL.map(EventKind::name).join(", ")
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Its position in [`EventKind::ALL`], for per-kind counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A set of event kinds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindSet(u8);

impl KindSet {
    pub const NONE: KindSet = KindSet(0);

    pub fn all() -> KindSet {
        EventKind::ALL.into_iter().collect()
    }

    pub fn contains(self, kind: EventKind) -> bool {
        self.0 & kind.bit() != 0
    }

    pub fn insert(&mut self, kind: EventKind) {
        self.0 |= kind.bit();
    }

    pub fn union(self, other: KindSet) -> KindSet {
        KindSet(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The kinds in the set, in [`EventKind::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = EventKind> {
        EventKind::ALL
            .into_iter()
            .filter(move |kind| self.contains(*kind))
    }
}

impl FromIterator<EventKind> for KindSet {
    fn from_iter<I: IntoIterator<Item = EventKind>>(kinds: I) -> KindSet {
        let mut set = KindSet::NONE;
        for kind in kinds {
            set.insert(kind);
        }
        set
    }
}

/// One client connection as events name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRef {
    /// The server's number for the connection (unique per probe while the
    /// server runs; the same in `joined`, `left` and lock events).
    pub id: u64,
    pub peer: SocketAddr,
    /// The wire format it speaks: `pyocd` or `cmsis-dap`.
    pub front_end: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeChange {
    /// Served: when the server starts serving it, and as the first event
    /// of a new subscriber (with `"current": true`).
    Present,
    /// Gone from USB, or a virtual target's cable pulled.
    Unplugged,
    /// Back after being unplugged, and served again.
    Replugged,
    /// No longer served (removed, disabled, unplugged, vanished); the
    /// event carries the reason.
    Retired,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientChange {
    Joined,
    Left,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockChange {
    Granted,
    /// Released by `unlock` (the outermost), or because its holder left.
    Released,
    /// A `lock` found the lock held by another client.
    Waiting,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionChange {
    Opened,
    Expiring,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetChange {
    /// S_HALT set (it was clear, or the state was not known).
    Halted,
    /// S_HALT clear (it was set, or the state was not known).
    Running,
    /// S_RESET_ST set: the core was reset since DHCSR was last read.
    Reset,
    /// S_LOCKUP set where it was clear.
    LockedUp,
}

/// Who read the DHCSR value a target event comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DhcsrReader {
    /// A client's own read.
    Client,
    /// The server's poll (docs/protocol.md, "Events").
    Server,
}

/// A session event, as the sessions code publishes it.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionEvent {
    pub what: SessionChange,
    /// The session's id.
    pub session: String,
    /// Who holds it (the `holder` it was opened with).
    pub holder: String,
    /// More fields for the line (`expires`, `port`, ...), added as they
    /// are; keys the line already has are not overwritten.
    pub detail: Map<String, Value>,
}

/// Something that happened to one probe.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Probe {
        what: ProbeChange,
        /// Why it was retired (`retired` only).
        reason: Option<String>,
    },
    Client {
        what: ClientChange,
        client: ClientRef,
    },
    Lock {
        what: LockChange,
        client: ClientRef,
        /// Who holds the lock (`waiting` only), if still connected.
        holder: Option<ClientRef>,
    },
    Session(SessionEvent),
    Target {
        what: TargetChange,
        /// The DHCSR value as read (before any client's owed bits).
        dhcsr: u32,
        read_by: DhcsrReader,
    },
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Probe { .. } => EventKind::Probe,
            Event::Client { .. } => EventKind::Client,
            Event::Lock { .. } => EventKind::Lock,
            Event::Session(_) => EventKind::Session,
            Event::Target { .. } => EventKind::Target,
        }
    }

    /// The event's JSON line (LF included) for `probe`, stamped `time`;
    /// `current` marks the state a new subscriber is greeted with.
    pub fn to_line(&self, probe: &str, time: SystemTime, current: bool) -> String {
        let mut fields = Map::new();
        fields.insert("event".into(), self.kind().name().into());
        fields.insert("probe".into(), probe.into());
        fields.insert("time".into(), timestamp(time).into());
        match self {
            Event::Probe { what, reason } => {
                fields.insert("what".into(), probe_change(*what).into());
                if let Some(reason) = reason {
                    fields.insert("reason".into(), reason.as_str().into());
                }
            }
            Event::Client { what, client } => {
                let what = match what {
                    ClientChange::Joined => "joined",
                    ClientChange::Left => "left",
                };
                fields.insert("what".into(), what.into());
                add_client(&mut fields, client);
            }
            Event::Lock {
                what,
                client,
                holder,
            } => {
                let what = match what {
                    LockChange::Granted => "granted",
                    LockChange::Released => "released",
                    LockChange::Waiting => "waiting",
                };
                fields.insert("what".into(), what.into());
                add_client(&mut fields, client);
                if let Some(holder) = holder {
                    fields.insert(
                        "holder".into(),
                        json!({"client": holder.id, "peer": holder.peer.to_string()}),
                    );
                }
            }
            Event::Session(session) => {
                let what = match session.what {
                    SessionChange::Opened => "opened",
                    SessionChange::Expiring => "expiring",
                    SessionChange::Closed => "closed",
                };
                fields.insert("what".into(), what.into());
                fields.insert("session".into(), session.session.as_str().into());
                fields.insert("holder".into(), session.holder.as_str().into());
                for (key, value) in &session.detail {
                    fields.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
            Event::Target {
                what,
                dhcsr,
                read_by,
            } => {
                let what = match what {
                    TargetChange::Halted => "halted",
                    TargetChange::Running => "running",
                    TargetChange::Reset => "reset",
                    TargetChange::LockedUp => "locked_up",
                };
                fields.insert("what".into(), what.into());
                fields.insert("dhcsr".into(), (*dhcsr).into());
                let read_by = match read_by {
                    DhcsrReader::Client => "client",
                    DhcsrReader::Server => "server",
                };
                fields.insert("read_by".into(), read_by.into());
            }
        }
        if current {
            fields.insert("current".into(), true.into());
        }
        let mut line = Value::Object(fields).to_string();
        line.push('\n');
        line
    }
}

/// The `dropped` line: `count` events were lost before the next one.
/// `probe` is the subscriber's one probe, or none (null) for a
/// subscriber of several.
pub fn dropped_line(probe: Option<&str>, count: u64, time: SystemTime) -> String {
    let mut line = json!({
        "event": "dropped",
        "probe": probe,
        "time": timestamp(time),
        "count": count,
    })
    .to_string();
    line.push('\n');
    line
}

fn probe_change(what: ProbeChange) -> &'static str {
    match what {
        ProbeChange::Present => "present",
        ProbeChange::Unplugged => "unplugged",
        ProbeChange::Replugged => "replugged",
        ProbeChange::Retired => "retired",
    }
}

fn add_client(fields: &mut Map<String, Value>, client: &ClientRef) {
    fields.insert("client".into(), client.id.into());
    fields.insert("peer".into(), client.peer.to_string().into());
    fields.insert("front_end".into(), client.front_end.into());
}

/// `time` as RFC 3339 in UTC with milliseconds: `2026-12-05T16:01:02.345Z`.
pub fn timestamp(time: SystemTime) -> String {
    match jiff::Timestamp::try_from(time) {
        Ok(stamp) => format!("{stamp:.3}"),
        // Only a clock outside years -9999..=9999 gets here.
        Err(_) => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}
