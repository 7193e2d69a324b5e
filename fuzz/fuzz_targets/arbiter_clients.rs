//! Up to four clients come and go and send random requests to one probe
//! (the arbiter, the worker's `Runner` and the virtual target, with probe
//! failures injected), while the worker runs batches at random moments,
//! register windows expire and the worker may be lost. Checked after
//! every step and at the end:
//!
//! - every request is answered exactly once, to the connection that sent
//!   it, with an answer of its request's shape, and the connection's
//!   `ResponseQueue` hands the answers out in request order;
//! - no lock or reference is held by a client that left, and the counts
//!   are the sum of the live clients' references;
//! - nothing stays unanswered except behind another live client's lock;
//! - once every client has left, the counts are back to zero, the lock is
//!   free, the wire is down and the probe closed.
//!
//! Input: options (in-flight limit, fault rate), a seed, then actions.

#![no_main]

use std::collections::HashMap;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use probeshare::arbiter::{Outcome, Request, SharingError};
use probeshare::ids::{ClientId, Ticket};
use probeshare::server::fuzzing::{RequestTag, ResponseQueue};
use probeshare_fuzz::bench::{Faults, ProbeBench, Reply};
use probeshare_fuzz::input::Input;
use probeshare_fuzz::requests::{answers, request};

const CLIENTS: u64 = 4;

/// One connection of a client id, as the server's `Connection` keeps it.
struct Connection {
    queue: ResponseQueue,
    /// Requests not answered yet, by ticket.
    outstanding: HashMap<Ticket, Request>,
    /// How many answers the queue has handed out, in order.
    delivered: i64,
    submitted: i64,
}

impl Connection {
    fn new() -> Connection {
        Connection {
            queue: ResponseQueue::default(),
            outstanding: HashMap::new(),
            delivered: 0,
            submitted: 0,
        }
    }
}

struct World {
    bench: ProbeBench,
    connections: HashMap<ClientId, Connection>,
    replies: Vec<Reply>,
}

impl World {
    fn connect(&mut self, client: ClientId) {
        // A reused id: the server drops the old connection first.
        self.connections.insert(client, Connection::new());
        self.bench.arbiter.add_client(client);
    }

    fn leave(&mut self, client: ClientId) {
        if self.connections.remove(&client).is_some() {
            self.bench.arbiter.remove_client(client);
        }
    }

    fn submit(&mut self, client: ClientId, request: Request) {
        if !self.connections.contains_key(&client) {
            self.connect(client);
        }
        let connection = self.connections.get_mut(&client).unwrap();
        let tag = RequestTag {
            name: "fuzz",
            framed_at: Instant::now(),
        };
        let ticket = connection.queue.reserve(connection.submitted, 0, tag);
        connection.submitted += 1;
        connection.outstanding.insert(ticket, request.clone());
        self.bench.arbiter.submit(client, ticket, request);
    }

    /// Hands every reply to its connection and checks it.
    fn deliver(&mut self) {
        for Reply {
            client,
            ticket,
            outcome,
        } in self.replies.drain(..)
        {
            let connection = self
                .connections
                .get_mut(&client)
                .unwrap_or_else(|| panic!("a reply to {client:?}, which has left"));
            let request = connection.outstanding.remove(&ticket).unwrap_or_else(|| {
                panic!(
                    "{client:?}: ticket {} answered twice or never given",
                    ticket.0
                )
            });
            let fits = match &outcome {
                Outcome::Ok(output) => answers(&request, output),
                Outcome::Probe(_) => !matches!(request, Request::Lock | Request::Unlock),
                Outcome::Sharing(refusal) => matches!(
                    (&request, refusal),
                    (Request::Unlock, SharingError::NotLockHolder)
                        | (Request::Probe(_), SharingError::CloseWithoutOpen)
                        | (Request::Probe(_), SharingError::DisconnectWithoutConnect)
                        | (Request::Probe(_), SharingError::ProtocolConflict(_))
                ),
            };
            assert!(fits, "{client:?}: {request:?} answered {outcome:?}");
            let filled = connection.queue.fill(ticket, |out, key| {
                out.extend_from_slice(&key.to_le_bytes());
            });
            assert!(filled.is_some(), "the slot of ticket {} refused", ticket.0);
            let mut written = Vec::new();
            connection.queue.write_to(&mut written).unwrap();
            for key in written.chunks_exact(8) {
                let key = i64::from_le_bytes(key.try_into().unwrap());
                assert_eq!(
                    key, connection.delivered,
                    "{client:?}: answers out of order"
                );
                connection.delivered += 1;
            }
        }
    }

    fn check_counts(&self) {
        let arbiter = &self.bench.arbiter;
        if let Some(holder) = arbiter.lock_holder() {
            assert!(
                self.connections.contains_key(&holder),
                "{holder:?} left holding the lock"
            );
        }
        let (mut opens, mut connects) = (0, 0);
        for id in 1..=CLIENTS {
            let client = ClientId(id);
            let (o, c) = arbiter.references_of(client);
            if !self.connections.contains_key(&client) {
                assert_eq!((o, c), (0, 0), "{client:?} left holding references");
            }
            opens += o;
            connects += c;
        }
        assert_eq!(arbiter.open_count(), opens);
        assert_eq!(arbiter.connect_count(), connects);
    }

    fn settle(&mut self) {
        self.bench.settle(&mut self.replies);
        self.deliver();
        self.check_counts();
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let options = input.byte();
    let max_in_flight = [1, 2, 4, 64][usize::from(options & 3)];
    let fault_rate = (options >> 2) * 4;
    let seed = input.u32();
    let mut world = World {
        bench: ProbeBench::new(max_in_flight, Faults::new(seed, fault_rate)),
        connections: HashMap::new(),
        replies: Vec::new(),
    };

    let mut steps = 0;
    while !input.is_empty() && steps < 2000 {
        steps += 1;
        let action = input.byte();
        let client = ClientId(u64::from(input.byte()) % CLIENTS + 1);
        match action % 10 {
            0 => world.connect(client),
            1 => world.leave(client),
            2..=4 => {
                let request = request(&mut input);
                world.submit(client, request);
            }
            5 => world.bench.poll(&mut world.replies),
            6 => {
                world.bench.run_batch();
            }
            7 => {
                if let Some(window) = world.bench.arbiter.register_window() {
                    world.bench.arbiter.expire_register_window(window.id);
                }
            }
            8 => {
                if world.connections.contains_key(&client) {
                    world.bench.arbiter.observe_wire(client);
                }
            }
            _ if action == 0xFF => world.bench.worker_lost(),
            _ => {
                world.bench.poll(&mut world.replies);
                world.bench.run_batch();
            }
        }
        world.deliver();
        world.check_counts();
    }

    // Whatever is still waiting must be behind a live client's register
    // window or lock: expire the windows (as the server's clock does) and
    // let the lock holders go one by one until every request is answered.
    *world.bench.faults() = Faults::none();
    loop {
        world.settle();
        let waiting: Vec<ClientId> = world
            .connections
            .iter()
            .filter(|(_, c)| !c.outstanding.is_empty())
            .map(|(&id, _)| id)
            .collect();
        if waiting.is_empty() {
            break;
        }
        if let Some(window) = world.bench.arbiter.register_window() {
            assert!(world.connections.contains_key(&window.client));
            assert!(world.bench.arbiter.expire_register_window(window.id));
            continue;
        }
        let holder = world.bench.arbiter.lock_holder().unwrap_or_else(|| {
            panic!(
                "{waiting:?} wait with no lock held: {:#?}",
                world.bench.arbiter
            )
        });
        assert!(
            !waiting.contains(&holder),
            "the lock holder's requests wait"
        );
        world.leave(holder);
    }
    for connection in world.connections.values() {
        assert_eq!(connection.delivered, connection.submitted);
    }

    let clients: Vec<ClientId> = world.connections.keys().copied().collect();
    for client in clients {
        world.leave(client);
    }
    world.settle();
    let arbiter = &world.bench.arbiter;
    assert!(arbiter.is_idle(), "work left after every client left");
    assert_eq!((arbiter.open_count(), arbiter.connect_count()), (0, 0));
    assert_eq!(arbiter.lock_holder(), None);
    assert_eq!(arbiter.wire_protocol(), None, "the wire is up for nobody");
    assert!(!arbiter.is_open(), "the probe is open for nobody");
});
