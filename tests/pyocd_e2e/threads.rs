//! One pyOCD session with 8 threads each writing then reading its own
//! 12 KiB of RAM at once (tests/e2e/pyocd_threads.py, the shape of pyOCD's
//! own concurrency test), through the `probeshare:` plugin: every region
//! reads back as written, through a memory handle and through AP register
//! requests, where only the plugin's real session lock keeps one thread's
//! TAR write and DRW accesses together.
//!
//! pyOCD's own `remote:` client is not run here: its `lock()` only counts,
//! so its threads interleave their TAR and DRW requests and most regions
//! read back wrong (7 of 8 when measured; docs/pyocd-plugin.md). A test
//! that it fails would prove nothing about probeshare.
//!
//! A submodule of `tests/pyocd_e2e.rs`.

use std::path::Path;

use crate::e2e::process::run;
use crate::e2e::scratch::ScratchDir;
use crate::e2e::venv::venv;
use crate::e2e::Client;

fn threads_script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/pyocd_threads.py")
}

fn eight_threads(extra: &[&str], path: &str) {
    let venv = venv();
    let scratch = ScratchDir::new(&format!("threads-{path}"));
    let server = crate::common::start_server();
    let finished = run(
        "8 threads of one session",
        venv.python(scratch.path())
            .arg(threads_script())
            .arg(Client::Probeshare.uid(server.local_addr()))
            .args(extra),
    );
    finished.assert_success();
    assert!(
        finished.stdout.contains(path),
        "memory did not go {path}: {}",
        finished.report()
    );
    for thread in 0..8 {
        assert!(
            finished.stdout.contains(&format!("thread {thread} ok")),
            "{}",
            finished.report()
        );
    }
}

#[test]
fn eight_threads_of_one_plugin_session_move_their_own_memory_through_a_handle() {
    eight_threads(&[], "memory handle");
}

#[test]
fn eight_threads_of_one_plugin_session_move_their_own_memory_through_ap_registers() {
    eight_threads(&["--no-memory-handles"], "register-level");
}
