//! The `csw-switch` scenario: two clients take turns on the one AHB-AP
//! (APSEL 0) with different transfer sizes, each having written CSW once.
//!
//! Client A sets a 32-bit CSW and client B an 8-bit one, once, in their
//! setup. Then, with no lock, A writes TAR with its own RAM address and
//! reads DRW, then B does the same with its address, then A again, and so
//! on. One bench thread drives both connections and waits for each answer
//! before it sends the next request, so the requests reach the probe in the
//! order they are sent, and every turn from one client to the other is a
//! switch of client at the probe: the switches are counted exactly, not
//! guessed. Each client rewrites its own TAR on each turn, so what the other
//! client disturbs in between is CSW (and TAR's auto-increment): a server
//! that keeps each client's DAP view (docs/protocol.md, Sharing, rule 9) restores
//! CSW before a client's read; one that does not reads with the other
//! client's size.
//!
//! Besides ops/s and latency (each `write_ap` and `read_ap` is one op),
//! a round counts:
//! - **extra DAP transfers per switch**: the DP/AP register transfers the
//!   emulated firmware ran during the turns
//!   ([`FirmwareStats::transfers`](probeshare::sim::dap_firmware::FirmwareStats)),
//!   less one per request (what a `write_ap` or `read_ap` asks for; a lone
//!   client's requests cost exactly that, as a test here pins), divided by
//!   the switches. Only when the served probe's firmware counters are
//!   given.
//! - **wrong values**: reads answered with another value than the reading
//!   client's own CSW size and address give. Counted and reported, never
//!   fatal, so a server that mixes the clients' views is measured and
//!   shown to be wrong; requests answered with an error are counted apart
//!   as failed.

use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::load::{connect_and_setup, figures, read_response, reports_success, with_lf};
use super::{median, Figures};
use probeshare::dap::registers::{CSW_SIZE_32, CSW_SIZE_8, MEM_AP_CSW, MEM_AP_DRW, MEM_AP_TAR};
use probeshare::sim::dap_firmware::StatsHandle;

/// The scenario's name on the command line.
pub const NAME: &str = "csw-switch";

/// Register addresses on AP 0 (APSEL in bits 31:24, bank in 7:4).
const AP_CSW: u32 = MEM_AP_CSW as u32;
const AP_TAR: u32 = MEM_AP_TAR as u32;
const AP_DRW: u32 = MEM_AP_DRW as u32;
/// DP CTRL/STAT with CSYSPWRUPREQ and CDBGPWRUPREQ.
const POWER_UP: &str = "[4,1342177280]";
/// Debug software access, privileged data HPROT, MasterType debugger,
/// auto-increment single; the size in bits 2:0.
const CSW_BASE: u32 = 0x2300_0010;

/// One client of the scenario: its CSW, the address it reads and the
/// value its read must give.
struct Role {
    csw: u32,
    /// Writes after CSW that put its data in RAM, `(register, value)`.
    preload: &'static [(u32, u32)],
    address: u32,
    expected: u32,
}

/// A: a 32-bit CSW and the word at the start of RAM.
const A: Role = Role {
    csw: CSW_BASE | CSW_SIZE_32,
    preload: &[(AP_TAR, 0x2000_0000), (AP_DRW, 0x1234_5678)],
    address: 0x2000_0000,
    expected: 0x1234_5678,
};

/// B: an 8-bit CSW and byte lane 2 of its own word, which it fills a byte
/// at a time (0x99AA_BBCC): a word-sized read of it gives the whole word.
const B: Role = Role {
    csw: CSW_BASE | CSW_SIZE_8,
    preload: &[
        (AP_TAR, 0x2000_0100),
        (AP_DRW, 0x0000_00CC),
        (AP_DRW, 0x0000_BB00),
        (AP_DRW, 0x00AA_0000),
        (AP_DRW, 0x9900_0000),
    ],
    address: 0x2000_0102,
    expected: 0x00AA_0000,
};

/// What one round counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwitchCounts {
    /// Turns taken (one TAR write and one DRW read each).
    pub turns: u64,
    /// Changes of client between consecutive turns.
    pub switches: u64,
    /// Requests answered during the turns.
    pub requests: u64,
    pub reads: u64,
    /// Reads answered with success but the wrong value.
    pub wrong_values: u64,
    /// Requests answered with an error status.
    pub failed: u64,
    /// DAP transfers the firmware ran during the turns, when counted.
    pub transfers: Option<u64>,
}

impl SwitchCounts {
    /// Transfers beyond one per request, per switch; `None` without a
    /// transfer count or a switch.
    pub fn extra_transfers_per_switch(&self) -> Option<f64> {
        let transfers = self.transfers?;
        if self.switches == 0 {
            return None;
        }
        let extra = transfers as f64 - self.requests as f64;
        Some(extra / self.switches as f64)
    }
}

/// The counts of all rounds of one server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SwitchSummary {
    /// Totals over the rounds.
    pub switches: u64,
    pub reads: u64,
    pub wrong_values: u64,
    pub failed: u64,
    /// The median over the rounds; `None` when a round had no count.
    pub extra_transfers_per_switch: Option<f64>,
}

impl SwitchSummary {
    pub fn of_rounds(rounds: &[SwitchCounts]) -> SwitchSummary {
        let extra: Option<Vec<f64>> = rounds
            .iter()
            .map(SwitchCounts::extra_transfers_per_switch)
            .collect();
        SwitchSummary {
            switches: rounds.iter().map(|r| r.switches).sum(),
            reads: rounds.iter().map(|r| r.reads).sum(),
            wrong_values: rounds.iter().map(|r| r.wrong_values).sum(),
            failed: rounds.iter().map(|r| r.failed).sum(),
            extra_transfers_per_switch: extra.filter(|e| !e.is_empty()).map(median),
        }
    }
}

/// One round: the usual figures and the switch counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SwitchRun {
    pub figures: Figures,
    pub counts: SwitchCounts,
}

/// Runs the scenario against the server at `addr` for about `duration`
/// (at least two turns, so at least one switch). `firmware`, the counters
/// of the probe the server drives, makes it count transfers. Fails only on
/// I/O errors and failed setup requests; wrong or failed requests during
/// the turns are counted.
pub fn drive(
    addr: SocketAddr,
    duration: Duration,
    firmware: Option<&StatsHandle>,
) -> io::Result<SwitchRun> {
    let mut clients = [Client::connect(addr, &A)?, Client::connect(addr, &B)?];
    let transfers_before = firmware.map(|stats| stats.get().transfers);
    let mut counts = SwitchCounts::default();
    let mut latencies = Vec::new();
    let started = Instant::now();
    let deadline = started + duration;
    while counts.turns < 2 || Instant::now() < deadline {
        let turn = usize::from(counts.turns % 2 == 1);
        clients[turn].turn(&mut counts, &mut latencies)?;
        counts.turns += 1;
    }
    let elapsed = started.elapsed();
    counts.switches = counts.turns - 1;
    counts.transfers = firmware
        .zip(transfers_before)
        .map(|(stats, before)| stats.get().transfers.wrapping_sub(before));
    Ok(SwitchRun {
        figures: figures(latencies, elapsed)?,
        counts,
    })
}

/// One connection playing a [`Role`].
struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    write_tar: Vec<u8>,
    read_drw: Vec<u8>,
    expected: u32,
    line: Vec<u8>,
}

impl Client {
    /// Connects and runs the setup: hello, open, SWD connect, debug
    /// power-up, the role's CSW and its data.
    fn connect(addr: SocketAddr, role: &Role) -> io::Result<Client> {
        let mut setup = vec![
            r#"{"id":0,"request":"hello","arguments":[1]}"#.to_string(),
            r#"{"id":1,"request":"open"}"#.to_string(),
            r#"{"id":2,"request":"connect","arguments":["SWD"]}"#.to_string(),
            format!(r#"{{"id":3,"request":"write_dp","arguments":{POWER_UP}}}"#),
            write_ap(4, AP_CSW, role.csw),
        ];
        setup.extend(
            role.preload
                .iter()
                .map(|&(register, value)| write_ap(5, register, value)),
        );
        let setup: Vec<Vec<u8>> = setup.iter().map(|line| with_lf(line)).collect();
        let (stream, reader) = connect_and_setup(addr, &setup)?;
        Ok(Client {
            stream,
            reader,
            write_tar: with_lf(&write_ap(6, AP_TAR, role.address)),
            read_drw: with_lf(&format!(
                r#"{{"id":7,"request":"read_ap","arguments":[{AP_DRW}]}}"#
            )),
            expected: role.expected,
            line: Vec::new(),
        })
    }

    /// Writes TAR, reads DRW and checks the value.
    fn turn(&mut self, counts: &mut SwitchCounts, latencies: &mut Vec<Duration>) -> io::Result<()> {
        let Client {
            stream,
            reader,
            write_tar,
            read_drw,
            expected,
            line,
        } = self;
        let mut exchange = |request: &[u8]| -> io::Result<bool> {
            let sent = Instant::now();
            stream.write_all(request)?;
            read_response(reader, line)?;
            latencies.push(sent.elapsed());
            Ok(reports_success(line))
        };
        let written = exchange(write_tar)?;
        let read = exchange(read_drw)?;
        counts.requests += 2;
        counts.reads += 1;
        counts.failed += u64::from(!written) + u64::from(!read);
        if read && result_u32(line) != Some(*expected) {
            counts.wrong_values += 1;
        }
        Ok(())
    }
}

fn write_ap(id: u32, register: u32, value: u32) -> String {
    format!(r#"{{"id":{id},"request":"write_ap","arguments":[{register},{value}]}}"#)
}

/// The `"result"` of a response line when it is an unsigned 32-bit
/// number, without parsing the JSON (both servers pay for this check, so
/// it must stay cheap).
fn result_u32(line: &[u8]) -> Option<u32> {
    const KEY: &[u8] = b"\"result\":";
    let at = line.windows(KEY.len()).position(|window| window == KEY)?;
    let mut value = line.get(at + KEY.len()..)?;
    while let [b' ', rest @ ..] = value {
        value = rest;
    }
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(value.get(..digits)?).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::super::spawn_floor_server;
    use super::*;
    use probeshare::server::{self, ServerConfig};
    use probeshare::sim::dap_firmware::{FirmwareConfig, UsbModel};
    use std::net::TcpListener;

    const SHORT: Duration = Duration::from_millis(100);

    fn virtual_server() -> (server::ServerHandle, StatsHandle) {
        let sim = probeshare::sim::VirtualProbe::new(
            "sim",
            probeshare::sim::VIRTUAL_DESCRIPTION,
            FirmwareConfig::for_model(UsbModel::None),
        )
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let handle = server::spawn(listener, sim.probe, ServerConfig::default()).unwrap();
        (handle, sim.stats)
    }

    #[test]
    fn a_lone_clients_requests_cost_one_transfer_each() {
        // The premise of "extra transfers": with nobody to switch with, a
        // write_ap or read_ap is exactly one DAP transfer, and A reads its
        // own value.
        let (server, stats) = virtual_server();
        let mut a = Client::connect(server.local_addr(), &A).unwrap();
        let before = stats.get().transfers;
        let mut counts = SwitchCounts::default();
        let mut latencies = Vec::new();
        for _ in 0..10 {
            a.turn(&mut counts, &mut latencies).unwrap();
        }
        assert_eq!(stats.get().transfers - before, 20);
        assert_eq!((counts.requests, counts.reads), (20, 10));
        assert_eq!((counts.wrong_values, counts.failed), (0, 0));
        assert_eq!(latencies.len(), 20);
        drop(a);
        server.shutdown();
    }

    #[test]
    fn against_the_virtual_target_every_turn_is_counted() {
        let (server, stats) = virtual_server();
        let run = drive(server.local_addr(), SHORT, Some(&stats)).unwrap();
        let counts = run.counts;
        assert!(counts.turns >= 2);
        assert_eq!(counts.switches, counts.turns - 1);
        assert_eq!(counts.requests, 2 * counts.turns);
        assert_eq!(counts.reads, counts.turns);
        assert_eq!(counts.failed, 0);
        assert!(counts.wrong_values <= counts.reads);
        // Whatever the server restores, it never runs fewer transfers
        // than its clients asked for.
        let extra = counts.extra_transfers_per_switch().unwrap();
        assert!(extra >= 0.0, "{counts:?}");
        assert!(run.figures.ops_per_sec > 0.0);
        server.shutdown();
    }

    #[test]
    fn against_the_floor_wrong_values_are_counted_not_fatal() {
        let floor = spawn_floor_server().unwrap();
        let run = drive(floor.addr(), SHORT, None).unwrap();
        let counts = run.counts;
        assert_eq!(counts.wrong_values, counts.reads, "the floor answers DPIDR");
        assert_eq!(counts.transfers, None);
        assert_eq!(counts.extra_transfers_per_switch(), None);
        assert!(run.figures.p50 <= run.figures.p99);
    }

    #[test]
    fn the_roles_expect_what_their_own_size_reads() {
        // A word read of B's address gives B's whole word, a byte read of
        // A's address only its low byte: either mix-up is a wrong value.
        assert_eq!(A.expected, 0x1234_5678);
        assert_eq!(B.expected, 0x99AA_BBCC & 0x00FF_0000);
        assert_ne!(A.csw & 0b111, B.csw & 0b111);
    }

    #[test]
    fn results_are_read_without_parsing_the_json() {
        assert_eq!(
            result_u32(b"{\"id\":7,\"status\":0,\"result\":305419896}\n"),
            Some(0x1234_5678)
        );
        assert_eq!(result_u32(b"{\"id\":7, \"result\": 0}\n"), Some(0));
        assert_eq!(
            result_u32(b"{\"id\":7,\"status\":3,\"error\":\"x\"}\n"),
            None
        );
        assert_eq!(result_u32(b"{\"id\":7,\"result\":null}\n"), None);
        assert_eq!(result_u32(b"{\"id\":7,\"result\":4294967296}\n"), None);
    }

    #[test]
    fn the_summary_adds_up_rounds_and_takes_the_median_extra() {
        let round = |switches, requests, transfers| SwitchCounts {
            turns: switches + 1,
            switches,
            requests,
            reads: requests / 2,
            wrong_values: 1,
            failed: 0,
            transfers,
        };
        let rounds = [
            round(10, 22, Some(32)),
            round(10, 22, Some(22)),
            round(10, 22, Some(52)),
        ];
        let summary = SwitchSummary::of_rounds(&rounds);
        assert_eq!(summary.switches, 30);
        assert_eq!(summary.reads, 33);
        assert_eq!(summary.wrong_values, 3);
        assert_eq!(summary.extra_transfers_per_switch, Some(1.0));
        let uncounted = [round(10, 22, Some(32)), round(10, 22, None)];
        let summary = SwitchSummary::of_rounds(&uncounted);
        assert_eq!(summary.extra_transfers_per_switch, None);
    }
}
