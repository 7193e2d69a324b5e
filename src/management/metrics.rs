//! `GET /metrics`: every served probe's status in Prometheus' text format.
//!
//! Each scrape builds a fresh registry from the servers' published
//! snapshots rather than keeping counters up to date on the probe loops:
//! the loops already count what is needed, and a scrape every few seconds
//! costs one snapshot copy per probe. Counters stay monotonic because the
//! snapshots are; a restarted server (reload, enable) starts again at
//! zero, which Prometheus reads as a counter reset.

use prometheus::{Encoder, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

use super::ProbeRow;

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics of the served probes among `rows`.
pub fn render(rows: &[ProbeRow]) -> String {
    match build(rows).and_then(|registry| encode(&registry)) {
        Ok(text) => text,
        // Only a metric defined wrongly here can fail, never a probe's data.
        Err(e) => format!("# cannot render metrics: {e}\n"),
    }
}

fn build(rows: &[ProbeRow]) -> prometheus::Result<Registry> {
    let registry = Registry::new();
    let requests = IntCounterVec::new(
        Opts::new(
            "probeshare_requests_total",
            "Responses sent, by wire status code (0 is success).",
        ),
        &["probe", "status"],
    )?;
    let gauge = |name: &str, help: &str| IntGaugeVec::new(Opts::new(name, help), &["probe"]);
    let clients = gauge("probeshare_clients", "Connections open now.")?;
    let opens = gauge(
        "probeshare_open_count",
        "Clients counted as having opened the probe.",
    )?;
    let connects = gauge(
        "probeshare_connect_count",
        "Clients counted as having connected the target.",
    )?;
    registry.register(Box::new(requests.clone()))?;
    for metric in [&clients, &opens, &connects] {
        registry.register(Box::new(metric.clone()))?;
    }
    for row in rows {
        let Some(served) = &row.served else {
            continue;
        };
        let probe = row.probe.to_string();
        let status = served.status.get();
        for (code, count) in &status.answered_by_status {
            requests
                .with_label_values(&[probe.as_str(), &code.to_string()])
                .inc_by(*count);
        }
        let labels = [probe.as_str()];
        clients
            .with_label_values(&labels)
            .set(saturate(status.clients as u64));
        opens
            .with_label_values(&labels)
            .set(saturate(status.open_count));
        connects
            .with_label_values(&labels)
            .set(saturate(status.connect_count));
    }
    Ok(registry)
}

fn saturate(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn encode(registry: &Registry) -> prometheus::Result<String> {
    let mut text = Vec::new();
    TextEncoder::new().encode(&registry.gather(), &mut text)?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}
