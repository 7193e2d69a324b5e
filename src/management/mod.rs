//! The management interface of `serve --config`: a small HTTP server with
//! JSON answers on its own address (`[management].listen`), for people and
//! tools that want to see which probes are served and who is using them.
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
//! same way. Without a farm ([`ManagementServer::start`]), disable,
//! enable, unplug and replug answer 503.

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
use crate::farm::Farm;
use crate::probe::ProbeInfo;
use crate::server::{ClientFilter, Kicker, SessionControl, StatusWatch};

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
                probe,
            })
            .collect();
        let mut board = self.0.lock();
        board.rows = rows;
        board.config = Some(config.clone());
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
}

/// The running HTTP server. Dropping it stops it.
pub struct ManagementServer {
    local_addr: SocketAddr,
    http: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
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
        ManagementServer::start_inner(listen, allow, board, None)
    }

    /// [`ManagementServer::start`], with `farm` for disable and enable.
    /// `board` must be published from the same farm.
    pub fn start_with_farm(
        listen: SocketAddr,
        allow: Option<ClientFilter>,
        board: ProbeBoard,
        farm: SharedFarm,
    ) -> io::Result<ManagementServer> {
        ManagementServer::start_inner(listen, allow, board, Some(farm))
    }

    fn start_inner(
        listen: SocketAddr,
        allow: Option<ClientFilter>,
        board: ProbeBoard,
        farm: Option<SharedFarm>,
    ) -> io::Result<ManagementServer> {
        let listener = TcpListener::bind(listen)?;
        let local_addr = listener.local_addr()?;
        let http = tiny_http::Server::from_listener(listener, None)
            .map(Arc::new)
            .map_err(io::Error::other)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (http, stop) = (http.clone(), stop.clone());
            std::thread::Builder::new()
                .name("management".into())
                .spawn(move || serve(&http, &stop, allow.as_ref(), &board, farm.as_ref()))?
        };
        log::info!("Management interface on http://{local_addr}");
        Ok(ManagementServer {
            local_addr,
            http,
            stop,
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

fn serve(
    http: &tiny_http::Server,
    stop: &AtomicBool,
    allow: Option<&ClientFilter>,
    board: &ProbeBoard,
    farm: Option<&SharedFarm>,
) {
    while !stop.load(Ordering::SeqCst) {
        let mut request = match http.recv() {
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
        let permitted = match (allow, request.remote_addr()) {
            (None, _) => true,
            (Some(filter), Some(peer)) => filter.permits(peer.ip()),
            (Some(_), None) => false,
        };
        let answer = if permitted {
            let control = Control { board, farm };
            match read_body(&mut request) {
                Ok(body) => routes::answer(
                    request.method(),
                    request.url(),
                    &body,
                    &board.rows(),
                    &control,
                ),
                Err(answer) => answer,
            }
        } else {
            routes::Answer::forbidden()
        };
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

/// What the routes may change: the farm, when there is one.
pub(crate) struct Control<'a> {
    board: &'a ProbeBoard,
    farm: Option<&'a SharedFarm>,
}

impl Control<'_> {
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
