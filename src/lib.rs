//! probeshare: share USB debug probes over TCP with pyOCD's remote probe
//! protocol. See ARCHITECTURE.md for the map; the binary is `src/main.rs`,
//! whose own modules (`bench`, `listing`) are not part of this library.
//!
//! Unit tests are a child module `tests` of the code they test: inline
//! (`#[cfg(test)] mod tests { … }`) at the end of its file, or, when they
//! would crowd it, in `tests.rs` in that module's directory (`ports.rs` →
//! `ports/tests.rs`, `mod.rs` → `tests.rs` beside it), or in a `tests/`
//! folder there of topic files with their shared fixtures; never in a
//! sibling `*_tests.rs` or through `#[path]`.

pub mod arbiter;
pub mod cmsis_dap;
pub mod config;
pub mod dap;
pub mod export;
pub mod farm;
pub mod ids;
pub mod limits;
pub mod management;
pub mod mass_erase;
pub mod memap;
pub mod probe;
pub mod protocol;
pub mod server;
pub mod service;
pub mod sim;
pub mod worker;
