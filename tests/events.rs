//! Events on their own connection (docs/protocol.md, "Events"): a
//! subscriber on a probe port hears what other clients, the server and
//! the farm do, in order, without costing unbounded memory when it does
//! not read; the server's own DHCSR reads take nothing from any client;
//! the same events stream over the management API. The test thread drives
//! every client itself, so the order of their requests is the order
//! written; waits have deadlines, and "nothing arrives" is only ever a
//! negative check over a short window.

mod common;

#[allow(dead_code, unused_imports)]
#[path = "sharing/support.rs"]
mod support;

#[path = "sharing/core_debug.rs"]
mod core_debug;

#[path = "dap_port/dap.rs"]
mod dap;

#[path = "events/subscriber.rs"]
mod subscriber;

#[path = "events/stream.rs"]
mod stream;

#[path = "events/bounded.rs"]
mod bounded;

#[path = "events/target.rs"]
mod target;

#[path = "events/poller.rs"]
mod poller;

#[path = "events/sse.rs"]
mod sse;
