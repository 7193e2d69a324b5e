//! The names that cross layers: which client ([`ClientId`]), which of its
//! requests ([`Ticket`]), which job on the worker ([`JobId`]).
//!
//! They live here, below every layer that passes them (the server chooses
//! client ids and tickets, the arbiter job ids; the worker keeps client
//! state by [`ClientId`]), so each layer imports them without importing
//! another layer. Each is a distinct type, so one cannot be passed where
//! another is meant; the number inside is public, and wrapping or
//! unwrapping one is written out where it happens.

use std::fmt;

/// One client connection, as the server names it to the arbiter and the
/// worker. The server never reuses an id while it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

/// One request of one client, chosen by the server: the arbiter hands it
/// back with the request's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

/// One job between the arbiter and the worker: a [`crate::worker::Job`]
/// and its [`crate::worker::Completion`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// Shown as the bare number, as logs and messages have always shown it.
impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
