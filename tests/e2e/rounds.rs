//! Sessions that do rounds of checked work at the same time as others and
//! prove it: `pyocd_rounds.py` (pyOCD's Python API) and `gdb_rounds.py`
//! (GDB through `pyocd gdbserver`), both built on `overlap.py`, whose
//! docstring gives the barrier and the quota. Each prints one line per
//! round, `round N START_NS END_NS OUTCOME`, on CLOCK_MONOTONIC (one clock
//! for every process on Linux), which [`Rounds`] reads back.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::venv::Venv;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e")
        .join(name)
}

/// One process among several: its name, the others' names, the directory
/// where they signal each other, and how many of its rounds must fall
/// inside every other's rounds.
pub struct Party<'a> {
    pub dir: &'a Path,
    pub name: &'a str,
    pub peers: &'a [&'a str],
    pub quota: usize,
}

impl Party<'_> {
    fn args(&self) -> Vec<String> {
        vec![
            "--dir".into(),
            self.dir.display().to_string(),
            "--name".into(),
            self.name.into(),
            "--peers".into(),
            self.peers.join(","),
            "--quota".into(),
            self.quota.to_string(),
        ]
    }
}

/// What a pyOCD session writes and reads back each round.
#[derive(Clone, Copy)]
pub enum Work {
    /// 64 words as one block.
    Words(u32),
    /// 4 halfwords, one access each.
    Halfwords(u32),
    /// 7 bytes (at an odd address: pyOCD mixes access sizes for them).
    Bytes(u32),
    /// A core register such as "r4" (the core must be halted).
    Register(&'static str),
}

/// A pyOCD Python API session on `uid` doing `work` each round, halting
/// the core first if `halt`.
pub fn pyocd(venv: &Venv, uid: &str, party: &Party, halt: bool, work: &[Work]) -> Command {
    let mut command = venv.python(party.dir);
    command
        .arg(script("pyocd_rounds.py"))
        .arg(uid)
        .args(party.args());
    if halt {
        command.arg("--halt");
    }
    for work in work {
        let (option, value) = match work {
            Work::Words(address) => ("--words", format!("{address:#x}")),
            Work::Halfwords(address) => ("--halfwords", format!("{address:#x}")),
            Work::Bytes(address) => ("--bytes", format!("{address:#x}")),
            Work::Register(name) => ("--register", name.to_string()),
        };
        command.arg(option).arg(value);
    }
    command
}

/// GDB attached to `pyocd gdbserver` on `port`: each round writes four
/// words at `address` and `register`, steps, and checks them.
pub fn gdb(port: u16, party: &Party, address: u32, register: &str) -> Command {
    let mut argv = vec!["gdb_rounds.py".to_string(), port.to_string()];
    argv.extend(party.args());
    argv.extend(["--address".into(), format!("{address:#x}")]);
    argv.extend(["--register".into(), register.into()]);
    let quoted: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
    let mut command = Command::new("gdb-multiarch");
    command
        .current_dir(party.dir)
        .args(["-nx", "-batch", "-ex"])
        .arg(format!(
            "python import sys; sys.argv = [{}]",
            quoted.join(", ")
        ))
        .arg("-x")
        .arg(script("gdb_rounds.py"));
    command
}

/// One round as printed.
#[derive(Debug, Clone)]
pub struct Round {
    pub number: usize,
    pub start_ns: u64,
    pub end_ns: u64,
    /// `ok`, or `wrong ...` / `error ...`.
    pub outcome: String,
}

impl Round {
    pub fn passed(&self) -> bool {
        self.outcome == "ok"
    }
}

/// The rounds one process printed, in order.
pub struct Rounds {
    pub name: String,
    pub rounds: Vec<Round>,
}

impl Rounds {
    /// The `round ...` lines of `stdout`; other lines are ignored.
    pub fn parse(name: &str, stdout: &str) -> Rounds {
        let rounds = stdout
            .lines()
            .filter_map(|line| {
                let mut fields = line.splitn(5, ' ');
                if fields.next()? != "round" {
                    return None;
                }
                let number = fields.next()?.parse().ok()?;
                let start_ns = fields.next()?.parse().ok()?;
                let end_ns = fields.next()?.parse().ok()?;
                let outcome = fields.next()?.to_string();
                Some(Round {
                    number,
                    start_ns,
                    end_ns,
                    outcome,
                })
            })
            .collect();
        Rounds {
            name: name.to_string(),
            rounds,
        }
    }

    pub fn len(&self) -> usize {
        self.rounds.len()
    }

    /// From the start of the first round to the end of the last.
    pub fn active(&self) -> Option<(u64, u64)> {
        Some((self.rounds.first()?.start_ns, self.rounds.last()?.end_ns))
    }

    /// How many rounds began and ended within `from..=to`.
    pub fn within(&self, (from, to): (u64, u64)) -> usize {
        self.rounds
            .iter()
            .filter(|r| r.start_ns >= from && r.end_ns <= to)
            .count()
    }

    /// How many rounds began and ended within `other`'s active interval.
    pub fn during(&self, other: &Rounds) -> usize {
        other.active().map_or(0, |active| self.within(active))
    }

    fn failed(&self) -> Vec<&Round> {
        self.rounds.iter().filter(|r| !r.passed()).collect()
    }
}

/// Fails the test unless every round of every session passed, naming how
/// many failed in each and the first few failures.
pub fn assert_all_passed(sessions: &[&Rounds]) {
    let mut report = String::new();
    for session in sessions {
        let failed = session.failed();
        eprintln!(
            "[e2e] {}: {} rounds, {} failed",
            session.name,
            session.len(),
            failed.len()
        );
        if failed.is_empty() {
            continue;
        }
        let wrong = failed
            .iter()
            .filter(|r| r.outcome.starts_with("wrong"))
            .count();
        report.push_str(&format!(
            "\n{}: {} of {} rounds failed ({wrong} wrong values, {} exceptions), first:",
            session.name,
            failed.len(),
            session.len(),
            failed.len() - wrong
        ));
        for round in failed.iter().take(5) {
            let mut outcome = round.outcome.clone();
            outcome.truncate(300);
            report.push_str(&format!("\n  round {}: {outcome}", round.number));
        }
    }
    assert!(report.is_empty(), "sessions disturbed each other:{report}");
}

/// Fails the test unless, for every two sessions, at least `minimum(a)` of
/// `a`'s rounds began and ended while `b` was doing its rounds.
pub fn assert_overlap(sessions: &[&Rounds], minimum: impl Fn(&Rounds) -> usize) {
    for a in sessions {
        for b in sessions.iter().filter(|b| b.name != a.name) {
            let during = a.during(b);
            eprintln!(
                "[e2e] {} passed {during} of its {} rounds during {}'s {} rounds",
                a.name,
                a.len(),
                b.name,
                b.len()
            );
            assert!(
                during >= minimum(a),
                "only {during} rounds of {} fell inside {}'s rounds, need {}",
                a.name,
                b.name,
                minimum(a)
            );
        }
    }
}
