//! The bus alone: who hears what, the lines as rendered, the bounded
//! queue and its `dropped` line, greetings, unsubscribing, interest.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};

use super::*;

fn lock_event(id: u64) -> Event {
    Event::Lock {
        what: LockChange::Granted,
        client: ClientRef {
            id,
            peer: SocketAddr::from(([127, 0, 0, 1], 4000)),
            front_end: "pyocd",
        },
        holder: None,
    }
}

fn filter(probes: Option<&[&str]>, kinds: &[EventKind]) -> Filter {
    Filter {
        probes: probes.map(|probes| probes.iter().map(|p| p.to_string()).collect()),
        kinds: kinds.iter().copied().collect(),
    }
}

fn parsed(lines: &[Arc<str>]) -> Vec<Value> {
    lines
        .iter()
        .map(|line| {
            assert!(line.ends_with('\n'), "{line:?}");
            serde_json::from_str(line).unwrap()
        })
        .collect()
}

#[test]
fn a_subscriber_hears_only_its_probes_and_kinds() {
    let bus = EventBus::new();
    let locks_of_a = bus.subscribe(filter(Some(&["a"]), &[EventKind::Lock]), None);
    let everything = bus.subscribe(filter(None, &EventKind::ALL), None);
    bus.publish("a", lock_event(1));
    bus.publish("b", lock_event(2));
    let target = Event::Target {
        what: TargetChange::Halted,
        dhcsr: 0x0003_0003,
        read_by: DhcsrReader::Server,
    };
    bus.publish("a", target);

    let heard = parsed(&locks_of_a.take(10));
    assert_eq!(heard.len(), 1);
    assert_eq!(
        (&heard[0]["probe"], &heard[0]["client"]),
        (&json!("a"), &json!(1))
    );
    let all = parsed(&everything.take(10));
    let summary: Vec<String> = all
        .iter()
        .map(|e| format!("{} {} {}", e["probe"], e["event"], e["what"]))
        .collect();
    assert_eq!(
        summary,
        [
            r#""a" "lock" "granted""#,
            r#""b" "lock" "granted""#,
            r#""a" "target" "halted""#
        ]
    );
    assert_eq!(all[2]["dhcsr"], 0x0003_0003);
    assert_eq!(all[2]["read_by"], "server");
    assert_eq!(all[0]["peer"], "127.0.0.1:4000");
    assert_eq!(all[0]["front_end"], "pyocd");
    let counts = bus.counts();
    assert_eq!(counts.published[EventKind::Lock.index()], 2);
    assert_eq!(counts.published[EventKind::Target.index()], 1);
}

#[test]
fn a_full_queue_drops_the_oldest_and_says_how_many_first() {
    let bus = EventBus::new();
    let subscriber = bus.subscribe(filter(Some(&["a"]), &[EventKind::Lock]), None);
    let extra = 5;
    for id in 0..(QUEUE_CAPACITY + extra) as u64 {
        bus.publish("a", lock_event(id));
    }
    assert_eq!(subscriber.queued(), QUEUE_CAPACITY);
    assert_eq!(bus.counts().dropped, extra as u64);
    let first = parsed(&subscriber.take(2));
    assert_eq!(first.len(), 3, "the dropped line, then two");
    assert_eq!(
        (&first[0]["event"], &first[0]["count"], &first[0]["probe"]),
        (&json!("dropped"), &json!(extra), &json!("a"))
    );
    assert_eq!(first[1]["client"], extra, "the oldest left");
    let next = parsed(&subscriber.take(1));
    assert_eq!(next.len(), 1, "told once");
    assert_eq!(next[0]["client"], extra + 2);
}

#[test]
fn a_subscriber_of_several_probes_is_told_of_drops_without_a_probe() {
    let bus = EventBus::new();
    let subscriber = bus.subscribe(filter(None, &[EventKind::Lock]), None);
    for id in 0..=QUEUE_CAPACITY as u64 {
        bus.publish("a", lock_event(id));
    }
    let lines = parsed(&subscriber.take(1));
    assert_eq!(lines[0]["event"], "dropped");
    assert_eq!(lines[0]["probe"], Value::Null);
}

#[test]
fn a_greeting_comes_before_what_was_published_and_says_it_is_current() {
    let bus = EventBus::new();
    let subscriber = bus.subscribe(filter(None, &[EventKind::Probe, EventKind::Lock]), None);
    bus.publish("a", lock_event(1));
    let present = Event::Probe {
        what: ProbeChange::Present,
        reason: None,
    };
    let unheard = Event::Target {
        what: TargetChange::Running,
        dhcsr: 0,
        read_by: DhcsrReader::Client,
    };
    subscriber.greet(&[("a", present.clone()), ("b", present), ("a", unheard)]);
    let lines = parsed(&subscriber.take(10));
    let summary: Vec<String> = lines
        .iter()
        .map(|e| format!("{} {} {}", e["probe"], e["what"], e["current"]))
        .collect();
    assert_eq!(
        summary,
        [
            r#""a" "present" true"#,
            r#""b" "present" true"#,
            r#""a" "granted" null"#
        ]
    );
}

#[test]
fn dropping_a_subscription_unsubscribes_and_interest_follows() {
    let bus = EventBus::new();
    let mut interest = Interest::new("a");
    assert_eq!(interest.kinds(&bus), KindSet::NONE);
    let subscriber = bus.subscribe(filter(Some(&["a"]), &[EventKind::Target]), None);
    let other_probe = bus.subscribe(filter(Some(&["b"]), &[EventKind::Lock]), None);
    let kinds: Vec<_> = interest.kinds(&bus).iter().collect();
    assert_eq!(kinds, [EventKind::Target]);
    drop(subscriber);
    assert_eq!(interest.kinds(&bus), KindSet::NONE);
    assert_eq!(bus.subscribers(), 1);
    bus.publish("a", lock_event(1));
    assert_eq!(bus.counts().published, [0; 5], "nobody heard it");
    drop(other_probe);
    assert_eq!(bus.subscribers(), 0);
}

#[test]
fn a_waiting_subscriber_wakes_for_a_line_from_another_thread_and_its_wake_is_called_once() {
    let bus = EventBus::new();
    let (woken, wakes) = std::sync::mpsc::channel();
    let wake: Wake = Box::new(move || {
        let _ = woken.send(());
    });
    let subscriber = bus.subscribe(filter(None, &[EventKind::Lock]), Some(wake));
    assert!(!subscriber.wait(Duration::from_millis(1)));
    let publisher = {
        let bus = bus.clone();
        std::thread::spawn(move || {
            bus.publish("a", lock_event(1));
            bus.publish("a", lock_event(2));
        })
    };
    assert!(subscriber.wait(Duration::from_secs(20)));
    publisher.join().unwrap();
    assert_eq!(wakes.try_iter().count(), 1, "woken when it was empty only");
    assert_eq!(subscriber.take(10).len(), 2);
}

#[test]
fn a_session_event_carries_its_detail_without_overwriting_the_line() {
    let session = Event::Session(SessionEvent {
        what: SessionChange::Expiring,
        session: "s1".into(),
        holder: "ci".into(),
        detail: Map::from_iter([
            ("expires".to_owned(), json!("2026-12-05T18:00:00.000Z")),
            ("event".to_owned(), json!("not a session")),
        ]),
    });
    let line = session.to_line("p", SystemTime::UNIX_EPOCH, false);
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["event"], "session");
    assert_eq!(event["what"], "expiring");
    assert_eq!(event["expires"], "2026-12-05T18:00:00.000Z");
    assert_eq!(event["time"], "1970-01-01T00:00:00.000Z");
    assert!(event.get("current").is_none());
}

#[test]
fn kinds_parse_by_name_and_times_are_rfc3339_utc_with_milliseconds() {
    for kind in EventKind::ALL {
        assert_eq!(EventKind::parse(kind.name()), Some(kind));
    }
    assert_eq!(EventKind::parse("dropped"), None, "not a kind to pick");
    let time = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_486_462_345);
    assert_eq!(timestamp(time), "2026-12-05T16:01:02.345Z");
}
