//! The management interface of `serve --config`: a small HTTP server with
//! JSON answers on its own address (`[management].listen`), for people and
//! tools that want to see which probes are served and who is using them.
//!
//! Requests that change anything (every method but GET and HEAD) need the
//! configured bearer token, checked before any route (`auth`); the
//! interface will not listen where other machines reach it without one,
//! unless told to.
//!
//! It runs on a thread of its own, blocking, apart from the probe loops:
//! it reads each server's published [`StatusWatch`] and never touches a
//! loop or a probe, so a slow HTTP client cannot delay probe traffic. It
//! applies the same allow-list as the probe ports, refusing with 403.
//!
//! Kicking a probe's clients goes straight to its server through a
//! [`Kicker`], like reading status. Disabling and enabling change the
//! farm, so the farm is shared as `Arc<Mutex<Farm>>` between the thread
//! that reloads it and this one: a disable holds the lock only while the
//! port closes, and both threads take the farm's lock before the board's,
//! so they cannot deadlock. A channel to the main thread would need that
//! thread, which sleeps waiting for signals, to wait on two things; the
//! mutex keeps it one. Unplugging and replugging a virtual target go the
//! same way. `GET /events` streams the farm's events as Server-Sent
//! Events, each stream on a thread of its own (`event_stream`). Without a farm ([`ManagementServer::start`]), disable,
//! enable, unplug and replug answer 503.

mod auth;
mod event_stream;
mod metrics;
mod routes;
mod sessions;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;

use crate::cmsis_dap::usb::FoundProbe;
use crate::config::{Config, ProbeSelector};
use crate::events::EventBus;
use crate::farm::Farm;
use crate::probe::ProbeInfo;
use crate::server::{ClientFilter, Kicker, SessionControl, StatusWatch};

pub use auth::Access;

use event_stream::Streams;

/// The farm as shared with the management thread.
pub type SharedFarm = Arc<Mutex<Farm>>;

/// One configured probe as the management interface shows it.
#[derive(Clone, Debug)]
pub struct ProbeRow {
    pub probe: ProbeSelector,
    pub port: u16,
    /// Its DAP port (CMSIS-DAP over TCP), if it has one: a listed probe's
    /// `dap_port`, an unlisted probe's while it is served with one.
    pub dap_port: Option<u16>,
    /// The address its port is (or would be) bound to.
    pub bind: SocketAddr,
    /// Present only while the probe is served.
    pub served: Option<ServedProbe>,
    /// Taken out of service by hand.
    pub disabled: bool,
    /// How many times its worker thread died since the farm started (each
    /// time the farm served it anew).
    pub worker_deaths: u64,
}

/// What a served probe offers to look at.
#[derive(Clone, Debug)]
pub struct ServedProbe {
    pub info: ProbeInfo,
    pub status: StatusWatch,
    pub kicker: Kicker,
    /// Opens, renews and closes its sessions.
    pub sessions: SessionControl,
    /// What USB listed about it, for a USB probe.
    pub usb: Option<FoundProbe>,
}

/// The probes on show; the thread owning the farm replaces them after a
/// start or reload, the HTTP thread reads them.
#[derive(Clone, Debug, Default)]
pub struct ProbeBoard(Arc<Mutex<Board>>);

#[derive(Debug, Default)]
struct Board {
    rows: Vec<ProbeRow>,
    /// The configuration last published, to publish again after a
    /// disable or enable.
    config: Option<Config>,
    /// The farm's event bus, for `GET /events`.
    events: Option<EventBus>,
}

impl ProbeBoard {
    pub fn new() -> ProbeBoard {
        ProbeBoard::default()
    }

    /// Shows `farm`'s probes as configured by `config`, in file order,
    /// then the unlisted probes it serves.
    pub fn publish(&self, farm: &Farm, config: &Config) {
        let listed = config
            .probes
            .iter()
            .map(|entry| (entry.probe.clone(), entry.port, entry.dap_port));
        let unlisted = farm.unlisted().into_iter().map(|(probe, port)| {
            let dap_port = farm.dap_port(&probe);
            (probe, port, dap_port)
        });
        let rows = listed
            .chain(unlisted)
            .map(|(probe, port, dap_port)| ProbeRow {
                port,
                dap_port,
                bind: SocketAddr::new(config.listen, port),
                served: farm.server(&probe).map(|handle| ServedProbe {
                    info: handle.info().clone(),
                    status: handle.status_watch(),
                    kicker: handle.kicker(),
                    sessions: handle.session_control(),
                    usb: farm.usb_facts(&probe).cloned(),
                }),
                disabled: farm.is_disabled(&probe),
                worker_deaths: farm.worker_deaths(&probe),
                probe,
            })
            .collect();
        let mut board = self.0.lock();
        board.rows = rows;
        board.config = Some(config.clone());
        board.events = Some(farm.events().clone());
    }

    /// Publishes `farm` again with the configuration last published.
    fn republish(&self, farm: &Farm) {
        let config = self.0.lock().config.clone();
        if let Some(config) = config {
            self.publish(farm, &config);
        }
    }

    fn rows(&self) -> Vec<ProbeRow> {
        self.0.lock().rows.clone()
    }

    fn events(&self) -> Option<EventBus> {
        self.0.lock().events.clone()
    }
}

/// The running HTTP server. Dropping it stops it.
pub struct ManagementServer {
    local_addr: SocketAddr,
    http: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    streams: Streams,
    thread: Option<JoinHandle<()>>,
}

impl ManagementServer {
    /// Listens on `listen` and answers from `board`; peers `allow` refuses
    /// get 403. When it returns, the address is listening.
    pub fn start(
        listen: SocketAddr,
        allow: Option<ClientFilter>,
        board: ProbeBoard,
    ) -> io::Result<ManagementServer> {
        ManagementServer::start_with_access(listen, allow, Access::default(), board, None)
    }

    /// [`ManagementServer::start`], with `farm` for disable and enable.
    /// `board` must be published from the same farm.
    pub fn start_with_farm(
        listen: SocketAddr,
        allow: Option<ClientFilter>,
        board: ProbeBoard,
        farm: SharedFarm,
    ) -> io::Result<ManagementServer> {
        ManagementServer::start_with_access(listen, allow, Access::default(), board, Some(farm))
    }

    /// Listens on `listen`; requests that change anything need what
    /// `access` asks. Refuses (`PermissionDenied`) an address other
    /// machines reach when `access` has no token and does not allow that.
    pub fn start_with_access(
        listen: SocketAddr,
        allow: Option<ClientFilter>,
        access: Access,
        board: ProbeBoard,
        farm: Option<SharedFarm>,
    ) -> io::Result<ManagementServer> {
        access.check_listen(listen)?;
        let listener = TcpListener::bind(listen)?;
        let local_addr = listener.local_addr()?;
        let http = tiny_http::Server::from_listener(listener, None)
            .map(Arc::new)
            .map_err(io::Error::other)?;
        let stop = Arc::new(AtomicBool::new(false));
        let streams = Streams::default();
        let thread = {
            let (http, stop) = (http.clone(), stop.clone());
            let sites = Sites {
                allow,
                access,
                board,
                farm,
                streams: streams.clone(),
            };
            std::thread::Builder::new()
                .name("management".into())
                .spawn(move || serve(&http, &stop, &sites))?
        };
        log::info!("Management interface on http://{local_addr}");
        Ok(ManagementServer {
            local_addr,
            http,
            stop,
            streams,
            thread: Some(thread),
        })
    }

    /// The address it listens on (with the real port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops answering and waits for the thread to end.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Not waited for: a stream blocked writing to a peer that reads
        // nothing ends when that write fails.
        self.streams.stop();
        self.http.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ManagementServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// What the management thread serves with.
struct Sites {
    allow: Option<ClientFilter>,
    access: Access,
    board: ProbeBoard,
    farm: Option<SharedFarm>,
    streams: Streams,
}

/// What a request passes before any route sees it: the allow-list (403),
/// then the token if it changes anything (401).
struct Gate<'a> {
    allow: Option<&'a ClientFilter>,
    access: &'a Access,
}

impl Gate<'_> {
    /// `None` if `request` may reach its route; else the answer instead.
    fn refusal(&self, request: &tiny_http::Request) -> Option<routes::Answer> {
        let permitted = match (self.allow, request.remote_addr()) {
            (None, _) => true,
            (Some(filter), Some(peer)) => filter.permits(peer.ip()),
            (Some(_), None) => false,
        };
        if !permitted {
            return Some(routes::Answer::forbidden());
        }
        let refusal = self.access.refusal(request.method(), request.headers());
        if refusal.is_some() {
            let peer = request.remote_addr().map(ToString::to_string);
            log::warn!(
                "management interface: refused {} {} from {}: no valid bearer token",
                request.method(),
                request.url(),
                peer.as_deref().unwrap_or("an unknown peer")
            );
        }
        refusal
    }
}

fn serve(http: &tiny_http::Server, stop: &AtomicBool, sites: &Sites) {
    let gate = Gate {
        allow: sites.allow.as_ref(),
        access: &sites.access,
    };
    while !stop.load(Ordering::SeqCst) {
        let request = match http.recv() {
            Ok(request) => request,
            // Unblocked for shutdown, or a failed accept: the loop
            // condition tells which.
            Err(e) => {
                if !stop.load(Ordering::SeqCst) {
                    log::warn!("management interface: {e}");
                }
                continue;
            }
        };
        let refusal = gate.refusal(&request);
        let mut request = match refusal {
            Some(_) => request,
            None => match stream_events(request, sites) {
                Some(request) => request,
                None => continue,
            },
        };
        let answer = refusal.unwrap_or_else(|| {
            let control = Control {
                board: &sites.board,
                farm: sites.farm.as_ref(),
            };
            match read_body(&mut request) {
                Ok(body) => routes::answer(
                    request.method(),
                    request.url(),
                    &body,
                    &sites.board.rows(),
                    &control,
                ),
                Err(answer) => answer,
            }
        });
        if let Err(e) = request.respond(answer.into_response()) {
            log::debug!("management interface: cannot answer: {e}");
        }
    }
}

/// The most a request body may hold (a session's JSON is far smaller).
const MAX_BODY_BYTES: u64 = 64 * 1024;

/// The request's body, up to [`MAX_BODY_BYTES`]; a larger one is a 413.
fn read_body(request: &mut tiny_http::Request) -> Result<Vec<u8>, routes::Answer> {
    use std::io::Read;
    let mut body = Vec::new();
    let read = request
        .as_reader()
        .take(MAX_BODY_BYTES + 1)
        .read_to_end(&mut body);
    match read {
        Err(_) => Err(routes::Answer::error(400, "cannot read the request body")),
        Ok(_) if body.len() as u64 > MAX_BODY_BYTES => Err(routes::Answer::error(
            413,
            "request body too large (at most 64 KiB)",
        )),
        Ok(_) => Ok(body),
    }
}

/// Starts an event stream if `request` is `GET /events`; hands back any
/// other request (`None`: taken care of).
fn stream_events(request: tiny_http::Request, sites: &Sites) -> Option<tiny_http::Request> {
    let (path, query) = request.url().split_once('?').unwrap_or((request.url(), ""));
    if path != "/events" || *request.method() != tiny_http::Method::Get {
        return Some(request);
    }
    let query = query.split('#').next().unwrap_or_default().to_owned();
    let bus = sites.board.events();
    let rows = sites.board.rows();
    event_stream::start(request, &query, bus.as_ref(), &rows, &sites.streams);
    None
}

/// What the routes may change: the farm, when there is one.
pub(crate) struct Control<'a> {
    board: &'a ProbeBoard,
    farm: Option<&'a SharedFarm>,
}

impl Control<'_> {
    /// What the event bus counted, if the farm has one.
    fn events(&self) -> Option<crate::events::EventCounts> {
        self.board.events().map(|bus| bus.counts())
    }

    /// Disables or enables `probe`, then shows the farm as it is now.
    /// `None` when there is no farm to change.
    fn set_enabled(&self, probe: &ProbeSelector, enabled: bool) -> Option<Result<(), String>> {
        let farm = self.farm?;
        let mut farm = farm.lock();
        let result = if enabled {
            farm.enable(probe)
        } else {
            farm.disable(probe)
        };
        self.board.republish(&farm);
        Some(result.map_err(|e| e.to_string()))
    }

    /// Unplugs or replugs virtual target `probe`, then shows the farm as
    /// it is now. `None` when there is no farm to change.
    fn set_plugged(&self, probe: &ProbeSelector, plugged: bool) -> Option<Result<(), String>> {
        let farm = self.farm?;
        let mut farm = farm.lock();
        let result = if plugged {
            farm.replug(probe)
        } else {
            farm.unplug(probe)
        };
        self.board.republish(&farm);
        Some(result.map_err(|e| e.to_string()))
    }
}
