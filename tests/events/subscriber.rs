//! A subscriber on a probe port (`subscribe`, docs/protocol.md, "Events")
//! and what the event tests read from it.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::Client;

/// A connection that said `hello` and `subscribe`.
pub struct Subscriber {
    pub client: Client,
}

impl Subscriber {
    /// Subscribes to `kinds`; the answer names the probe and the kinds.
    pub fn start(addr: SocketAddr, kinds: &[&str]) -> Subscriber {
        let mut client = Client::hello(addr);
        let result = client.ok("subscribe", json!([kinds]));
        assert_eq!(result["probe"], "sim", "{result}");
        for kind in kinds {
            assert!(
                result["kinds"].as_array().unwrap().contains(&json!(kind)),
                "{result}"
            );
        }
        Subscriber { client }
    }

    /// The next event (fails the test after the deadline).
    pub fn next(&mut self) -> Value {
        let event = self.client.recv();
        assert!(event["event"].is_string(), "not an event: {event}");
        event
    }

    /// Reads until an event `matches`; returns it and those read before.
    pub fn until(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let event = self.client.try_recv().unwrap_or_else(|| {
                panic!("no {what} within the deadline; events before: {before:?}")
            });
            if matches(&event) {
                return (event, before);
            }
            before.push(event);
        }
    }

    /// Reads events until `what` of `kind`; returns it.
    pub fn until_is(&mut self, kind: &str, what: &str) -> Value {
        self.until(&format!("{kind} {what}"), |e| is(e, kind, what))
            .0
    }

    /// Every event that arrives within `window` (a negative check: this is
    /// never a way to wait for something).
    pub fn within(&mut self, window: Duration) -> Vec<Value> {
        self.client.stream.set_read_timeout(Some(window)).unwrap();
        let mut events = Vec::new();
        while let Some(event) = self.client.try_recv() {
            events.push(event);
        }
        self.client
            .stream
            .set_read_timeout(Some(crate::common::DEADLINE))
            .unwrap();
        events
    }
}

/// Whether `event` is `what` of `kind`.
pub fn is(event: &Value, kind: &str, what: &str) -> bool {
    event["event"] == kind && event["what"] == what
}
