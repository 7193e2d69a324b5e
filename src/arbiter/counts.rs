//! What each client holds: `open` and `connect` references, and the lock.
//!
//! Only clients that hold something have an entry, so idle connections cost
//! nothing here. These types only count; deciding what the hardware must do
//! when a count moves is the arbiter's job.

use std::collections::HashMap;

use crate::ids::ClientId;

/// `open` and `connect` references, per client and in total.
#[derive(Debug, Default)]
pub(super) struct References {
    per_client: HashMap<ClientId, Held>,
    total: Held,
}

/// The references of one client (or, summed, of all of them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Held {
    pub opens: u64,
    pub connects: u64,
}

/// Which of the two counted references.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Open,
    Connect,
}

impl Held {
    fn is_empty(self) -> bool {
        self.opens == 0 && self.connects == 0
    }

    fn count_mut(&mut self, kind: Kind) -> &mut u64 {
        match kind {
            Kind::Open => &mut self.opens,
            Kind::Connect => &mut self.connects,
        }
    }

    fn count(self, kind: Kind) -> u64 {
        match kind {
            Kind::Open => self.opens,
            Kind::Connect => self.connects,
        }
    }
}

impl References {
    pub fn of(&self, client: ClientId) -> Held {
        self.per_client.get(&client).copied().unwrap_or_default()
    }

    pub fn total(&self) -> Held {
        self.total
    }

    pub fn add(&mut self, client: ClientId, kind: Kind) {
        *self.per_client.entry(client).or_default().count_mut(kind) += 1;
        *self.total.count_mut(kind) += 1;
    }

    /// Drops one reference; false (and nothing changes) when the client
    /// holds none of this kind.
    pub fn release(&mut self, client: ClientId, kind: Kind) -> bool {
        let Some(held) = self.per_client.get_mut(&client) else {
            return false;
        };
        let count = held.count_mut(kind);
        if *count == 0 {
            return false;
        }
        *count -= 1;
        let now_empty = held.is_empty();
        *self.total.count_mut(kind) -= 1;
        if now_empty {
            self.per_client.remove(&client);
        }
        true
    }

    /// Drops every reference the client holds (it is gone).
    pub fn release_all(&mut self, client: ClientId) {
        if let Some(held) = self.per_client.remove(&client) {
            self.total.opens -= held.opens;
            self.total.connects -= held.connects;
        }
    }

    /// True when `client` is the only holder left of `kind` references and
    /// holds exactly one, i.e. releasing it takes the total to zero.
    pub fn is_last(&self, client: ClientId, kind: Kind) -> bool {
        self.total.count(kind) == 1 && self.of(client).count(kind) == 1
    }

    /// True when some client other than `client` holds a `connect`.
    pub fn others_connected(&self, client: ClientId) -> bool {
        self.total.connects > self.of(client).connects
    }
}

/// The probe lock: one holder at a time, re-entrant for that holder.
#[derive(Debug, Default)]
pub(super) struct Lock {
    held: Option<(ClientId, u64)>,
}

impl Lock {
    pub fn holder(&self) -> Option<ClientId> {
        self.held.map(|(client, _)| client)
    }

    /// Takes the lock, or nests one level deeper for its holder. The
    /// scheduler never offers another client's request while the lock is
    /// held, so a request from anyone else cannot reach here.
    pub fn acquire(&mut self, client: ClientId) {
        match &mut self.held {
            Some((holder, depth)) if *holder == client => *depth += 1,
            Some(_) => {}
            None => self.held = Some((client, 1)),
        }
    }

    /// Undoes one `acquire`; false (and nothing changes) for a non-holder.
    pub fn release(&mut self, client: ClientId) -> bool {
        match &mut self.held {
            Some((holder, depth)) if *holder == client => {
                *depth -= 1;
                if *depth == 0 {
                    self.held = None;
                }
                true
            }
            _ => false,
        }
    }

    /// Releases every nesting level the client holds (it is gone).
    pub fn release_all(&mut self, client: ClientId) {
        if self.holder() == Some(client) {
            self.held = None;
        }
    }
}
