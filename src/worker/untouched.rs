//! [`Untouched`]: a probe that refuses every call and notes that one was
//! made, so bookkeeping written against a probe can be tried without one
//! (`DapContexts::settle_for_pipeline`: would restoring a client's AP
//! state need a transfer?).

use crate::probe::{DebugProbe, ProbeError, ProbeInfo, ProbeResult, ProtocolRequest, WireProtocol};

#[derive(Debug)]
pub struct Untouched {
    pub touched: bool,
    info: ProbeInfo,
}

impl Default for Untouched {
    fn default() -> Untouched {
        Untouched {
            touched: false,
            info: ProbeInfo {
                unique_id: String::new(),
                vendor_name: String::new(),
                product_name: String::new(),
                description: String::new(),
                supported_wire_protocols: Vec::new(),
                capabilities: Vec::new(),
                firmware_version: None,
            },
        }
    }
}

impl Untouched {
    fn refuse<T>(&mut self) -> ProbeResult<T> {
        self.touched = true;
        Err(ProbeError::Unsupported("a probe call while trying"))
    }
}

impl DebugProbe for Untouched {
    fn info(&self) -> &ProbeInfo {
        &self.info
    }
    fn open(&mut self) -> ProbeResult<()> {
        self.refuse()
    }
    fn close(&mut self) -> ProbeResult<()> {
        self.refuse()
    }
    fn connect(&mut self, _protocol: ProtocolRequest) -> ProbeResult<WireProtocol> {
        self.refuse()
    }
    fn disconnect(&mut self) -> ProbeResult<()> {
        self.refuse()
    }
    fn swj_sequence(&mut self, _bit_count: u16, _bits: &[u8]) -> ProbeResult<()> {
        self.refuse()
    }
    fn set_clock(&mut self, _hz: u32) -> ProbeResult<()> {
        self.refuse()
    }
    fn reset(&mut self) -> ProbeResult<()> {
        self.refuse()
    }
    fn assert_reset(&mut self, _asserted: bool) -> ProbeResult<()> {
        self.refuse()
    }
    fn is_reset_asserted(&mut self) -> ProbeResult<bool> {
        self.refuse()
    }
    fn flush(&mut self) -> ProbeResult<()> {
        self.refuse()
    }
    fn read_dp(&mut self, _addr: u32) -> ProbeResult<u32> {
        self.refuse()
    }
    fn write_dp(&mut self, _addr: u32, _value: u32) -> ProbeResult<()> {
        self.refuse()
    }
    fn read_ap(&mut self, _addr: u32) -> ProbeResult<u32> {
        self.refuse()
    }
    fn write_ap(&mut self, _addr: u32, _value: u32) -> ProbeResult<()> {
        self.refuse()
    }
}
