//! Starting a server and the handles other threads keep to it: stop it,
//! retire it, drop its clients, read its status.
//!
//! The handles reach the loop thread only through shared flags, channels
//! and its `mio::Waker`, so none of them can block on the loop.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::cmsis_dap_tcp::CmsisDapTcp;
use super::event_loop::{Controls, EventLoop};
use super::listener::Listener;
use super::pyocd::Pyocd;
use super::retire;
use super::sessions::SessionControl;
use super::settings::ServerConfig;
use super::status::{ProbeStatus, StatusWatch};
use crate::probe::{DebugProbe, ProbeInfo};

/// A running server. Dropping it shuts the server down.
pub struct ServerHandle {
    local_addr: SocketAddr,
    dap_addr: Option<SocketAddr>,
    stop: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
    thread: Option<JoinHandle<()>>,
    retire: std::sync::mpsc::Sender<retire::RetireOrder>,
    info: ProbeInfo,
    status: StatusWatch,
    kicker: Kicker,
    sessions: SessionControl,
}

impl ServerHandle {
    /// The address the listener is bound to (with the real port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the DAP port (CMSIS-DAP over TCP), if it is served.
    pub fn dap_addr(&self) -> Option<SocketAddr> {
        self.dap_addr
    }

    /// What the served probe said about itself when it was opened.
    pub fn info(&self) -> &ProbeInfo {
        &self.info
    }

    /// The server's state as of its loop's last turn.
    pub fn status(&self) -> ProbeStatus {
        self.status.get()
    }

    /// A view of the server's state for another thread.
    pub fn status_watch(&self) -> StatusWatch {
        self.status.clone()
    }

    /// Drops every client at once (see [`Kicker::kick`]).
    pub fn kick(&self) {
        self.kicker.kick();
    }

    /// A handle that can drop every client from another thread.
    pub fn kicker(&self) -> Kicker {
        self.kicker.clone()
    }

    /// A handle that opens, renews and closes sessions from another thread
    /// (docs/protocol.md, "Sessions").
    pub fn session_control(&self) -> SessionControl {
        self.sessions.clone()
    }

    /// A handle that can ask the server to stop from another thread (a
    /// signal handler thread, say).
    pub fn stopper(&self) -> Stopper {
        Stopper {
            stop: self.stop.clone(),
            waker: self.waker.clone(),
        }
    }

    /// Stops accepting, releases every client, disconnects and closes the
    /// probe, and waits for the loop to finish.
    pub fn shutdown(mut self) {
        self.stopper().stop();
        self.join();
    }

    /// Retires the server (its probe was removed from the configuration,
    /// disabled, unplugged or vanished; `reason` says which, to clients):
    /// it stops accepting at once, so its port is free when this returns;
    /// every request a client sends from now on is answered with status 2
    /// (probe disconnected) and that client is then closed; clients that
    /// send nothing within `grace` are closed unanswered. Requests already
    /// with the probe are answered as usual. Once no client is left, the
    /// probe is released and closed and the loop ends.
    pub fn retire(&self, grace: Duration, reason: &str) {
        let (listener_closed, closed) = std::sync::mpsc::channel();
        let order = retire::RetireOrder {
            grace,
            reason: reason.to_owned(),
            listener_closed,
        };
        if self.retire.send(order).is_err() {
            return; // the loop has already ended
        }
        let _ = self.waker.wake();
        // Bounded: a loop turn never blocks, but a lost loop must not hang
        // a reload.
        let _ = closed.recv_timeout(Duration::from_secs(5));
    }

    /// Whether the loop has ended (stopped, or retired and done).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits until the server has stopped (after [`Stopper::stop`]).
    pub fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stopper().stop();
        self.join();
    }
}

/// Asks a server to stop; cheap to clone and send to other threads.
#[derive(Clone)]
pub struct Stopper {
    stop: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
}

impl Stopper {
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }
}

/// Drops every client of a server; cheap to clone and send to other
/// threads.
#[derive(Clone, Debug)]
pub struct Kicker {
    kick: Arc<AtomicBool>,
    waker: Arc<mio::Waker>,
}

impl Kicker {
    /// Closes every connection on the loop's next turn: each client's
    /// references and lock are released as if it had died. The listener
    /// stays open, so new clients can connect at once. Returns before the
    /// connections are closed.
    pub fn kick(&self) {
        self.kick.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }
}

/// Serves `probe` on `listener` until stopped. Logs the line tools wait
/// for: `Serving debug probe <unique_id> (<description>) on <addr>:<port>`.
pub fn spawn(
    listener: std::net::TcpListener,
    probe: Box<dyn DebugProbe>,
    config: ServerConfig,
) -> std::io::Result<ServerHandle> {
    spawn_with_dap(listener, None, probe, config)
}

/// [`spawn`], also serving CMSIS-DAP over TCP (for OpenOCD) on
/// `dap_listener` when given, with the same clients' limits, allow-list,
/// arbitration and sharing rules. Logs `Serving CMSIS-DAP for OpenOCD
/// (<unique_id>) on <addr>:<port>` for it.
pub fn spawn_with_dap(
    listener: std::net::TcpListener,
    dap_listener: Option<std::net::TcpListener>,
    probe: Box<dyn DebugProbe>,
    config: ServerConfig,
) -> std::io::Result<ServerHandle> {
    listener.set_nonblocking(true)?;
    let local_addr = listener.local_addr()?;
    let dap_addr = match &dap_listener {
        Some(dap) => {
            dap.set_nonblocking(true)?;
            Some(dap.local_addr()?)
        }
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let info = probe.info().clone();
    let (retire, retire_orders) = std::sync::mpsc::channel();
    let status = StatusWatch::default();
    let kick = Arc::new(AtomicBool::new(false));
    let (session_sender, session_orders) = std::sync::mpsc::channel();
    let mut listeners = vec![Listener {
        socket: mio::net::TcpListener::from_std(listener),
        format: Box::new(Pyocd::new(&config)),
        session: None,
    }];
    if let Some(dap) = dap_listener {
        listeners.push(Listener {
            socket: mio::net::TcpListener::from_std(dap),
            format: Box::new(CmsisDapTcp),
            session: None,
        });
    }
    let controls = Controls {
        stop: stop.clone(),
        kick: kick.clone(),
        retire_orders,
        status: status.clone(),
        session_orders,
    };
    let (event_loop, waker) = EventLoop::new(listeners, probe, config, controls)?;
    let thread = std::thread::Builder::new()
        .name(format!("serve {}", info.unique_id))
        .spawn(move || event_loop.run())?;
    log::info!(
        "Serving debug probe {} ({}) on {}:{}",
        info.unique_id,
        info.description,
        local_addr.ip(),
        local_addr.port()
    );
    if let Some(dap) = dap_addr {
        log::info!(
            "Serving CMSIS-DAP for OpenOCD ({}) on {}:{}",
            info.unique_id,
            dap.ip(),
            dap.port()
        );
    }
    Ok(ServerHandle {
        local_addr,
        dap_addr,
        stop,
        waker: waker.clone(),
        thread: Some(thread),
        retire,
        info,
        status,
        sessions: SessionControl::new(session_sender, waker.clone()),
        kicker: Kicker { kick, waker },
    })
}
