//! The management interface's per-probe paths and metrics: listing a
//! probe's clients, kicking them, disabling and enabling the probe, and
//! the Prometheus scrape.

mod common;

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};

use serde_json::{json, Value};

use common::farm::{http, managed_farm, sim_entries};
use common::{wait_until, Client};
use probeshare::config::Config;
use probeshare::management::{ManagementServer, SharedFarm};

fn get_json(addr: SocketAddr, path: &str) -> Value {
    let (status, body) = http(addr, "GET", path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

fn probe_addr(farm: &SharedFarm, config: &Config, index: usize) -> SocketAddr {
    farm.lock()
        .server(&config.probes[index].probe)
        .expect("served")
        .local_addr()
}

/// True once the server has closed `client`'s connection (EOF or reset);
/// a read that times out means it is still open.
fn sees_eof(client: &mut Client) -> bool {
    let mut buf = [0u8; 1];
    match client.stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

#[test]
fn clients_lists_each_connection_with_its_lock_and_references() {
    let (farm, management, config) = start_two();
    let addr = probe_addr(&farm, &config, 0);
    let mut holder = Client::session(addr);
    holder.ok("lock", json!([]));
    let bystander = Client::hello(addr);
    let peer = |c: &Client| c.stream.local_addr().unwrap().to_string();

    let mut list = Value::Null;
    wait_until("both clients and the lock to show", || {
        list = get_json(management.local_addr(), "/probes/sim:alpha/clients");
        list.as_array().is_some_and(|l| l.len() == 2) && list[0]["holds_lock"] == true
    });
    assert_eq!(list[0]["peer"], peer(&holder));
    assert_eq!(list[0]["open_count"], 1);
    assert_eq!(list[0]["connect_count"], 1);
    assert!(list[0]["connected_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(list[1]["peer"], peer(&bystander));
    assert_eq!(list[1]["holds_lock"], false);
    assert_eq!(list[1]["open_count"], 0);
    assert_eq!(
        get_json(management.local_addr(), "/probes/sim:beta/clients"),
        json!([])
    );
}

#[test]
fn kick_drops_every_client_and_new_ones_still_connect() {
    let (farm, management, config) = start_two();
    let addr = probe_addr(&farm, &config, 0);
    let mut first = Client::session(addr);
    first.ok("lock", json!([]));
    let mut second = Client::hello(addr);

    let (status, body) = http(management.local_addr(), "POST", "/probes/sim:alpha/kick");
    assert_eq!(status, 200, "{body}");
    assert!(sees_eof(&mut first), "the lock holder is closed");
    assert!(sees_eof(&mut second), "the other client is closed");

    // The kicked holder's lock and references are gone with it.
    let mut newcomer = Client::session(addr);
    newcomer.ok("lock", json!([]));
    let list = get_json(management.local_addr(), "/probes");
    assert_eq!(list[0]["state"], "present");
}

#[test]
fn disable_closes_the_port_and_enable_serves_it_again() {
    let (farm, management, config) = start_two();
    let addr = probe_addr(&farm, &config, 0);
    let mut client = Client::session(addr);

    let (status, body) = http(management.local_addr(), "POST", "/probes/sim:alpha/disable");
    assert_eq!(status, 200, "{body}");
    wait_until("the port to refuse connections", || {
        TcpStream::connect(addr).is_err()
    });
    let message = client.err("readprop", json!(["vendor_name"]), 2);
    assert!(message.contains("disabled"), "{message}");
    let list = get_json(management.local_addr(), "/probes");
    assert_eq!(list[0]["state"], "disabled");
    assert_eq!(list[1]["state"], "present", "beta is untouched");

    let (status, body) = http(management.local_addr(), "POST", "/probes/sim:alpha/enable");
    assert_eq!(status, 200, "{body}");
    let mut again = Client::session(addr);
    again.ok("lock", json!([]));
    assert_eq!(
        get_json(management.local_addr(), "/probes")[0]["state"],
        "present"
    );
}

#[test]
fn metrics_count_requests_per_probe() {
    let (farm, management, config) = start_two();
    let scrape = || {
        let (status, body) = http(management.local_addr(), "GET", "/metrics");
        assert_eq!(status, 200, "{body}");
        body
    };
    let before = scrape();
    for name in [
        "probeshare_clients{front_end=\"pyocd\",probe=\"sim:alpha\"} 0",
        "probeshare_open_count{probe=\"sim:beta\"} 0",
        "probeshare_connect_count{probe=\"sim:alpha\"} 0",
    ] {
        assert!(before.contains(name), "{name} missing from:\n{before}");
    }
    assert!(!before.contains("probeshare_requests_total{front_end=\"pyocd\",probe=\"sim:alpha\""));

    let _client = Client::session(probe_addr(&farm, &config, 0));
    wait_until("the requests to be counted", || {
        let after = scrape();
        ["hello", "open", "connect"].iter().all(|request| {
            after.contains(&format!(
                "probeshare_requests_total{{front_end=\"pyocd\",probe=\"sim:alpha\",request=\"{request}\",status=\"0\"}} 1"
            ))
        })
            && after.contains("probeshare_open_count{probe=\"sim:alpha\"} 1")
            && after.contains("probeshare_clients{front_end=\"pyocd\",probe=\"sim:alpha\"} 1")
    });
}

#[test]
fn unknown_probes_are_404_and_wrong_methods_405() {
    let (_farm, management, _) = start_two();
    let addr = management.local_addr();
    let (status, body) = http(addr, "POST", "/probes/sim:nope/kick");
    assert_eq!(status, 404);
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
    assert_eq!(http(addr, "GET", "/probes/sim:nope/clients").0, 404);
    assert_eq!(http(addr, "GET", "/probes/sim:alpha/kick").0, 405);
    assert_eq!(http(addr, "POST", "/probes/sim:alpha/clients").0, 405);
    assert_eq!(http(addr, "POST", "/metrics").0, 405);
    assert_eq!(http(addr, "GET", "/probes/sim:alpha/nothing").0, 404);
}

/// The two virtual targets `sim:alpha` and `sim:beta` with management.
fn start_two() -> (SharedFarm, ManagementServer, Config) {
    managed_farm(&sim_entries(&["alpha", "beta"]), false)
}
