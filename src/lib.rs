//! probeshare: share USB debug probes over TCP with pyOCD's remote probe
//! protocol. See ARCHITECTURE.md for the map; the binary is `src/main.rs`,
//! whose own modules (`bench`, `listing`) are not part of this library.

pub mod arbiter;
pub mod cmsis_dap;
pub mod config;
pub mod dap;
pub mod export;
pub mod farm;
pub mod ids;
pub mod limits;
pub mod management;
pub mod memap;
pub mod probe;
pub mod protocol;
pub mod server;
pub mod service;
pub mod sim;
pub mod worker;
