//! Which client's request is considered next.
//!
//! Every client with queued requests has a *head sequence number*, taken
//! from one counter when its current head became its head (it was queued
//! into an empty queue, or the request before it was taken). The next head
//! is the one with the smallest number. That single order gives round-robin
//! across busy clients (a client that was just served goes to the back),
//! FIFO grants of waiting `lock`s, and arrival order for requests held up by
//! someone else's lock. Clients with empty queues have no entry at all, so
//! idle connections cost nothing per pick.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::ids::ClientId;

/// Per-client FIFOs of `T`, ordered across clients by head sequence.
#[derive(Debug)]
pub(super) struct Schedule<T> {
    queues: HashMap<ClientId, Queue<T>>,
    heads: BTreeSet<(u64, ClientId)>,
    next_seq: u64,
    queued: usize,
}

#[derive(Debug)]
struct Queue<T> {
    items: VecDeque<T>,
    head_seq: u64,
}

impl<T> Default for Schedule<T> {
    fn default() -> Self {
        Schedule {
            queues: HashMap::new(),
            heads: BTreeSet::new(),
            next_seq: 0,
            queued: 0,
        }
    }
}

impl<T> Schedule<T> {
    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Appends to the client's queue.
    pub fn push(&mut self, client: ClientId, item: T) {
        self.queued += 1;
        if let Some(queue) = self.queues.get_mut(&client) {
            queue.items.push_back(item);
            return;
        }
        let head_seq = self.take_seq();
        self.heads.insert((head_seq, client));
        self.queues.insert(
            client,
            Queue {
                items: VecDeque::from([item]),
                head_seq,
            },
        );
    }

    /// The client whose head goes next. While `only` names a client (the
    /// lock holder), nobody else is eligible.
    pub fn next(&self, only: Option<ClientId>) -> Option<ClientId> {
        match only {
            Some(client) => self.queues.contains_key(&client).then_some(client),
            None => self.heads.first().map(|&(_, client)| client),
        }
    }

    /// Every client with something queued, longest-waiting head first.
    pub fn waiting_clients(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.heads.iter().map(|&(_, client)| client)
    }

    pub fn head(&self, client: ClientId) -> Option<&T> {
        self.queues.get(&client).and_then(|q| q.items.front())
    }

    /// Takes the client's head; the request behind it becomes the new head
    /// and goes to the back of the order.
    pub fn pop(&mut self, client: ClientId) -> Option<T> {
        let queue = self.queues.get_mut(&client)?;
        let item = queue.items.pop_front()?;
        self.queued -= 1;
        self.heads.remove(&(queue.head_seq, client));
        if queue.items.is_empty() {
            self.queues.remove(&client);
        } else {
            let seq = self.next_seq;
            self.next_seq += 1;
            queue.head_seq = seq;
            self.heads.insert((seq, client));
        }
        Some(item)
    }

    /// Forgets everything the client queued.
    pub fn drop_client(&mut self, client: ClientId) {
        if let Some(queue) = self.queues.remove(&client) {
            self.heads.remove(&(queue.head_seq, client));
            self.queued -= queue.items.len();
        }
    }

    /// Number of queued items over all clients.
    pub fn len(&self) -> usize {
        self.queued
    }

    pub fn is_empty(&self) -> bool {
        self.queued == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(schedule: &mut Schedule<&'static str>, only: Option<ClientId>) -> Vec<&'static str> {
        let mut order = Vec::new();
        while let Some(client) = schedule.next(only) {
            order.extend(schedule.pop(client));
        }
        order
    }

    #[test]
    fn busy_clients_take_turns() {
        let mut s = Schedule::default();
        for item in ["a1", "a2", "a3"] {
            s.push(ClientId(1), item);
        }
        for item in ["b1", "b2"] {
            s.push(ClientId(2), item);
        }
        assert_eq!(drain(&mut s, None), ["a1", "b1", "a2", "b2", "a3"]);
        assert!(s.is_empty());
    }

    #[test]
    fn only_the_named_client_is_eligible() {
        let mut s = Schedule::default();
        s.push(ClientId(1), "a1");
        s.push(ClientId(2), "b1");
        s.push(ClientId(2), "b2");
        assert_eq!(drain(&mut s, Some(ClientId(2))), ["b1", "b2"]);
        assert_eq!(s.next(Some(ClientId(2))), None);
        assert_eq!(drain(&mut s, None), ["a1"]);
    }

    #[test]
    fn dropped_client_leaves_no_trace() {
        let mut s = Schedule::default();
        s.push(ClientId(1), "a1");
        s.push(ClientId(2), "b1");
        s.push(ClientId(2), "b2");
        s.drop_client(ClientId(2));
        assert_eq!(s.len(), 1);
        assert_eq!(drain(&mut s, None), ["a1"]);
    }
}
