//! The debug port as the sharing layers see it: ADIv5 DP/AP and ARMv7-M
//! debug register facts (`registers`) and each client's own view of the
//! port (`view`, docs/protocol.md, Sharing, rule 9). Pure: no probe calls, no I/O.

pub mod registers;
pub mod view;

pub use view::{ApView, ClientView, MemoryAccesses};
