//! The firmware's command interpreter: one command packet in, one response
//! packet out, with the probe state the commands configure. The transfer
//! commands live in `transfer`.

use std::time::Duration;

use super::cursor::Cursor;
use super::record::{RecordHandle, ResetEdge, SwjSequence};
use super::SharedTarget;

// Command IDs (CMSIS-DAP `DAP.h`).
pub(super) const ID_INFO: u8 = 0x00;
pub(super) const ID_HOST_STATUS: u8 = 0x01;
pub(super) const ID_CONNECT: u8 = 0x02;
pub(super) const ID_DISCONNECT: u8 = 0x03;
pub(super) const ID_TRANSFER_CONFIGURE: u8 = 0x04;
pub(super) const ID_TRANSFER: u8 = 0x05;
pub(super) const ID_TRANSFER_BLOCK: u8 = 0x06;
pub(super) const ID_TRANSFER_ABORT: u8 = 0x07;
pub(super) const ID_WRITE_ABORT: u8 = 0x08;
pub(super) const ID_DELAY: u8 = 0x09;
pub(super) const ID_RESET_TARGET: u8 = 0x0A;
pub(super) const ID_SWJ_PINS: u8 = 0x10;
pub(super) const ID_SWJ_CLOCK: u8 = 0x11;
pub(super) const ID_SWJ_SEQUENCE: u8 = 0x12;
pub(super) const ID_SWD_CONFIGURE: u8 = 0x13;
pub(super) const ID_SWD_SEQUENCE: u8 = 0x1D;
pub(super) const ID_QUEUE_COMMANDS: u8 = 0x7E;
pub(super) const ID_EXECUTE_COMMANDS: u8 = 0x7F;
/// Replaces the echoed ID in the response to an unimplemented command.
pub(super) const ID_INVALID: u8 = 0xFF;

pub(super) const DAP_OK: u8 = 0x00;
pub(super) const DAP_ERROR: u8 = 0xFF;

pub const VENDOR_NAME: &str = "probeshare";
pub const PRODUCT_NAME: &str = "probeshare CMSIS-DAP (virtual)";
pub const PROTOCOL_VERSION: &str = "2.1.0";
pub const FIRMWARE_VERSION: &str = "0.1.0";
/// Capabilities Info0: SWD (bit 0) and atomic commands (bit 4). No JTAG,
/// no SWO (the virtual target has no trace pin), no test-domain timer, no
/// UART.
pub(super) const CAPABILITIES: u8 = 0x11;

/// SWJ_Pins bits that are outputs of the probe.
const PIN_OUTPUTS: u8 = PIN_SWCLK | PIN_SWDIO | PIN_TDI | PIN_NTRST | PIN_NRESET;
const PIN_SWCLK: u8 = 1 << 0;
const PIN_SWDIO: u8 = 1 << 1;
const PIN_TDI: u8 = 1 << 2;
const PIN_TDO: u8 = 1 << 3;
const PIN_NTRST: u8 = 1 << 5;
const PIN_NRESET: u8 = 1 << 7;

/// A DAP_SWD_Sequence info byte: cycle count in bits 5:0 (0 = 64), bit 7
/// set for input.
const SEQUENCE_CYCLES: u8 = 0x3F;
const SEQUENCE_INPUT: u8 = 0x80;

/// The debug port mode DAP_Connect set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    Disabled,
    Swd,
}

/// DAP_TransferConfigure's settings plus the match mask, with the
/// reference firmware's power-on values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferSettings {
    pub idle_cycles: u8,
    /// Retries after a WAIT acknowledge (attempts = 1 + retries).
    pub wait_retry: u16,
    /// Extra reads of a value-match read that does not match yet.
    pub match_retry: u16,
    pub match_mask: u32,
}

/// Why a command got no ordinary response.
pub(super) enum Refusal {
    /// Too short for its fields: answered with its ID and DAP_ERROR.
    Malformed,
    /// Not implemented: answered with [`ID_INVALID`].
    Unknown,
}

/// The probe state behind the commands.
pub(super) struct Firmware {
    pub(super) target: SharedTarget,
    pub(super) serial: String,
    pub(super) packet_size: u16,
    pub(super) packet_count: u8,
    pub(super) port: Port,
    pub(super) transfer: TransferSettings,
    /// DAP_SWD_Configure: turnaround cycles (1..=4) and data phase.
    pub(super) turnaround: u8,
    pub(super) data_phase: bool,
    pub(super) clock_hz: u32,
    /// The levels the probe drives on its SWJ outputs.
    pub(super) pins: u8,
    /// DAP_HostStatus LEDs: connected, running.
    pub(super) leds: (bool, bool),
    /// Time the current packet keeps the firmware busy (DAP_Delay).
    busy: Duration,
    /// DP/AP register transfers run so far (see `transfer` for what counts);
    /// published as [`FirmwareStats::transfers`](super::FirmwareStats).
    pub(super) transfers: u64,
    /// What the commands did to the wire (tests look).
    pub(super) record: RecordHandle,
    /// When the packet being run arrived, on the firmware's clock.
    pub(super) now: Duration,
}

impl Firmware {
    pub(super) fn new(
        target: SharedTarget,
        serial: String,
        packet_size: u16,
        packet_count: u8,
    ) -> Firmware {
        Firmware {
            target,
            serial,
            packet_size,
            packet_count,
            port: Port::Disabled,
            transfer: TransferSettings {
                idle_cycles: 0,
                wait_retry: 100,
                match_retry: 0,
                match_mask: 0,
            },
            turnaround: 1,
            data_phase: false,
            clock_hz: 1_000_000,
            pins: PIN_OUTPUTS,
            leds: (false, false),
            busy: Duration::ZERO,
            transfers: 0,
            record: RecordHandle::default(),
            now: Duration::ZERO,
        }
    }

    /// Runs one packet; returns its response and how long the firmware
    /// was busy beyond the bus time. Packets of DAP_QueueCommands come here
    /// when their queue runs, and answer as DAP_ExecuteCommands does.
    pub(super) fn execute_packet(&mut self, packet: &[u8]) -> (Vec<u8>, Duration) {
        self.busy = Duration::ZERO;
        let mut response = Vec::new();
        match packet.split_first() {
            Some((&(ID_QUEUE_COMMANDS | ID_EXECUTE_COMMANDS), rest)) => {
                self.execute_commands(rest, &mut response)
            }
            Some(_) => {
                self.process(packet, &mut response);
            }
            None => {}
        }
        (response, std::mem::take(&mut self.busy))
    }

    /// Runs the commands packed into one DAP_ExecuteCommands packet. A
    /// command whose length cannot be known (unknown or malformed) ends the
    /// packet: its refusal is the last response, and NumCmd counts it.
    fn execute_commands(&mut self, request: &[u8], response: &mut Vec<u8>) {
        let Some((&count, mut rest)) = request.split_first() else {
            response.extend([ID_EXECUTE_COMMANDS, 0]);
            return;
        };
        response.extend([ID_EXECUTE_COMMANDS, 0]);
        let mut executed = 0u8;
        for _ in 0..count {
            if rest.is_empty() {
                break;
            }
            executed += 1;
            match self.process(rest, response) {
                Some(used) => rest = rest.get(used..).unwrap_or_default(),
                None => break,
            }
        }
        response[1] = executed;
    }

    /// Runs the command at the start of `request`, appending its response;
    /// returns how many request bytes it took, `None` when that is unknown.
    fn process(&mut self, request: &[u8], response: &mut Vec<u8>) -> Option<usize> {
        let (&id, args) = request.split_first()?;
        let start = response.len();
        response.push(id);
        let mut args = Cursor::new(args);
        match self.dispatch(id, &mut args, response) {
            Ok(()) => Some(1 + args.consumed()),
            Err(refusal) => {
                response.truncate(start);
                match refusal {
                    Refusal::Malformed => response.extend([id, DAP_ERROR]),
                    Refusal::Unknown => response.push(ID_INVALID),
                }
                None
            }
        }
    }

    fn dispatch(&mut self, id: u8, args: &mut Cursor, out: &mut Vec<u8>) -> Result<(), Refusal> {
        let done = match id {
            ID_INFO => self.info(args, out),
            ID_HOST_STATUS => self.host_status(args, out),
            ID_CONNECT => self.connect(args, out),
            ID_DISCONNECT => {
                self.port = Port::Disabled;
                status(out, DAP_OK)
            }
            ID_TRANSFER_CONFIGURE => self.transfer_configure(args, out),
            ID_TRANSFER => self.transfer(args, out),
            ID_TRANSFER_BLOCK => self.transfer_block(args, out),
            ID_WRITE_ABORT => self.write_abort(args, out),
            ID_DELAY => args.u16().map(|micros| {
                self.busy += Duration::from_micros(u64::from(micros));
                out.push(DAP_OK)
            }),
            // No device-specific reset sequence: Execute = 0.
            ID_RESET_TARGET => {
                out.extend([DAP_OK, 0]);
                Some(())
            }
            ID_SWJ_PINS => self.swj_pins(args, out),
            ID_SWJ_CLOCK => args.u32().map(|hz| {
                // The sim runs at any clock, but 0 Hz is no clock at all.
                if hz == 0 {
                    return out.push(DAP_ERROR);
                }
                self.clock_hz = hz;
                self.record.0.lock().clocks.push(hz);
                out.push(DAP_OK)
            }),
            ID_SWJ_SEQUENCE => self.swj_sequence(args, out),
            ID_SWD_CONFIGURE => args.u8().map(|config| {
                self.turnaround = (config & 0b11) + 1;
                self.data_phase = config & 0b100 != 0;
                out.push(DAP_OK)
            }),
            ID_SWD_SEQUENCE => self.swd_sequence(args, out),
            _ => return Err(Refusal::Unknown),
        };
        done.ok_or(Refusal::Malformed)
    }

    fn info(&mut self, args: &mut Cursor, out: &mut Vec<u8>) -> Option<()> {
        let limit = usize::from(self.packet_size).saturating_sub(2);
        match args.u8()? {
            0x01 => push_string(out, VENDOR_NAME, limit),
            0x02 => push_string(out, PRODUCT_NAME, limit),
            0x03 => push_string(out, &self.serial, limit),
            0x04 => push_string(out, PROTOCOL_VERSION, limit),
            0x09 => push_string(out, FIRMWARE_VERSION, limit),
            0xF0 => out.extend([2, CAPABILITIES, 0]),
            0xFE => out.extend([1, self.packet_count]),
            0xFF => {
                out.push(2);
                out.extend(self.packet_size.to_le_bytes());
            }
            // Target device/board strings (no fixed target), the timer,
            // UART and SWO buffer sizes (none built in), unknown IDs.
            _ => out.push(0),
        }
        Some(())
    }

    fn host_status(&mut self, args: &mut Cursor, out: &mut Vec<u8>) -> Option<()> {
        let (kind, on) = (args.u8()?, args.u8()? & 1 != 0);
        match kind {
            0 => self.leds.0 = on,
            1 => self.leds.1 = on,
            _ => return status(out, DAP_ERROR),
        }
        status(out, DAP_OK)
    }

    fn connect(&mut self, args: &mut Cursor, out: &mut Vec<u8>) -> Option<()> {
        // Port 0 is the default port, SWD. A port that is not built in
        // fails and, as in the reference firmware, leaves the mode as it was.
        let connected = match args.u8()? {
            0 | 1 => {
                self.port = Port::Swd;
                1
            }
            _ => 0,
        };
        status(out, connected)
    }

    fn transfer_configure(&mut self, args: &mut Cursor, out: &mut Vec<u8>) -> Option<()> {
        let (idle_cycles, wait_retry, match_retry) = (args.u8()?, args.u16()?, args.u16()?);
        self.transfer.idle_cycles = idle_cycles;
        self.transfer.wait_retry = wait_retry;
        self.transfer.match_retry = match_retry;
        status(out, DAP_OK)
    }

    fn write_abort(&mut self, args: &mut Cursor, out: &mut Vec<u8>) -> Option<()> {
        let (_dap_index, abort) = (args.u8()?, args.u32()?);
        if self.port == Port::Disabled {
            return status(out, DAP_ERROR);
        }
        // ABORT is a DP write, which the DP always acknowledges OK.
        let _ = self
            .target
            .lock()
            .dp_write(super::transfer::DP_ABORT, abort);
        status(out, DAP_OK)
    }

    fn swj_pins(&mut self, args: &mut Cursor, out: &mut Vec<u8>) -> Option<()> {
        let (levels, select, _wait_us) = (args.u8()?, args.u8()?, args.u32()?);
        let select = select & PIN_OUTPUTS;
        self.pins = (self.pins & !select) | (levels & select);
        let mut target = self.target.lock();
        if select & PIN_NRESET != 0 {
            let asserted = levels & PIN_NRESET == 0;
            if asserted != target.nreset_asserted() {
                self.record.0.lock().reset_edges.push(ResetEdge {
                    asserted,
                    at: self.now,
                });
            }
            target.set_nreset(asserted);
        }
        // Inputs follow the outputs at once, so the wait never waits. TDO
        // has no driver on an SWD target; the probe's pull-up holds it high.
        let nreset = if target.nreset_asserted() {
            0
        } else {
            PIN_NRESET
        };
        status(out, (self.pins & !PIN_NRESET) | PIN_TDO | nreset)
    }
}

/// Appends a status byte: the whole response of most commands.
fn status(out: &mut Vec<u8>, value: u8) -> Option<()> {
    out.push(value);
    Some(())
}

/// Appends a DAP_Info string: length with the NUL, then the bytes and the
/// NUL, cut at a character boundary to fit `limit` bytes and a u8 length.
fn push_string(out: &mut Vec<u8>, text: &str, limit: usize) {
    let room = limit.min(usize::from(u8::MAX)).saturating_sub(1);
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let bytes = text.as_bytes().get(..end).unwrap_or_default();
    out.push(u8::try_from(end + 1).unwrap_or(u8::MAX));
    out.extend_from_slice(bytes);
    out.push(0);
}

/// The SWJ and SWD sequences: raw SWDIO cycles the target sees between
/// transactions (`sim::line` says what it makes of them). Only a connected
/// port drives the pins; without DAP_Connect the cycles reach nothing, as
/// the reference firmware leaves its pins off until then.
impl Firmware {
    /// DAP_SWJ_Sequence: the bits go out on SWDIO, LSB first.
    fn swj_sequence(&mut self, args: &mut Cursor, out: &mut Vec<u8>) -> Option<()> {
        let bits = match args.u8()? {
            0 => 256,
            n => usize::from(n),
        };
        let levels = args.take(bits.div_ceil(8))?;
        self.record.0.lock().swj_sequences.push(SwjSequence {
            bits,
            levels: levels.to_vec(),
        });
        self.clock_swdio(levels, bits);
        status(out, DAP_OK)
    }

    /// DAP_SWD_Sequence: output cycles go out on SWDIO; input cycles read
    /// SWDIO undriven, which the probe's pull-up holds high (the target
    /// sees it high too). This is what a DPv1 target does for a multi-drop
    /// selection it does not understand.
    fn swd_sequence(&mut self, args: &mut Cursor, out: &mut Vec<u8>) -> Option<()> {
        let count = args.u8()?;
        let mut captured = Vec::new();
        let mut cycles_run = Vec::new();
        for _ in 0..count {
            let info = args.u8()?;
            let cycles = match info & SEQUENCE_CYCLES {
                0 => 64,
                n => usize::from(n),
            };
            if info & SEQUENCE_INPUT != 0 {
                captured.extend(high_bits(cycles));
                cycles_run.push((None, cycles));
            } else {
                cycles_run.push((Some(args.take(cycles.div_ceil(8))?), cycles));
            }
        }
        // Parsed whole before any cycle runs: a malformed command clocks
        // nothing.
        for (levels, cycles) in cycles_run {
            self.clock_swdio(levels.unwrap_or_default(), cycles);
        }
        out.push(DAP_OK);
        out.extend(captured);
        Some(())
    }

    /// Clocks `cycles` SWDIO levels (LSB first; missing bytes read high)
    /// into the target, if the port is on.
    fn clock_swdio(&mut self, levels: &[u8], cycles: usize) {
        if self.port != Port::Disabled {
            self.target.lock().clock_swdio(levels, cycles);
        }
    }
}

/// `cycles` one-bits, LSB first, padded with zeros to whole bytes.
fn high_bits(cycles: usize) -> impl Iterator<Item = u8> {
    (0..cycles.div_ceil(8)).map(move |byte| {
        let bits = cycles.saturating_sub(byte * 8).min(8);
        (0xFFu16 >> (8 - bits)) as u8
    })
}
