//! OpenOCD and a pyOCD Python API session on one probe at the same time,
//! each moving memory in its own region and checking every value: OpenOCD
//! through the DAP port (`load_image`/`verify_image` and `read_memory` in
//! rounds, tests/e2e/openocd_rounds.py driving it over its Tcl port),
//! pyOCD through the pyOCD port (words and bytes, tests/e2e/pyocd_rounds.py).
//!
//! As in tests/pyocd_e2e/overlapping.rs, both start their rounds together
//! and each goes on until both have done their quota, and the test proves
//! from the printed times that each one's quota ran while the other was
//! doing its rounds (tests/e2e/rounds.rs, tests/e2e/overlap.py).
//!
//! [`beside_pyocd`] runs any scenario (GDB through OpenOCD, openocd-python)
//! while such a pyOCD session does its rounds.
//!
//! A submodule of `tests/openocd_e2e.rs`.

use std::net::SocketAddr;
use std::process::Command;

use crate::bridge::FirmwareBridge;
use crate::e2e::process::Spawned;
use crate::e2e::remote_uid;
use crate::e2e::rounds::{self, assert_all_passed, assert_overlap, Party, Rounds, Work};
use crate::e2e::scratch::ScratchDir;
use crate::e2e::venv::{venv, Venv};
use crate::openocd::{listening_port, openocd, write_board, Ports};
use crate::served::ServedProbe;
use crate::{script, Timed};
use probeshare::sim::RAM_BASE;

/// Rounds of the pyOCD session that must run inside OpenOCD's.
const PYOCD_QUOTA: usize = 300;
/// Rounds of OpenOCD that must run inside pyOCD's: each moves the image
/// twice (load, verify) plus a read.
const OPENOCD_QUOTA: usize = 20;

/// pyOCD's regions: 64 words, and 7 bytes at an odd address.
const PYOCD_WORDS: u32 = RAM_BASE + 0x1000;
const PYOCD_BYTES: u32 = RAM_BASE + 0x2001;
/// OpenOCD's region, well clear of pyOCD's.
const OPENOCD_IMAGE: u32 = RAM_BASE + 0x8000;
const OPENOCD_IMAGE_SIZE: usize = 16 * 1024;

/// `openocd_rounds.py` against OpenOCD's Tcl port `port`.
fn openocd_rounds(venv: &Venv, port: u16, party: &Party) -> Command {
    let mut command = venv.python(party.dir);
    command
        .arg(script("openocd_rounds.py"))
        .arg(port.to_string())
        .args(["--dir", &party.dir.display().to_string()])
        .args(["--name", party.name])
        .args(["--peers", &party.peers.join(",")])
        .args(["--quota", &party.quota.to_string()])
        .args(["--address", &format!("{OPENOCD_IMAGE:#x}")])
        .args(["--size", &OPENOCD_IMAGE_SIZE.to_string()]);
    command
}

/// OpenOCD on `dap` beside pyOCD on `pyocd_uid`, rounds checked and
/// overlap proved.
fn side_by_side(scratch: &ScratchDir, pyocd_uid: &str, dap: SocketAddr) {
    let venv = venv();
    let board = write_board(
        scratch,
        "board.cfg",
        dap,
        Ports {
            gdb: None,
            tcl: Some(0),
        },
    );
    let mut ocd = Spawned::start(
        "openocd",
        openocd()
            .command(scratch.path())
            .arg("-f")
            .arg(&board)
            .args(["-c", "init"]),
    );
    ocd.wait_until("OpenOCD to listen on its Tcl port", |_, err| {
        listening_port(err, "tcl").is_some()
    });
    let tcl = listening_port(&ocd.output().1, "tcl").expect("tcl port");

    let pyocd_party = Party {
        dir: scratch.path(),
        name: "pyocd",
        peers: &["openocd"],
        quota: PYOCD_QUOTA,
    };
    let openocd_party = Party {
        dir: scratch.path(),
        name: "openocd",
        peers: &["pyocd"],
        quota: OPENOCD_QUOTA,
    };
    let pyocd = Spawned::start(
        "pyocd",
        &mut rounds::pyocd(
            venv,
            pyocd_uid,
            &pyocd_party,
            false,
            &[Work::Words(PYOCD_WORDS), Work::Bytes(PYOCD_BYTES)],
        ),
    );
    let driver = Spawned::start(
        "openocd rounds",
        &mut openocd_rounds(venv, tcl, &openocd_party),
    );
    let pyocd = pyocd.finish();
    let driver = driver.finish();
    // The driver tells OpenOCD to shut down however its rounds went; if the
    // driver died before that, OpenOCD is not waited for.
    if !driver.status.success() {
        ocd.kill();
    }
    let ocd = ocd.finish();

    let sessions = [
        Rounds::parse("pyocd", &pyocd.stdout),
        Rounds::parse("openocd", &driver.stdout),
    ];
    let sessions: Vec<&Rounds> = sessions.iter().collect();
    let with_openocd_log = |what: &str| format!("{what}\n--- OpenOCD ---\n{}", ocd.report());
    assert!(
        sessions.iter().all(|s| s.len() > 0),
        "{}",
        with_openocd_log(&format!(
            "a session did no rounds:\n--- pyocd ---\n{}\n--- openocd driver ---\n{}",
            pyocd.report(),
            driver.report()
        ))
    );
    assert_all_passed(&sessions);
    pyocd.assert_success();
    driver.assert_success();
    assert!(
        ocd.status.success(),
        "{}",
        with_openocd_log("OpenOCD failed")
    );
    assert_overlap(&sessions, |session| match session.name.as_str() {
        "openocd" => OPENOCD_QUOTA,
        _ => PYOCD_QUOTA,
    });
}

#[test]
fn openocd_and_pyocd_move_memory_on_one_probe_at_once() {
    venv();
    openocd();
    let _timed = Timed::start("openocd beside pyocd");
    let scratch = ScratchDir::new("openocd-beside-pyocd");
    let mut served = ServedProbe::start();
    side_by_side(&scratch, &served.pyocd_uid(), served.dap);
    served.assert_running();
}

/// The same two sessions on two targets: pyOCD on a pyOCD-only server,
/// OpenOCD on the emulated firmware (tests/openocd_e2e/bridge.rs). It
/// proves the scripts and the overlap check, not sharing.
#[test]
fn control_openocd_and_pyocd_rounds_on_two_targets() {
    venv();
    openocd();
    let _timed = Timed::start("control: openocd beside pyocd on two targets");
    let scratch = ScratchDir::new("control-openocd-beside-pyocd");
    let server = crate::common::start_server();
    let bridge = FirmwareBridge::start();
    side_by_side(&scratch, &remote_uid(server.local_addr()), bridge.addr());
    bridge.finish().expect("the bridge served OpenOCD");
}

/// Rounds of the pyOCD session that must begin and end while a scenario
/// runs beside it.
const ROUNDS_BESIDE_A_SCENARIO: usize = 3;

/// Runs `scenario` (GDB through OpenOCD, openocd-python, ...) while a pyOCD
/// session on `pyocd_uid` moves words and bytes in its own region, and
/// fails the test unless every pyOCD round passed and at least
/// [`ROUNDS_BESIDE_A_SCENARIO`] of them ran from the scenario's start to
/// its end. The test stands in for pyocd_rounds.py's peer (overlap.py's
/// signal files), named "scenario".
pub fn beside_pyocd<T>(scratch: &ScratchDir, pyocd_uid: &str, scenario: impl FnOnce() -> T) -> T {
    let signal = |what: &str| {
        std::fs::write(scratch.file(&format!("scenario.{what}")), b"").expect("signal file")
    };
    let party = Party {
        dir: scratch.path(),
        name: "pyocd",
        peers: &["scenario"],
        quota: 1,
    };
    let mut pyocd = Spawned::start(
        "pyocd beside",
        &mut rounds::pyocd(
            venv(),
            pyocd_uid,
            &party,
            false,
            &[Work::Words(PYOCD_WORDS), Work::Bytes(PYOCD_BYTES)],
        ),
    );
    signal("ready");
    signal("started");
    let rounds = |pyocd: &Spawned| Rounds::parse("pyocd", &pyocd.output().0).len();
    pyocd.wait_until("pyOCD's first round", |out, _| {
        Rounds::parse("pyocd", out).len() >= 1
    });
    let before = rounds(&pyocd);
    let outcome = scenario();
    let after = rounds(&pyocd);
    signal("done");
    signal("finished");
    let finished = pyocd.finish();
    let session = Rounds::parse("pyocd", &finished.stdout);
    assert_all_passed(&[&session]);
    finished.assert_success();
    // Rounds before+2 ..= after began after the scenario started (round
    // before+1 may have been under way) and ended before it ended.
    let during = after.saturating_sub(before + 1);
    eprintln!("[e2e] pyOCD passed {during} rounds during the scenario");
    assert!(
        during >= ROUNDS_BESIDE_A_SCENARIO,
        "only {during} pyOCD rounds ran during the scenario"
    );
    outcome
}
