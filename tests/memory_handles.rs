//! Memory handles (docs/protocol.md, "Memory handles") over real sockets against
//! the virtual target: every access size and alignment, blocks across
//! auto-increment pages, faults, CSW attribute bits, handles per connection,
//! and handle accesses interleaved with another client's AP-level accesses
//! under the lock; and the `probeshare_features` extension that gives
//! handles to clients declaring they can use them (`features.rs`).
//!
//! What a handle access did is checked through an independent path: the
//! same memory read or written with AP register requests (CSW/TAR/DRW), as
//! a client without handles would.

mod common;

#[path = "memory_handles/support.rs"]
mod support;

#[path = "memory_handles/sizes.rs"]
mod sizes;

#[path = "memory_handles/blocks.rs"]
mod blocks;

#[path = "memory_handles/faults.rs"]
mod faults;

#[path = "memory_handles/csw.rs"]
mod csw;

#[path = "memory_handles/sharing.rs"]
mod sharing;

#[path = "memory_handles/features.rs"]
mod features;
