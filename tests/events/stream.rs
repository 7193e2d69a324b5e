//! The stream itself: the `subscribe` request and its errors, every kind
//! of event in the order things happened, what a subscriber's connection
//! does with input, and its end.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::common::{start_server, wait_until, Client};
use crate::core_debug::*;
use crate::subscriber::{is, Subscriber};
use crate::support::*;
use probeshare::events::{Event, SessionChange, SessionEvent};

/// `2026-12-05T16:01:02.345Z`: RFC 3339, UTC, milliseconds.
fn assert_rfc3339_millis(time: &Value) {
    let text = time.as_str().unwrap_or_else(|| panic!("time {time}"));
    let bytes = text.as_bytes();
    let digits =
        |range: std::ops::Range<usize>| range.map(|i| bytes[i]).all(|b| b.is_ascii_digit());
    assert_eq!(bytes.len(), 24, "{text}");
    assert!(
        digits(0..4) && digits(5..7) && digits(8..10) && digits(11..13) && digits(14..16),
        "{text}"
    );
    assert!(digits(17..19) && digits(20..23), "{text}");
    assert_eq!(
        [bytes[4], bytes[7], bytes[10], bytes[13], bytes[16], bytes[19], bytes[23]],
        *b"--T::.Z",
        "{text}"
    );
}

#[test]
fn subscribe_needs_hello_and_known_kinds() {
    let server = start_server();
    let mut client = Client::connect(server.local_addr());
    let error = client.err("subscribe", json!([["target"]]), 1);
    assert_eq!(error, "hello required");
    client.ok("hello", json!([1]));
    let error = client.err("subscribe", json!([["target", "halts"]]), 1);
    assert_eq!(
        error,
        "invalid argument 'kinds' of subscribe: element 1: unknown event kind 'halts' \
         (expected one of probe, client, lock, session, target)"
    );
    let error = client.err("subscribe", json!([[]]), 1);
    assert!(error.contains("at least one event kind"), "{error}");
    let error = client.err("subscribe", json!(["target"]), 1);
    assert!(error.contains("expected a list"), "{error}");
    // Refused, the connection still answers requests.
    assert_eq!(client.ok("readprop", json!(["unique_id"])), "sim");
}

#[test]
fn a_subscriber_is_greeted_then_hears_only_events_whatever_it_sends() {
    let server = start_server();
    let addr = server.local_addr();
    let mut subscriber = Subscriber::start(addr, &["probe", "client"]);
    let greeting = subscriber.next();
    assert!(is(&greeting, "probe", "present"), "{greeting}");
    assert_eq!(greeting["current"], true);
    assert_eq!(greeting["probe"], "sim");
    assert_rfc3339_millis(&greeting["time"]);

    // Requests after `subscribe` are no requests: nothing answers them.
    // Their bytes are still counted as received.
    let received = server.status().traffic.received_bytes;
    let junk = b"not even json";
    subscriber.client.send("readprop", json!(["unique_id"]));
    subscriber.client.send_line(junk);
    wait_until("the junk counted as received", || {
        // The junk and its LF, at least (the readprop line too, later).
        server.status().traffic.received_bytes > received + junk.len() as u64
    });
    let other = Client::hello(addr);
    let joined = subscriber.next();
    assert!(is(&joined, "client", "joined"), "{joined}");
    assert_eq!(
        joined["peer"],
        other.stream.local_addr().unwrap().to_string()
    );
    assert_eq!(joined["front_end"], "pyocd");
    assert!(joined.get("id").is_none() && joined.get("status").is_none());
    drop(other);
    let left = subscriber.next();
    assert!(is(&left, "client", "left"), "{left}");
    assert_eq!(left["client"], joined["client"]);
}

#[test]
fn every_kind_arrives_in_the_order_it_happened() {
    let server = start_server();
    let addr = server.local_addr();
    let mut subscriber = Subscriber::start(addr, &["probe", "client", "lock", "session", "target"]);
    assert!(is(&subscriber.next(), "probe", "present"));

    let mut a = powered_session(addr);
    write_ap(&mut a, AP_CSW, CSW_WORD);
    a.ok("lock", json!([]));
    a.ok("lock", json!([]));
    let mut b = Client::hello(addr);
    let b_lock = b.send("lock", json!([]));
    b.wait_until_server_has_read();
    halt_core(&mut a);
    a.ok("unlock", json!([]));
    a.ok("unlock", json!([]));
    assert_eq!(b.recv()["id"], b_lock);
    let session = SessionEvent {
        what: SessionChange::Opened,
        session: "s-1".into(),
        holder: "ci-job".into(),
        detail: Map::from_iter([("port".to_owned(), json!(6000))]),
    };
    server.events().publish("sim", Event::Session(session));
    b.ok("unlock", json!([]));
    drop(b);

    let a_peer = a.stream.local_addr().unwrap().to_string();
    let mut seen = Vec::new();
    while !seen.iter().any(|e: &Value| is(e, "client", "left")) {
        seen.push(subscriber.next());
    }
    // The target's power-on reset and run state may be read by the server
    // or by a's halt before it halts: only its halt is of interest here.
    let summary: Vec<String> = seen
        .iter()
        .filter(|e| e["event"] != "target" || e["what"] == "halted")
        .map(|e| {
            format!(
                "{} {}",
                e["event"].as_str().unwrap(),
                e["what"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "client joined",
            "lock granted",
            "client joined",
            "lock waiting",
            "target halted",
            "lock released",
            "lock granted",
            "session opened",
            "lock released",
            "client left",
        ],
        "{seen:#?}"
    );
    let event = |what: &str| seen.iter().find(|e| e["what"] == what).unwrap();
    assert_eq!(event("granted")["peer"], a_peer, "a's outer lock, once");
    assert_eq!(event("waiting")["holder"]["peer"], a_peer);
    let halted = event("halted");
    assert_eq!(halted["read_by"], "client");
    assert_ne!(halted["dhcsr"].as_u64().unwrap() & u64::from(S_HALT), 0);
    let opened = event("opened");
    assert_eq!(
        (&opened["session"], &opened["holder"], &opened["port"]),
        (&json!("s-1"), &json!("ci-job"), &json!(6000))
    );
    let times: Vec<&str> = seen.iter().map(|e| e["time"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "{times:?}");
}

#[test]
fn a_subscriber_that_leaves_is_cleaned_up_and_what_it_held_is_released() {
    let server = start_server();
    let addr = server.local_addr();
    let mut watcher = Subscriber::start(addr, &["client", "lock"]);
    // A client holding the lock turns into a subscriber: the lock goes.
    let mut holder = Client::hello(addr);
    holder.ok("lock", json!([]));
    holder.ok("subscribe", json!([["lock"]]));
    watcher.until_is("lock", "released");
    let mut other = Client::hello(addr);
    other.ok("lock", json!([]));
    other.ok("unlock", json!([]));
    wait_until("two subscribers", || server.status().subscribers == 2);
    assert_eq!(server.events().subscribers(), 2);

    drop(holder);
    wait_until("the subscriber to be gone", || {
        server.status().subscribers == 1 && server.events().subscribers() == 1
    });
    drop(watcher);
    wait_until("no subscriber", || {
        server.status().subscribers == 0 && server.events().subscribers() == 0
    });
    assert_eq!(server.status().clients, 1, "only `other` is left");
}

#[test]
fn an_idle_subscriber_outlives_the_idle_timeout() {
    let server = crate::common::start_server_with(probeshare::server::Limits {
        idle_timeout: Some(Duration::from_millis(200)),
        ..Default::default()
    });
    let addr = server.local_addr();
    let mut subscriber = Subscriber::start(addr, &["client"]);
    let idle = Client::hello(addr);
    assert!(is(&subscriber.next(), "client", "joined"));
    let left = subscriber.until_is("client", "left");
    assert_eq!(left["peer"], idle.stream.local_addr().unwrap().to_string());
    let late = Client::hello(addr);
    assert!(is(&subscriber.next(), "client", "joined"));
    drop(late);
    assert!(is(&subscriber.next(), "client", "left"));
}

#[test]
fn a_retiring_server_tells_its_subscribers_and_closes_them_without_waiting_for_the_grace() {
    let server = start_server();
    let addr = server.local_addr();
    let mut subscriber = Subscriber::start(addr, &["probe", "target"]);
    assert!(is(&subscriber.next(), "probe", "present"));
    let mut client = powered_session(addr);
    write_ap(&mut client, AP_CSW, CSW_WORD);
    let retired_at = std::time::Instant::now();
    server.retire(Duration::from_secs(60), "removed from the configuration");
    let retired = subscriber.until_is("probe", "retired");
    assert_eq!(retired["reason"], "removed from the configuration");
    assert!(subscriber.client.is_closed_by_server());
    assert!(
        retired_at.elapsed() < Duration::from_secs(30),
        "closed at the grace"
    );
    // A client that asks now is told why, as before.
    let error = client.err("read_dp", json!([0]), 2);
    assert!(error.contains("removed from the configuration"), "{error}");
}
