//! The probe farm: `serve --config` serving every configured probe on its
//! own port, the allow-list refusing peers at accept, and probes that do
//! not hold each other up.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use serde_json::json;

use common::farm::DapClient;
use common::{free_port, Client, ServerProcess, SIM_DPIDR};
use probeshare::server::{self, ClientFilter, ServerConfig, ServerHandle};
use probeshare::sim::{self, dap_firmware::FirmwareConfig, dap_firmware::UsbModel};

/// A virtual target served on 127.0.0.1:0 whose every response takes
/// `latency` longer, for clients `allow` permits.
fn serve_sim(id: &str, latency: Duration, allow: Option<ClientFilter>) -> ServerHandle {
    let firmware = FirmwareConfig {
        extra_latency: latency,
        ..FirmwareConfig::for_model(UsbModel::None)
    };
    let probe = sim::virtual_probe_with(id, "test target", firmware).expect("virtual probe");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let config = ServerConfig {
        allow,
        ..ServerConfig::default()
    };
    server::spawn(listener, probe, config).expect("server starts")
}

#[test]
fn a_peer_outside_the_allow_list_is_closed_unanswered() {
    let refuse_loopback = ClientFilter::new(|address: IpAddr| !address.is_loopback());
    let server = serve_sim("sim", Duration::ZERO, Some(refuse_loopback));
    let mut stream = std::net::TcpStream::connect(server.local_addr()).expect("connect");
    stream
        .set_read_timeout(Some(common::DEADLINE))
        .expect("read timeout");
    let mut byte = [0u8; 1];
    // EOF, not a timeout (which would be an error) and not a response.
    assert_eq!(stream.read(&mut byte).expect("EOF within the deadline"), 0);

    // A peer that speaks at once gets no answer either, however early it
    // speaks (its write may meet the closed socket).
    let mut eager = std::net::TcpStream::connect(server.local_addr()).expect("connect");
    eager
        .set_read_timeout(Some(common::DEADLINE))
        .expect("read timeout");
    let _ = eager.write_all(b"{\"id\":1,\"request\":\"hello\",\"arguments\":[1]}\n");
    let mut answer = Vec::new();
    match eager.read_to_end(&mut answer) {
        Ok(_) => assert!(answer.is_empty(), "a refused peer got {answer:?}"),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
}

#[test]
fn a_peer_in_the_allow_list_is_served() {
    let loopback_only = ClientFilter::new(|address: IpAddr| address.is_loopback());
    let server = serve_sim("sim", Duration::ZERO, Some(loopback_only));
    let mut client = Client::session(server.local_addr());
    assert_eq!(client.ok("read_dp", json!([0])), SIM_DPIDR);
}

#[test]
fn a_slow_probe_does_not_delay_another_probes_clients() {
    let slow_latency = Duration::from_millis(200);
    let slow = serve_sim("sim:slow", slow_latency, None);
    let fast = serve_sim("sim:fast", Duration::ZERO, None);
    let mut slow_client = Client::session(slow.local_addr());
    let mut fast_client = Client::session(fast.local_addr());

    let sent = Instant::now();
    let in_flight = slow_client.send("read_dp", json!([0]));
    slow_client.wait_until_server_has_read();
    for _ in 0..20 {
        assert_eq!(fast_client.ok("read_dp", json!([0])), SIM_DPIDR);
    }
    let fast_done = Instant::now();
    // The slow probe cannot have answered before `slow_latency` passed, so
    // its request was in flight the whole time the fast probe was used.
    assert!(
        fast_done - sent < slow_latency,
        "the fast round trips outlasted the slow request ({:?})",
        fast_done - sent
    );
    assert_eq!(slow_client.recv_ok(in_flight), SIM_DPIDR);
    assert!(
        sent.elapsed() >= slow_latency,
        "the slow probe was not slow"
    );
}

#[test]
fn serve_config_serves_every_configured_probe_on_its_own_port() {
    let names = ["alpha", "beta", "gamma", "delta"];
    let mut text = String::from("listen = \"127.0.0.1\"\n");
    for name in names {
        text.push_str(&format!(
            "[[probe]]\nserial = \"sim:{name}\"\nport = {}\n",
            free_port()
        ));
    }
    let dir = std::env::temp_dir().join(format!("probeshare-farm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("farm.toml");
    std::fs::write(&file, text).expect("write the configuration");

    let config_arg = file.to_str().expect("UTF-8 path");
    let (mut server, served) = ServerProcess::start_serving(
        &["serve", "--no-management", "--config", config_arg],
        names.len(),
    );
    let mut ids: Vec<&str> = served.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort_unstable();
    let mut expected: Vec<String> = names.iter().map(|n| format!("sim:{n}")).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);

    for (unique_id, addr) in &served {
        let mut client = Client::session(*addr);
        assert_eq!(client.ok("read_dp", json!([0])), SIM_DPIDR);
        assert_eq!(
            client.ok("readprop", json!(["unique_id"])),
            json!(unique_id)
        );
    }

    server.signal("TERM");
    assert_eq!(
        server.wait_exit(),
        Some(0),
        "{}",
        server.log.lock().unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_config_serves_a_dap_port_and_logs_it() {
    let (port, dap_port) = (free_port(), free_port());
    let text = format!("[[probe]]\nserial = \"sim:alpha\"\nport = {port}\ndap_port = {dap_port}\n");
    let dir = std::env::temp_dir().join(format!("probeshare-farm-dap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("farm.toml");
    std::fs::write(&file, text).expect("write the configuration");

    let config_arg = file.to_str().expect("UTF-8 path");
    let (mut server, _) =
        ServerProcess::start_serving(&["serve", "--no-management", "--config", config_arg], 1);
    let line = format!("Serving CMSIS-DAP for OpenOCD (sim:alpha) on 127.0.0.1:{dap_port}\n");
    common::wait_until("the DAP port's log line", || {
        server.log.lock().unwrap().contains(&line)
    });
    let mut openocd = DapClient::connect(SocketAddr::from(([127, 0, 0, 1], dap_port)));
    assert_eq!(openocd.product(), "probeshare CMSIS-DAP over TCP");
    drop(openocd);

    server.signal("TERM");
    assert_eq!(
        server.wait_exit(),
        Some(0),
        "{}",
        server.log.lock().unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
