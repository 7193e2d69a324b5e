//! [`SimProbe`]: the virtual target behind the [`DebugProbe`] trait, with
//! no USB and no firmware in between.
//!
//! It behaves like a probe driver without managed AP selection: the client
//! names an AP register by its full APv1 address (APSEL in bits 31:24,
//! APBANKSEL in bits 7:4, A\[3:2\] in bits 3:2) and the adapter writes DP
//! SELECT only when the AP or bank changes, keeping the DPBANKSEL the client
//! last wrote. A client's own SELECT writes (pyOCD's DP layer writes SELECT
//! itself) go through to the target and update that cache.

use crate::probe::{
    Capability, DebugProbe, ProbeError, ProbeInfo, ProbeResult, ProtocolRequest, WireProtocol,
};

use super::dp::{DP_SELECT, SELECT_APBANKSEL_MASK, SELECT_APSEL_MASK, SELECT_DPBANKSEL_MASK};
use super::target::{Ack, SwdTarget};

/// The largest bit count of one SWJ sequence (a CMSIS-DAP command's limit).
const MAX_SWJ_BITS: u16 = 256;
/// Bits of an APv1 register address that are neither APSEL nor register.
const AP_ADDRESS_RESERVED: u32 = 0x00FF_FF03;
/// Bits of a DP register address beyond A\[3:2\].
const DP_ADDRESS_RESERVED: u32 = !0xC;

pub struct SimProbe {
    info: ProbeInfo,
    target: SwdTarget,
    is_open: bool,
    connected: bool,
    clock_hz: u32,
    /// What the adapter knows SELECT holds; `None` after connect.
    select: Option<u32>,
}

impl SimProbe {
    /// A probe wired to a fresh virtual Cortex-M ([`SwdTarget::cortex_m`]).
    pub fn new(unique_id: &str) -> SimProbe {
        SimProbe::with_target(unique_id, SwdTarget::cortex_m())
    }

    /// A probe wired to `target`.
    pub fn with_target(unique_id: &str, target: SwdTarget) -> SimProbe {
        SimProbe {
            info: ProbeInfo {
                unique_id: unique_id.to_owned(),
                vendor_name: "probeshare".to_owned(),
                product_name: "Virtual Cortex-M".to_owned(),
                description: "probeshare virtual target".to_owned(),
                supported_wire_protocols: vec![WireProtocol::Swd],
                capabilities: vec![Capability::SwjSequence, Capability::BankedDpRegisters],
                firmware_version: None,
            },
            target,
            is_open: false,
            connected: false,
            clock_hz: 0,
            select: None,
        }
    }

    pub fn target(&self) -> &SwdTarget {
        &self.target
    }

    pub fn target_mut(&mut self) -> &mut SwdTarget {
        &mut self.target
    }

    /// The last clock frequency set; the sim runs at any speed.
    pub fn clock_hz(&self) -> u32 {
        self.clock_hz
    }

    fn ensure_open(&self) -> ProbeResult<()> {
        if self.is_open {
            Ok(())
        } else {
            Err(ProbeError::Probe("probe is not open".to_owned()))
        }
    }

    fn ensure_connected(&self) -> ProbeResult<()> {
        self.ensure_open()?;
        if self.connected {
            Ok(())
        } else {
            Err(ProbeError::Probe("probe is not connected".to_owned()))
        }
    }

    /// Checks an APv1 register address and points SELECT at its AP and
    /// bank; returns A\[3:2\].
    fn select_ap(&mut self, addr: u32) -> ProbeResult<u8> {
        self.ensure_connected()?;
        if addr & AP_ADDRESS_RESERVED != 0 {
            return Err(ProbeError::InvalidArgument(format!(
                "invalid AP register address {addr:#010x}"
            )));
        }
        let dpbanksel = self.select.unwrap_or(0) & SELECT_DPBANKSEL_MASK;
        let wanted = (addr & (SELECT_APSEL_MASK | SELECT_APBANKSEL_MASK)) | dpbanksel;
        if self.select != Some(wanted) {
            self.select = None;
            self.target
                .dp_write(DP_SELECT, wanted)
                .map_err(|ack| ack_error(ack, "DP write", u32::from(DP_SELECT)))?;
            self.select = Some(wanted);
        }
        Ok((addr & 0xC) as u8)
    }

    fn dp_address(&self, addr: u32) -> ProbeResult<u8> {
        self.ensure_connected()?;
        if addr & DP_ADDRESS_RESERVED != 0 {
            return Err(ProbeError::InvalidArgument(format!(
                "invalid DP register address {addr:#x}"
            )));
        }
        Ok(addr as u8)
    }
}

/// The probe error a non-OK acknowledge becomes.
fn ack_error(ack: Ack, access: &str, addr: u32) -> ProbeError {
    match ack {
        Ack::Wait => ProbeError::TransferTimeout(format!("WAIT response to {access} {addr:#x}")),
        Ack::Fault => ProbeError::TransferFault(format!("FAULT response to {access} {addr:#x}")),
        Ack::NoAck => ProbeError::Transfer(format!("no acknowledge to {access} {addr:#x}")),
    }
}

impl DebugProbe for SimProbe {
    fn info(&self) -> &ProbeInfo {
        &self.info
    }

    fn open(&mut self) -> ProbeResult<()> {
        self.is_open = true;
        Ok(())
    }

    fn close(&mut self) -> ProbeResult<()> {
        self.ensure_open()?;
        self.connected = false;
        self.is_open = false;
        Ok(())
    }

    fn connect(&mut self, protocol: ProtocolRequest) -> ProbeResult<WireProtocol> {
        self.ensure_open()?;
        match protocol {
            ProtocolRequest::Default | ProtocolRequest::Specific(WireProtocol::Swd) => {
                self.connected = true;
                self.select = None;
                Ok(WireProtocol::Swd)
            }
            ProtocolRequest::Specific(WireProtocol::Jtag) => Err(ProbeError::Probe(
                "JTAG is not supported by this probe".to_owned(),
            )),
        }
    }

    fn disconnect(&mut self) -> ProbeResult<()> {
        self.ensure_open()?;
        self.connected = false;
        Ok(())
    }

    /// Accepted and checked, but not interpreted: the sim's SW-DP is always
    /// selected and out of reset, so line resets and the JTAG-to-SWD or
    /// dormant-wakeup sequences change nothing.
    fn swj_sequence(&mut self, bit_count: u16, bits: &[u8]) -> ProbeResult<()> {
        self.ensure_connected()?;
        if bit_count > MAX_SWJ_BITS {
            return Err(ProbeError::InvalidArgument(format!(
                "SWJ sequence of {bit_count} bits (at most {MAX_SWJ_BITS} allowed)"
            )));
        }
        if bits.len() * 8 < usize::from(bit_count) {
            return Err(ProbeError::InvalidArgument(format!(
                "SWJ sequence of {bit_count} bits given only {} bytes",
                bits.len()
            )));
        }
        Ok(())
    }

    fn set_clock(&mut self, hz: u32) -> ProbeResult<()> {
        self.ensure_open()?;
        self.clock_hz = hz;
        Ok(())
    }

    fn reset(&mut self) -> ProbeResult<()> {
        self.ensure_open()?;
        self.target.set_nreset(true);
        self.target.set_nreset(false);
        Ok(())
    }

    fn assert_reset(&mut self, asserted: bool) -> ProbeResult<()> {
        self.ensure_open()?;
        self.target.set_nreset(asserted);
        Ok(())
    }

    fn is_reset_asserted(&mut self) -> ProbeResult<bool> {
        self.ensure_open()?;
        Ok(self.target.nreset_asserted())
    }

    fn flush(&mut self) -> ProbeResult<()> {
        self.ensure_open()
    }

    fn read_dp(&mut self, addr: u32) -> ProbeResult<u32> {
        let a = self.dp_address(addr)?;
        self.target
            .dp_read(a)
            .map_err(|ack| ack_error(ack, "DP read", addr))
    }

    fn write_dp(&mut self, addr: u32, value: u32) -> ProbeResult<()> {
        let a = self.dp_address(addr)?;
        if a == DP_SELECT {
            self.select = None;
        }
        self.target
            .dp_write(a, value)
            .map_err(|ack| ack_error(ack, "DP write", addr))?;
        if a == DP_SELECT {
            // The DP keeps only SELECT's defined fields; so does the cache.
            let implemented = SELECT_APSEL_MASK | SELECT_APBANKSEL_MASK | SELECT_DPBANKSEL_MASK;
            self.select = Some(value & implemented);
        }
        Ok(())
    }

    fn read_ap(&mut self, addr: u32) -> ProbeResult<u32> {
        let a = self.select_ap(addr)?;
        self.target
            .ap_read(a)
            .map_err(|ack| ack_error(ack, "AP read", addr))
    }

    fn write_ap(&mut self, addr: u32, value: u32) -> ProbeResult<()> {
        let a = self.select_ap(addr)?;
        self.target
            .ap_write(a, value)
            .map_err(|ack| ack_error(ack, "AP write", addr))
    }

    fn read_ap_multiple(&mut self, addr: u32, count: u32) -> ProbeResult<Vec<u32>> {
        let a = self.select_ap(addr)?;
        // The count comes from a peer: grow as words arrive rather than
        // reserving whatever it asks for.
        let mut values = Vec::with_capacity(count.min(1024) as usize);
        for _ in 0..count {
            let value = self
                .target
                .ap_read(a)
                .map_err(|ack| ack_error(ack, "AP read", addr))?;
            values.push(value);
        }
        Ok(values)
    }

    fn write_ap_multiple(&mut self, addr: u32, values: &[u32]) -> ProbeResult<()> {
        let a = self.select_ap(addr)?;
        values.iter().try_for_each(|&value| {
            self.target
                .ap_write(a, value)
                .map_err(|ack| ack_error(ack, "AP write", addr))
        })
    }
}
