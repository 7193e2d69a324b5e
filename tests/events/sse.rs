//! The same events over the management API: `GET /events` as
//! Server-Sent Events, filtered by probe and kind, bounded in streams, and
//! given up when the client goes.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};

use serde_json::Value;

use crate::common::farm::{http, managed_farm, sim_entries};
use crate::common::{wait_until, Client, DEADLINE};

/// One `GET /events` stream.
struct EventStream {
    reader: BufReader<TcpStream>,
}

impl EventStream {
    /// Opens the stream; the response must be 200 with `text/event-stream`.
    fn open(management: SocketAddr, query: &str) -> EventStream {
        let mut stream = TcpStream::connect(management).expect("connect");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        write!(stream, "GET /events{query} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        while !head.ends_with("\r\n\r\n") {
            let n = reader.read_line(&mut head).expect("response head");
            assert!(n > 0, "closed before the head ended: {head:?}");
        }
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert!(
            head.contains("Content-Type: text/event-stream\r\n"),
            "{head}"
        );
        EventStream { reader }
    }

    /// The next event (comments skipped).
    fn next(&mut self) -> Value {
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("an event in time");
            assert!(n > 0, "the stream ended");
            let Some(data) = line.strip_prefix("data: ") else {
                assert!(line == "\n" || line.starts_with(':'), "{line:?}");
                continue;
            };
            return serde_json::from_str(data.trim_end()).expect("JSON data");
        }
    }
}

fn summary(event: &Value) -> String {
    format!(
        "{} {} {}",
        event["probe"].as_str().unwrap_or("-"),
        event["event"].as_str().unwrap(),
        event["what"].as_str().unwrap_or("-")
    )
}

#[test]
fn sse_streams_the_farms_events_filtered_by_probe_and_kind() {
    let (farm, management, config) = managed_farm(&sim_entries(&["a", "b"]), false);
    let api = management.local_addr();
    let port = |index: usize| config.probes[index].port;
    let addr = |index: usize| SocketAddr::from(([127, 0, 0, 1], port(index)));

    let mut only_a = EventStream::open(api, "?probe=sim%3Aa&kind=client,probe");
    let mut everything = EventStream::open(api, "");
    assert_eq!(summary(&only_a.next()), "sim:a probe present");
    let greeted = [everything.next(), everything.next()];
    assert_eq!(
        greeted.each_ref().map(summary),
        ["sim:a probe present", "sim:b probe present"]
    );
    assert!(greeted.iter().all(|e| e["current"] == true));

    let on_b = Client::hello(addr(1));
    let on_a = Client::hello(addr(0));
    assert_eq!(summary(&everything.next()), "sim:b client joined");
    assert_eq!(summary(&everything.next()), "sim:a client joined");
    let joined = only_a.next();
    assert_eq!(summary(&joined), "sim:a client joined");
    assert_eq!(
        joined["peer"],
        on_a.stream.local_addr().unwrap().to_string()
    );

    let (status, metrics) = http(api, "GET", "/metrics");
    assert_eq!(status, 200);
    let value = |name: &str| -> u64 {
        let line = metrics
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    // Two joins (one heard by both streams): each counted once.
    assert_eq!(
        value("probeshare_events_published_total{kind=\"client\"}"),
        2
    );
    assert_eq!(value("probeshare_events_dropped_total"), 0);
    assert_eq!(value("probeshare_target_polls_total{probe=\"sim:a\"}"), 0);

    let (status, _) = http(api, "POST", "/probes/sim:a/unplug");
    assert_eq!(status, 200);
    assert_eq!(summary(&only_a.next()), "sim:a probe unplugged");
    let retired = only_a.next();
    assert_eq!(summary(&retired), "sim:a probe retired");
    assert_eq!(retired["reason"], "unplugged");
    let (status, _) = http(api, "POST", "/probes/sim:a/replug");
    assert_eq!(status, 200);
    let mut after = only_a.next();
    if summary(&after) == "sim:a client left" {
        // The unplugged server's client, closed when it retired.
        after = only_a.next();
    }
    assert_eq!(summary(&after), "sim:a probe replugged");
    drop((on_a, on_b, farm));
}

#[test]
fn a_bad_filter_is_refused_with_its_reason_and_streams_are_bounded() {
    let (farm, management, _) = managed_farm(&sim_entries(&["a"]), false);
    let api = management.local_addr();
    let (status, body) = http(api, "GET", "/events?kind=halts");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unknown event kind 'halts'"), "{body}");
    let (status, body) = http(api, "POST", "/events");
    assert_eq!(status, 405, "{body}");

    let streams: Vec<EventStream> = (0..32)
        .map(|_| EventStream::open(api, "?kind=probe,client"))
        .collect();
    let (status, body) = http(api, "GET", "/events");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("too many event streams (at most 32)"),
        "{body}"
    );
    let bus = farm.lock().events().clone();
    assert_eq!(bus.subscribers(), 32);

    // A client that goes is noticed at the next write, and its place freed.
    drop(streams);
    let probe_port = farm.lock().addresses()[0].1;
    wait_until("the streams to notice their clients left", || {
        drop(Client::hello(probe_port));
        bus.subscribers() == 0
    });
    let mut again = EventStream::open(api, "?kind=probe,client");
    assert_eq!(summary(&again.next()), "sim:a probe present");
}
