//! probeshare: share USB debug probes over TCP with pyOCD's remote probe
//! protocol. See ARCHITECTURE.md for the map; the binary is `src/main.rs`.

pub mod arbiter;
pub mod probe;
