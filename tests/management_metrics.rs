//! `GET /metrics` beyond the basic counts: requests by name and status,
//! the latency histogram, bytes, connections, lock waits and probe errors.

mod common;

use std::net::SocketAddr;

use serde_json::json;

use common::farm::{http, managed_farm, sim_entries};
use common::{wait_until, Client};

fn scrape(addr: SocketAddr) -> String {
    let (status, body) = http(addr, "GET", "/metrics");
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of the sample line starting with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The sum of every sample of `name` for the probe `sim:alpha`, whatever
/// its other labels.
fn total(text: &str, name: &str) -> f64 {
    let prefix = format!("{name}{{");
    text.lines()
        .filter(|line| line.starts_with(&prefix) && line.contains("probe=\"sim:alpha\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn metrics_show_requests_latency_bytes_connections_and_lock_waits() {
    let (farm, management, config) = managed_farm(&sim_entries(&["alpha"]), false);
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
        "probeshare_requests_total{front_end=\"pyocd\",probe=\"sim:alpha\",request=\"read_dp\",status=\"0\"}";
    assert_eq!(sample(&text, read_dp_ok), Some(2.0), "{text}");
    let inf_bucket = "probeshare_request_duration_seconds_bucket{probe=\"sim:alpha\",le=\"+Inf\"}";
    assert_eq!(sample(&text, inf_bucket), Some(answered), "{text}");
    let connections = "probeshare_connections_total{front_end=\"pyocd\",probe=\"sim:alpha\"}";
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

#[test]
fn refused_connections_are_counted_by_reason_and_worker_deaths_are_shown() {
    let probes = "[limits]\nmax_connections_per_peer = 1\n".to_string() + &sim_entries(&["alpha"]);
    let (farm, management, config) = managed_farm(&probes, false);
    let probe = farm
        .lock()
        .server(&config.probes[0].probe)
        .expect("served")
        .local_addr();
    let mut held = Client::hello(probe);
    let mut refused = Client::connect(probe);
    let refusal = refused.recv();
    assert_eq!(
        refusal["error"], "too many connections from your address",
        "{refusal}"
    );
    held.ok("readprop", json!(["unique_id"]));
    let series = "probeshare_refused_connections_total{probe=\"sim:alpha\",\
                  reason=\"max_connections_per_peer\"}";
    let metrics = management.local_addr();
    wait_until("the refusal to be counted", || {
        sample(&scrape(metrics), series) == Some(1.0)
    });
    let text = scrape(metrics);
    let deaths = "probeshare_worker_deaths_total{probe=\"sim:alpha\"}";
    assert_eq!(sample(&text, deaths), Some(0.0), "{text}");
}
