//! What a CMSIS-DAP probe is: [`ProbeIdentity`] (from USB, given by whoever
//! found the device) and [`DapInfo`] (from DAP_Info, asked of the probe),
//! and the [`ProbeInfo`] the server shows clients, built from both.

use crate::probe::{Capability, ProbeError, ProbeInfo, ProbeResult, WireProtocol};

use super::commands::info::{
    Capabilities, DapCapabilities, DapVersion, InfoString, PacketCount, PacketSize, StringInfo,
};
use super::link::Link;
use super::Transport;

/// The smallest packet size the driver works with: a DAP_Transfer with one
/// write needs 8 bytes, a 64-cycle SWD sequence 10.
pub const MIN_PACKET_SIZE: usize = 16;

/// How the device presents itself on USB; the unique id is its serial.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeIdentity {
    pub unique_id: String,
    pub vendor_name: String,
    pub product_name: String,
    pub description: String,
}

/// What DAP_Info said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DapInfo {
    pub packet_size: usize,
    pub packet_count: usize,
    pub capabilities: DapCapabilities,
    pub protocol_version: DapVersion,
    pub firmware_version: Option<String>,
}

impl DapInfo {
    /// Asks the probe, in the order pyOCD does: packet count, protocol
    /// version, firmware version (only where the protocol has it), packet
    /// size, capabilities.
    pub fn read<T: Transport>(link: &mut Link<T>) -> ProbeResult<DapInfo> {
        let packet_count = link.command(&PacketCount)?.unwrap_or(1).max(1);
        let version_text = link.command(&InfoString(StringInfo::ProtocolVersion))?;
        let protocol_version = DapVersion::from_info(version_text.as_deref());
        let firmware_version = if protocol_version.has_firmware_version() {
            // Only informative: a probe that fumbles it is still usable.
            link.command(&InfoString(StringInfo::FirmwareVersion))
                .unwrap_or_else(|error| {
                    log::debug!("no firmware version: {error}");
                    None
                })
        } else {
            None
        };
        let packet_size = match link.command(&PacketSize)? {
            Some(size) => usize::from(size),
            None => link.transport().initial_packet_size(),
        };
        if packet_size < MIN_PACKET_SIZE {
            return Err(ProbeError::Probe(format!(
                "the probe reports a packet size of {packet_size} bytes \
                 (at least {MIN_PACKET_SIZE} needed)"
            )));
        }
        let capabilities = link.command(&Capabilities)?;
        Ok(DapInfo {
            packet_size,
            packet_count: usize::from(packet_count),
            capabilities,
            protocol_version,
            firmware_version,
        })
    }

    /// The wire protocols the probe can drive.
    pub fn wire_protocols(&self) -> Vec<WireProtocol> {
        let mut protocols = Vec::new();
        if self.capabilities.swd() {
            protocols.push(WireProtocol::Swd);
        }
        if self.capabilities.jtag() {
            protocols.push(WireProtocol::Jtag);
        }
        protocols
    }

    pub fn has_swd_sequence(&self) -> bool {
        self.capabilities.swd() && self.protocol_version.has_swd_sequence()
    }

    /// The pyOCD capabilities the driver offers on this probe. SELECT is
    /// written from APv1 addresses, so no APv2 addresses; DP banks are the
    /// client's to select, which pyOCD does given BANKED_DP_REGISTERS.
    pub fn probe_capabilities(&self) -> Vec<Capability> {
        let mut capabilities = vec![Capability::SwjSequence, Capability::BankedDpRegisters];
        if self.has_swd_sequence() {
            capabilities.push(Capability::SwdSequence);
        }
        if self.capabilities.jtag() {
            capabilities.push(Capability::JtagSequence);
        }
        if self.capabilities.swo_uart() {
            capabilities.push(Capability::Swo);
        }
        capabilities
    }

    pub fn probe_info(&self, identity: ProbeIdentity) -> ProbeInfo {
        ProbeInfo {
            unique_id: identity.unique_id,
            vendor_name: identity.vendor_name,
            product_name: identity.product_name,
            description: identity.description,
            supported_wire_protocols: self.wire_protocols(),
            capabilities: self.probe_capabilities(),
            firmware_version: self.firmware_version.clone(),
        }
    }
}
