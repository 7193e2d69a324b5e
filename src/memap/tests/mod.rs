//! Behaviour of server-side MEM-AP access against the virtual target,
//! through the CMSIS-DAP driver and the emulated firmware as `--probe sim`
//! serves it (`sim::VirtualProbe`), with every probe call recorded so
//! tests can also say how memory was reached.

mod accesses;
mod addresses;
mod csw;
mod faults;
mod pages;

use crate::probe::{
    ApAddress, DebugProbe, OpOutput, ProbeInfo, ProbeResult, ProtocolRequest, WireProtocol,
};
use crate::sim::dap_firmware::{FirmwareConfig, SharedTarget, UsbModel};
use crate::sim::dp::{CDBGPWRUPREQ, CSYSPWRUPREQ, DP_CTRL_STAT};
use crate::sim::{AccessSize, SwdTarget, VirtualProbe, RAM_BASE, RAM_SIZE, VIRTUAL_DESCRIPTION};

use super::{MemAps, MemoryOp};

pub(super) const AP0: ApAddress = ApAddress::V1(0);
pub(super) const CSW: u32 = 0x00;
pub(super) const TAR: u32 = 0x04;
pub(super) const DRW: u32 = 0x0C;
pub(super) const RAM_END: u32 = RAM_BASE + RAM_SIZE;
/// The sim AHB-AP's identity with variant 0: a MEM-AP nothing more is
/// known about, so only the 1 KiB increment ADIv5 promises may be used.
pub(super) const PLAIN_AHB_AP_IDR: u32 = 0x2477_0001;

/// One probe call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Call {
    ReadDp(u32),
    WriteDp(u32, u32),
    ReadAp(u32),
    WriteAp(u32, u32),
    ReadApMultiple(u32, u32),
    WriteApMultiple(u32, Vec<u32>),
    Flush,
}

/// The virtual target behind a probe that records every call and can
/// pretend to be a different AP. `read_ap_pages` is left to the trait's
/// default, so a paged read is recorded as the TAR writes and DRW reads
/// it stands for.
pub(super) struct Recorder {
    /// The driver on the emulated firmware.
    pub(super) sim: Box<dyn DebugProbe>,
    /// The target behind it, reached directly.
    target: SharedTarget,
    pub(super) calls: Vec<Call>,
    /// Answer IDR reads with this instead.
    pub(super) idr: Option<u32>,
    /// Behave as an AP whose CSW.Size only holds word (an APB-AP).
    pub(super) words_only: bool,
}

impl Recorder {
    /// Open, connected, debug domain powered up, nothing recorded yet.
    pub(super) fn ready() -> Recorder {
        let firmware = FirmwareConfig::for_model(UsbModel::None);
        let VirtualProbe {
            probe: mut sim,
            target,
            ..
        } = VirtualProbe::new("memap", VIRTUAL_DESCRIPTION, firmware).unwrap();
        sim.open().unwrap();
        sim.connect(ProtocolRequest::Default).unwrap();
        sim.write_dp(u32::from(DP_CTRL_STAT), CDBGPWRUPREQ | CSYSPWRUPREQ)
            .unwrap();
        Recorder {
            sim,
            target,
            calls: Vec::new(),
            idr: None,
            words_only: false,
        }
    }

    /// The target itself, bypassing the probe.
    pub(super) fn target(&self) -> parking_lot::MutexGuard<'_, SwdTarget> {
        self.target.lock()
    }

    pub(super) fn bus_read(&mut self, addr: u32) -> u8 {
        let mut target = self.target();
        let bus = target.bus_mut();
        bus.read(addr, AccessSize::Byte).expect("mapped") as u8
    }

    pub(super) fn bus_bytes(&mut self, addr: u32, len: u32) -> Vec<u8> {
        (addr..addr + len).map(|a| self.bus_read(a)).collect()
    }

    pub(super) fn bus_fill(&mut self, addr: u32, bytes: &[u8]) {
        let mut target = self.target();
        let bus = target.bus_mut();
        for (at, &byte) in (addr..).zip(bytes) {
            bus.write(at, AccessSize::Byte, u32::from(byte))
                .expect("mapped");
        }
    }

    /// The values written to AP register `reg` of AP0, in order.
    pub(super) fn writes_to(&self, reg: u32) -> Vec<u32> {
        self.calls
            .iter()
            .filter_map(|call| match call {
                Call::WriteAp(addr, value) if *addr == reg => Some(*value),
                _ => None,
            })
            .collect()
    }

    pub(super) fn reads_of(&self, reg: u32) -> usize {
        self.calls
            .iter()
            .filter(|call| **call == Call::ReadAp(reg))
            .count()
    }

    /// The AP0 CSW value as the sim holds it, read without recording.
    pub(super) fn csw_now(&mut self) -> u32 {
        self.sim.read_ap(CSW).unwrap()
    }
}

impl DebugProbe for Recorder {
    fn info(&self) -> &ProbeInfo {
        self.sim.info()
    }
    fn open(&mut self) -> ProbeResult<()> {
        self.sim.open()
    }
    fn close(&mut self) -> ProbeResult<()> {
        self.sim.close()
    }
    fn connect(&mut self, protocol: ProtocolRequest) -> ProbeResult<WireProtocol> {
        self.sim.connect(protocol)
    }
    fn disconnect(&mut self) -> ProbeResult<()> {
        self.sim.disconnect()
    }
    fn swj_sequence(&mut self, bit_count: u16, bits: &[u8]) -> ProbeResult<()> {
        self.sim.swj_sequence(bit_count, bits)
    }
    fn set_clock(&mut self, hz: u32) -> ProbeResult<()> {
        self.sim.set_clock(hz)
    }
    fn reset(&mut self) -> ProbeResult<()> {
        self.sim.reset()
    }
    fn assert_reset(&mut self, asserted: bool) -> ProbeResult<()> {
        self.sim.assert_reset(asserted)
    }
    fn is_reset_asserted(&mut self) -> ProbeResult<bool> {
        self.sim.is_reset_asserted()
    }
    fn flush(&mut self) -> ProbeResult<()> {
        self.calls.push(Call::Flush);
        self.sim.flush()
    }
    fn read_dp(&mut self, addr: u32) -> ProbeResult<u32> {
        self.calls.push(Call::ReadDp(addr));
        self.sim.read_dp(addr)
    }
    fn write_dp(&mut self, addr: u32, value: u32) -> ProbeResult<()> {
        self.calls.push(Call::WriteDp(addr, value));
        self.sim.write_dp(addr, value)
    }
    fn read_ap(&mut self, addr: u32) -> ProbeResult<u32> {
        self.calls.push(Call::ReadAp(addr));
        let value = self.sim.read_ap(addr)?;
        Ok(match self.idr {
            Some(idr) if addr & 0xFF == 0xFC => idr,
            _ => value,
        })
    }
    fn write_ap(&mut self, addr: u32, value: u32) -> ProbeResult<()> {
        self.calls.push(Call::WriteAp(addr, value));
        let value = if self.words_only && addr & 0xFF == CSW {
            value & !0b111 | 0b010
        } else {
            value
        };
        self.sim.write_ap(addr, value)
    }
    fn read_ap_multiple(&mut self, addr: u32, count: u32) -> ProbeResult<Vec<u32>> {
        self.calls.push(Call::ReadApMultiple(addr, count));
        self.sim.read_ap_multiple(addr, count)
    }
    fn write_ap_multiple(&mut self, addr: u32, values: &[u32]) -> ProbeResult<()> {
        self.calls
            .push(Call::WriteApMultiple(addr, values.to_vec()));
        self.sim.write_ap_multiple(addr, values)
    }
}

/// A probe and a fresh [`MemAps`] that knows the wire is SWD.
pub(super) fn setup() -> (Recorder, MemAps) {
    let mut memaps = MemAps::default();
    memaps.connected(WireProtocol::Swd);
    (Recorder::ready(), memaps)
}

pub(super) fn run(
    probe: &mut Recorder,
    memaps: &mut MemAps,
    op: MemoryOp,
) -> ProbeResult<OpOutput> {
    memaps.access(probe, AP0, &op)
}

pub(super) fn read_mem(probe: &mut Recorder, memaps: &mut MemAps, addr: u32, size: u8) -> u32 {
    match run(probe, memaps, MemoryOp::Read { addr, size }) {
        Ok(OpOutput::Word(value)) => value,
        other => panic!("read_mem {addr:#x}/{size}: {other:?}"),
    }
}

pub(super) fn read_block8(
    probe: &mut Recorder,
    memaps: &mut MemAps,
    addr: u32,
    count: u32,
) -> Vec<u8> {
    match run(probe, memaps, MemoryOp::ReadBlock8 { addr, count }) {
        Ok(OpOutput::Bytes(bytes)) => bytes,
        other => panic!("read_block8 {addr:#x}+{count}: {other:?}"),
    }
}

pub(super) fn read_block32(
    probe: &mut Recorder,
    memaps: &mut MemAps,
    addr: u32,
    count: u32,
) -> Vec<u32> {
    match run(probe, memaps, MemoryOp::ReadBlock32 { addr, count }) {
        Ok(OpOutput::Words(words)) => words,
        other => panic!("read_block32 {addr:#x}+{count}: {other:?}"),
    }
}

/// Bytes that differ from their neighbours and from zero.
pub(super) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect()
}
