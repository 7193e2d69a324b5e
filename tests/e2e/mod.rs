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
//!
//! Scenarios take a [`Client`] and run once per client
//! ([`for_each_client!`]).
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

/// Which pyOCD probe client a scenario runs with: pyOCD's own `remote:`
/// or the repository's pipelining plugin `probeshare:` (python/), which
/// must pass every scenario `remote:` passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    Remote,
    Probeshare,
}

impl Client {
    /// The unique ID that selects the server at `addr` with this client.
    pub fn uid(self, addr: std::net::SocketAddr) -> String {
        match self {
            Client::Remote => remote_uid(addr),
            Client::Probeshare => format!("probeshare:{addr}"),
        }
    }
}

/// One test per client for a scenario `fn name(client: Client)`: a module
/// `name` with tests `remote` and `probeshare`.
#[macro_export]
macro_rules! for_each_client {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn remote() {
                super::$scenario($crate::e2e::Client::Remote)
            }
            #[test]
            fn probeshare() {
                super::$scenario($crate::e2e::Client::Probeshare)
            }
        }
    )*};
}
