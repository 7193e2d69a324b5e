//! Memory throughput through the DAP port (CMSIS-DAP over TCP, as
//! OpenOCD's `cmsis-dap` driver sends it with its `tcp` backend) against
//! the ceiling of the emulated USB link (`probeshare bench --usb`).
//!
//! The client speaks raw DAP packets as OpenOCD does: it asks DAP_Info for
//! the packet size and count, connects SWD, powers the debug port up and
//! sets a 32-bit auto-incrementing CSW; then it moves 64 KiB of RAM,
//! writing TAR at the start and at each 1 KiB auto-increment page (what
//! OpenOCD assumes of a MEM-AP), and keeps up to three packets in flight,
//! as OpenOCD does (min(packet count, 3)). Two packings ([`Style`]):
//! DAP_TransferBlock packets as large as the announced packet size allows,
//! each page's TAR write a DAP_Transfer of its own; and DAP_Transfer
//! packets filled as OpenOCD's driver fills them, the TAR writes among the
//! DRW accesses. The clock runs from the first packet written to the last
//! reply read; every round's data is checked.
//!
//! The read ceiling is that of the `--usb` rows of `throughput`: one
//! DAP_TransferBlock reply of the probe's packet size per USB frame. The
//! write ceiling is its mirror image: one DAP_TransferBlock request of the
//! probe's packet size (5 header bytes, then whole words) per frame.
//!
//! Besides the rate, each row counts the probe packets the emulated
//! firmware took ([`FirmwareStats::packets`](probeshare::sim::dap_firmware::FirmwareStats)),
//! against the fewest the link allows for the words moved.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use probeshare::cmsis_dap::tcp::{
    encode_packet, Header, HEADER_LEN, SIGNATURE, TYPE_REQUEST, TYPE_RESPONSE,
};
use probeshare::server::{self, ServerConfig};
use probeshare::sim::dap_firmware::{FirmwareConfig, UsbModel};
use probeshare::sim::{VirtualProbe, RAM_BASE, VIRTUAL_DESCRIPTION};

use super::median;

/// Packets OpenOCD keeps in flight at most.
pub const OPENOCD_IN_FLIGHT: usize = 3;
/// TAR auto-increment page the client assumes: 1 KiB, the least ADIv5
/// guarantees and OpenOCD's default (`tar_autoincr_block`).
pub const TAR_PAGE: u32 = 1024;

const DAP_INFO: u8 = 0x00;
const DAP_CONNECT: u8 = 0x02;
const DAP_TRANSFER: u8 = 0x05;
const DAP_TRANSFER_BLOCK: u8 = 0x06;
const INFO_PACKET_SIZE: u8 = 0xFF;
const INFO_PACKET_COUNT: u8 = 0xFE;
/// Transfer request bytes: DP/AP, read/write, A[3:2].
const DP_WRITE_CTRL_STAT: u8 = 0x04;
const DP_WRITE_SELECT: u8 = 0x08;
const AP_WRITE_CSW: u8 = 0x01;
const AP_WRITE_TAR: u8 = 0x05;
const AP_DRW_READ: u8 = 0x0F;
const AP_DRW_WRITE: u8 = 0x0D;
/// CDBGPWRUPREQ and CSYSPWRUPREQ.
const POWER_UP: u32 = 0x5000_0000;
/// 32-bit, auto-increment single, debugger master, privileged data.
const CSW_WORD_INCREMENT: u32 = 0x2300_0012;
/// Request and reply headers of DAP_TransferBlock.
const BLOCK_REQUEST_HEADER: usize = 5;
const BLOCK_REPLY_HEADER: usize = 4;
const ACK_OK: u8 = 0x01;

/// Which way the data moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Read,
    Write,
}

/// How the client packs memory accesses into DAP packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A TAR write of its own per auto-increment page, then
    /// DAP_TransferBlocks of DRW as large as the packet size allows.
    TransferBlock,
    /// What OpenOCD's `cmsis-dap` driver sends for a memory access queue
    /// that writes TAR at each page: DAP_Transfer packets filled with as
    /// many transfers as the packet size allows, each TAR write among the
    /// DRW accesses (a packet holding other transfers than one register's
    /// cannot be a DAP_TransferBlock).
    Transfer,
}

/// One measured link model and direction.
#[derive(Clone, Debug)]
pub struct DapRow {
    pub model: UsbModel,
    pub style: Style,
    pub direction: Direction,
    pub ceiling_bytes_per_sec: f64,
    pub measured_bytes_per_sec: f64,
    /// The DAP port's announced packet size.
    pub dap_packet_size: usize,
    /// DAP packets the client sent for the 64 KiB (TAR writes included).
    pub dap_packets: usize,
    /// Probe (USB) packets the emulated firmware took for them.
    pub usb_packets: u64,
    /// The fewest probe packets the words could travel in.
    pub least_usb_packets: u64,
}

impl DapRow {
    pub fn fraction_of_ceiling(&self) -> f64 {
        self.measured_bytes_per_sec / self.ceiling_bytes_per_sec
    }
}

/// Words one DAP_TransferBlock of `packet_size` carries in `direction`.
fn block_words(packet_size: usize, direction: Direction) -> usize {
    let header = match direction {
        Direction::Read => BLOCK_REPLY_HEADER,
        Direction::Write => BLOCK_REQUEST_HEADER,
    };
    packet_size.saturating_sub(header) / 4
}

/// The payload ceiling of `model` for `direction` in bytes per second: one
/// full DAP_TransferBlock of the probe's packet size per frame.
pub fn ceiling(model: UsbModel, direction: Direction) -> Option<f64> {
    let frame = model.frame_period()?;
    let words = block_words(usize::from(model.default_packet_size()), direction);
    Some((words * 4) as f64 / frame.as_secs_f64())
}

/// The packets of one pass over `bytes` of RAM at `base`: per TAR page a
/// TAR write, then DAP_TransferBlocks of at most `max_words`.
fn plan(base: u32, bytes: usize, max_words: usize, direction: Direction) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let words = bytes / 4;
    let mut done = 0usize;
    while done < words {
        let address = base + (done * 4) as u32;
        packets.push(transfer(&[(AP_WRITE_TAR, Some(address))]));
        let left_in_page = ((TAR_PAGE - address % TAR_PAGE) / 4) as usize;
        let mut page_left = left_in_page.min(words - done);
        while page_left > 0 {
            let now = page_left.min(max_words);
            packets.push(match direction {
                Direction::Read => block_read(now),
                Direction::Write => block_write(&pattern(done, now)),
            });
            done += now;
            page_left -= now;
        }
    }
    packets
}

/// The DAP_Transfer packets of one pass over `bytes` of RAM at `base`, as
/// OpenOCD packs them for `packet_size`: a TAR write at each page, DRW
/// accesses, a packet sent when the next transfer would not fit its
/// request, its reply or the 255 transfers a DAP_Transfer counts.
fn plan_transfers(
    base: u32,
    bytes: usize,
    packet_size: usize,
    direction: Direction,
) -> Vec<Vec<u8>> {
    const HEADER: usize = 3;
    let mut packets = Vec::new();
    let mut requests: Vec<(u8, Option<u32>)> = Vec::new();
    let (mut request_len, mut reply_len) = (HEADER, HEADER);
    let mut push = |packets: &mut Vec<Vec<u8>>, request: (u8, Option<u32>)| {
        let needs = 1 + if request.1.is_some() { 4 } else { 0 };
        let gives = if request.1.is_none() { 4 } else { 0 };
        if requests.len() == 255
            || request_len + needs > packet_size
            || reply_len + gives > packet_size
        {
            packets.push(transfer(&requests));
            requests.clear();
            (request_len, reply_len) = (HEADER, HEADER);
        }
        requests.push(request);
        request_len += needs;
        reply_len += gives;
    };
    let values = pattern(0, bytes / 4);
    for (i, value) in values.iter().enumerate() {
        let address = base + (i * 4) as u32;
        if i == 0 || address.is_multiple_of(TAR_PAGE) {
            push(&mut packets, (AP_WRITE_TAR, Some(address)));
        }
        let access = match direction {
            Direction::Read => (AP_DRW_READ, None),
            Direction::Write => (AP_DRW_WRITE, Some(*value)),
        };
        push(&mut packets, access);
    }
    if !requests.is_empty() {
        packets.push(transfer(&requests));
    }
    packets
}

/// The words written at word index `start` onwards.
fn pattern(start: usize, count: usize) -> Vec<u32> {
    (start..start + count)
        .map(|i| (i as u32).wrapping_mul(0x9E37_79B9) ^ 0xA5A5_0000)
        .collect()
}

fn transfer(requests: &[(u8, Option<u32>)]) -> Vec<u8> {
    let mut packet = vec![DAP_TRANSFER, 0, requests.len() as u8];
    for (request, data) in requests {
        packet.push(*request);
        if let Some(data) = data {
            packet.extend(data.to_le_bytes());
        }
    }
    packet
}

fn block_read(words: usize) -> Vec<u8> {
    let mut packet = vec![DAP_TRANSFER_BLOCK, 0];
    packet.extend((words as u16).to_le_bytes());
    packet.push(AP_DRW_READ);
    packet
}

fn block_write(values: &[u32]) -> Vec<u8> {
    let mut packet = vec![DAP_TRANSFER_BLOCK, 0];
    packet.extend((values.len() as u16).to_le_bytes());
    packet.push(AP_DRW_WRITE);
    for value in values {
        packet.extend(value.to_le_bytes());
    }
    packet
}

/// A DAP client over TCP: packets out, replies in, in order.
struct DapClient {
    stream: TcpStream,
}

impl DapClient {
    fn connect(addr: SocketAddr) -> io::Result<DapClient> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(DapClient { stream })
    }

    fn send(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
        encode_packet(&mut bytes, TYPE_REQUEST, payload);
        self.stream.write_all(&bytes)
    }

    fn receive(&mut self) -> io::Result<Vec<u8>> {
        let mut header = [0u8; HEADER_LEN];
        self.stream.read_exact(&mut header)?;
        let header = Header::parse(&header);
        if header.signature != SIGNATURE || header.packet_type != TYPE_RESPONSE {
            return Err(io::Error::other(format!("bad reply header {header:?}")));
        }
        let mut payload = vec![0u8; usize::from(header.length)];
        self.stream.read_exact(&mut payload)?;
        Ok(payload)
    }

    fn call(&mut self, payload: &[u8]) -> io::Result<Vec<u8>> {
        self.send(payload)?;
        self.receive()
    }

    /// Sends `packets` keeping up to `depth` unanswered; the replies, in
    /// order.
    fn pipeline(&mut self, packets: &[Vec<u8>], depth: usize) -> io::Result<Vec<Vec<u8>>> {
        let mut replies = Vec::with_capacity(packets.len());
        let mut in_flight = VecDeque::new();
        for packet in packets {
            if in_flight.len() >= depth.max(1) {
                in_flight.pop_front();
                replies.push(self.receive()?);
            }
            self.send(packet)?;
            in_flight.push_back(());
        }
        while in_flight.pop_front().is_some() {
            replies.push(self.receive()?);
        }
        Ok(replies)
    }

    /// DAP_Info's packet size and count, DAP_Connect SWD, debug power-up,
    /// SELECT 0 and a 32-bit auto-incrementing CSW.
    fn prepare(&mut self) -> io::Result<(usize, usize)> {
        let size = self.call(&[DAP_INFO, INFO_PACKET_SIZE])?;
        let count = self.call(&[DAP_INFO, INFO_PACKET_COUNT])?;
        let (Some(&[low, high]), Some(&count)) = (size.get(2..4), count.get(2)) else {
            return Err(io::Error::other("DAP_Info without packet size or count"));
        };
        let connected = self.call(&[DAP_CONNECT, 1])?;
        if connected != [DAP_CONNECT, 1] {
            return Err(io::Error::other(format!("DAP_Connect: {connected:02x?}")));
        }
        let setup = transfer(&[
            (DP_WRITE_CTRL_STAT, Some(POWER_UP)),
            (DP_WRITE_SELECT, Some(0)),
            (AP_WRITE_CSW, Some(CSW_WORD_INCREMENT)),
        ]);
        check_transfer(&self.call(&setup)?, 3)?;
        Ok((
            usize::from(u16::from_le_bytes([low, high])),
            usize::from(count),
        ))
    }
}

fn check_transfer(reply: &[u8], count: u8) -> io::Result<()> {
    if reply.get(..3) != Some(&[DAP_TRANSFER, count, ACK_OK]) {
        return Err(io::Error::other(format!(
            "DAP_Transfer failed: {:02x?}",
            &reply[..reply.len().min(3)]
        )));
    }
    Ok(())
}

/// The words of the DAP_TransferBlock replies among `replies`, checking
/// every reply succeeded.
fn words_of(packets: &[Vec<u8>], replies: &[Vec<u8>]) -> io::Result<Vec<u32>> {
    let mut words = Vec::new();
    for (packet, reply) in packets.iter().zip(replies) {
        match packet[0] {
            DAP_TRANSFER => {
                check_transfer(reply, packet[2])?;
                words.extend(
                    reply[3..]
                        .chunks_exact(4)
                        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])),
                );
            }
            _ => {
                let expected = u16::from_le_bytes([packet[2], packet[3]]);
                let header = reply.get(..BLOCK_REPLY_HEADER).unwrap_or_default();
                let wanted = [
                    DAP_TRANSFER_BLOCK,
                    expected.to_le_bytes()[0],
                    expected.to_le_bytes()[1],
                    ACK_OK,
                ];
                if header != wanted {
                    return Err(io::Error::other(format!(
                        "DAP_TransferBlock failed: {header:02x?}"
                    )));
                }
                words.extend(
                    reply[BLOCK_REPLY_HEADER..]
                        .chunks_exact(4)
                        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])),
                );
            }
        }
    }
    Ok(words)
}

/// Moves `bytes` of RAM through the DAP port of a server on the virtual
/// target with `model`, `rounds` times in `direction`; reports the median
/// rate. Every round's data is checked: writes are read back, reads see
/// what was written before.
pub fn measure(
    model: UsbModel,
    style: Style,
    direction: Direction,
    bytes: usize,
    rounds: usize,
) -> io::Result<DapRow> {
    let ceiling_bytes_per_sec = ceiling(model, direction)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "model has no frames"))?;
    let sim = VirtualProbe::new("sim", VIRTUAL_DESCRIPTION, FirmwareConfig::for_model(model))
        .map_err(io::Error::other)?;
    let stats = sim.stats.clone();
    let handle = server::spawn_with_dap(
        TcpListener::bind("127.0.0.1:0")?,
        Some(TcpListener::bind("127.0.0.1:0")?),
        sim.probe,
        ServerConfig::default(),
    )?;
    let dap_addr = handle
        .dap_addr()
        .ok_or_else(|| io::Error::other("no DAP port"))?;
    let mut client = DapClient::connect(dap_addr)?;
    let (packet_size, packet_count) = client.prepare()?;
    let depth = packet_count.min(OPENOCD_IN_FLIGHT);
    let words = bytes / 4;
    let plan_for = |direction| match style {
        Style::TransferBlock => plan(
            RAM_BASE,
            bytes,
            block_words(packet_size, direction),
            direction,
        ),
        Style::Transfer => plan_transfers(RAM_BASE, bytes, packet_size, direction),
    };
    let (reads, writes) = (plan_for(Direction::Read), plan_for(Direction::Write));
    let expected = pattern(0, words);
    if direction == Direction::Read {
        // What the reads must find.
        words_of(&writes, &client.pipeline(&writes, depth)?)?;
    }
    let packets = match direction {
        Direction::Read => &reads,
        Direction::Write => &writes,
    };
    let mut rates = Vec::new();
    let mut usb_packets = 0;
    for _ in 0..rounds.max(1) {
        let before = stats.get().packets;
        let start = Instant::now();
        let replies = client.pipeline(packets, depth)?;
        let elapsed = start.elapsed();
        usb_packets = stats.get().packets - before;
        let got = match direction {
            Direction::Read => words_of(packets, &replies)?,
            Direction::Write => {
                words_of(packets, &replies)?;
                words_of(&reads, &client.pipeline(&reads, depth)?)?
            }
        };
        if got != expected {
            let wrong = got.iter().zip(&expected).filter(|(a, b)| a != b).count();
            return Err(io::Error::other(format!(
                "{direction:?}: {wrong} of {words} words wrong ({} read)",
                got.len()
            )));
        }
        rates.push(bytes as f64 / elapsed.max(Duration::from_nanos(1)).as_secs_f64());
    }
    drop(client);
    handle.shutdown();
    let per_usb_packet = block_words(usize::from(model.default_packet_size()), direction);
    Ok(DapRow {
        model,
        style,
        direction,
        ceiling_bytes_per_sec,
        measured_bytes_per_sec: median(rates),
        dap_packet_size: packet_size,
        dap_packets: packets.len(),
        usb_packets,
        least_usb_packets: words.div_ceil(per_usb_packet) as u64,
    })
}

/// Prints the rows as a table.
pub fn print(rows: &[DapRow], bytes: usize, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(
        out,
        "{} KiB through the DAP port (CMSIS-DAP over TCP), {OPENOCD_IN_FLIGHT} packets in \
         flight, median per link model",
        bytes / 1024
    )?;
    writeln!(
        out,
        "{:<8} | {:<14} | {:<5} | {:>13} | {:>13} | {:>10} | {:>11} | {:>17}",
        "link",
        "packets",
        "dir",
        "ceiling",
        "measured",
        "of ceiling",
        "DAP packets",
        "USB packets/least"
    )?;
    for row in rows {
        writeln!(
            out,
            "{:<8} | {:<14} | {:<5} | {:>8.1} KB/s | {:>8.1} KB/s | {:>9.1}% | {:>4} × {:>4} | {:>8} / {:>6}",
            format!("{:?}", row.model),
            match row.style {
                Style::TransferBlock => "TransferBlock",
                Style::Transfer => "Transfer",
            },
            format!("{:?}", row.direction).to_lowercase(),
            row.ceiling_bytes_per_sec / 1e3,
            row.measured_bytes_per_sec / 1e3,
            100.0 * row.fraction_of_ceiling(),
            row.dap_packets,
            row.dap_packet_size,
            row.usb_packets,
            row.least_usb_packets,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_are_a_full_block_per_frame_each_way() {
        assert_eq!(ceiling(UsbModel::FsHid, Direction::Read), Some(60_000.0));
        assert_eq!(ceiling(UsbModel::FsHid, Direction::Write), Some(56_000.0));
        assert_eq!(
            ceiling(UsbModel::HsBulk, Direction::Write),
            Some(504.0 * 8000.0)
        );
        assert_eq!(ceiling(UsbModel::None, Direction::Read), None);
    }

    #[test]
    fn the_plan_sets_tar_at_each_page_and_fills_blocks() {
        let packets = plan(RAM_BASE, 2048, 255, Direction::Read);
        let kinds: Vec<(u8, usize)> = packets
            .iter()
            .map(|p| match p[0] {
                DAP_TRANSFER => (DAP_TRANSFER, 1),
                _ => (p[0], usize::from(u16::from_le_bytes([p[2], p[3]]))),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                (DAP_TRANSFER, 1),
                (DAP_TRANSFER_BLOCK, 255),
                (DAP_TRANSFER_BLOCK, 1),
                (DAP_TRANSFER, 1),
                (DAP_TRANSFER_BLOCK, 255),
                (DAP_TRANSFER_BLOCK, 1),
            ]
        );
    }

    #[test]
    fn openocds_packing_fills_each_transfer_and_writes_tar_at_each_page() {
        let reads = plan_transfers(RAM_BASE, 2048, 1024, Direction::Read);
        let counts: Vec<u8> = reads.iter().map(|p| p[2]).collect();
        // 512 reads and 2 TAR writes; a reply holds 255 words.
        assert_eq!(counts, [255, 255, 4]);
        assert_eq!(reads[0][3], AP_WRITE_TAR);
        let writes = plan_transfers(RAM_BASE, 2048, 1024, Direction::Write);
        // A write is 5 request bytes: 204 in a 1024-byte packet.
        let counts: Vec<u8> = writes.iter().map(|p| p[2]).collect();
        assert_eq!(counts, [204, 204, 106]);
        assert!(writes.iter().all(|p| p.len() <= 1024));
    }

    #[test]
    fn every_style_and_direction_moves_every_word_below_the_ceiling() {
        for style in [Style::TransferBlock, Style::Transfer] {
            for direction in [Direction::Read, Direction::Write] {
                let row =
                    measure(UsbModel::HsBulk, style, direction, 8 * 1024, 1).expect("measured");
                assert!(row.measured_bytes_per_sec > 0.0);
                assert!(row.fraction_of_ceiling() <= 1.0, "{row:?}");
                assert!(row.usb_packets >= row.least_usb_packets, "{row:?}");
            }
        }
    }
}
