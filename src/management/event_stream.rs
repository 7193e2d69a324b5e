//! `GET /events`: the event bus as Server-Sent Events (docs/protocol.md,
//! "Events"; docs/farm-integration.md, "Events over HTTP").
//!
//! Query parameters filter: `probe=ID` (a probe's `id` in `/probes`) and
//! `kind=KIND`, each repeatable or comma-separated; without them, every
//! probe and every kind. Each event is one `data:` line with the event's
//! JSON, then a blank line; a `: keep-alive` comment goes out after
//! [`KEEP_ALIVE`] without events, which is also how a client that went
//! away is noticed. A new stream is greeted with the state as it is: each
//! served probe `present`, and its target's run state where known, marked
//! `"current": true`.
//!
//! Each stream has a thread of its own (the management thread answers
//! everything else), blocked on its subscriber queue: the queue is the
//! bus's, bounded, so a slow reader loses the oldest events and is told
//! with a `dropped` event, and never slows a probe. At most
//! [`MAX_EVENT_STREAMS`] streams run at once; more are refused with 503.
//! The stream ends when a write fails, or when the management interface
//! stops (within [`STOP_CHECK`]).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::ProbeRow;
use crate::events::{Event, EventBus, EventKind, Filter, KindSet, ProbeChange};

/// Streams served at once.
pub const MAX_EVENT_STREAMS: usize = 32;
/// Silence after which a comment line is sent.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often a waiting stream checks whether the interface is stopping.
const STOP_CHECK: Duration = Duration::from_millis(250);
/// Lines written per wake-up before flushing.
const LINES_PER_WRITE: usize = 256;

/// The streams running; shared by the management thread and the streams.
#[derive(Clone, Default)]
pub struct Streams {
    running: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Streams {
    /// Ends every stream (each within [`STOP_CHECK`]); the management
    /// interface is stopping.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Answers `GET /events?query`: a stream on its own thread, or a JSON
/// error saying why not.
pub fn start(
    request: tiny_http::Request,
    query: &str,
    bus: Option<&EventBus>,
    rows: &[ProbeRow],
    streams: &Streams,
) {
    let Some(bus) = bus else {
        return refuse(request, 503, "this server publishes no events");
    };
    let filter = match parse_filter(query) {
        Ok(filter) => filter,
        Err(why) => return refuse(request, 400, &why),
    };
    let taken = streams.running.fetch_add(1, Ordering::SeqCst);
    if taken >= MAX_EVENT_STREAMS {
        streams.running.fetch_sub(1, Ordering::SeqCst);
        let why = format!("too many event streams (at most {MAX_EVENT_STREAMS})");
        return refuse(request, 503, &why);
    }
    let subscription = bus.subscribe(filter, None);
    let greeting = greeting(rows);
    let greeting: Vec<(&str, Event)> = greeting
        .iter()
        .map(|(probe, event)| (probe.as_str(), event.clone()))
        .collect();
    subscription.greet(&greeting);
    let streams = streams.clone();
    let spawned = std::thread::Builder::new()
        .name("events-sse".into())
        .spawn(move || {
            let _slot = Slot(streams.running.clone());
            let mut writer = request.into_writer();
            if let Err(e) = serve(&mut writer, &subscription, &streams.stop) {
                log::debug!("event stream ended: {e}");
            }
        });
    if let Err(e) = spawned {
        // The closure (and with it the request and its slot) is gone.
        log::warn!("cannot start an event stream: {e}");
    }
}

fn refuse(request: tiny_http::Request, status: u16, why: &str) {
    let body = json!({ "error": why }).to_string() + "\n";
    let response = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(super::routes::header("Content-Type", "application/json"));
    if let Err(e) = request.respond(response) {
        log::debug!("management interface: cannot answer: {e}");
    }
}

/// Frees a stream's place when its thread ends, however it ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn serve(
    writer: &mut dyn Write,
    subscription: &crate::events::Subscription,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    writer.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
          Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
    )?;
    writer.flush()?;
    let mut last_write = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        if !subscription.wait(STOP_CHECK) {
            if last_write.elapsed() >= KEEP_ALIVE {
                writer.write_all(b": keep-alive\n\n")?;
                writer.flush()?;
                last_write = Instant::now();
            }
            continue;
        }
        for line in subscription.take(LINES_PER_WRITE) {
            writer.write_all(b"data: ")?;
            writer.write_all(line.trim_end().as_bytes())?;
            writer.write_all(b"\n\n")?;
        }
        writer.flush()?;
        last_write = Instant::now();
    }
    Ok(())
}

/// The state a new stream is greeted with: every served probe present,
/// with its target's run state where known.
fn greeting(rows: &[ProbeRow]) -> Vec<(String, Event)> {
    let mut greeting = Vec::new();
    for served in rows.iter().filter_map(|row| row.served.as_ref()) {
        let probe = &served.info.unique_id;
        let present = Event::Probe {
            what: ProbeChange::Present,
            reason: None,
        };
        greeting.push((probe.clone(), present));
        let status = served.status.get();
        if let Some((dhcsr, read_by)) = status.last_dhcsr {
            for what in status.target.current() {
                let event = Event::Target {
                    what,
                    dhcsr,
                    read_by,
                };
                greeting.push((probe.clone(), event));
            }
        }
    }
    greeting
}

/// The filter of a query string: `probe` and `kind`, repeatable,
/// comma-separated, percent-encoded as URLs are.
pub fn parse_filter(query: &str) -> Result<Filter, String> {
    let mut probes: Option<Vec<String>> = None;
    let mut kinds = KindSet::NONE;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value).ok_or_else(|| format!("cannot decode '{value}'"))?;
        let values = value.split(',').filter(|v| !v.is_empty());
        match key {
            "probe" => probes
                .get_or_insert_with(Vec::new)
                .extend(values.map(str::to_owned)),
            "kind" => {
                for name in values {
                    let kind = EventKind::parse(name).ok_or_else(|| {
                        format!(
                            "unknown event kind '{name}' (expected one of {})",
                            EventKind::names()
                        )
                    })?;
                    kinds.insert(kind);
                }
            }
            _ => {
                return Err(format!(
                    "unknown parameter '{key}' (expected probe or kind)"
                ))
            }
        }
    }
    if kinds.is_empty() {
        kinds = KindSet::all();
    }
    Ok(Filter { probes, kinds })
}

/// `%XX` escapes and `+` for a space; `None` for a broken escape or
/// bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(at + 1..at + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                at += 3;
            }
            b'+' => {
                out.push(b' ');
                at += 1;
            }
            _ => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_filters_by_probe_and_kind_and_names_what_it_cannot_read() {
        let filter = parse_filter("probe=sim%3Aa,sim:b&kind=lock&kind=target,probe").unwrap();
        assert_eq!(
            filter.probes,
            Some(vec!["sim:a".to_owned(), "sim:b".to_owned()])
        );
        let kinds: Vec<_> = filter.kinds.iter().collect();
        assert_eq!(
            kinds,
            [EventKind::Probe, EventKind::Lock, EventKind::Target]
        );
        assert_eq!(
            parse_filter("").unwrap(),
            Filter {
                probes: None,
                kinds: KindSet::all()
            }
        );
        assert_eq!(
            parse_filter("kind=halt").unwrap_err(),
            "unknown event kind 'halt' (expected one of probe, client, lock, session, target)"
        );
        assert!(parse_filter("kinds=lock")
            .unwrap_err()
            .contains("unknown parameter 'kinds'"));
        assert!(parse_filter("probe=%zz").is_err());
    }
}
