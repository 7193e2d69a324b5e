//! Real pyOCD sessions in separate processes working the one virtual target
//! at the same time, each checking every value it writes: protocol.md's
//! rules 9 (each client's own MEM-AP CSW and TAR) and 10 (a core register
//! transfer is atomic across clients) as pyOCD meets them.
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

const WORDS: u32 = RAM_BASE + 0x1000;
const HALFWORDS: u32 = RAM_BASE + 0x2002;
const BYTES: u32 = RAM_BASE + 0x3001;

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
