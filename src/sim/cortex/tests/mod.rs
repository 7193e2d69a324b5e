//! The virtual Cortex-M4's unit tests, one file per topic, over the
//! helpers in `support`.

mod components;
mod debug;
mod reset;
mod scs;
mod support;
