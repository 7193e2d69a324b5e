//! Sessions: a reservation of the probe with ports of its own
//! (docs/protocol.md, "Sessions").
//!
//! A session is opened through a [`SessionControl`] (the management
//! interface holds one per served probe): it brings listeners already
//! bound, a pyOCD port and, where the probe has a DAP port, a DAP port of
//! its own, and the loop adds them to its listeners. While the session is
//! open only connections that came in through its ports may have the probe
//! (they share it among themselves by the usual rules); every request of
//! anyone else that would reach the arbiter is answered with status 3
//! `probe reserved by HOLDER until TIME` ([`Reservation::refusal`]).
//!
//! Opening is refused while other clients use the probe (hold an `open`,
//! a `connect` or the lock, or have requests waiting or running), unless
//! the request preempts them: then they are released at once, their
//! unanswered requests and the next one they send are answered with
//! status 2 naming the holder, and they are closed once told (or after
//! [`EVICTION_GRACE`]).
//!
//! A session ends when closed through its control, by its `stop` command,
//! or when it expires (renewing moves the expiry). Its ports stop
//! accepting at once and the reservation ends; connections already in
//! through them stay until they leave, as ordinary clients.
//!
//! [`Sessions`] only keeps the books and decides; the loop owns the
//! listeners and connections and acts on its decisions. The three points
//! where a session opens, is about to expire and closes are
//! [`session_opened`], [`session_expiring`] and [`session_closed`]: the
//! one place each to tell others about it.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant, SystemTime};

/// How long preempted clients may stay connected without sending a
/// request (which would tell them why) before they are closed anyway.
pub const EVICTION_GRACE: Duration = Duration::from_secs(10);
/// The longest warning [`session_expiring`] gives before the expiry.
const LONGEST_EXPIRY_WARNING: Duration = Duration::from_secs(30);

/// A session's number: unique in the process, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

impl SessionId {
    /// The next unused number (they count up from 1).
    pub fn next() -> SessionId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        SessionId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An open session as others see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: SessionId,
    /// Who holds it, as they named themselves.
    pub holder: String,
    /// Its pyOCD port.
    pub port: u16,
    /// Its DAP port (CMSIS-DAP over TCP), where the probe has one.
    pub dap_port: Option<u16>,
    pub expires: SystemTime,
    /// How long each renewal extends it by default.
    pub ttl: Duration,
    /// Connections in through its ports now.
    pub clients: usize,
}

/// What a session is opened with.
#[derive(Debug)]
pub struct SessionRequest {
    pub holder: String,
    pub ttl: Duration,
    /// Release the clients using the probe instead of refusing.
    pub preempt: bool,
    /// Its pyOCD port, bound.
    pub listener: std::net::TcpListener,
    /// Its DAP port, bound, where the probe has a DAP port.
    pub dap_listener: Option<std::net::TcpListener>,
}

/// Why a session could not be opened, renewed or closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionRefusal {
    /// Another session holds the probe.
    Reserved(SessionInfo),
    /// The clients at these addresses use the probe (and preempting was
    /// not asked for).
    InUse(Vec<SocketAddr>),
    /// No open session of this probe has that id.
    NoSuchSession,
    /// The server is not running (stopped, or retiring).
    NotServing,
}

impl fmt::Display for SessionRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionRefusal::Reserved(info) => f.write_str(&reserved_message(info)),
            SessionRefusal::InUse(peers) => {
                let peers: Vec<String> = peers.iter().map(SocketAddr::to_string).collect();
                write!(f, "probe in use by {}", peers.join(", "))
            }
            SessionRefusal::NoSuchSession => f.write_str("no such session"),
            SessionRefusal::NotServing => f.write_str("the probe is not served"),
        }
    }
}

/// The refusal an outsider gets while `info` holds the probe.
pub fn reserved_message(info: &SessionInfo) -> String {
    format!(
        "probe reserved by {} until {}",
        info.holder,
        humantime::format_rfc3339_seconds(info.expires)
    )
}

pub type SessionResult = Result<SessionInfo, SessionRefusal>;

/// An order from a [`SessionControl`] to the loop.
pub enum SessionOrder {
    Open(SessionRequest, Sender<SessionResult>),
    /// Moves the expiry to now plus the given time (the session's own
    /// time to live when `None`).
    Renew(SessionId, Option<Duration>, Sender<SessionResult>),
    Close(SessionId, Sender<SessionResult>),
}

/// Opens, renews and closes sessions of one server from another thread;
/// cheap to clone. Each call waits for the loop's answer (a turn of the
/// loop, bounded: a lost loop answers [`SessionRefusal::NotServing`]).
#[derive(Clone, Debug)]
pub struct SessionControl {
    orders: std::sync::mpsc::Sender<SessionOrder>,
    waker: std::sync::Arc<mio::Waker>,
}

/// How long a control waits for the loop to answer.
const ORDER_TIMEOUT: Duration = Duration::from_secs(5);

impl SessionControl {
    pub(super) fn new(
        orders: std::sync::mpsc::Sender<SessionOrder>,
        waker: std::sync::Arc<mio::Waker>,
    ) -> SessionControl {
        SessionControl { orders, waker }
    }

    pub fn open(&self, request: SessionRequest) -> SessionResult {
        self.ask(|reply| SessionOrder::Open(request, reply))
    }

    pub fn renew(&self, id: SessionId, ttl: Option<Duration>) -> SessionResult {
        self.ask(|reply| SessionOrder::Renew(id, ttl, reply))
    }

    pub fn close(&self, id: SessionId) -> SessionResult {
        self.ask(|reply| SessionOrder::Close(id, reply))
    }

    fn ask(&self, order: impl FnOnce(Sender<SessionResult>) -> SessionOrder) -> SessionResult {
        let (reply, answer) = std::sync::mpsc::channel();
        if self.orders.send(order(reply)).is_err() {
            return Err(SessionRefusal::NotServing);
        }
        let _ = self.waker.wake();
        answer
            .recv_timeout(ORDER_TIMEOUT)
            .unwrap_or(Err(SessionRefusal::NotServing))
    }
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// Closed through its control (the management interface).
    Closed,
    /// Its `stop` command.
    Stopped,
    Expired,
    /// The server stopped or retired.
    ServerGone,
}

impl CloseReason {
    pub fn name(self) -> &'static str {
        match self {
            CloseReason::Closed => "closed",
            CloseReason::Stopped => "stopped",
            CloseReason::Expired => "expired",
            CloseReason::ServerGone => "server gone",
        }
    }
}

/// The session holding the probe, as the loop keeps it.
#[derive(Debug)]
pub struct Reservation {
    info: SessionInfo,
    expires_at: Instant,
    /// When [`session_expiring`] is due; `None` once it was said.
    warn_at: Option<Instant>,
}

impl Reservation {
    pub fn new(info: SessionInfo) -> Reservation {
        let mut reservation = Reservation {
            expires_at: Instant::now(),
            warn_at: None,
            info,
        };
        reservation.extend(reservation.info.ttl);
        reservation
    }

    pub fn id(&self) -> SessionId {
        self.info.id
    }

    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    pub fn set_clients(&mut self, clients: usize) {
        self.info.clients = clients;
    }

    /// Expires `ttl` from now.
    pub fn extend(&mut self, ttl: Duration) {
        let now = Instant::now();
        self.expires_at = now + ttl;
        self.info.expires = SystemTime::now() + ttl;
        self.warn_at = Some(now + ttl.saturating_sub((ttl / 5).min(LONGEST_EXPIRY_WARNING)));
    }

    /// The answer for a request that would reach the probe from a
    /// connection of `session` (`None`: not through a session port), if it
    /// is refused.
    pub fn refusal(&self, session: Option<SessionId>) -> Option<String> {
        (session != Some(self.info.id)).then(|| reserved_message(&self.info))
    }

    /// Whether the session has expired.
    pub fn expired(&self, now: Instant) -> bool {
        now >= self.expires_at
    }

    /// Whether the expiry warning is due now; true once per expiry.
    pub fn take_warning(&mut self, now: Instant) -> bool {
        if self.warn_at.is_some_and(|at| now >= at) {
            self.warn_at = None;
            return true;
        }
        false
    }

    /// How long the loop may sleep before this session needs it.
    pub fn timeout(&self, now: Instant) -> Duration {
        let next = self.warn_at.unwrap_or(self.expires_at).min(self.expires_at);
        next.saturating_duration_since(now)
    }
}

/// A session was opened. The one place to tell others.
pub fn session_opened(probe: &str, info: &SessionInfo) {
    log::info!(
        "session {} of {probe} opened for {} on port {}{} until {}",
        info.id,
        info.holder,
        info.port,
        info.dap_port
            .map(|port| format!(" (DAP port {port})"))
            .unwrap_or_default(),
        humantime::format_rfc3339_seconds(info.expires)
    );
}

/// A session is about to expire (a fifth of its time to live is left, at
/// most 30 s), unless renewed. The one place to tell others.
pub fn session_expiring(probe: &str, info: &SessionInfo) {
    log::info!(
        "session {} of {probe} ({}) expires at {} unless renewed",
        info.id,
        info.holder,
        humantime::format_rfc3339_seconds(info.expires)
    );
}

/// A session ended. The one place to tell others.
pub fn session_closed(probe: &str, info: &SessionInfo, reason: CloseReason) {
    log::info!(
        "session {} of {probe} ({}) ended: {}",
        info.id,
        info.holder,
        reason.name()
    );
}

/// A client released for a session that preempted it.
#[derive(Debug)]
pub struct Eviction {
    /// What its requests are answered (status 2).
    pub reason: String,
    /// Closed then even if it has not been told.
    pub deadline: Instant,
    /// It got at least one answer saying why.
    pub told: bool,
}

impl Eviction {
    pub fn new(holder: &str) -> Eviction {
        Eviction {
            reason: format!("preempted by a session of {holder}"),
            deadline: Instant::now() + EVICTION_GRACE,
            told: false,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The books alone: refusals, expiry and its warning, renewal.

    use super::*;

    fn reservation(ttl: Duration) -> Reservation {
        Reservation::new(SessionInfo {
            id: SessionId(42),
            holder: "ci-7".into(),
            port: 1,
            dap_port: None,
            expires: SystemTime::UNIX_EPOCH,
            ttl,
            clients: 0,
        })
    }

    #[test]
    fn only_the_sessions_own_connections_pass() {
        let r = reservation(Duration::from_secs(60));
        assert_eq!(r.refusal(Some(SessionId(42))), None);
        let refused = r.refusal(None).expect("an outsider is refused");
        assert!(
            refused.starts_with("probe reserved by ci-7 until 2"),
            "{refused}"
        );
        assert!(refused.ends_with('Z'), "RFC 3339 UTC: {refused}");
        assert_eq!(r.refusal(Some(SessionId(41))), Some(refused));
    }

    #[test]
    fn the_warning_comes_once_a_fifth_before_the_expiry_and_renewal_resets_both() {
        // Negative checks against a time before the reservation was made,
        // positive ones against a time after: no margin to lose on a
        // loaded machine.
        let before = Instant::now();
        let mut r = reservation(Duration::from_secs(10));
        let after = Instant::now();
        assert!(r.info().expires > SystemTime::now() + Duration::from_secs(9));
        assert!(!r.take_warning(before + Duration::from_millis(7999)));
        assert!(r.take_warning(after + Duration::from_secs(8)));
        assert!(!r.take_warning(after + Duration::from_secs(9)), "once");
        assert!(!r.expired(before + Duration::from_millis(9999)));
        assert!(r.expired(after + Duration::from_secs(10)));
        // The warning is at most 30 s before the expiry.
        let before = Instant::now();
        let mut long = reservation(Duration::from_secs(1000));
        let after = Instant::now();
        assert!(!long.take_warning(before + Duration::from_secs(969)));
        assert!(long.take_warning(after + Duration::from_secs(970)));

        let before = Instant::now();
        r.extend(Duration::from_secs(100));
        let after = Instant::now();
        assert!(!r.expired(before + Duration::from_secs(99)));
        assert!(!r.take_warning(before + Duration::from_secs(79)));
        assert!(r.timeout(after) <= Duration::from_secs(80), "wakes to warn");
        assert!(
            r.take_warning(after + Duration::from_secs(80)),
            "warned again"
        );
        let left = r.timeout(after);
        assert!(left > Duration::from_secs(80) && left <= Duration::from_secs(100));
    }
}
