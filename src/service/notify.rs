//! systemd's readiness protocol (`sd_notify`) without libsystemd: one
//! datagram of `KEY=VALUE` lines to the socket `NOTIFY_SOCKET` names.
//!
//! Notifying is best effort by design: a server that works but cannot tell
//! systemd so is better than one that refuses to start, so failures are
//! logged and never returned to the caller. Without `NOTIFY_SOCKET` (run by
//! hand, or `Type=simple`) every call does nothing.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The environment variable systemd sets for `Type=notify` services.
pub const NOTIFY_SOCKET_VAR: &str = "NOTIFY_SOCKET";

/// Sends state changes to the service manager, if there is one.
#[derive(Debug)]
pub struct Notifier {
    target: Option<Target>,
}

#[derive(Debug)]
struct Target {
    socket: UnixDatagram,
    address: SocketAddr,
    /// As given, for log lines.
    name: String,
}

impl Notifier {
    /// A notifier for the socket `NOTIFY_SOCKET` names; a silent one when
    /// the variable is unset or empty, or names nothing usable (logged).
    pub fn from_env() -> Notifier {
        match std::env::var_os(NOTIFY_SOCKET_VAR) {
            Some(value) if !value.is_empty() => Notifier::for_socket(&value.to_string_lossy()),
            _ => Notifier::disabled(),
        }
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier { target: None }
    }

    /// A notifier for `name` in `NOTIFY_SOCKET`'s syntax: an absolute path,
    /// or `@name` for a Linux abstract socket.
    pub fn for_socket(name: &str) -> Notifier {
        match open_target(name) {
            Ok(target) => Notifier {
                target: Some(target),
            },
            Err(e) => {
                log::warn!("cannot notify the service manager at {name:?}: {e}");
                Notifier::disabled()
            }
        }
    }

    /// Whether messages go anywhere.
    #[cfg(test)]
    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Tells the service manager that every probe port is listening;
    /// `status` is what `systemctl status` shows.
    pub fn ready(&self, status: &str) {
        self.notify(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    /// Tells the service manager that shutdown has begun.
    pub fn stopping(&self) {
        self.notify("STOPPING=1\nSTATUS=Shutting down");
    }

    /// Sends `state` (newline-separated `KEY=VALUE` assignments) as one
    /// datagram; a failure is logged, not returned.
    pub fn notify(&self, state: &str) {
        let Some(target) = &self.target else {
            return;
        };
        if let Err(e) = target
            .socket
            .send_to_addr(state.as_bytes(), &target.address)
        {
            log::warn!(
                "cannot notify the service manager at {:?}: {e}",
                target.name
            );
        }
    }
}

/// A STATUS value ends at the first newline (the next line would be read
/// as another assignment), so newlines become spaces.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn open_target(name: &str) -> io::Result<Target> {
    let address = parse_address(name)?;
    Ok(Target {
        socket: UnixDatagram::unbound()?,
        address,
        name: name.to_string(),
    })
}

fn parse_address(name: &str) -> io::Result<SocketAddr> {
    if let Some(abstract_name) = name.strip_prefix('@') {
        return abstract_address(abstract_name.as_bytes());
    }
    if name.starts_with('/') {
        return SocketAddr::from_pathname(name);
    }
    // systemd itself only hands out these two forms (and `vsock:` for
    // virtual machines, which a probe server has no use for).
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "expected an absolute path or @abstract-name",
    ))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_address(name: &[u8]) -> io::Result<SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_address(_name: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets exist only on Linux",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A datagram socket standing in for systemd; removed when dropped.
    struct Manager {
        socket: UnixDatagram,
        path: Option<PathBuf>,
    }

    impl Manager {
        fn unique_name() -> String {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            format!(
                "probeshare-notify-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            )
        }

        fn at_path() -> Manager {
            let path = std::env::temp_dir().join(Manager::unique_name());
            let socket = UnixDatagram::bind(&path).expect("bind the manager socket");
            Manager::with_timeout(socket, Some(path))
        }

        #[cfg(target_os = "linux")]
        fn abstract_named(name: &str) -> Manager {
            use std::os::linux::net::SocketAddrExt;
            let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
            let socket = UnixDatagram::bind_addr(&address).expect("bind the abstract socket");
            Manager::with_timeout(socket, None)
        }

        fn with_timeout(socket: UnixDatagram, path: Option<PathBuf>) -> Manager {
            socket
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            Manager { socket, path }
        }

        fn notify_socket(&self) -> String {
            self.path.as_ref().unwrap().to_str().unwrap().to_string()
        }

        fn receive(&self) -> String {
            let mut buffer = [0u8; 4096];
            let length = self.socket.recv(&mut buffer).expect("a notification");
            String::from_utf8(buffer[..length].to_vec()).unwrap()
        }
    }

    impl Drop for Manager {
        fn drop(&mut self) {
            if let Some(path) = &self.path {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    #[test]
    fn ready_sends_ready_and_status_in_one_datagram() {
        let manager = Manager::at_path();
        let notifier = Notifier::for_socket(&manager.notify_socket());
        notifier.ready("Serving debug probe sim on 127.0.0.1:5555");
        assert_eq!(
            manager.receive(),
            "READY=1\nSTATUS=Serving debug probe sim on 127.0.0.1:5555"
        );
    }

    #[test]
    fn stopping_sends_stopping() {
        let manager = Manager::at_path();
        Notifier::for_socket(&manager.notify_socket()).stopping();
        let message = manager.receive();
        assert!(
            message.lines().any(|line| line == "STOPPING=1"),
            "{message:?}"
        );
    }

    #[test]
    fn a_status_with_newlines_cannot_inject_assignments() {
        let manager = Manager::at_path();
        Notifier::for_socket(&manager.notify_socket()).ready("probe\nSTOPPING=1");
        assert_eq!(manager.receive(), "READY=1\nSTATUS=probe STOPPING=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_at_sign_names_an_abstract_socket() {
        let name = Manager::unique_name();
        let manager = Manager::abstract_named(&name);
        Notifier::for_socket(&format!("@{name}")).ready("up");
        assert_eq!(manager.receive(), "READY=1\nSTATUS=up");
    }

    #[test]
    fn a_relative_path_disables_notifying() {
        assert!(!Notifier::for_socket("notify.sock").is_enabled());
    }

    #[test]
    fn a_vanished_manager_socket_is_not_fatal() {
        let manager = Manager::at_path();
        let notifier = Notifier::for_socket(&manager.notify_socket());
        drop(manager);
        notifier.ready("nobody listens");
        notifier.stopping();
        assert!(notifier.is_enabled());
    }
}
