//! The load generator: N blocking clients, one thread each, keeping a fixed
//! number of requests outstanding and timing every one of them.
//!
//! The same code drives the floor and probeshare, so whatever it costs is
//! paid equally by both. A client refills its pipeline in bursts: it reads
//! every response that has already arrived, then sends as many new requests
//! as it took out, in one write — what a pipelining client does, and with
//! `depth == 1` it is plain ping-pong.

use super::{Figures, Load};
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// A response longer than this is a broken server, not a benchmark result.
const MAX_RESPONSE_LINE: u64 = 64 * 1024;
/// A server that stops answering fails the run instead of hanging it.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `load` against the server at `addr` for about `duration`.
///
/// Each client sends `setup` (one line each, answered before the next) and
/// then `request_line` over and over; a line may be given with or without its
/// LF. Requests still outstanding at the deadline are completed and counted,
/// and the elapsed time runs until the last client has drained. Any response
/// whose status is not 0 fails the whole run: an error is not a measurement.
pub fn drive(
    addr: SocketAddr,
    load: &Load,
    setup: &[String],
    request_line: &str,
    duration: Duration,
) -> io::Result<Figures> {
    if load.clients == 0 || load.depth == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a scenario needs at least one client and a depth of at least one",
        ));
    }
    let setup: Arc<[Vec<u8>]> = setup.iter().map(|line| with_lf(line)).collect();
    let request: Arc<[u8]> = with_lf(request_line).into();
    // Everyone, this thread included, starts the clock together once every
    // client has finished its setup.
    let start = Arc::new(Barrier::new(load.clients + 1));
    let clients = (0..load.clients)
        .map(|_| {
            let (setup, request, start) = (setup.clone(), request.clone(), start.clone());
            let depth = load.depth;
            thread::Builder::new()
                .name("bench-client".into())
                .spawn(move || run_client(addr, &setup, &request, depth, duration, &start))
        })
        .collect::<io::Result<Vec<_>>>()?;
    start.wait();
    let started = Instant::now();

    let mut latencies = Vec::new();
    let mut last_finish = started;
    let mut first_error = None;
    for client in clients {
        match client.join() {
            Ok(Ok(outcome)) => {
                latencies.extend(outcome.latencies);
                last_finish = last_finish.max(outcome.finished);
            }
            Ok(Err(error)) => {
                first_error.get_or_insert(error);
            }
            Err(_) => {
                first_error.get_or_insert(io::Error::other("a bench client thread panicked"));
            }
        }
    }
    if let Some(error) = first_error {
        return Err(error);
    }
    figures(latencies, last_finish.duration_since(started))
}

struct ClientOutcome {
    latencies: Vec<Duration>,
    finished: Instant,
}

fn run_client(
    addr: SocketAddr,
    setup: &[Vec<u8>],
    request: &[u8],
    depth: usize,
    duration: Duration,
    start: &Barrier,
) -> io::Result<ClientOutcome> {
    let prepared = connect_and_setup(addr, setup);
    // Reach the barrier even after a failure, or the others wait forever.
    start.wait();
    let (mut stream, mut reader) = prepared?;
    let deadline = Instant::now() + duration;

    let mut line = Vec::new();
    let mut burst = Vec::with_capacity(request.len() * depth);
    let mut in_flight: VecDeque<Instant> = VecDeque::with_capacity(depth);
    let mut latencies = Vec::new();
    send_burst(&mut stream, request, depth, &mut burst, &mut in_flight)?;
    let mut owed = 0;
    while let Some(sent) = in_flight.pop_front() {
        read_success(&mut reader, &mut line)?;
        let now = Instant::now();
        latencies.push(now.duration_since(sent));
        if now < deadline {
            owed += 1;
        }
        let more_already_here = reader.buffer().contains(&b'\n');
        if owed > 0 && !more_already_here {
            send_burst(&mut stream, request, owed, &mut burst, &mut in_flight)?;
            owed = 0;
        }
    }
    Ok(ClientOutcome {
        latencies,
        finished: Instant::now(),
    })
}

/// Connects and sends `setup`, each line answered (with success) before
/// the next.
pub(super) fn connect_and_setup(
    addr: SocketAddr,
    setup: &[Vec<u8>],
) -> io::Result<(TcpStream, BufReader<TcpStream>)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(RESPONSE_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = Vec::new();
    for request in setup {
        stream.write_all(request)?;
        read_success(&mut reader, &mut line)?;
    }
    Ok((stream, reader))
}

fn send_burst(
    stream: &mut TcpStream,
    request: &[u8],
    count: usize,
    burst: &mut Vec<u8>,
    in_flight: &mut VecDeque<Instant>,
) -> io::Result<()> {
    burst.clear();
    for _ in 0..count {
        burst.extend_from_slice(request);
    }
    let sent = Instant::now();
    stream.write_all(burst)?;
    in_flight.extend(std::iter::repeat_n(sent, count));
    Ok(())
}

/// Reads one response line, whatever its status.
pub(super) fn read_response(
    reader: &mut BufReader<TcpStream>,
    line: &mut Vec<u8>,
) -> io::Result<()> {
    line.clear();
    reader
        .by_ref()
        .take(MAX_RESPONSE_LINE)
        .read_until(b'\n', line)?;
    if line.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "server closed the connection or sent an overlong line",
        ));
    }
    Ok(())
}

/// Reads one response line and insists it reports success.
fn read_success(reader: &mut BufReader<TcpStream>, line: &mut Vec<u8>) -> io::Result<()> {
    read_response(reader, line)?;
    if !reports_success(line) {
        let shown = String::from_utf8_lossy(line.get(..200).unwrap_or(line));
        return Err(io::Error::other(format!(
            "server answered with an error, refusing to measure it: {}",
            shown.trim_end()
        )));
    }
    Ok(())
}

/// Whether a response line carries `"status":0`, without parsing the JSON:
/// the check runs once per request and must stay cheap for both servers.
pub(crate) fn reports_success(line: &[u8]) -> bool {
    const KEY: &[u8] = b"\"status\":";
    let Some(at) = line.windows(KEY.len()).position(|window| window == KEY) else {
        return false;
    };
    let mut value = line.get(at + KEY.len()..).unwrap_or_default();
    while let [b' ', rest @ ..] = value {
        value = rest;
    }
    matches!(value, [b'0', next, ..] if !next.is_ascii_digit())
}

pub(super) fn with_lf(line: &str) -> Vec<u8> {
    let mut bytes = line.as_bytes().to_vec();
    if bytes.last() != Some(&b'\n') {
        bytes.push(b'\n');
    }
    bytes
}

/// Throughput and latency percentiles of requests completed in `elapsed`.
pub(super) fn figures(mut latencies: Vec<Duration>, elapsed: Duration) -> io::Result<Figures> {
    if latencies.is_empty() || elapsed.is_zero() {
        return Err(io::Error::other("no request completed during the run"));
    }
    latencies.sort_unstable();
    Ok(Figures {
        ops_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 50),
        p99: percentile(&latencies, 99),
    })
}

/// Nearest-rank percentile of sorted, non-empty samples.
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::floor::{spawn_fixed_line_server, spawn_floor_server};
    use super::*;

    const REQUEST: &str = "{\"id\":3,\"request\":\"read_dp\",\"arguments\":[0]}";
    const SHORT: Duration = Duration::from_millis(100);

    fn setup() -> Vec<String> {
        vec!["{\"id\":0,\"request\":\"hello\",\"arguments\":[1]}".to_string()]
    }

    #[test]
    fn ping_pong_against_the_floor_completes_operations() {
        let floor = spawn_floor_server().unwrap();
        let load = Load {
            clients: 2,
            depth: 1,
        };
        let figures = drive(floor.addr(), &load, &setup(), REQUEST, SHORT).unwrap();
        assert!(figures.ops_per_sec > 0.0);
        assert!(figures.p50 <= figures.p99);
    }

    #[test]
    fn pipelined_load_against_the_floor_completes_operations() {
        let floor = spawn_floor_server().unwrap();
        let load = Load {
            clients: 1,
            depth: 16,
        };
        let figures = drive(floor.addr(), &load, &setup(), REQUEST, SHORT).unwrap();
        assert!(figures.ops_per_sec > 0.0);
        assert!(figures.p50 <= figures.p99);
    }

    #[test]
    fn an_error_response_fails_the_run() {
        let failing =
            spawn_fixed_line_server("{\"id\":3,\"status\":3,\"error\":\"no\"}\n").unwrap();
        let load = Load {
            clients: 1,
            depth: 4,
        };
        let error = drive(failing.addr(), &load, &[], REQUEST, SHORT).unwrap_err();
        assert!(error.to_string().contains("\"status\":3"), "{error}");
    }

    #[test]
    fn an_error_during_setup_fails_the_run() {
        let failing =
            spawn_fixed_line_server("{\"id\":0,\"status\":1,\"error\":\"no\"}\n").unwrap();
        let load = Load {
            clients: 3,
            depth: 1,
        };
        assert!(drive(failing.addr(), &load, &setup(), REQUEST, SHORT).is_err());
    }

    #[test]
    fn success_means_status_zero_and_nothing_else() {
        assert!(reports_success(b"{\"id\":3,\"status\":0,\"result\":1}\n"));
        assert!(reports_success(b"{\"id\":3, \"status\": 0}\n"));
        assert!(!reports_success(
            b"{\"id\":3,\"status\":10,\"error\":\"x\"}\n"
        ));
        assert!(!reports_success(
            b"{\"id\":3,\"status\":1,\"error\":\"x\"}\n"
        ));
        assert!(!reports_success(b"{\"id\":3,\"result\":0}\n"));
        assert!(!reports_success(b"{\"status\":0"));
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&samples, 50), Duration::from_micros(50));
        assert_eq!(percentile(&samples, 99), Duration::from_micros(99));
        let one = [Duration::from_micros(7)];
        assert_eq!(percentile(&one, 99), Duration::from_micros(7));
    }
}
