//! The front end for pyOCD's remote probe protocol: JSON lines.

pub mod framing;
pub mod memory_handles;
pub mod requests;
