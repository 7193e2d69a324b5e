//! Fault injection (issue 14, part 2): the emulated firmware and the
//! virtual target misbehave on purpose (`sim::faults`,
//! `sim::dap_firmware::FaultHandle`), and each test asserts what a client
//! relies on: the exact status and message to the client whose transfer
//! failed, every other client's work answered and correct, the probe usable
//! again afterwards (or retired with status 2 when it is gone), and nothing
//! left behind (clients, lock, open and connect counts back to zero).
//!
//! Faults are armed through the in-process server's handles: no request a
//! network peer can send arms one.

mod common;

#[path = "faults/acks.rs"]
mod acks;

#[path = "faults/replies.rs"]
mod replies;

#[path = "faults/unplug.rs"]
mod unplug;
