//! Sessions through pyOCD's Python API, run by `pyocd_api.py` beside this
//! file with the environment's interpreter (its docstring gives the modes).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::venv::Venv;

/// A region of the target's RAM a session works on.
#[derive(Clone, Copy)]
pub struct Region {
    pub address: u32,
    pub size: usize,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/pyocd_api.py")
}

/// The script in `mode`, with `uid` and the region's address first.
fn api(venv: &Venv, cwd: &Path, mode: &str, uid: &str, region: Region) -> Command {
    let mut command = venv.python(cwd);
    command
        .arg(script())
        .args([mode, uid])
        .arg(format!("{:#x}", region.address));
    command
}

/// Writes `input` to `region.address`, reads it back into `output`, and
/// round-trips `value` through core register `register`.
pub fn roundtrip(
    venv: &Venv,
    cwd: &Path,
    uid: &str,
    region: Region,
    (input, output): (&Path, &Path),
    (register, value): (&str, u32),
) -> Command {
    let mut command = api(venv, cwd, "roundtrip", uid, region);
    command
        .arg(input)
        .arg(output)
        .arg(register)
        .arg(format!("{value:#x}"));
    command
}

/// Checks random data in `region` round after round until told on stdin to
/// finish, then does a [`roundtrip`] (the only core register work).
pub fn soak(
    venv: &Venv,
    cwd: &Path,
    uid: &str,
    region: Region,
    (input, output): (&Path, &Path),
    (register, value): (&str, u32),
) -> Command {
    let mut command = api(venv, cwd, "soak", uid, region);
    command
        .arg(region.size.to_string())
        .arg(input)
        .arg(output)
        .arg(register)
        .arg(format!("{value:#x}"));
    command
}

/// Writes `messages` small `bytes` messages into a ring buffer at
/// `region.address` as pyOCD's RTT down channel does, and checks them.
pub fn rtt(venv: &Venv, cwd: &Path, uid: &str, region: Region, messages: usize) -> Command {
    let mut command = api(venv, cwd, "rtt", uid, region);
    command.arg(messages.to_string());
    command
}
