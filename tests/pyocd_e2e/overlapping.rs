//! Real pyOCD sessions in separate processes working the one virtual target
//! at the same time, each checking every value it writes: docs/protocol.md,
//! Sharing, rules 9 (each client's own MEM-AP CSW and TAR) and 10 (a core register
//! transfer is atomic across clients) as pyOCD and GDB meet them.
//!
//! The processes start their rounds together and each goes on until all
//! have done their quota, and the test proves from the printed times that
//! the quota of every process ran while every other was doing its rounds
//! (tests/e2e/rounds.rs, tests/e2e/overlap.py).
//!
//! A submodule of `tests/pyocd_e2e.rs`, using its `common` and `e2e`
//! helpers.

use std::process::Command;

use crate::e2e::process::{Finished, Spawned};
use crate::e2e::remote_uid;
use crate::e2e::rounds::{self, assert_all_passed, assert_overlap, Party, Rounds, Work};
use crate::e2e::scratch::ScratchDir;
use crate::e2e::venv::venv;
use crate::Timed;
use probeshare::sim::RAM_BASE;

/// Rounds of each pyOCD session that must run inside every other's.
const QUOTA: usize = 300;

/// Rounds of GDB that must run inside the pyOCD session's: each costs a
/// step, after which pyOCD's GDB server reads all 40-odd core and FPU
/// registers, about 150 ms alone and several times that beside a busy
/// session, so 300 would take minutes.
const GDB_QUOTA: usize = 60;

const WORDS: u32 = RAM_BASE + 0x1000;
const HALFWORDS: u32 = RAM_BASE + 0x2002;
const BYTES: u32 = RAM_BASE + 0x3001;
const GDB_WORDS: u32 = RAM_BASE + 0x4000;

/// Starts every command at once and waits for all (each has a deadline).
fn side_by_side(commands: Vec<(&str, Command)>) -> Vec<Finished> {
    let spawned: Vec<Spawned> = commands
        .into_iter()
        .map(|(name, mut command)| Spawned::start(name, &mut command))
        .collect();
    spawned.into_iter().map(Spawned::finish).collect()
}

/// Every round of every session passed, every process exited cleanly, and
/// at least `minimum` rounds of each ran inside every other's.
fn assert_clean_overlap(finished: &[Finished], minimum: impl Fn(&Rounds) -> usize) {
    let sessions: Vec<Rounds> = finished
        .iter()
        .map(|f| Rounds::parse(&f.name, &f.stdout))
        .collect();
    let sessions: Vec<&Rounds> = sessions.iter().collect();
    assert_all_passed(&sessions);
    for f in finished {
        f.assert_success();
    }
    assert_overlap(&sessions, minimum);
}

/// pyOCD sessions on the server's virtual target, one per `(name, halt,
/// work)`, all at once.
fn pyocd_sessions(scratch: &ScratchDir, sessions: &[(&str, bool, Work)]) -> Vec<Finished> {
    let venv = venv();
    let server = crate::common::start_server();
    let uid = remote_uid(server.local_addr());
    let names: Vec<&str> = sessions.iter().map(|(name, _, _)| *name).collect();
    let commands = sessions
        .iter()
        .map(|&(name, halt, work)| {
            let peers: Vec<&str> = names.iter().copied().filter(|n| *n != name).collect();
            let party = Party {
                dir: scratch.path(),
                name,
                peers: &peers,
                quota: QUOTA,
            };
            (name, rounds::pyocd(venv, &uid, &party, halt, &[work]))
        })
        .collect();
    side_by_side(commands)
}

#[test]
fn word_and_byte_sessions_overlap_without_disturbing_each_other() {
    let _timed = Timed::start("words beside bytes");
    let scratch = ScratchDir::new("words-bytes");
    let finished = pyocd_sessions(
        &scratch,
        &[
            ("words", false, Work::Words(WORDS)),
            ("bytes", false, Work::Bytes(BYTES)),
        ],
    );
    assert_clean_overlap(&finished, |_| QUOTA);
}

#[test]
fn word_halfword_and_byte_sessions_overlap_without_disturbing_each_other() {
    let _timed = Timed::start("words beside halfwords beside bytes");
    let scratch = ScratchDir::new("words-halfwords-bytes");
    let finished = pyocd_sessions(
        &scratch,
        &[
            ("words", false, Work::Words(WORDS)),
            ("halfwords", false, Work::Halfwords(HALFWORDS)),
            ("bytes", false, Work::Bytes(BYTES)),
        ],
    );
    assert_clean_overlap(&finished, |_| QUOTA);
}

#[test]
fn two_sessions_round_trip_their_own_core_registers_at_once() {
    let _timed = Timed::start("r4 beside r5");
    let scratch = ScratchDir::new("registers");
    // One session halts the core, before either starts its rounds.
    let finished = pyocd_sessions(
        &scratch,
        &[
            ("r4", true, Work::Register("r4")),
            ("r5", false, Work::Register("r5")),
        ],
    );
    assert_clean_overlap(&finished, |_| QUOTA);
}

#[test]
fn gdb_steps_while_a_python_api_session_works_registers_and_memory() {
    let venv = venv();
    crate::require_gdb_multiarch();
    let _timed = Timed::start("gdb stepping beside a python API session");
    let scratch = ScratchDir::new("gdb-beside-api");
    let server = crate::common::start_server();
    let uid = remote_uid(server.local_addr());
    let mut gdbserver = Spawned::start(
        "pyocd gdbserver",
        venv.pyocd(scratch.path())
            .args(["gdbserver", "-u", &uid])
            .args(["-t", "cortex_m", "--port", "0"])
            // Its semihosting console port too (4444 by default), so GDB
            // servers of tests running at once do not collide.
            .args(["-O", "stdio_port=0"]),
    );
    gdbserver.wait_for("GDB server listening on port ");
    let gdb_port = crate::listening_port(&gdbserver.output().1);

    // GDB's attach halts the core before GDB says it is ready.
    let api = Party {
        dir: scratch.path(),
        name: "api",
        peers: &["gdb"],
        quota: QUOTA,
    };
    let gdb = Party {
        dir: scratch.path(),
        name: "gdb",
        peers: &["api"],
        quota: GDB_QUOTA,
    };
    let finished = side_by_side(vec![
        (
            "api",
            rounds::pyocd(
                venv,
                &uid,
                &api,
                false,
                &[Work::Register("r7"), Work::Words(WORDS)],
            ),
        ),
        ("gdb", rounds::gdb(gdb_port, &gdb, GDB_WORDS, "r5")),
    ]);
    // Without --persist, the GDB server ends when GDB detaches.
    let served = gdbserver.finish();

    assert_clean_overlap(&finished, |session| match session.name.as_str() {
        "gdb" => GDB_QUOTA,
        _ => QUOTA,
    });
    served.assert_success();
}
