//! The management interface of `serve --config`: health, and the live
//! state of every configured probe as a JSON list over plain HTTP.

mod common;

use std::net::SocketAddr;

use serde_json::{json, Value};

use common::farm::{http, managed_farm, sim_entries};
use common::{wait_until, Client};

fn probes(addr: SocketAddr) -> Vec<Value> {
    let (status, body) = http(addr, "GET", "/probes");
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body).expect("JSON");
    list.as_array().expect("an array").clone()
}

#[test]
fn healthz_answers_ok() {
    let (_farm, management, _) = managed_farm(&sim_entries(&["alpha", "beta"]), false);
    let (status, body) = http(management.local_addr(), "GET", "/healthz");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"status": "ok"})
    );
}

#[test]
fn probes_lists_every_configured_probe_in_file_order() {
    let (_farm, management, config) = managed_farm(&sim_entries(&["alpha", "beta"]), false);
    let list = probes(management.local_addr());
    let ids: Vec<&Value> = list.iter().map(|probe| &probe["id"]).collect();
    assert_eq!(ids, [&json!("sim:alpha"), &json!("sim:beta")]);
    for (probe, entry) in list.iter().zip(&config.probes) {
        assert_eq!(probe["kind"], "sim");
        assert_eq!(probe["state"], "present");
        assert_eq!(probe["port"], entry.port);
        assert_eq!(probe["bind_address"], format!("127.0.0.1:{}", entry.port));
        assert_eq!(probe["clients"], 0);
        assert_eq!(probe["lock_holder"], Value::Null);
        assert_eq!(probe["wire_protocol"], Value::Null);
    }
}

#[test]
fn probes_shows_a_connected_client_and_the_lock_it_holds() {
    let (farm, management, config) = managed_farm(&sim_entries(&["alpha", "beta"]), false);
    let alpha = &config.probes[0].probe;
    let alpha_addr = farm
        .lock()
        .server(alpha)
        .expect("alpha served")
        .local_addr();
    let mut client = Client::session(alpha_addr);
    client.ok("lock", json!([]));
    let peer = client
        .stream
        .local_addr()
        .expect("client address")
        .to_string();

    let mut list = Vec::new();
    wait_until("the lock to show in /probes", || {
        list = probes(management.local_addr());
        list[0]["lock_holder"] == json!(peer)
    });
    assert_eq!(list[0]["clients"], 1);
    assert_eq!(list[0]["open_count"], 1);
    assert_eq!(list[0]["connect_count"], 1);
    assert_eq!(list[0]["wire_protocol"], "SWD");
    assert_eq!(list[1]["clients"], 0, "beta has no client");

    drop(client);
    wait_until("the departed client to leave /probes", || {
        probes(management.local_addr())[0]["clients"] == 0
    });
}

#[test]
fn unknown_paths_are_404_and_other_methods_405() {
    let (_farm, management, _) = managed_farm(&sim_entries(&["alpha", "beta"]), false);
    assert_eq!(http(management.local_addr(), "GET", "/nope").0, 404);
    assert_eq!(http(management.local_addr(), "POST", "/probes").0, 405);
}

#[test]
fn probes_show_their_dap_port_and_clients_their_front_end() {
    use common::farm::DapClient;
    let (port, dap_port) = (common::free_port(), common::free_port());
    let entries = format!(
        "[[probe]]\nserial = \"sim:alpha\"\nport = {port}\ndap_port = {dap_port}\n{}",
        sim_entries(&["beta"])
    );
    let (_farm, management, _) = managed_farm(&entries, false);
    let list = probes(management.local_addr());
    assert_eq!(list[0]["dap_port"], dap_port);
    assert_eq!(list[1]["dap_port"], Value::Null, "beta has none");

    let alpha = SocketAddr::from(([127, 0, 0, 1], port));
    let _pyocd = Client::hello(alpha);
    let mut openocd = DapClient::connect(SocketAddr::from(([127, 0, 0, 1], dap_port)));
    assert_eq!(openocd.product(), "probeshare CMSIS-DAP over TCP");
    let dap_peer = openocd.stream.local_addr().expect("address").to_string();

    let mut clients = Vec::new();
    wait_until("both clients to show", || {
        let (status, body) = http(management.local_addr(), "GET", "/probes/sim:alpha/clients");
        assert_eq!(status, 200, "{body}");
        clients = serde_json::from_str::<Value>(&body)
            .expect("JSON")
            .as_array()
            .expect("array")
            .clone();
        clients.len() == 2
    });
    assert_eq!(clients[0]["front_end"], "pyocd", "oldest first");
    assert_eq!(clients[1]["front_end"], "cmsis-dap");
    assert_eq!(clients[1]["peer"], dap_peer);

    let expected = [
        "probeshare_clients{front_end=\"cmsis-dap\",probe=\"sim:alpha\"} 1",
        "probeshare_clients{front_end=\"pyocd\",probe=\"sim:alpha\"} 1",
        "probeshare_connections_total{front_end=\"cmsis-dap\",probe=\"sim:alpha\"} 1",
        "probeshare_requests_total{front_end=\"cmsis-dap\",probe=\"sim:alpha\",request=\"DAP_Info\",status=\"0\"} 1",
        "probeshare_requests_total{front_end=\"pyocd\",probe=\"sim:alpha\",request=\"hello\",status=\"0\"} 1",
        "probeshare_clients{front_end=\"pyocd\",probe=\"sim:beta\"} 0",
    ];
    let mut metrics = String::new();
    wait_until("the metrics to count both front ends", || {
        metrics = http(management.local_addr(), "GET", "/metrics").1;
        expected.iter().all(|line| metrics.contains(line))
    });
    assert!(
        !metrics.contains("front_end=\"cmsis-dap\",probe=\"sim:beta\""),
        "beta serves no DAP port:\n{metrics}"
    );
}
