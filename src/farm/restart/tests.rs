//! Worker death end to end, through a farm of two virtual targets whose
//! first panics on purpose (`probe::tripwire`): the clients of the dying
//! worker are answered, the other probe never notices, and the rescan
//! serves the probe anew.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::config::{self, ProbeSelector};
use crate::farm::tests::free_port;
use crate::farm::{Farm, FarmOptions};

/// Reading AP 0's IDR through the tripwire panics the worker.
const TRIP: u32 = 0x0000_00FC;
const DEADLINE: Duration = Duration::from_secs(20);

/// A pyOCD-protocol client, one JSON line each way.
struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    next_id: i64,
}

impl Client {
    fn hello(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut client = Client {
            stream,
            reader,
            next_id: 1,
        };
        client.ok("hello", json!([1]));
        client
    }

    fn send(&mut self, request: &str, arguments: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let line = json!({"id": id, "request": request, "arguments": arguments});
        writeln!(self.stream, "{line}").expect("send");
        id
    }

    fn recv(&mut self, id: i64) -> Value {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).expect("answered in time");
        assert!(n > 0, "closed before request {id} was answered");
        let response: Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(response["id"], id, "{response}");
        response
    }

    fn ok(&mut self, request: &str, arguments: Value) -> Value {
        let id = self.send(request, arguments);
        let response = self.recv(id);
        assert_eq!(response["status"], 0, "{request}: {response}");
        response
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn assert_worker_lost(response: &Value) {
    assert_eq!(response["status"], 2, "{response}");
    assert_eq!(
        response["error"], "probe disconnected: internal error",
        "{response}"
    );
}

#[test]
fn a_dead_worker_answers_its_clients_with_status_2_and_the_probe_is_served_anew() {
    let (fragile_port, steady_port) = (free_port(), free_port());
    let text = format!(
        "[[probe]]\nserial = \"sim:fragile\"\nport = {fragile_port}\n\
         [[probe]]\nserial = \"sim:steady\"\nport = {steady_port}\n"
    );
    let config = config::parse(&text, "test.toml").expect("valid configuration");
    let fragile = ProbeSelector::Sim("fragile".into());
    let options = FarmOptions {
        tripwire: Some((fragile.clone(), TRIP)),
        ..FarmOptions::default()
    };
    let farm = Arc::new(Mutex::new(
        Farm::start_with(&config, &options).expect("the farm starts"),
    ));
    Farm::watch_usb(&farm, |_| {}).expect("the rescan starts");

    let mut steady = Client::hello(steady_port);
    steady.ok("open", json!([]));
    steady.ok("connect", json!(["SWD"]));
    let dpidr = steady.ok("read_dp", json!([0]))["result"].clone();

    // A holds the lock, so B's request waits in the arbiter's queue.
    let mut holder = Client::hello(fragile_port);
    holder.ok("open", json!([]));
    holder.ok("connect", json!(["SWD"]));
    holder.ok("lock", json!([]));
    let mut waiter = Client::hello(fragile_port);
    waiter.ok("open", json!([]));
    let queued = waiter.send("read_dp", json!([0]));
    let fragile_status = farm.lock().server(&fragile).expect("served").status_watch();
    wait_until("the waiter's request to be queued", || {
        fragile_status.get().queued == 1
    });

    // In flight when the worker panics.
    let tripping = holder.send("read_ap", json!([TRIP]));
    assert_worker_lost(&holder.recv(tripping));
    assert_worker_lost(&waiter.recv(queued));
    // Published at the end of the loop's turn, after the answers.
    wait_until("the worker's death to be published", || {
        fragile_status.get().worker_died
    });
    // The dying server answers later requests the same way.
    let late = waiter.send("read_dp", json!([0]));
    assert_worker_lost(&waiter.recv(late));

    // The other probe's client never noticed.
    assert_eq!(steady.ok("read_dp", json!([0]))["result"], dpidr);

    wait_until("the probe to be served anew", || {
        let farm = farm.lock();
        farm.worker_deaths(&fragile) == 1 && farm.server(&fragile).is_some_and(|s| !s.worker_died())
    });
    let mut again = Client::hello(fragile_port);
    again.ok("open", json!([]));
    again.ok("connect", json!(["SWD"]));
    assert_eq!(again.ok("read_dp", json!([0]))["result"], dpidr);
    assert_eq!(steady.ok("read_dp", json!([0]))["result"], dpidr);
    drop(farm);
}
