//! The sharing contract of docs/protocol.md ("Sharing", rules 1-8)
//! pinned over real sockets: several clients against one in-process server
//! serving the virtual target on port 0.
//!
//! One module per rule, so a failure names the line of the contract it
//! breaks. Every wait has a deadline (`common::DEADLINE`); "not answered
//! yet" is a short negative read window, never a way to synchronise. Where
//! a test needs requests of two clients to be queued in a known order, it
//! waits until the server has read the first client's bytes before the
//! second sends (`Client::wait_until_server_has_read`).

mod common;

#[path = "sharing/support.rs"]
mod support;

#[path = "sharing/core_debug.rs"]
mod core_debug;

#[path = "sharing/hello_first.rs"]
mod hello_first;

#[path = "sharing/counting.rs"]
mod counting;

#[path = "sharing/death.rs"]
mod death;

#[path = "sharing/locking.rs"]
mod locking;

#[path = "sharing/fairness.rs"]
mod fairness;

#[path = "sharing/power.rs"]
mod power;

#[path = "sharing/errors.rs"]
mod errors;

#[path = "sharing/concurrency.rs"]
mod concurrency;
