//! Child processes (pyOCD, Python, GDB) that cannot hang a test: every wait
//! has a deadline, after which the child is killed and the test fails with
//! everything the child printed.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest any one child may run before it is killed.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(120);

/// How often a wait looks at the child again.
const POLL: Duration = Duration::from_millis(10);

/// What a child printed and how it ended.
pub struct Finished {
    pub name: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    /// Fails the test unless the child exited with status 0.
    pub fn assert_success(&self) {
        assert!(
            self.status.success(),
            "{} failed: {}",
            self.name,
            self.report()
        );
    }

    /// Both streams, labelled, for failure messages.
    pub fn report(&self) -> String {
        format!(
            "{} after {:.1?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// A running child whose stdout and stderr are collected as they come.
pub struct Spawned {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    started: Instant,
    timeout: Duration,
}

/// Copies everything `source` yields into `sink` until end of file.
fn collect(mut source: impl Read + Send + 'static, sink: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = source.read(&mut chunk) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&chunk[..n]);
            sink.lock().unwrap().push_str(&text);
        }
    })
}

impl Spawned {
    /// Starts `command` with all three standard streams piped.
    pub fn start(name: &str, command: &mut Command) -> Spawned {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), stdout.clone()),
            collect(child.stderr.take().unwrap(), stderr.clone()),
        ];
        Spawned {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
            readers,
            started: Instant::now(),
            timeout: PROCESS_TIMEOUT,
        }
    }

    /// Gives the child `timeout` instead of `PROCESS_TIMEOUT`.
    pub fn within(mut self, timeout: Duration) -> Spawned {
        self.timeout = timeout;
        self
    }

    /// Both streams so far, labelled, for failure messages.
    fn so_far(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }

    /// The child's stdout and stderr, each as printed so far.
    pub fn output(&self) -> (String, String) {
        (
            self.stdout.lock().unwrap().clone(),
            self.stderr.lock().unwrap().clone(),
        )
    }

    /// Waits until stdout or stderr contains `needle`, failing the test if
    /// the child exits first or runs out of time.
    pub fn wait_for(&mut self, needle: &str) {
        self.wait_until(&format!("printing {needle:?}"), |out, err| {
            out.contains(needle) || err.contains(needle)
        });
    }

    /// Waits until `done(stdout, stderr)` holds, failing the test if the
    /// child exits first or runs out of time.
    pub fn wait_until(&mut self, what: &str, mut done: impl FnMut(&str, &str) -> bool) {
        loop {
            let (out, err) = self.output();
            if done(&out, &err) {
                return;
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // The pipes may still hold what the child printed last.
                let printed = self.join_readers();
                let (out, err) = self.output();
                if done(&out, &err) {
                    return;
                }
                panic!("{} exited ({status}) before {what}:\n{printed}", self.name);
            }
            self.fail_after_timeout(what);
            std::thread::sleep(POLL);
        }
    }

    /// Writes one line to the child's stdin.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}").expect("write to child's stdin");
        stdin.flush().expect("flush child's stdin");
    }

    /// SIGKILLs the child and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap killed child");
        self.join_readers();
    }

    /// Waits for the child to exit (closing its stdin first), killing it and
    /// failing the test once it runs out of time.
    pub fn finish(mut self) -> Finished {
        self.stdin.take();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            self.fail_after_timeout("exit");
            std::thread::sleep(POLL);
        };
        let elapsed = self.started.elapsed();
        self.join_readers();
        let (stdout, stderr) = self.output();
        eprintln!("[e2e] {} ran {:.2?}", self.name, elapsed);
        Finished {
            name: self.name.clone(),
            status,
            stdout,
            stderr,
            elapsed,
        }
    }

    /// Kills the child and fails the test once it has run too long.
    fn fail_after_timeout(&mut self, waiting_for: &str) {
        if self.started.elapsed() < self.timeout {
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let printed = self.join_readers();
        panic!(
            "{} killed after {:?} waiting for {waiting_for}:\n{printed}",
            self.name, self.timeout
        );
    }

    /// Waits for both streams to reach end of file (the child has exited),
    /// then returns what they carried.
    fn join_readers(&mut self) -> String {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.so_far()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        // A test that failed half way must not leave pyOCD running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` to completion with stdin closed at once.
pub fn run(name: &str, command: &mut Command) -> Finished {
    Spawned::start(name, command).finish()
}
