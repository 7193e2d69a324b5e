//! The loop's event streams: connections that sent `subscribe`
//! (docs/protocol.md, "Events").
//!
//! Once every request before its `subscribe` is answered, a connection
//! leaves the arbiter (what it held is released as if it had gone, rule 4)
//! and gets its [`crate::events::Subscription`]. At the end of every turn
//! each subscriber's queued lines are moved to its socket until the socket
//! is full (then WRITABLE brings the loop back) or the queue is empty; the
//! loop never waits for a subscriber. A line published on another thread
//! wakes the loop; the loop's own need not.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::ThreadId;

use mio::Registry;

use super::connection::{Connection, Next};
use super::event_feed::EventFeed;
use super::traffic::Ledger;
use crate::arbiter::Arbiter;
use crate::events::Wake;
use crate::ids::ClientId;

/// The loop's subscribers, and how a line from another thread wakes it.
pub struct Subscribers {
    clients: Vec<ClientId>,
    waker: Arc<mio::Waker>,
    /// The loop's thread, once it runs.
    loop_thread: Option<ThreadId>,
}

impl Subscribers {
    pub fn new(waker: Arc<mio::Waker>) -> Subscribers {
        Subscribers {
            clients: Vec::new(),
            waker,
            loop_thread: None,
        }
    }

    /// Call on the loop's thread before it serves.
    pub fn on_loop_thread(&mut self) {
        self.loop_thread = Some(std::thread::current().id());
    }

    /// Where a connection that reads `subscribe` puts itself.
    pub fn joining(&mut self) -> &mut Vec<ClientId> {
        &mut self.clients
    }

    /// Connections that sent `subscribe` (and may not be subscribers yet).
    pub fn clients(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.clients.iter().copied()
    }

    /// Makes subscribers of the connections ready to be, and moves each
    /// subscriber's queued lines to its socket; a connection to close is
    /// put in `touched`, whose flush closes it. True if a connection left
    /// the arbiter (what it held was released, so the arbiter is to be
    /// asked again).
    pub fn pump(
        &mut self,
        conns: &mut HashMap<ClientId, Connection>,
        arbiter: &mut Arbiter,
        feed: &EventFeed,
        registry: &Registry,
        ledger: &mut Ledger,
        touched: &mut Vec<ClientId>,
    ) -> bool {
        let mut released = false;
        let mut at = 0;
        while let Some(&client) = self.clients.get(at) {
            let Some(conn) = conns.get_mut(&client) else {
                self.clients.swap_remove(at);
                continue;
            };
            at += 1;
            if let Some(kinds) = conn.ready_to_subscribe() {
                arbiter.remove_client(client);
                released = true;
                let wake = loop_wake(self.waker.clone(), self.loop_thread);
                conn.start_events(feed.subscribe(kinds, Some(wake)));
            }
            loop {
                if conn.has_unwritten() {
                    if conn.flush(registry, ledger) == Next::Close {
                        touched.push(client);
                        break;
                    }
                    if conn.has_unwritten() {
                        break;
                    }
                }
                if !conn.pump_events() {
                    break;
                }
            }
        }
        released
    }
}

/// What a subscriber's queue calls when it gets a line while empty: wake
/// the loop, unless the line comes from the loop itself, which pumps its
/// subscribers before it next sleeps.
fn loop_wake(waker: Arc<mio::Waker>, loop_thread: Option<ThreadId>) -> Wake {
    Box::new(move || {
        if Some(std::thread::current().id()) != loop_thread {
            let _ = waker.wake();
        }
    })
}
