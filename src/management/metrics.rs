//! `GET /metrics`: every served probe's status in Prometheus' text format.
//!
//! Each scrape builds a fresh registry from the servers' published
//! snapshots rather than keeping counters up to date on the probe loops:
//! the loops already count what is needed, and a scrape every few seconds
//! costs one snapshot copy per probe. Counters stay monotonic because the
//! snapshots are; a restarted server (reload, enable) starts again at
//! zero, which Prometheus reads as a counter reset.
//!
//! `probeshare_worker_deaths_total` is kept by the farm, not a server, so
//! it survives the restart that follows each death; it is shown for every
//! configured probe, served or not.
//!
//! Requests, connections and open connections carry a `front_end` label
//! (`pyocd`, or `cmsis-dap` for the DAP port), each served front end shown
//! even at zero; bytes, lock waits, probe errors, references and the
//! latency histogram are per probe, over both.
//!
//! The latency histogram is counted in fixed buckets by the loop; the
//! crate's `Histogram` only takes observations, so it is exported as a
//! hand-built `proto` histogram family (available with the crate's default
//! features off, as its plain model), which the text encoder renders with
//! the usual `_bucket`/`_sum`/`_count` lines.

use prometheus::proto::{self, MetricFamily, MetricType};
use prometheus::{Encoder, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::events::{EventCounts, EventKind};
use crate::server::{Traffic, FRONT_END_CMSIS_DAP, FRONT_END_PYOCD, LATENCY_BOUNDS_SECONDS};

use super::ProbeRow;

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics of the served probes among `rows`, and of the event bus
/// when there is one.
pub fn render(rows: &[ProbeRow], events: Option<&EventCounts>) -> String {
    let latency = latency_family(rows);
    let built = build(rows).and_then(|registry| {
        add_events(&registry, rows, events)?;
        Ok(registry)
    });
    match built.and_then(|registry| encode(&registry, latency)) {
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
            "Responses sent, by front end, request and wire status code (0 is success).",
        ),
        &["front_end", "probe", "request", "status"],
    )?;
    let by_front_end = &["front_end", "probe"];
    let counter = |name: &str, help: &str| IntCounterVec::new(Opts::new(name, help), &["probe"]);
    let received = counter(
        "probeshare_received_bytes_total",
        "Bytes read from clients.",
    )?;
    let sent = counter("probeshare_sent_bytes_total", "Bytes written to clients.")?;
    let connections = IntCounterVec::new(
        Opts::new(
            "probeshare_connections_total",
            "Connections accepted, by front end.",
        ),
        by_front_end,
    )?;
    let lock_waits = counter(
        "probeshare_lock_waits_total",
        "Lock requests that found the lock held by another client.",
    )?;
    let probe_errors = IntCounterVec::new(
        Opts::new(
            "probeshare_probe_errors_total",
            "Probe errors answered, by kind.",
        ),
        &["probe", "kind"],
    )?;
    let refused = IntCounterVec::new(
        Opts::new(
            "probeshare_refused_connections_total",
            "Connections refused at accept, by reason (not_allowed, max_connections, \
             max_connections_per_peer).",
        ),
        &["probe", "reason"],
    )?;
    for metric in [
        &received,
        &sent,
        &connections,
        &lock_waits,
        &probe_errors,
        &refused,
    ] {
        registry.register(Box::new(metric.clone()))?;
    }
    let gauge = |name: &str, help: &str| IntGaugeVec::new(Opts::new(name, help), &["probe"]);
    let clients = IntGaugeVec::new(
        Opts::new("probeshare_clients", "Connections open now, by front end."),
        by_front_end,
    )?;
    let opens = gauge(
        "probeshare_open_count",
        "Clients counted as having opened the probe.",
    )?;
    let connects = gauge(
        "probeshare_connect_count",
        "Clients counted as having connected the target.",
    )?;
    let worker_deaths = counter(
        "probeshare_worker_deaths_total",
        "Times the probe's worker thread died (its clients were answered with status 2 \
         and the probe served anew).",
    )?;
    registry.register(Box::new(requests.clone()))?;
    registry.register(Box::new(worker_deaths.clone()))?;
    for metric in [&clients, &opens, &connects] {
        registry.register(Box::new(metric.clone()))?;
    }
    for row in rows {
        worker_deaths
            .with_label_values(&[row.probe.to_string().as_str()])
            .inc_by(row.worker_deaths);
    }
    for row in rows {
        let Some(served) = &row.served else {
            continue;
        };
        let probe = row.probe.to_string();
        let status = served.status.get();
        let traffic = &status.traffic;
        for ((front_end, request, code), count) in &traffic.requests {
            requests
                .with_label_values(&[front_end, probe.as_str(), request, &code.to_string()])
                .inc_by(*count);
        }
        let mut front_ends = vec![FRONT_END_PYOCD];
        if row.dap_port.is_some() {
            front_ends.push(FRONT_END_CMSIS_DAP);
        }
        for front_end in traffic.connections.keys() {
            if !front_ends.contains(front_end) {
                front_ends.push(front_end);
            }
        }
        for front_end in front_ends {
            let labels = [front_end, probe.as_str()];
            connections
                .with_label_values(&labels)
                .inc_by(traffic.connections.get(front_end).copied().unwrap_or(0));
            let open = status
                .client_list
                .iter()
                .filter(|client| client.front_end == front_end)
                .count();
            clients
                .with_label_values(&labels)
                .set(saturate(open as u64));
        }
        for (reason, count) in &traffic.refused_connections {
            refused
                .with_label_values(&[probe.as_str(), reason])
                .inc_by(*count);
        }
        for (kind, count) in &traffic.probe_errors {
            probe_errors
                .with_label_values(&[probe.as_str(), kind])
                .inc_by(*count);
        }
        let labels = [probe.as_str()];
        received
            .with_label_values(&labels)
            .inc_by(traffic.received_bytes);
        sent.with_label_values(&labels).inc_by(traffic.sent_bytes);
        lock_waits
            .with_label_values(&labels)
            .inc_by(traffic.lock_waits);
        opens
            .with_label_values(&labels)
            .set(saturate(status.open_count));
        connects
            .with_label_values(&labels)
            .set(saturate(status.connect_count));
    }
    Ok(registry)
}

/// Events published and dropped (docs/protocol.md, "Events"), and each
/// served probe's own DHCSR reads for them.
fn add_events(
    registry: &Registry,
    rows: &[ProbeRow],
    events: Option<&EventCounts>,
) -> prometheus::Result<()> {
    let polls = IntCounterVec::new(
        Opts::new(
            "probeshare_target_polls_total",
            "DHCSR reads the server made itself for target events.",
        ),
        &["probe"],
    )?;
    registry.register(Box::new(polls.clone()))?;
    for row in rows {
        if let Some(served) = &row.served {
            polls
                .with_label_values(&[row.probe.to_string().as_str()])
                .inc_by(served.status.get().target_polls);
        }
    }
    let Some(events) = events else {
        return Ok(());
    };
    let published = IntCounterVec::new(
        Opts::new(
            "probeshare_events_published_total",
            "Events that reached at least one subscriber, by kind.",
        ),
        &["kind"],
    )?;
    let dropped = prometheus::IntCounter::new(
        "probeshare_events_dropped_total",
        "Events dropped from full subscriber queues (once per subscriber).",
    )?;
    registry.register(Box::new(published.clone()))?;
    registry.register(Box::new(dropped.clone()))?;
    for (kind, count) in EventKind::ALL.iter().zip(events.published) {
        published.with_label_values(&[kind.name()]).inc_by(count);
    }
    dropped.inc_by(events.dropped);
    Ok(())
}

fn saturate(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// `probeshare_request_duration_seconds`: one histogram per served probe.
fn latency_family(rows: &[ProbeRow]) -> MetricFamily {
    let metrics = rows
        .iter()
        .filter_map(|row| {
            let served = row.served.as_ref()?;
            Some(latency_metric(
                &row.probe.to_string(),
                &served.status.get().traffic,
            ))
        })
        .collect();
    let mut family = MetricFamily::default();
    family.set_name("probeshare_request_duration_seconds".into());
    family.set_help(
        "Seconds from a request's line being framed to its response being encoded.".into(),
    );
    family.set_field_type(MetricType::HISTOGRAM);
    family.set_metric(metrics);
    family
}

fn latency_metric(probe: &str, traffic: &Traffic) -> proto::Metric {
    let mut cumulative = 0;
    let buckets = LATENCY_BOUNDS_SECONDS
        .iter()
        .zip(&traffic.latency_buckets)
        .map(|(&bound, &count)| {
            cumulative += count;
            let mut bucket = proto::Bucket::default();
            bucket.set_upper_bound(bound);
            bucket.set_cumulative_count(cumulative);
            bucket
        })
        .collect();
    let mut histogram = proto::Histogram::default();
    histogram.set_bucket(buckets);
    histogram.set_sample_count(traffic.latency_buckets.iter().sum());
    histogram.set_sample_sum(traffic.latency_sum_nanos as f64 / 1e9);
    let mut label = proto::LabelPair::default();
    label.set_name("probe".into());
    label.set_value(probe.into());
    let mut metric = proto::Metric::default();
    metric.set_label(vec![label]);
    metric.set_histogram(histogram);
    metric
}

fn encode(registry: &Registry, latency: MetricFamily) -> prometheus::Result<String> {
    let mut families = registry.gather();
    if !latency.get_metric().is_empty() {
        families.push(latency);
    }
    let mut text = Vec::new();
    TextEncoder::new().encode(&families, &mut text)?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}
