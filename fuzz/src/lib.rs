//! What the fuzz targets in `fuzz_targets/` share: reading a fuzz input as
//! options and a stream ([`input`]), a probe behind the arbiter and the
//! worker with faults injected into its results ([`bench`]), and a front
//! end driven the way the server's loop drives it ([`front_end`]).
//!
//! The targets panic on anything the server promises not to do; the
//! fuzzer reports the panic as a crash (docs/fuzzing.md).

pub mod bench;
pub mod front_end;
pub mod input;
pub mod requests;
