//! Emulated CMSIS-DAP probe firmware in front of the virtual target: a
//! [`Transport`] that parses command packets as a probe's firmware does and
//! runs them against an [`SwdTarget`], so the CMSIS-DAP driver can be run
//! and tested without hardware.
//!
//! Written from the CMSIS-DAP specification (and the reference firmware's
//! documented behaviour), independently of the driver's own codec, so that
//! each checks the other. What it is:
//! - **Identity**: vendor "probeshare", product "probeshare CMSIS-DAP
//!   (virtual)", a configurable serial, protocol "2.1.0", firmware "0.1.0".
//!   Capabilities: SWD and atomic commands only; no JTAG, no SWO (the
//!   virtual target has no trace output), no test-domain timer, no UART.
//! - **Commands**: the general, SWJ and SWD commands, DAP_Transfer,
//!   DAP_TransferBlock (semantics in `transfer`), DAP_ExecuteCommands and
//!   DAP_QueueCommands. DAP_SWJ_Sequence and DAP_SWD_Sequence clock their
//!   SWDIO cycles into the target once the port is connected, where a line
//!   reset puts the SW-DP in its reset state (`sim::line`). Every other ID
//!   (JTAG, SWO, UART, vendor, unknown) is answered `[0xFF]` as the
//!   specification says for commands that are not implemented. (The reference firmware built without JTAG answers
//!   the JTAG IDs with their echo and DAP_ERROR instead; either tells a
//!   driver "no JTAG".)
//! - **Malformed commands** (too short for their fields) run nothing and
//!   are answered with their ID and DAP_ERROR (0xFF); bytes after a
//!   command's fields are ignored, as HID padding must be.
//! - **DAP_TransferAbort** has no response; as every command runs to its end
//!   before the next packet is read, there is never a transfer to abort.
//!
//! Packets, as the USB link carries them:
//! - A command longer than the packet size, or an empty one, is refused by
//!   `write_packet` with [`TransportError::Io`] and not run: the device's
//!   buffer could not take it.
//! - A response longer than the packet size (the driver asked for more
//!   read data than fits) is cut to the packet size, as the device could
//!   send no more, and counted in [`FirmwareStats::truncated_responses`].
//! - On HID ([`UsbModel::FsHid`]) a response is read as a whole report,
//!   padded with zeros to the packet size.
//! - More packets than the packet count may be written; a real device would
//!   stall them, here they are accepted and counted in
//!   [`FirmwareStats::window_overruns`], with the largest number in flight
//!   in [`FirmwareStats::max_outstanding`], so driver tests can assert
//!   that the driver keeps to its window.
//! - `read_packet` returns the oldest response once the USB model says it
//!   has arrived, sleeping the clock until then; if that is beyond the
//!   timeout it sleeps the timeout and reports [`TransportError::Timeout`],
//!   leaving the response queued. A buffer too small for the response is
//!   an overflow ([`TransportError::Io`]) and the response is lost, as on
//!   USB.
//!
//! Unplugging ([`PlugHandle::unplug`]) makes every `write_packet` and
//! `read_packet` fail with [`TransportError::Disconnected`], as a USB
//! transfer to a device that has gone does; responses queued before are
//! lost with it. Plugging back in does not revive this transport (a real
//! replugged device is opened anew); it exists so that one handle can be
//! flipped both ways in tests.
//!
//! [`FirmwareStats::transfers`] counts the DP and AP register transfers
//! run for the host, so that a test or the bench can tell how many a
//! server adds to what its clients asked for.
//!
//! Tests arm faults through [`FaultHandle`] (`faults`: replies cut short,
//! to the wrong command, never sent, a hung firmware, a cable pulled in the
//! middle of a batch; and, in the target, WAIT, FAULT, no acknowledge and
//! parity errors at chosen addresses), and read what reached the wire
//! through [`RecordHandle`] (`record`: clock, SWJ sequences, nRESET).
//!
//! [`FirmwareConfig::extra_latency`] delays every response by a fixed
//! amount more, independently of the bus.
//!
//! Timing is in `usb`; the clock is injectable ([`VirtualClock`]).

mod clock;
mod commands;
mod cursor;
mod faults;
mod handles;
mod record;
mod transfer;
mod usb;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::cmsis_dap::{Transport, TransportError};
use crate::sim::target::SwdTarget;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use commands::VENDOR_NAME;
pub use commands::{Port, TransferSettings, FIRMWARE_VERSION, PRODUCT_NAME, PROTOCOL_VERSION};
pub use faults::{FaultHandle, ReplyFault};
pub use handles::{FirmwareStats, PlugHandle, StatsHandle};
pub use record::{RecordHandle, Recording, ResetEdge, SwjSequence};
pub use usb::UsbModel;

use commands::{Firmware, ID_QUEUE_COMMANDS, ID_TRANSFER_ABORT};
use usb::UsbSchedule;

/// The target behind the firmware, shared so that tests can inspect it and
/// inject faults while a driver owns the transport.
pub type SharedTarget = Arc<Mutex<SwdTarget>>;

/// The packet sizes the reference firmware can be built with.
const PACKET_SIZES: std::ops::RangeInclusive<u16> = 64..=32768;

/// What the emulated probe reports and how it is attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirmwareConfig {
    /// DAP_Info serial number (the probe's unique id).
    pub serial: String,
    /// DAP_Info packet size; clamped to 64..=32768 as a firmware build is.
    pub packet_size: u16,
    /// DAP_Info packet count; at least 1.
    pub packet_count: u8,
    pub usb: UsbModel,
    /// Added to every response's arrival time, on top of the USB model: a
    /// probe (or a target behind a slow link) that takes this long per
    /// packet, for tests of what a slow probe must not hold up.
    pub extra_latency: Duration,
}

impl FirmwareConfig {
    /// A typical probe on `usb`: full-speed HID 64 B × 4 packets,
    /// high-speed bulk and no bus 512 B × 8; serial "sim".
    pub fn for_model(usb: UsbModel) -> FirmwareConfig {
        FirmwareConfig {
            serial: "sim".to_owned(),
            packet_size: usb.default_packet_size(),
            packet_count: usb.default_packet_count(),
            usb,
            extra_latency: Duration::ZERO,
        }
    }
}

struct Response {
    ready_at: Duration,
    bytes: Vec<u8>,
}

/// The emulated probe: firmware, USB link timing and the target.
pub struct SimDapFirmware {
    firmware: Firmware,
    config: FirmwareConfig,
    schedule: UsbSchedule,
    clock: Box<dyn Clock>,
    responses: VecDeque<Response>,
    /// DAP_QueueCommands packets waiting for a packet that runs them.
    queued: Vec<Vec<u8>>,
    stats: StatsHandle,
    plug: PlugHandle,
    faults: Arc<Mutex<faults::FirmwareFaults>>,
}

impl SimDapFirmware {
    /// A probe in real time.
    pub fn new(target: SwdTarget, config: FirmwareConfig) -> SimDapFirmware {
        SimDapFirmware::with_clock(target, config, SystemClock::new())
    }

    /// A probe on `clock` (a [`VirtualClock`] for tests).
    pub fn with_clock(
        target: SwdTarget,
        mut config: FirmwareConfig,
        clock: impl Clock + 'static,
    ) -> SimDapFirmware {
        config.packet_size = config
            .packet_size
            .clamp(*PACKET_SIZES.start(), *PACKET_SIZES.end());
        config.packet_count = config.packet_count.max(1);
        let target = Arc::new(Mutex::new(target));
        SimDapFirmware {
            firmware: Firmware::new(
                target,
                config.serial.clone(),
                config.packet_size,
                config.packet_count,
            ),
            schedule: UsbSchedule::new(config.usb, usize::from(config.packet_size)),
            config,
            clock: Box::new(clock),
            responses: VecDeque::new(),
            queued: Vec::new(),
            stats: StatsHandle::default(),
            plug: PlugHandle::default(),
            faults: Arc::default(),
        }
    }

    /// The configuration in force (after clamping).
    pub fn config(&self) -> &FirmwareConfig {
        &self.config
    }

    pub fn target(&self) -> SharedTarget {
        Arc::clone(&self.firmware.target)
    }

    pub fn stats(&self) -> StatsHandle {
        self.stats.clone()
    }

    /// Arms faults in this firmware and its target (tests only; `faults`).
    pub fn fault_handle(&self) -> FaultHandle {
        FaultHandle {
            firmware: Arc::clone(&self.faults),
            target: self.target(),
        }
    }

    /// What the firmware did to the wire so far (`record`).
    pub fn record_handle(&self) -> RecordHandle {
        self.firmware.record.clone()
    }

    /// The virtual cable: unplugging it disconnects this transport.
    pub fn plug_handle(&self) -> PlugHandle {
        self.plug.clone()
    }

    fn check_plugged(&mut self) -> Result<(), TransportError> {
        if self.plug.is_plugged() {
            return Ok(());
        }
        self.responses.clear();
        self.queued.clear();
        Err(TransportError::Disconnected("unplugged".into()))
    }

    /// The debug port mode DAP_Connect set up.
    pub fn port(&self) -> Port {
        self.firmware.port
    }

    /// DAP_TransferConfigure's settings and the match mask.
    pub fn transfer_settings(&self) -> TransferSettings {
        self.firmware.transfer
    }

    /// The last DAP_SWJ_Clock frequency.
    pub fn clock_hz(&self) -> u32 {
        self.firmware.clock_hz
    }

    /// DAP_HostStatus: the (connected, running) LEDs.
    pub fn host_status(&self) -> (bool, bool) {
        self.firmware.leds
    }

    fn outstanding(&self) -> usize {
        self.responses.len() + self.queued.len()
    }

    /// Runs a packet delivered at `delivered` and queues its response.
    fn run(&mut self, packet: &[u8], delivered: Duration) {
        self.firmware.now = delivered;
        let (mut bytes, busy) = self.firmware.execute_packet(packet);
        let fault = packet
            .first()
            .and_then(|&id| self.faults.lock().take_reply(id));
        match fault {
            Some(ReplyFault::Truncate(len)) => bytes.truncate(len),
            Some(ReplyFault::WrongCommand(id)) => {
                if let Some(first) = bytes.first_mut() {
                    *first = id;
                }
            }
            Some(ReplyFault::Swallow) => return,
            Some(ReplyFault::Disconnect) => {
                self.plug.unplug();
                return;
            }
            None => {}
        }
        let packet_size = usize::from(self.config.packet_size);
        if bytes.len() > packet_size {
            bytes.truncate(packet_size);
            self.stats.0.lock().truncated_responses += 1;
        }
        if self.config.usb.pads_reports() {
            bytes.resize(packet_size, 0);
        }
        let done = self.schedule.executed(delivered, busy);
        let ready_at = self.schedule.response_ready(done, bytes.len()) + self.config.extra_latency;
        self.responses.push_back(Response { ready_at, bytes });
    }
}

impl Transport for SimDapFirmware {
    fn write_packet(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        self.check_plugged()?;
        let packet_size = usize::from(self.config.packet_size);
        let Some(&id) = packet.first().filter(|_| packet.len() <= packet_size) else {
            self.stats.0.lock().refused_packets += 1;
            return Err(TransportError::Io(format!(
                "command packet of {} bytes does not fit the probe's packet size of {packet_size}",
                packet.len()
            )));
        };
        let delivered = self
            .schedule
            .command_delivered(self.clock.now(), packet.len());
        if id == ID_TRANSFER_ABORT {
            return Ok(());
        }
        {
            let mut stats = self.stats.0.lock();
            stats.packets += 1;
            if self.outstanding() >= usize::from(self.config.packet_count) {
                stats.window_overruns += 1;
            }
        }
        if self.faults.lock().swallow_if_hung() {
            // Taken off the bus and never looked at.
        } else if id == ID_QUEUE_COMMANDS {
            self.queued.push(packet.to_vec());
        } else {
            for queued in std::mem::take(&mut self.queued) {
                self.run(&queued, delivered);
            }
            self.run(packet, delivered);
        }
        let outstanding = self.outstanding();
        let mut stats = self.stats.0.lock();
        stats.max_outstanding = stats.max_outstanding.max(outstanding);
        stats.transfers = self.firmware.transfers;
        Ok(())
    }

    fn read_packet(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.check_plugged()?;
        let now = self.clock.now();
        // No deadline when now + timeout overflows: wait as long as needed.
        let deadline = now.checked_add(timeout);
        let next = self.responses.front().map(|response| response.ready_at);
        let Some(ready_at) = next.filter(|ready| deadline.is_none_or(|end| *ready <= end)) else {
            self.clock.sleep(timeout);
            return Err(TransportError::Timeout(timeout));
        };
        if let Some(wait) = ready_at.checked_sub(now).filter(|wait| !wait.is_zero()) {
            self.clock.sleep(wait);
        }
        let Some(response) = self.responses.pop_front() else {
            return Err(TransportError::Timeout(timeout));
        };
        let Some(destination) = buf.get_mut(..response.bytes.len()) else {
            return Err(TransportError::Io(format!(
                "response of {} bytes overflows a {}-byte buffer",
                response.bytes.len(),
                buf.len()
            )));
        };
        destination.copy_from_slice(&response.bytes);
        Ok(response.bytes.len())
    }

    fn initial_packet_size(&self) -> usize {
        // HID reports are the packet size; a bulk endpoint only tells its
        // transaction size until DAP_Info does.
        let packet_size = usize::from(self.config.packet_size);
        if self.config.usb.pads_reports() {
            packet_size
        } else {
            packet_size.min(self.config.usb.endpoint_size())
        }
    }
}
