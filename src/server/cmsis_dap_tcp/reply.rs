//! Replies of the DAP port: the bytes CMSIS-DAP firmware would answer,
//! built from what the shared probe did.

use crate::probe::{ProbeError, ProbeInfo, WireProtocol};

use super::command::{DAP_ERROR, DAP_OK, ID_INFO, TRANSFER_MATCH_VALUE};

/// The CMSIS-DAP protocol version the port speaks.
pub const PROTOCOL_VERSION: &str = "2.1.0";
pub const VENDOR: &str = "probeshare";
pub const PRODUCT: &str = "probeshare CMSIS-DAP over TCP";

/// Transfer acknowledges as DAP_Transfer reports them.
pub const ACK_OK: u8 = 0x01;
pub const ACK_WAIT: u8 = 0x02;
pub const ACK_FAULT: u8 = 0x04;
pub const ACK_NO_ACK: u8 = 0x07;
pub const ACK_PROTOCOL_ERROR: u8 = 0x08;
pub const ACK_MISMATCH: u8 = 0x10;

/// What the port tells a client about itself (DAP_Info).
#[derive(Clone, Debug)]
pub struct PortInfo {
    pub packet_size: u16,
    pub packet_count: u8,
}

/// DAP_Info for `id`: strings of the server and the served probe, the
/// capabilities the port serves (SWD only: JTAG commands are not served),
/// and the packet size and count it honours.
pub fn info(id: u8, probe: &ProbeInfo, port: &PortInfo) -> Vec<u8> {
    let string = |s: &str| {
        let mut bytes = s.as_bytes().to_vec();
        bytes.push(0);
        bytes
    };
    let value: Vec<u8> = match id {
        0x01 => string(VENDOR),
        0x02 => string(PRODUCT),
        0x03 => string(&probe.unique_id),
        0x04 => string(PROTOCOL_VERSION),
        0x09 => string(env!("CARGO_PKG_VERSION")),
        0xF0 => {
            let swd = probe.supported_wire_protocols.contains(&WireProtocol::Swd);
            vec![u8::from(swd)]
        }
        0xFE => vec![port.packet_count],
        0xFF => port.packet_size.to_le_bytes().to_vec(),
        _ => Vec::new(),
    };
    // Strings are short (a serial, a version); longer would not fit the
    // length byte, and is cut rather than trusted.
    let value = &value[..value.len().min(255)];
    let mut reply = vec![ID_INFO, value.len() as u8];
    reply.extend_from_slice(value);
    reply
}

/// A one-byte status reply: DAP_OK or DAP_ERROR.
pub fn status(id: u8, ok: bool) -> Vec<u8> {
    vec![id, if ok { DAP_OK } else { DAP_ERROR }]
}

/// The acknowledge a failed transfer is reported with.
pub fn ack_of(error: &ProbeError) -> u8 {
    match error {
        ProbeError::TransferTimeout(_) => ACK_WAIT,
        ProbeError::TransferFault(_) => ACK_FAULT,
        ProbeError::Transfer(message) if message.contains("parity") => {
            ACK_NO_ACK | ACK_PROTOCOL_ERROR
        }
        _ => ACK_NO_ACK,
    }
}

/// Builds a DAP_Transfer reply: per transfer, its read data. The port has
/// no timer and does not announce one (DAP_Info capability bit 5), so, as
/// firmware built without one, it sends no timestamps, whatever the
/// request's bit 7 asks: a reply then always fits the packet size.
pub struct TransferReply {
    bytes: Vec<u8>,
}

impl TransferReply {
    pub fn new(id: u8) -> TransferReply {
        // Count and acknowledge are filled in by `finish`.
        TransferReply {
            bytes: vec![id, 0, 0],
        }
    }

    /// A transfer that completed, with the word it read, if any.
    pub fn push(&mut self, request: u8, read: Option<u32>) {
        if let Some(word) = read.filter(|_| request & TRANSFER_MATCH_VALUE == 0) {
            self.bytes.extend_from_slice(&word.to_le_bytes());
        }
    }

    pub fn finish(mut self, count: u8, ack: u8) -> Vec<u8> {
        self.bytes[1] = count;
        self.bytes[2] = ack;
        self.bytes
    }
}

/// A DAP_TransferBlock reply.
pub fn transfer_block(id: u8, count: u16, ack: u8, words: &[u32]) -> Vec<u8> {
    let mut reply = vec![id];
    reply.extend_from_slice(&count.to_le_bytes());
    reply.push(ack);
    for word in words {
        reply.extend_from_slice(&word.to_le_bytes());
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> ProbeInfo {
        ProbeInfo {
            unique_id: "0672FF48".into(),
            vendor_name: "v".into(),
            product_name: "p".into(),
            description: "d".into(),
            supported_wire_protocols: vec![WireProtocol::Swd, WireProtocol::Jtag],
            capabilities: vec![],
            firmware_version: None,
        }
    }

    #[test]
    fn info_names_the_probe_and_the_packets_the_port_honours() {
        let port = PortInfo {
            packet_size: 1024,
            packet_count: 4,
        };
        assert_eq!(info(0x03, &probe(), &port), b"\x00\x090672FF48\x00");
        assert_eq!(info(0xFF, &probe(), &port), [0x00, 2, 0x00, 0x04]);
        assert_eq!(info(0xFE, &probe(), &port), [0x00, 1, 4]);
        assert_eq!(info(0xF0, &probe(), &port), [0x00, 1, 0x01], "SWD only");
        assert_eq!(info(0x42, &probe(), &port), [0x00, 0]);
    }

    #[test]
    fn errors_map_to_the_acknowledges_firmware_reports() {
        assert_eq!(ack_of(&ProbeError::TransferFault("x".into())), ACK_FAULT);
        assert_eq!(ack_of(&ProbeError::TransferTimeout("x".into())), ACK_WAIT);
        assert_eq!(ack_of(&ProbeError::Transfer("no ack".into())), ACK_NO_ACK);
    }

    #[test]
    fn transfer_replies_carry_read_data_and_no_timestamps() {
        let mut reply = TransferReply::new(0x05);
        reply.push(0x02, Some(0x2BA0_1477));
        reply.push(0x05, None);
        reply.push(0x82, Some(7));
        assert_eq!(
            reply.finish(3, ACK_OK),
            [0x05, 3, 1, 0x77, 0x14, 0xA0, 0x2B, 7, 0, 0, 0]
        );
    }
}
