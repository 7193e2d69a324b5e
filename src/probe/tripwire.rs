//! A probe that panics on purpose, for the tests of worker death
//! (ARCHITECTURE.md, "Worker death"): [`Tripwire`] passes every call to the
//! probe it wraps, except a read of one chosen AP address, which panics on
//! the worker thread as a bug on an unforeseen USB reply would. Built for
//! tests only, so no configuration or peer can reach it.

use super::{
    DebugProbe, ProbeInfo, ProbeResult, ProtocolRequest, SwdSequence, SwdSequenceReply,
    WireProtocol,
};

/// The message the tripwire panics with.
pub const TRIPPED: &str = "tripwire: the test asked this worker to panic";

/// Wraps a probe; `read_ap(trip_address)` panics.
pub struct Tripwire {
    probe: Box<dyn DebugProbe>,
    trip_address: u32,
}

impl Tripwire {
    pub fn wrap(probe: Box<dyn DebugProbe>, trip_address: u32) -> Box<dyn DebugProbe> {
        Box::new(Tripwire {
            probe,
            trip_address,
        })
    }
}

impl DebugProbe for Tripwire {
    fn info(&self) -> &ProbeInfo {
        self.probe.info()
    }
    fn open(&mut self) -> ProbeResult<()> {
        self.probe.open()
    }
    fn close(&mut self) -> ProbeResult<()> {
        self.probe.close()
    }
    fn connect(&mut self, protocol: ProtocolRequest) -> ProbeResult<WireProtocol> {
        self.probe.connect(protocol)
    }
    fn disconnect(&mut self) -> ProbeResult<()> {
        self.probe.disconnect()
    }
    fn swj_sequence(&mut self, bit_count: u16, bits: &[u8]) -> ProbeResult<()> {
        self.probe.swj_sequence(bit_count, bits)
    }
    fn set_clock(&mut self, hz: u32) -> ProbeResult<()> {
        self.probe.set_clock(hz)
    }
    fn reset(&mut self) -> ProbeResult<()> {
        self.probe.reset()
    }
    fn assert_reset(&mut self, asserted: bool) -> ProbeResult<()> {
        self.probe.assert_reset(asserted)
    }
    fn is_reset_asserted(&mut self) -> ProbeResult<bool> {
        self.probe.is_reset_asserted()
    }
    fn flush(&mut self) -> ProbeResult<()> {
        self.probe.flush()
    }
    fn read_dp(&mut self, addr: u32) -> ProbeResult<u32> {
        self.probe.read_dp(addr)
    }
    fn write_dp(&mut self, addr: u32, value: u32) -> ProbeResult<()> {
        self.probe.write_dp(addr, value)
    }
    fn read_ap(&mut self, addr: u32) -> ProbeResult<u32> {
        if addr == self.trip_address {
            panic!("{TRIPPED}");
        }
        self.probe.read_ap(addr)
    }
    fn write_ap(&mut self, addr: u32, value: u32) -> ProbeResult<()> {
        self.probe.write_ap(addr, value)
    }
    fn read_ap_multiple(&mut self, addr: u32, count: u32) -> ProbeResult<Vec<u32>> {
        self.probe.read_ap_multiple(addr, count)
    }
    fn write_ap_multiple(&mut self, addr: u32, values: &[u32]) -> ProbeResult<()> {
        self.probe.write_ap_multiple(addr, values)
    }
    fn read_ap_pages(
        &mut self,
        tar_addr: u32,
        drw_addr: u32,
        pages: &[(u32, u32)],
    ) -> ProbeResult<Vec<u32>> {
        self.probe.read_ap_pages(tar_addr, drw_addr, pages)
    }
    fn swd_sequence(&mut self, sequences: &[SwdSequence]) -> ProbeResult<SwdSequenceReply> {
        self.probe.swd_sequence(sequences)
    }
    fn jtag_sequence(
        &mut self,
        cycles: u8,
        tms: bool,
        read_tdo: bool,
        tdi: u64,
    ) -> ProbeResult<Option<u64>> {
        self.probe.jtag_sequence(cycles, tms, read_tdo, tdi)
    }
    fn has_swo(&self) -> bool {
        self.probe.has_swo()
    }
    fn swo_start(&mut self, baudrate: u32) -> ProbeResult<()> {
        self.probe.swo_start(baudrate)
    }
    fn swo_stop(&mut self) -> ProbeResult<()> {
        self.probe.swo_stop()
    }
    fn swo_read(&mut self) -> ProbeResult<Vec<u8>> {
        self.probe.swo_read()
    }
}
