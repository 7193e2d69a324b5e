//! The server's own DHCSR reads: none while nobody listens for target
//! events or nobody has the probe connected, none while clients read
//! DHCSR themselves, and never more than one per `target_poll`.

use std::time::{Duration, Instant};

use crate::common::{start_server_with, wait_until, Client};
use crate::core_debug::*;
use crate::subscriber::Subscriber;
use crate::support::*;
use probeshare::server::{Limits, ServerHandle};

const INTERVAL: Duration = Duration::from_millis(100);
/// How long the rate is watched.
const WINDOW: Duration = Duration::from_millis(1500);

fn server() -> ServerHandle {
    start_server_with(Limits {
        target_poll: INTERVAL,
        ..Limits::default()
    })
}

fn polls(server: &ServerHandle) -> u64 {
    server.status().target_polls
}

/// The server's reads over at least `WINDOW`, and how long it really was.
fn polls_over_window(server: &ServerHandle, mut during: impl FnMut()) -> (u64, Duration) {
    let (before, start) = (polls(server), Instant::now());
    while start.elapsed() < WINDOW {
        during();
        std::thread::sleep(Duration::from_millis(10));
    }
    (polls(server) - before, start.elapsed())
}

#[test]
fn nobody_listening_or_nobody_connected_means_no_reads() {
    let server = server();
    let addr = server.local_addr();
    // Listening, but no client has the probe connected: one has it open.
    let subscriber = Subscriber::start(addr, &["target"]);
    let mut opener = Client::hello(addr);
    opener.ok("open", serde_json::json!([]));
    let (idle, _) = polls_over_window(&server, || {});
    assert_eq!(idle, 0, "read with the probe open and nobody connected");
    opener.ok("close", serde_json::json!([]));
    drop(subscriber);
    // Connected, but nobody listens for target events.
    let mut client = powered_session(addr);
    let _lock_listener = Subscriber::start(addr, &["lock", "client"]);
    let (unheard, _) = polls_over_window(&server, || {});
    assert_eq!(unheard, 0, "read with nobody listening for target events");
    client.ok("close", serde_json::json!([]));
}

#[test]
fn reads_are_at_most_one_per_interval_and_stop_when_a_client_reads_or_the_listener_goes() {
    let server = server();
    let addr = server.local_addr();
    let mut client = powered_session(addr);
    write_ap(&mut client, AP_CSW, CSW_WORD);
    let subscriber = Subscriber::start(addr, &["target"]);
    wait_until("the first read", || polls(&server) >= 1);

    let (count, took) = polls_over_window(&server, || {});
    let most = took.as_millis() / INTERVAL.as_millis() + 1;
    assert!(count >= 1, "no read in {took:?}");
    assert!(
        u128::from(count) <= most,
        "{count} reads in {took:?}, at most {most} allowed"
    );

    // A client reading DHCSR: the server reads only where the client left
    // a gap of an interval or more. Each of the client's reads reached the
    // server between its sending and its answer, so a gap between two of
    // them is at most from the one's sending to the next's answer, and
    // holds at most that over the interval of the server's reads; one more
    // may be under way as the window opens, one as it closes.
    write_ap(&mut client, AP_TAR, DHCSR);
    let (before, start) = (polls(&server), Instant::now());
    let mut reads: Vec<(Instant, Instant)> = Vec::new();
    while start.elapsed() < WINDOW {
        let sent = Instant::now();
        read_ap(&mut client, AP_DRW);
        reads.push((sent, Instant::now()));
    }
    let end = Instant::now();
    let while_read = polls(&server) - before;
    let gaps = std::iter::once((start, reads[0].1))
        .chain(reads.windows(2).map(|pair| (pair[0].0, pair[1].1)))
        .chain(std::iter::once((reads[reads.len() - 1].0, end)));
    let allowed: u128 = 2 + gaps
        .map(|(from, to)| (to - from).as_millis() / INTERVAL.as_millis())
        .sum::<u128>();
    assert!(
        u128::from(while_read) <= allowed,
        "{while_read} reads beside {} client reads, at most {allowed} allowed",
        reads.len()
    );

    drop(subscriber);
    wait_until("the listener to be gone", || {
        server.status().subscribers == 0
    });
    let settled = polls(&server);
    let (after, _) = polls_over_window(&server, || {});
    assert_eq!(after, 0, "reads after the listener left (from {settled})");
    let _ = Client::hello(addr);
}
