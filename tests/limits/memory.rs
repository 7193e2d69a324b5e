//! The real binary's memory under two hostile clients: one sending a line
//! that never ends, one pipelining requests whose responses it never
//! reads. Resident memory is sampled from /proc while they run; the peak
//! (`VmHWM`) is checked at the end as well, so a spike between samples
//! still counts. Run with `--nocapture` to see the figures.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{powered_session, AHB_AP_IDR, AP_IDR};
use crate::common::{Client, ServerProcess, DEADLINE};

const MIB: u64 = 1 << 20;

/// Samples the server's resident set from another thread until stopped.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<u64>,
}

impl RssSampler {
    fn start(server: &ServerProcess) -> RssSampler {
        let pid = server.child.id();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = thread::spawn(move || {
            let mut peak = 0;
            while !stopped.load(Ordering::SeqCst) {
                peak = peak.max(vm_rss(pid));
                // A sampling interval, not synchronisation.
                thread::sleep(Duration::from_millis(1));
            }
            peak
        });
        RssSampler { stop, thread }
    }

    /// Stops sampling and returns the highest resident set seen.
    fn peak(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("sampler")
    }
}

fn vm_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// Baseline: the server after startup and one complete client session.
fn baseline(server: &ServerProcess) -> (Client, u64) {
    let mut client = powered_session(server.addr);
    client.ok("read_ap", json!([AP_IDR]));
    (client, server.rss_bytes())
}

#[test]
fn line_of_200_mb_without_lf_costs_at_most_20_mb_and_the_connection_survives() {
    const FLOOD_BYTES: usize = 200_000_000;
    const ALLOWED_GROWTH: u64 = 20_000_000;
    let server = ServerProcess::start(&[]);
    let (mut bystander, baseline) = baseline(&server);

    let mut flooder = Client::hello(server.addr);
    let mut stream = flooder.stream.try_clone().unwrap();
    stream.set_write_timeout(Some(DEADLINE)).unwrap();
    let sampler = RssSampler::start(&server);
    let started = Instant::now();
    let writer = thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < FLOOD_BYTES {
            let n = chunk.len().min(FLOOD_BYTES - sent);
            stream.write_all(&chunk[..n])?;
            sent += n;
        }
        Ok::<_, io::Error>(sent)
    });
    let sent = writer.join().unwrap().expect("the server keeps reading");
    let elapsed = started.elapsed();
    let sampled_peak = sampler.peak();
    let hwm = server.peak_rss_bytes();
    eprintln!(
        "200 MB line: sent {sent} bytes in {elapsed:?}; server RSS baseline {:.1} MiB, \
         sampled peak {:.1} MiB (+{:.1}), VmHWM {:.1} MiB (+{:.1})",
        mib(baseline),
        mib(sampled_peak),
        mib(sampled_peak.saturating_sub(baseline)),
        mib(hwm),
        mib(hwm.saturating_sub(baseline)),
    );

    flooder.stream.write_all(b"\n").unwrap();
    let refusal = flooder.recv();
    assert_eq!(refusal["status"], 1, "{refusal}");
    assert_eq!(
        refusal["error"], "request line too long (limit 16777216 bytes)",
        "{refusal}"
    );
    assert_eq!(flooder.ok("readprop", json!(["unique_id"])), json!("sim"));
    assert_eq!(bystander.ok("read_ap", json!([AP_IDR])), json!(AHB_AP_IDR));
    assert!(
        sampled_peak.saturating_sub(baseline) <= ALLOWED_GROWTH,
        "sampled RSS grew {:.1} MiB",
        mib(sampled_peak.saturating_sub(baseline))
    );
    assert!(
        sampled_peak.saturating_sub(baseline) <= ALLOWED_GROWTH,
        "sampled RSS grew {:.1} MiB",
        mib(sampled_peak.saturating_sub(baseline))
    );
    assert!(
        hwm.saturating_sub(baseline) <= ALLOWED_GROWTH,
        "peak RSS grew {:.1} MiB",
        mib(hwm.saturating_sub(baseline))
    );
}

/// `read_ap_multiple` of the AP's IDR, `count` words (about 11 bytes each
/// in the response), padded with spaces to `len` bytes so that the
/// requests outgrow every socket buffer between client and server.
fn padded_read_ap_multiple(id: usize, count: usize, len: usize) -> Vec<u8> {
    let request = json!({"id": id, "request": "read_ap_multiple", "arguments": [AP_IDR, count]});
    let mut line = request.to_string().into_bytes();
    line.resize(len.max(line.len()), b' ');
    line.push(b'\n');
    line
}

/// The most a TCP socket buffer may grow to (`max` of
/// /proc/sys/net/ipv4/tcp_rmem or tcp_wmem), or 32 MiB if unreadable.
fn socket_buffer_max(name: &str) -> usize {
    std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
        .ok()
        .and_then(|v| v.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(32 << 20)
}

/// Writes every line; a write that stalls for `stall` (the server stopped
/// reading) sets `blocked` and is retried.
fn write_all_noting_stalls(
    mut stream: std::net::TcpStream,
    lines: impl Iterator<Item = Vec<u8>>,
    stall: Duration,
    blocked: Arc<AtomicBool>,
) -> io::Result<()> {
    stream.set_write_timeout(Some(stall))?;
    for line in lines {
        let mut rest = &line[..];
        while !rest.is_empty() {
            match stream.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    blocked.store(true, Ordering::SeqCst)
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// A client pipelines large reads and reads nothing until its writes stall
/// (the server paused reading it). Meanwhile another client is served.
/// Then it reads every response, in order, and the rest of its requests
/// go out as the server resumes. Memory is watched throughout: the
/// server may hold about `max_unsent_bytes` for it, not its ~110 MiB of
/// responses.
#[test]
fn client_that_never_reads_is_paused_not_buffered_and_others_are_served() {
    const WORDS: usize = 10_000;
    const LINE_BYTES: usize = 64 * 1024;
    const ALLOWED_GROWTH: u64 = 64 * MIB;
    /// How long a write must stall to count as the server having paused.
    const STALL: Duration = Duration::from_secs(2);
    let server = ServerProcess::start(&[]);
    let (mut bystander, baseline) = baseline(&server);

    let mut hog = powered_session(server.addr);
    // Twice what the socket buffers between the two can hold, so a server
    // that stops reading blocks the writer whatever the kernel's tuning.
    let socket_buffers = socket_buffer_max("tcp_rmem") + socket_buffer_max("tcp_wmem");
    let requests = (2 * socket_buffers / LINE_BYTES).max(1000);
    let lines = (1..=requests).map(|id| padded_read_ap_multiple(id, WORDS, LINE_BYTES));
    let blocked = Arc::new(AtomicBool::new(false));
    let sampler = RssSampler::start(&server);
    let started = Instant::now();
    let writer = {
        let stream = hog.stream.try_clone().unwrap();
        let blocked = blocked.clone();
        thread::spawn(move || write_all_noting_stalls(stream, lines, STALL, blocked))
    };
    while !blocked.load(Ordering::SeqCst) {
        assert!(
            !writer.is_finished(),
            "the server read every request of a client that reads nothing"
        );
        assert!(
            started.elapsed() < 3 * DEADLINE,
            "writer neither blocked nor done"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let paused_after = started.elapsed();
    let rss_while_paused = server.rss_bytes();

    // Another client is served while the first one's reading is paused.
    let bystander_started = Instant::now();
    assert_eq!(bystander.ok("read_ap", json!([AP_IDR])), json!(AHB_AP_IDR));
    let bystander_took = bystander_started.elapsed();

    // Every response, in order, once the client reads.
    let expected_result = serde_json::to_string(&vec![AHB_AP_IDR; WORDS]).unwrap();
    for id in 1..=requests {
        let line = hog.recv_line();
        let expected = format!("{{\"id\":{id},\"status\":0,\"result\":{expected_result}}}\n");
        assert!(line == expected, "response {id}: {:.200}", line);
    }
    writer.join().unwrap().expect("every request sent");
    let sampled_peak = sampler.peak();
    let hwm = server.peak_rss_bytes();
    eprintln!(
        "non-reading client: {requests} requests of {LINE_BYTES} bytes for {WORDS} words \
         (~{:.0} MiB of responses); writer blocked after {paused_after:?}; \
         bystander answered in {bystander_took:?}; server RSS baseline {:.1} MiB, \
         while paused {:.1} MiB, sampled peak {:.1} MiB (+{:.1}), VmHWM {:.1} MiB (+{:.1}); \
         all read after {:?}",
        mib((requests * expected_result.len()) as u64),
        mib(baseline),
        mib(rss_while_paused),
        mib(sampled_peak),
        mib(sampled_peak.saturating_sub(baseline)),
        mib(hwm),
        mib(hwm.saturating_sub(baseline)),
        started.elapsed(),
    );
    assert!(
        sampled_peak.saturating_sub(baseline) <= ALLOWED_GROWTH,
        "sampled RSS grew {:.1} MiB",
        mib(sampled_peak.saturating_sub(baseline))
    );
    assert!(
        hwm.saturating_sub(baseline) <= ALLOWED_GROWTH,
        "peak RSS grew {:.1} MiB",
        mib(hwm.saturating_sub(baseline))
    );
}
