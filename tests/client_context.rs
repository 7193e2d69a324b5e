//! Each client's context, pinned over real sockets (docs/protocol.md, "Sharing",
//! rules 8-12): what one client set up in the debug port and the core stays
//! its own while other clients use the same probe, mostly without `lock`.
//!
//! Real debuggers keep state between their accesses: pyOCD writes a MEM-AP's
//! CSW once and skips rewriting it, spreads one core register transfer over
//! several requests, and polls clear-on-read status bits. Every test here
//! has two or three clients whose requests land between each other's, and
//! checks what a user of one of them relies on. The test thread makes the
//! calls of all clients, so their order is the order written, except where
//! a test pipelines (then `Client::wait_until_server_has_read` fixes which
//! requests are queued before which). Waits have deadlines; "nothing
//! answered yet" is a short negative read window, never a synchronisation.

mod common;

#[allow(dead_code, unused_imports)]
#[path = "sharing/support.rs"]
mod support;

#[path = "sharing/core_debug.rs"]
mod core_debug;

#[path = "client_context/steps.rs"]
mod steps;

#[path = "client_context/csw.rs"]
mod csw;

#[path = "client_context/tar.rs"]
mod tar;

#[path = "client_context/dp_bank.rs"]
mod dp_bank;

#[path = "client_context/register_window.rs"]
mod register_window;

#[path = "client_context/clear_on_read.rs"]
mod clear_on_read;

#[path = "client_context/sticky_errors.rs"]
mod sticky_errors;

#[path = "client_context/counting.rs"]
mod counting;

#[path = "client_context/batch_errors.rs"]
mod batch_errors;

#[path = "client_context/line_reset.rs"]
mod line_reset;

#[path = "client_context/nreset.rs"]
mod nreset;
