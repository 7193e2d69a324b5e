//! A subscriber that does not read costs bounded memory: its queue stops
//! at `QUEUE_CAPACITY` lines, the oldest go, and once it reads, a
//! `dropped` event says how many it lost. Nothing is lost unreported.

use serde_json::json;

use crate::common::{start_server, wait_until, Client};
use crate::subscriber::Subscriber;
use probeshare::events::QUEUE_CAPACITY;

/// `lock`/`unlock` pairs sent per batch, and batches: 2 events a pair,
/// far more than the queue, the write buffer and the sockets hold.
const PAIRS_PER_BATCH: usize = 1000;
const BATCHES: usize = 60;

#[test]
fn a_subscriber_that_does_not_read_keeps_a_bounded_queue_and_learns_what_it_lost() {
    let server = start_server();
    let addr = server.local_addr();
    let mut subscriber = Subscriber::start(addr, &["lock"]);
    let mut busy = Client::hello(addr);
    let mut most_queued = 0;
    for _ in 0..BATCHES {
        let requests: Vec<(&str, serde_json::Value)> = (0..PAIRS_PER_BATCH)
            .flat_map(|_| [("lock", json!([])), ("unlock", json!([]))])
            .collect();
        for id in busy.pipeline(&requests) {
            busy.recv_ok(id);
        }
        most_queued = most_queued.max(server.status().queued_events);
    }
    let published = (BATCHES * PAIRS_PER_BATCH * 2) as u64;
    wait_until("every lock event published", || {
        server.events().counts().published[2] == published
    });
    assert!(
        most_queued <= QUEUE_CAPACITY,
        "{most_queued} lines queued for one subscriber"
    );
    assert!(server.events().counts().dropped > 0, "nothing was dropped");

    // Now it reads: what arrives plus what it is told it lost is all.
    let mut received = 0u64;
    let mut reported_lost = 0u64;
    let mut drops_reported = 0;
    while received + reported_lost < published {
        let event = subscriber.next();
        match event["event"].as_str() {
            Some("lock") => received += 1,
            Some("dropped") => {
                reported_lost += event["count"].as_u64().expect("a count");
                drops_reported += 1;
                assert_eq!(event["probe"], "sim");
            }
            _ => panic!("unexpected {event}"),
        }
    }
    assert_eq!(received + reported_lost, published);
    assert!(drops_reported >= 1);
    assert_eq!(reported_lost, server.events().counts().dropped);
    // The stream goes on as usual.
    busy.ok("lock", json!([]));
    let granted = subscriber.next();
    assert_eq!(
        (&granted["event"], &granted["what"]),
        (&json!("lock"), &json!("granted"))
    );
}
