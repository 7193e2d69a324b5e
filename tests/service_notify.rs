//! The real binary under a stand-in for systemd: with `NOTIFY_SOCKET` set,
//! `serve` reports READY=1 once it listens and STOPPING=1 on SIGTERM, then
//! exits cleanly (what `Type=notify` in systemd/probeshare.service needs).

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(20);

/// The service manager's notification socket; removed when dropped.
struct ManagerSocket {
    socket: UnixDatagram,
    path: PathBuf,
}

impl ManagerSocket {
    fn bind() -> ManagerSocket {
        let path =
            std::env::temp_dir().join(format!("probeshare-test-notify-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).expect("bind the notify socket");
        socket.set_read_timeout(Some(DEADLINE)).unwrap();
        ManagerSocket { socket, path }
    }

    fn receive(&self) -> String {
        let mut buffer = [0u8; 4096];
        let length = self
            .socket
            .recv(&mut buffer)
            .expect("a notification before the deadline");
        String::from_utf8_lossy(&buffer[..length]).into_owned()
    }
}

impl Drop for ManagerSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Kills the server if the test fails half way.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn assignments(message: &str) -> Vec<&str> {
    message.lines().collect()
}

#[test]
fn serve_notifies_ready_then_stopping_on_sigterm_and_exits_cleanly() {
    let manager = ManagerSocket::bind();
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_probeshare"))
            .args(["serve", "--probe", "sim", "--port", "0"])
            .env("NOTIFY_SOCKET", &manager.path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start probeshare"),
    );

    let ready = manager.receive();
    let ready_lines = assignments(&ready);
    assert!(ready_lines.contains(&"READY=1"), "{ready:?}");
    let status = ready_lines
        .iter()
        .find_map(|line| line.strip_prefix("STATUS="))
        .unwrap_or_else(|| panic!("no STATUS in {ready:?}"));
    // READY=1 promises the port listens: the address in STATUS must accept.
    let addr = status
        .rsplit(' ')
        .next()
        .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
        .unwrap_or_else(|| panic!("no address in {status:?}"));
    std::net::TcpStream::connect(addr).expect("the port listens once READY=1 is sent");

    let kill = Command::new("kill")
        .args(["-s", "TERM", &server.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());

    let stopping = manager.receive();
    assert!(
        assignments(&stopping).contains(&"STOPPING=1"),
        "{stopping:?}"
    );

    let start = Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(start.elapsed() < DEADLINE, "server did not exit");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(0));
}
