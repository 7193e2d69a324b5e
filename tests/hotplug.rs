//! Hot-plug: a virtual target unplugged and replugged through the
//! management interface, as a USB probe vanishing and returning would be
//! seen by its clients, and the USB rescan on a machine that may have no
//! USB at all.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::farm::{http, managed_farm};
use common::{free_port, wait_until, Client, DEADLINE, SIM_DPIDR};
use probeshare::config::Config;
use probeshare::farm::{self};
use probeshare::management::{ManagementServer, SharedFarm};

/// How soon a returning probe must be served again.
const REPLUG_DEADLINE: Duration = Duration::from_secs(2);

fn sim_probe(port: u16) -> String {
    format!("[[probe]]\nserial = \"sim:alpha\"\nport = {port}\n")
}

fn probe_state(management: &ManagementServer) -> Value {
    let (status, body) = http(management.local_addr(), "GET", "/probes");
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body).expect("JSON");
    list[0]["state"].clone()
}

#[test]
fn unplugging_fails_clients_with_status_2_and_replugging_serves_new_sessions() {
    let port = free_port();
    let (_farm, management, _config) = start_watching(&sim_probe(port));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut idle = Client::session(addr);
    assert_eq!(idle.ok("read_dp", json!([0])), SIM_DPIDR);
    // Requests on their way when the cable is pulled.
    let mut busy = Client::session(addr);
    let sent: Vec<_> = (0..50).map(|_| busy.send("read_dp", json!([0]))).collect();

    let (status, body) = http(management.local_addr(), "POST", "/probes/sim:alpha/unplug");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["state"],
        "absent"
    );

    // Each in-flight request completes or fails as disconnected; once one
    // has failed the server may close the connection: never a hang.
    let started = Instant::now();
    for _ in &sent {
        let Some(response) = busy.try_recv() else {
            break;
        };
        let status = &response["status"];
        assert!(*status == 0 || *status == 2, "{response}");
    }
    assert!(started.elapsed() < DEADLINE, "in-flight requests hung");

    let message = idle.err("read_dp", json!([0]), 2);
    assert!(message.contains("unplugged"), "{message}");
    assert!(idle.is_closed_by_server(), "then the client is closed");
    assert_eq!(probe_state(&management), "absent");
    wait_until("the port to close", || TcpStream::connect(addr).is_err());

    let (status, body) = http(management.local_addr(), "POST", "/probes/sim:alpha/replug");
    assert_eq!(status, 200, "{body}");
    let replugged = Instant::now();
    let mut again = loop {
        if let Ok(stream) = TcpStream::connect(addr) {
            drop(stream);
            break Client::session(addr);
        }
        assert!(replugged.elapsed() < REPLUG_DEADLINE, "not served again");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(again.ok("read_dp", json!([0])), SIM_DPIDR);
    assert_eq!(probe_state(&management), "present");
}

#[test]
fn unplug_and_replug_refuse_what_they_cannot_do() {
    let port = free_port();
    let usb = format!(
        "{}[[probe]]\nserial = \"NOT-PLUGGED-IN-0001\"\nport = {}\n",
        sim_probe(port),
        free_port()
    );
    let (_farm, management, _config) = start_watching(&usb);
    let addr = management.local_addr();
    assert_eq!(http(addr, "POST", "/probes/sim:nope/unplug").0, 404);
    assert_eq!(http(addr, "GET", "/probes/sim:alpha/unplug").0, 405);
    assert_eq!(http(addr, "GET", "/probes/sim:alpha/replug").0, 405);
    // Not unplugged, so nothing to plug back in.
    assert_eq!(http(addr, "POST", "/probes/sim:alpha/replug").0, 409);
    // A USB probe's cable is real.
    assert_eq!(
        http(addr, "POST", "/probes/NOT-PLUGGED-IN-0001/unplug").0,
        409
    );
    assert_eq!(http(addr, "POST", "/probes/sim:alpha/unplug").0, 200);
    assert_eq!(http(addr, "POST", "/probes/sim:alpha/unplug").0, 409);
}

#[test]
fn an_absent_usb_probe_leaves_the_farm_serving_and_shutdown_prompt() {
    let sim_port = free_port();
    let probes = format!(
        "{}[[probe]]\nserial = \"NOT-PLUGGED-IN-0001\"\nport = {}\n",
        sim_probe(sim_port),
        free_port()
    );
    let (farm, management, config) = start_watching(&probes);
    assert_eq!(farm.lock().skipped(), [config.probes[1].probe.clone()]);
    // The sim probe keeps serving while the rescan lists USB (or finds
    // it unavailable) three times.
    let mut client = Client::session(SocketAddr::from(([127, 0, 0, 1], sim_port)));
    let first = farm.lock().rescans();
    let started = Instant::now();
    while farm.lock().rescans() < first + 3 {
        assert_eq!(client.ok("read_dp", json!([0])), SIM_DPIDR);
        assert!(started.elapsed() < DEADLINE, "the rescan does not run");
    }
    assert!(
        started.elapsed() >= farm::RESCAN_INTERVAL * 2,
        "three rescans in {:?}: faster than one a second",
        started.elapsed()
    );
    let list: Value =
        serde_json::from_str(&http(management.local_addr(), "GET", "/probes").1).expect("JSON");
    assert_eq!(list[1]["state"], "absent");

    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        management.shutdown();
        // The rescan holds the farm only for a moment, while applying a
        // listing.
        let mut shared = farm;
        let farm = loop {
            match Arc::try_unwrap(shared) {
                Ok(farm) => break farm,
                Err(back) => shared = back,
            }
            std::thread::yield_now();
        };
        farm.into_inner().shutdown();
        let _ = done.send(());
    });
    finished
        .recv_timeout(DEADLINE)
        .expect("the farm and its rescan stop promptly");
}

/// A farm of `probes` with management and the USB rescan running.
fn start_watching(probes: &str) -> (SharedFarm, ManagementServer, Config) {
    managed_farm(probes, true)
}
