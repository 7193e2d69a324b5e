//! A thousand idle clients cost the server nothing but their sockets: they
//! are held, another client works beside them, and each still answers.
//!
//! Each [`Client`] uses two descriptors (its stream and a clone for
//! reading), so this test needs about 2,100 open files in the test process
//! and 1,100 in the server. When the soft `RLIMIT_NOFILE` is lower, the
//! test runs itself again in a child process through `sh -c 'ulimit -n'`
//! (std has no `setrlimit`, and this crate has no libc); the server binary
//! it starts inherits the raised limit.

use std::process::Command;

use serde_json::json;

use super::{powered_session, AHB_AP_IDR, AP_IDR};
use crate::common::{Client, ServerProcess};

const IDLE_CLIENTS: usize = 1000;
const NEEDED_OPEN_FILES: u64 = 2100;
const RAISED_OPEN_FILES: u64 = 4096;
const ALREADY_RAISED: &str = "PROBESHARE_TEST_NOFILE_RAISED";

/// The soft limit on open files of this process (`None` when unreadable).
fn open_files_soft_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    match line.split_whitespace().nth(3)? {
        "unlimited" => Some(u64::MAX),
        soft => soft.parse().ok(),
    }
}

/// Whether this process may open enough files. If not, runs `test` again
/// in a child with a raised limit, asserts that it passed, and returns false.
fn run_with_enough_open_files(test: &str) -> bool {
    let soft = open_files_soft_limit().unwrap_or(0);
    if soft >= NEEDED_OPEN_FILES {
        return true;
    }
    assert!(
        std::env::var_os(ALREADY_RAISED).is_none(),
        "open file limit still {soft} after raising it: the hard limit must allow {NEEDED_OPEN_FILES}"
    );
    let exe = std::env::current_exe().expect("test binary path");
    // Raise the soft limit only (the hard one may not come back down), to
    // the hard limit when that is below the target.
    let raise = format!(
        "ulimit -Sn {RAISED_OPEN_FILES} 2>/dev/null || ulimit -Sn \"$(ulimit -Hn)\"; exec \"$0\" \"$@\""
    );
    let output = Command::new("sh")
        .arg("-c")
        .arg(raise)
        .arg(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ALREADY_RAISED, "1")
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run the test with a raised open file limit");
    let report = String::from_utf8_lossy(&output.stdout);
    // A filter that matched nothing would pass too: require the one test.
    assert!(
        output.status.success() && report.contains("1 passed"),
        "{test} with a raised open file limit (soft limit here {soft}): {}\n{report}",
        output.status
    );
    false
}

#[test]
fn thousand_idle_connections_are_held_while_another_client_works() {
    let test = "idle_connections::thousand_idle_connections_are_held_while_another_client_works";
    if !run_with_enough_open_files(test) {
        return;
    }
    // All from one address: lift the per-peer limit (limits/per_peer.rs),
    // which would otherwise refuse all but 64 of them.
    let server = ServerProcess::start(&["--max-connections-per-peer", "2000"]);
    let mut idle: Vec<Client> = (0..IDLE_CLIENTS)
        .map(|_| Client::hello(server.addr))
        .collect();

    let mut worker = powered_session(server.addr);
    worker.ok("lock", json!([]));
    assert_eq!(
        worker.ok("read_ap_multiple", json!([AP_IDR, 256])),
        json!(vec![AHB_AP_IDR; 256])
    );
    worker.ok("unlock", json!([]));

    // Every idle client is still connected and served: ask all, then read all.
    let ids: Vec<i64> = idle
        .iter_mut()
        .map(|client| client.send("readprop", json!(["unique_id"])))
        .collect();
    for (client, id) in idle.iter_mut().zip(ids) {
        let response = client.recv();
        assert_eq!(response["id"], id, "{response}");
        assert_eq!(response["result"], "sim", "{response}");
    }
    assert_eq!(worker.ok("read_ap", json!([AP_IDR])), json!(AHB_AP_IDR));
}
