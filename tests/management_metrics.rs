//! `GET /metrics` beyond the basic counts: requests by name and status,
//! the latency histogram, bytes, connections, lock waits and probe errors.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::json;

use common::{free_port, wait_until, Client};
use probeshare::config::{self, Config};
use probeshare::farm::{self, Farm};
use probeshare::management::{ManagementServer, ProbeBoard, SharedFarm};

/// A farm of one virtual target, shared with its management interface as
/// `serve --config` does.
fn start() -> (SharedFarm, ManagementServer, Config) {
    let text = format!(
        "[management]\nlisten = \"127.0.0.1:{}\"\n\
         [[probe]]\nserial = \"sim:alpha\"\nport = {}\n",
        free_port(),
        free_port()
    );
    let config = config::parse(&text, "test.toml").expect("valid configuration");
    let farm = Farm::start(&config).expect("farm starts");
    let board = ProbeBoard::new();
    board.publish(&farm, &config);
    let farm = Arc::new(Mutex::new(farm));
    let management = ManagementServer::start_with_farm(
        config.management.listen,
        farm::client_filter(&config),
        board,
        farm.clone(),
    )
    .expect("management starts");
    (farm, management, config)
}

fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(common::DEADLINE)).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

/// The value of the sample line starting with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The sum of every sample of `name` for the probe `sim:alpha`.
fn total(text: &str, name: &str) -> f64 {
    let prefix = format!("{name}{{probe=\"sim:alpha\"");
    text.lines()
        .filter(|line| line.starts_with(&prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn metrics_show_requests_latency_bytes_connections_and_lock_waits() {
    let (farm, management, config) = start();
    let probe = farm
        .lock()
        .server(&config.probes[0].probe)
        .expect("served")
        .local_addr();
    let mut holder = Client::session(probe);
    holder.ok("lock", json!([]));
    holder.ok("read_dp", json!([0]));
    holder.ok("read_dp", json!([0]));
    let mut waiter = Client::hello(probe);
    let waiting = waiter.send("lock", json!([]));
    let metrics = management.local_addr();
    wait_until("the lock wait to be counted", || {
        sample(
            &scrape(metrics),
            "probeshare_lock_waits_total{probe=\"sim:alpha\"}",
        ) == Some(1.0)
    });
    holder.ok("unlock", json!([]));
    waiter.recv_ok(waiting);

    // holder: hello, open, connect, lock, 2 read_dp, unlock; waiter: hello, lock.
    let answered = 9.0;
    let histogram_count = "probeshare_request_duration_seconds_count{probe=\"sim:alpha\"}";
    wait_until("every answer to be published", || {
        sample(&scrape(metrics), histogram_count) == Some(answered)
    });
    let text = scrape(metrics);
    assert_eq!(
        total(&text, "probeshare_requests_total"),
        answered,
        "{text}"
    );
    let read_dp_ok =
        "probeshare_requests_total{probe=\"sim:alpha\",request=\"read_dp\",status=\"0\"}";
    assert_eq!(sample(&text, read_dp_ok), Some(2.0), "{text}");
    let inf_bucket = "probeshare_request_duration_seconds_bucket{probe=\"sim:alpha\",le=\"+Inf\"}";
    assert_eq!(sample(&text, inf_bucket), Some(answered), "{text}");
    let connections = "probeshare_connections_total{probe=\"sim:alpha\"}";
    assert_eq!(sample(&text, connections), Some(2.0), "{text}");
    for bytes in [
        "probeshare_received_bytes_total{probe=\"sim:alpha\"}",
        "probeshare_sent_bytes_total{probe=\"sim:alpha\"}",
    ] {
        assert!(
            sample(&text, bytes).is_some_and(|n| n > 0.0),
            "{bytes}: {text}"
        );
    }
}
