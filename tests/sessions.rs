//! Sessions (docs/protocol.md, "Sessions"; docs/sessions.md): a
//! reservation of a probe with ports of its own, through the management
//! interface, the session commands on its port, and `probeshare session`.

#[path = "sessions/cli.rs"]
mod cli;
#[path = "sessions/commands.rs"]
mod commands;
mod common;
mod e2e;
#[path = "sessions/exclusion.rs"]
mod exclusion;
#[path = "sessions/lifecycle.rs"]
mod lifecycle;
#[path = "sessions/support.rs"]
mod support;
