//! An idle server sleeps: with a client connected and the probe open,
//! connected and used, nothing to do costs no CPU (the event loop blocks
//! in poll, the worker in its channel). A loop that never slept would take
//! a core per probe on a farm host.

use std::time::Duration;

use super::{powered_session, AHB_AP_IDR, AP_IDR};
use crate::common::ServerProcess;

/// How long each look at the server's CPU time lasts.
const WINDOW: Duration = Duration::from_millis(400);

/// User and system CPU time of process `pid`, in clock ticks (1/100 s on
/// Linux): fields 14 and 15 of /proc/PID/stat, counted after the command
/// name's closing parenthesis.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    let after_name = &stat[stat.rfind(')').expect("(comm)") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): utime is field 14, stime 15.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn an_idle_server_takes_no_cpu() {
    let server = ServerProcess::start(&[]);
    let mut client = powered_session(server.addr);
    assert_eq!(
        client.ok("read_ap", serde_json::json!([AP_IDR])),
        serde_json::json!(AHB_AP_IDR)
    );
    // The least of three windows: a window may catch the tail of the work
    // above or another process's use of a shared core; a spinning loop
    // takes ticks in every one.
    let least = (0..3)
        .map(|_| {
            let before = cpu_ticks(server.child.id());
            std::thread::sleep(WINDOW);
            cpu_ticks(server.child.id()) - before
        })
        .min()
        .expect("three windows");
    assert!(
        least <= 2,
        "{least} ticks of CPU in {WINDOW:?} with nothing to do"
    );
    client.ok("close", serde_json::json!([]));
}
