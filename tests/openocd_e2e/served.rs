//! The real binary serving the virtual target on both of its front ends:
//! `probeshare serve --probe sim --port 0 --dap-port 0`, read back from its
//! log lines
//!
//! ```text
//! Serving debug probe ID (DESCRIPTION) on ADDR:PORT
//! Serving CMSIS-DAP for OpenOCD (ID) on ADDR:PORT
//! ```

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the server may take to print both lines.
const STARTUP_DEADLINE: Duration = Duration::from_secs(20);

/// A running `probeshare serve`; killed when dropped.
pub struct ServedProbe {
    child: Child,
    /// The probe's unique ID as both lines name it.
    pub unique_id: String,
    /// pyOCD's remote protocol.
    pub pyocd: SocketAddr,
    /// CMSIS-DAP packets over TCP, for OpenOCD.
    pub dap: SocketAddr,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl ServedProbe {
    /// Starts the server and waits until it serves both ports; fails the
    /// test with the server's log if it exits or stays silent.
    pub fn start() -> ServedProbe {
        let args = ["serve", "--probe", "sim", "--port", "0", "--dap-port", "0"];
        let mut child = Command::new(env!("CARGO_BIN_EXE_probeshare"))
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start probeshare");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().expect("piped stderr");
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut served = ServedProbe {
            child,
            unique_id: String::new(),
            pyocd: SocketAddr::from(([0, 0, 0, 0], 0)),
            dap: SocketAddr::from(([0, 0, 0, 0], 0)),
            log,
            reader: Some(reader),
        };
        let started = Instant::now();
        loop {
            let log = served.log();
            if let Some(lines) = ServingLines::parse(&log) {
                assert_eq!(
                    lines.pyocd.0, lines.dap.0,
                    "the two lines name different probes:\n{log}"
                );
                served.unique_id = lines.pyocd.0;
                served.pyocd = lines.pyocd.1;
                served.dap = lines.dap.1;
                return served;
            }
            if let Some(status) = served.child.try_wait().expect("try_wait") {
                if let Some(reader) = served.reader.take() {
                    let _ = reader.join();
                }
                panic!(
                    "`probeshare {}` exited ({status}) before serving both ports; log:\n{}",
                    args.join(" "),
                    served.log()
                );
            }
            assert!(
                started.elapsed() < STARTUP_DEADLINE,
                "`probeshare {}` did not print both Serving lines within {STARTUP_DEADLINE:?}; log:\n{log}",
                args.join(" ")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The pyOCD probe UID of the served probe (`remote:ADDR:PORT`).
    pub fn pyocd_uid(&self) -> String {
        crate::e2e::remote_uid(self.pyocd)
    }

    /// Fails the test if the server has exited (crashed) by now.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            panic!("the server exited ({status}); log:\n{}", self.log());
        }
    }
}

impl Drop for ServedProbe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The two Serving lines of one probe: (ID, address) each.
struct ServingLines {
    pyocd: (String, SocketAddr),
    dap: (String, SocketAddr),
}

impl ServingLines {
    fn parse(log: &str) -> Option<ServingLines> {
        let mut pyocd = None;
        let mut dap = None;
        for line in log.lines() {
            if let Some(rest) = line.split("Serving debug probe ").nth(1) {
                let id = rest.split(' ').next()?.to_string();
                pyocd = Some((id, address(rest)?));
            }
            if let Some(rest) = line.split("Serving CMSIS-DAP for OpenOCD (").nth(1) {
                let id = rest.split(')').next()?.to_string();
                dap = Some((id, address(rest)?));
            }
        }
        Some(ServingLines {
            pyocd: pyocd?,
            dap: dap?,
        })
    }
}

/// The `ADDR:PORT` after the last " on " of a Serving line.
fn address(rest: &str) -> Option<SocketAddr> {
    rest.rsplit(" on ").next()?.trim().parse().ok()
}

#[test]
fn serving_lines_are_read_back() {
    let log = "\
2026-01-01T00:00:00Z INFO probeshare: Serving debug probe sim (probeshare virtual target) on 127.0.0.1:40001
2026-01-01T00:00:00Z INFO probeshare: Serving CMSIS-DAP for OpenOCD (sim) on 127.0.0.1:40002
";
    let lines = ServingLines::parse(log).expect("both lines");
    assert_eq!(
        lines.pyocd,
        ("sim".into(), "127.0.0.1:40001".parse().unwrap())
    );
    assert_eq!(
        lines.dap,
        ("sim".into(), "127.0.0.1:40002".parse().unwrap())
    );
    assert!(ServingLines::parse(&log[..log.find('\n').unwrap()]).is_none());
}
