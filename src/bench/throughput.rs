//! Memory throughput through the server against the ceiling the emulated
//! USB link allows (`probeshare bench --usb`).
//!
//! The ceiling is the payload of one DAP_TransferBlock reply packet
//! (packet size less its 4-byte header, in whole words) times the packets
//! the link moves per second (one per frame: 1 ms full-speed, 125 µs
//! high-speed). The measurement is one client reading with
//! `read_ap_multiple` through the AHB-AP's DRW, as pyOCD does for a
//! CMSIS-DAP probe without a memory handle.

use std::io;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use probeshare::server::{self, ServerConfig};
use probeshare::sim::dap_firmware::UsbModel;

/// How the client reads memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPath {
    /// `read_ap_multiple` of DRW: what pyOCD does without a memory handle.
    ApRegisters,
    /// `read_block32` through a memory handle: one request per block.
    MemoryHandle,
}

/// One measured link model.
#[derive(Clone, Debug)]
pub struct ThroughputRow {
    pub model: UsbModel,
    pub path: ReadPath,
    pub ceiling_bytes_per_sec: f64,
    pub measured_bytes_per_sec: f64,
}

impl ThroughputRow {
    pub fn fraction_of_ceiling(&self) -> f64 {
        self.measured_bytes_per_sec / self.ceiling_bytes_per_sec
    }
}

/// The payload ceiling of `model` in bytes per second.
pub fn ceiling(model: UsbModel) -> Option<f64> {
    let frame = model.frame_period()?;
    let packet = usize::from(model.default_packet_size());
    let words_per_reply = packet.saturating_sub(4) / 4;
    Some((words_per_reply * 4) as f64 / frame.as_secs_f64())
}

/// Reads `bytes` per request along `path`, `rounds` times, from a server on
/// the virtual target with `model`; reports the median rate.
pub fn measure(
    model: UsbModel,
    path: ReadPath,
    bytes: usize,
    rounds: usize,
) -> io::Result<ThroughputRow> {
    let ceiling_bytes_per_sec = ceiling(model)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "model has no frames"))?;
    let probe = probeshare::sim::virtual_probe("sim", model).map_err(io::Error::other)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let config = ServerConfig {
        memory_handles: path == ReadPath::MemoryHandle,
        ..ServerConfig::default()
    };
    let handle = server::spawn(listener, probe, config)?;
    let mut client = JsonClient::connect(handle.local_addr())?;
    prepare(&mut client)?;
    let memory = match path {
        ReadPath::ApRegisters => Value::Null,
        ReadPath::MemoryHandle => client.call("get_memory_interface_for_ap", json!([1, 0]))?,
    };
    let words = bytes / 4;
    let mut rates = Vec::new();
    for _ in 0..rounds.max(1) {
        // The clock stops when the response has arrived, before the client
        // parses it: decoding 16 Ki numbers is the benchmark's own cost.
        let start = Instant::now();
        let (result, elapsed) = match path {
            ReadPath::ApRegisters => {
                client.call("write_ap", json!([0x04, 0x2000_0000]))?;
                client.call_timed("read_ap_multiple", json!([0x0C, words]), start)?
            }
            ReadPath::MemoryHandle => client.call_timed(
                "read_block32",
                json!([memory, 0x2000_0000u32, words]),
                start,
            )?,
        };
        let got = result.as_array().map_or(0, Vec::len);
        if got != words {
            return Err(io::Error::other(format!("read {got} of {words} words")));
        }
        rates.push(bytes as f64 / elapsed.max(Duration::from_nanos(1)).as_secs_f64());
    }
    handle.shutdown();
    rates.sort_by(f64::total_cmp);
    Ok(ThroughputRow {
        model,
        path,
        ceiling_bytes_per_sec,
        measured_bytes_per_sec: rates[rates.len() / 2],
    })
}

/// hello, open, connect, debug power-up, 32-bit auto-incrementing CSW.
fn prepare(client: &mut JsonClient) -> io::Result<Value> {
    client.call("hello", json!([1]))?;
    client.call("open", json!([]))?;
    client.call("connect", json!(["SWD"]))?;
    client.call("write_dp", json!([0x04, 0x5000_0000]))?;
    client.call("write_ap", json!([0x00, 0x2300_0012]))
}

/// Prints the rows as a table.
pub fn print(rows: &[ThroughputRow], bytes: usize, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(
        out,
        "{} KiB reads of RAM through the server, one client, median per link model",
        bytes / 1024
    )?;
    writeln!(
        out,
        "{:<8} | {:<22} | {:>13} | {:>13} | {:>10}",
        "link", "read path", "ceiling", "measured", "of ceiling"
    )?;
    for row in rows {
        let path = match row.path {
            ReadPath::ApRegisters => "read_ap_multiple (AP)",
            ReadPath::MemoryHandle => "read_block32 (handle)",
        };
        writeln!(
            out,
            "{:<8} | {:<22} | {:>8.1} KB/s | {:>8.1} KB/s | {:>9.1}%",
            format!("{:?}", row.model),
            path,
            row.ceiling_bytes_per_sec / 1e3,
            row.measured_bytes_per_sec / 1e3,
            100.0 * row.fraction_of_ceiling()
        )?;
    }
    Ok(())
}

/// A minimal blocking client: one request, one response.
struct JsonClient {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    next_id: u64,
}

impl JsonClient {
    fn connect(addr: SocketAddr) -> io::Result<JsonClient> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let reader = BufReader::new(stream.try_clone()?);
        Ok(JsonClient {
            stream,
            reader,
            next_id: 0,
        })
    }

    /// Sends one request; its result, or an error naming the failure.
    fn call(&mut self, request: &str, arguments: Value) -> io::Result<Value> {
        Ok(self.call_timed(request, arguments, Instant::now())?.0)
    }

    /// Like `call`, also returning the time from `start` until the whole
    /// response line had arrived.
    fn call_timed(
        &mut self,
        request: &str,
        arguments: Value,
        start: Instant,
    ) -> io::Result<(Value, Duration)> {
        self.next_id += 1;
        let mut line = json!({"id": self.next_id, "request": request, "arguments": arguments})
            .to_string()
            .into_bytes();
        line.push(b'\n');
        self.stream.write_all(&line)?;
        let mut reply = String::new();
        if self.reader.read_line(&mut reply)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let arrived = start.elapsed();
        let reply: Value = serde_json::from_str(&reply).map_err(io::Error::other)?;
        if reply["status"] != 0 {
            return Err(io::Error::other(format!("{request} failed: {reply}")));
        }
        Ok((reply.get("result").cloned().unwrap_or(Value::Null), arrived))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_are_reply_payload_per_frame() {
        // 64-byte reports: 60 bytes of words per 1 ms frame.
        assert_eq!(ceiling(UsbModel::FsHid), Some(60_000.0));
        // 512-byte packets: 508 bytes per 125 µs microframe.
        assert_eq!(ceiling(UsbModel::HsBulk), Some(508.0 * 8000.0));
        assert_eq!(ceiling(UsbModel::None), None);
    }

    #[test]
    fn measured_rate_stays_below_the_ceiling_and_reads_every_word() {
        for path in [ReadPath::ApRegisters, ReadPath::MemoryHandle] {
            let row = measure(UsbModel::HsBulk, path, 16 * 1024, 1).expect("measured");
            assert!(row.measured_bytes_per_sec > 0.0);
            // A modelled link cannot be beaten: that would mean the model leaks.
            assert!(row.fraction_of_ceiling() <= 1.0, "{row:?}");
        }
    }
}
