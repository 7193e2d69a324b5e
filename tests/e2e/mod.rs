//! Helpers for the end-to-end tests in `tests/pyocd_e2e.rs`: the real pyOCD
//! (and GDB through `pyocd gdbserver`) against a probeshare serving the
//! virtual target.
//!
//! - `venv`: the pinned pyOCD, installed by the tests themselves.
//! - `process`: children with deadlines, so nothing can hang.
//! - `commander`: one `pyocd commander` session, output split per command.
//! - `api`: sessions through pyOCD's Python API (`pyocd_api.py`).
//! - `rounds`: sessions that prove they ran at the same time as others
//!   (`pyocd_rounds.py`, `gdb_rounds.py`, `overlap.py`).
//! - `scratch`: per-test directories and random test data.
#![allow(dead_code)]

pub mod api;
pub mod commander;
pub mod process;
pub mod rounds;
pub mod scratch;
pub mod venv;

/// The probe unique ID that makes pyOCD use its remote probe client.
pub fn remote_uid(addr: std::net::SocketAddr) -> String {
    format!("remote:{addr}")
}
