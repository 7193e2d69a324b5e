//! [`CmsisDapProbe`]: the [`DebugProbe`] driver for any CMSIS-DAP probe
//! behind a [`Transport`].
//!
//! - `new` asks DAP_Info (packet size and count, capabilities, protocol
//!   version) right away, so [`DebugProbe::info`] is exact before any client
//!   opens the probe: the server shows it to clients first thing.
//! - `open` turns the host-status "connected" LED on and sets transfer
//!   (idle 0, 80 WAIT retries, no match retries) and SWD (turnaround 1)
//!   configuration; `connect` is DAP_Connect (never port 0: "default" is
//!   SWD if the probe has it, else JTAG) and DAP_SWJ_Clock, plus
//!   DAP_JTAG_Configure for a single 4-bit IR TAP under JTAG. Line resets
//!   and JTAG-to-SWD switching are the client's `swj_sequence`s.
//! - DP addresses are A\[3:2\] with the DP bank in bits 7:4, which the
//!   driver selects for banked registers (bank 0 when none is given).
//!   AP addresses are APv1: APSEL in bits 31:24, APBANKSEL in 7:4; the
//!   driver writes SELECT when they change, keeping the DPBANKSEL last
//!   written. A client's own SELECT writes update that cache; any transfer
//!   error forgets it (the write may not have happened), and so does any
//!   SWJ or SWD sequence: a line reset leaves SELECT as it was on an ADIv5
//!   DP, but a protocol switch, a dormant wake-up or a multi-drop selection
//!   may leave another DP, or this one in another state, behind the wire,
//!   and writing SELECT again costs one transfer.
//! - Register writes are deferred (see `queue` for when their errors are
//!   reported); [`CmsisDapProbe::set_deferred_writes`] turns that off.
//! - `reset` is an nRESET pulse through DAP_SWJ_Pins, held and followed by
//!   a settle time (100 ms each by default, as pyOCD), not DAP_ResetTarget.

use std::time::Duration;

use crate::probe::{
    DebugProbe, ProbeError, ProbeInfo, ProbeResult, ProtocolRequest, SwdSequence, SwdSequenceReply,
    TransferPipeline, WireProtocol,
};

use super::commands::setup::{
    Connect, Disconnect, HostStatus, HostStatusKind, JtagConfigure, SwdConfigure, TransferConfigure,
};
use super::commands::swj::{SwjClock, SwjPins, PIN_NRESET};
use super::commands::DapCommand;
use super::identity::{DapInfo, ProbeIdentity};
use super::link::Link;
use super::pipeline::Pipeline;
use super::queue::TransferQueue;
use super::Transport;

mod addresses;
mod pipelined;
mod sequences;
mod swo;

/// The clock used until `set_clock` says otherwise (pyOCD's default).
pub const DEFAULT_CLOCK_HZ: u32 = 1_000_000;
/// DAP_TransferConfigure values set at `open`.
pub const TRANSFER_CONFIGURATION: TransferConfigure = TransferConfigure {
    idle_cycles: 0,
    wait_retry: 80,
    match_retry: 0,
};
/// Without a scan, JTAG assumes one ARM JTAG-DP (IR length 4) on the chain.
const JTAG_IR_LENGTHS: [u8; 1] = [4];
const DEFAULT_RESET_HOLD: Duration = Duration::from_millis(100);

/// What an operation needs before it may run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    Open,
    Connection,
}

pub struct CmsisDapProbe<T: Transport> {
    info: ProbeInfo,
    dap: DapInfo,
    link: Link<T>,
    queue: TransferQueue,
    /// Register transfers of several requests in flight (the worker's
    /// pipelined jobs); empty whenever any other call runs.
    pipeline: Pipeline,
    is_open: bool,
    wire: Option<WireProtocol>,
    clock_hz: u32,
    /// What SELECT holds, as far as the driver knows.
    select: Option<u32>,
    deferred_writes: bool,
    reset_hold: Duration,
    reset_settle: Duration,
    swo_running: bool,
}

impl<T: Transport> CmsisDapProbe<T> {
    /// Reads DAP_Info from the probe behind `transport`.
    pub fn new(transport: T, identity: ProbeIdentity) -> ProbeResult<CmsisDapProbe<T>> {
        let mut link = Link::new(transport);
        let dap = DapInfo::read(&mut link)?;
        link.set_packet_size(dap.packet_size);
        Ok(CmsisDapProbe {
            info: dap.probe_info(identity),
            queue: TransferQueue::new(dap.packet_size, dap.packet_count),
            pipeline: Pipeline::new(
                dap.packet_size,
                dap.packet_count,
                dap.capabilities.atomic_commands(),
            ),
            dap,
            link,
            is_open: false,
            wire: None,
            clock_hz: DEFAULT_CLOCK_HZ,
            select: None,
            deferred_writes: true,
            reset_hold: DEFAULT_RESET_HOLD,
            reset_settle: DEFAULT_RESET_HOLD,
            swo_running: false,
        })
    }

    #[cfg(test)]
    pub fn dap_info(&self) -> &DapInfo {
        &self.dap
    }

    pub fn transport(&self) -> &T {
        self.link.transport()
    }

    /// With `false`, every register write completes before it returns, so
    /// its error goes to the request that wrote (one round trip each).
    pub fn set_deferred_writes(&mut self, deferred: bool) {
        self.deferred_writes = deferred;
    }

    /// How long a reply may take before the probe counts as not answering
    /// (default [`DEFAULT_REPLY_TIMEOUT`](super::link::DEFAULT_REPLY_TIMEOUT));
    /// tests of a probe that stops answering shorten it.
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.link.set_timeout(timeout);
    }

    /// How long `reset` holds nRESET low, and waits after releasing it
    /// (tests and fuzz targets shorten it).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn set_reset_timing(&mut self, hold: Duration, settle: Duration) {
        self.reset_hold = hold;
        self.reset_settle = settle;
    }

    /// Keeps at most `count` packets in flight, fewer than the probe says
    /// (some HID firmware claims buffers it does not have). Takes effect
    /// when nothing is queued; call it before `open`.
    #[cfg(test)]
    pub fn limit_packet_count(&mut self, count: usize) {
        if self.queue.is_empty() {
            let count = count.clamp(1, self.dap.packet_count);
            self.queue = TransferQueue::new(self.dap.packet_size, count);
            let atomic = self.dap.capabilities.atomic_commands();
            self.pipeline = Pipeline::new(self.dap.packet_size, count, atomic);
        }
    }

    fn start(&mut self, needs: Needs) -> ProbeResult<()> {
        self.drain_pipeline();
        self.queue.begin_request();
        // A write would otherwise be queued, and answered, for a device
        // known to be gone.
        if let Some(why) = self.link.gone() {
            return Err(ProbeError::Disconnected(why.to_owned()));
        }
        if !self.is_open {
            return Err(ProbeError::Probe("probe is not open".to_owned()));
        }
        if needs == Needs::Connection && self.wire.is_none() {
            return Err(ProbeError::Probe("probe is not connected".to_owned()));
        }
        Ok(())
    }

    /// Runs queue work; any error forgets SELECT, which may or may not
    /// have been written.
    fn transfers<R>(
        &mut self,
        work: impl FnOnce(&mut TransferQueue, &mut Link<T>) -> ProbeResult<R>,
    ) -> ProbeResult<R> {
        let result = work(&mut self.queue, &mut self.link);
        if result.is_err() {
            self.select = None;
        }
        result
    }

    fn flush_queue(&mut self) -> ProbeResult<()> {
        self.transfers(|queue, link| queue.flush(link))
    }

    /// Sends any other command: queued transfers go first, both to keep
    /// their order and because nothing may be in flight when its reply is
    /// read.
    fn command<C: DapCommand>(&mut self, command: &C) -> ProbeResult<C::Output> {
        self.flush_queue()?;
        self.link.command(command)
    }

    /// Completes a write now unless writes are deferred.
    fn written(&mut self) -> ProbeResult<()> {
        if self.deferred_writes {
            Ok(())
        } else {
            self.flush_queue()
        }
    }

    /// Runs a step of close/disconnect that must not stop the rest: the
    /// wire and the probe are released whatever a queued write did.
    fn best_effort(&mut self, step: &str, result: ProbeResult<()>) -> ProbeResult<()> {
        match result {
            Err(error @ ProbeError::Disconnected(_)) => Err(error),
            Err(error) => {
                log::warn!("{}: {step} failed: {error}", self.info.unique_id);
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    /// Disconnects the wire; it counts as released even if the probe is
    /// gone or refuses.
    fn release_wire(&mut self) -> ProbeResult<()> {
        self.wire = None;
        self.select = None;
        let flushed = self.flush_queue();
        self.best_effort("completing queued transfers", flushed)?;
        let disconnected = self.link.command(&Disconnect);
        self.best_effort("DAP_Disconnect", disconnected)
    }
}

impl<T: Transport> DebugProbe for CmsisDapProbe<T> {
    fn info(&self) -> &ProbeInfo {
        &self.info
    }

    fn open(&mut self) -> ProbeResult<()> {
        self.drain_pipeline();
        self.queue.begin_request();
        self.link.try_again();
        self.link.command(&HostStatus {
            kind: HostStatusKind::Connect,
            on: true,
        })?;
        self.link.command(&TRANSFER_CONFIGURATION)?;
        self.link.command(&SwdConfigure {
            turnaround: 1,
            always_data_phase: false,
        })?;
        self.is_open = true;
        Ok(())
    }

    fn close(&mut self) -> ProbeResult<()> {
        self.start(Needs::Open)?;
        self.is_open = false;
        if self.wire.is_some() {
            self.release_wire()?;
        } else {
            let flushed = self.flush_queue();
            self.best_effort("completing queued transfers", flushed)?;
        }
        let led = self.link.command(&HostStatus {
            kind: HostStatusKind::Connect,
            on: false,
        });
        self.best_effort("DAP_HostStatus", led)
    }

    fn connect(&mut self, request: ProtocolRequest) -> ProbeResult<WireProtocol> {
        self.start(Needs::Open)?;
        let supported = self.dap.wire_protocols();
        let protocol = match request {
            ProtocolRequest::Default => supported.first().copied().ok_or_else(|| {
                ProbeError::Probe("the probe supports neither SWD nor JTAG".to_owned())
            })?,
            ProtocolRequest::Specific(wanted) if supported.contains(&wanted) => wanted,
            ProtocolRequest::Specific(wanted) => {
                return Err(ProbeError::Probe(format!(
                    "{wanted} is not supported by this probe"
                )))
            }
        };
        let Some(actual) = self.command(&Connect(protocol))? else {
            return Err(ProbeError::Probe(format!(
                "the probe refused to connect with {protocol}"
            )));
        };
        self.wire = Some(actual);
        self.select = None;
        self.link.command(&SwjClock(self.clock_hz))?;
        if actual == WireProtocol::Jtag {
            self.link.command(&JtagConfigure {
                ir_lengths: JTAG_IR_LENGTHS.to_vec(),
            })?;
        }
        Ok(actual)
    }

    fn disconnect(&mut self) -> ProbeResult<()> {
        self.start(Needs::Open)?;
        self.release_wire()
    }

    fn swj_sequence(&mut self, bit_count: u16, bits: &[u8]) -> ProbeResult<()> {
        self.start(Needs::Connection)?;
        self.select = None;
        self.run_swj_sequence(bit_count, bits)
    }

    fn set_clock(&mut self, hz: u32) -> ProbeResult<()> {
        self.start(Needs::Open)?;
        self.command(&SwjClock(hz))?;
        self.clock_hz = hz;
        Ok(())
    }

    fn reset(&mut self) -> ProbeResult<()> {
        self.start(Needs::Open)?;
        self.command(&SwjPins::drive_reset(true))?;
        std::thread::sleep(self.reset_hold);
        self.command(&SwjPins::drive_reset(false))?;
        std::thread::sleep(self.reset_settle);
        Ok(())
    }

    fn assert_reset(&mut self, asserted: bool) -> ProbeResult<()> {
        self.start(Needs::Open)?;
        self.command(&SwjPins::drive_reset(asserted)).map(drop)
    }

    fn is_reset_asserted(&mut self) -> ProbeResult<bool> {
        self.start(Needs::Open)?;
        let pins = self.command(&SwjPins::read())?;
        Ok(pins & PIN_NRESET == 0)
    }

    fn flush(&mut self) -> ProbeResult<()> {
        self.start(Needs::Open)?;
        self.flush_queue()
    }

    fn read_dp(&mut self, addr: u32) -> ProbeResult<u32> {
        self.start(Needs::Connection)?;
        let register = self.select_dp(addr, true)?;
        self.transfers(|queue, link| queue.read(link, register))
    }

    fn write_dp(&mut self, addr: u32, value: u32) -> ProbeResult<()> {
        self.start(Needs::Connection)?;
        let register = self.select_dp(addr, false)?;
        self.transfers(|queue, link| queue.write(link, register, value))?;
        self.note_dp_write(register, value);
        self.written()
    }

    fn read_ap(&mut self, addr: u32) -> ProbeResult<u32> {
        self.start(Needs::Connection)?;
        let register = self.select_ap(addr)?;
        self.transfers(|queue, link| queue.read(link, register))
    }

    fn write_ap(&mut self, addr: u32, value: u32) -> ProbeResult<()> {
        self.start(Needs::Connection)?;
        let register = self.select_ap(addr)?;
        self.transfers(|queue, link| queue.write(link, register, value))?;
        self.written()
    }

    fn read_ap_multiple(&mut self, addr: u32, count: u32) -> ProbeResult<Vec<u32>> {
        self.start(Needs::Connection)?;
        let register = self.select_ap(addr)?;
        self.transfers(|queue, link| queue.read_block(link, register, count))
    }

    fn read_ap_pages(
        &mut self,
        tar_addr: u32,
        drw_addr: u32,
        pages: &[(u32, u32)],
    ) -> ProbeResult<Vec<u32>> {
        self.start(Needs::Connection)?;
        let tar = self.select_ap(tar_addr)?;
        let drw = self.select_ap(drw_addr)?;
        self.transfers(|queue, link| queue.read_blocks_after_writes(link, tar, drw, pages))
    }

    fn write_ap_multiple(&mut self, addr: u32, values: &[u32]) -> ProbeResult<()> {
        self.start(Needs::Connection)?;
        let register = self.select_ap(addr)?;
        self.transfers(|queue, link| queue.write_block(link, register, values))?;
        self.written()
    }

    fn pipeline(&mut self) -> Option<&mut dyn TransferPipeline> {
        Some(self)
    }

    fn swd_sequence(&mut self, sequences: &[SwdSequence]) -> ProbeResult<SwdSequenceReply> {
        self.start(Needs::Connection)?;
        self.select = None;
        self.run_swd_sequences(sequences)
    }

    fn jtag_sequence(
        &mut self,
        cycles: u8,
        tms: bool,
        read_tdo: bool,
        tdi: u64,
    ) -> ProbeResult<Option<u64>> {
        self.start(Needs::Connection)?;
        self.run_jtag_sequence(cycles, tms, read_tdo, tdi)
    }

    fn has_swo(&self) -> bool {
        self.dap.capabilities.swo_uart()
    }

    fn swo_start(&mut self, baudrate: u32) -> ProbeResult<()> {
        self.start(Needs::Open)?;
        self.start_swo(baudrate)
    }

    fn swo_stop(&mut self) -> ProbeResult<()> {
        self.start(Needs::Open)?;
        self.stop_swo()
    }

    fn swo_read(&mut self) -> ProbeResult<Vec<u8>> {
        self.start(Needs::Open)?;
        self.read_swo()
    }
}
