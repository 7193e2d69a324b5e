//! The DAP_Info answers `probeshare list` shows for a probe it could open:
//! firmware and protocol versions, packet size and count. Four one-packet
//! exchanges over any [`Transport`], kept here so listing needs nothing of
//! the driver; the driver reads the same facts for itself when it opens a
//! probe.

use std::time::Duration;

use crate::cmsis_dap::{Transport, TransportError};

const DAP_INFO: u8 = 0x00;
const INFO_PROTOCOL_VERSION: u8 = 0x04;
const INFO_FIRMWARE_VERSION: u8 = 0x09;
const INFO_PACKET_COUNT: u8 = 0xfe;
const INFO_PACKET_SIZE: u8 = 0xff;

/// What a probe told about itself; `None` where it gave no (valid) answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DapInfo {
    pub firmware_version: Option<String>,
    /// The CMSIS-DAP protocol version, e.g. "2.1.0" (old firmware: "1.10").
    pub protocol_version: Option<String>,
    pub packet_size: Option<u16>,
    pub packet_count: Option<u8>,
}

/// Asks the probe behind `transport` for its [`DapInfo`]. Transport
/// failures are errors; a malformed or empty answer leaves its field empty.
pub fn read_dap_info(
    transport: &mut dyn Transport,
    timeout: Duration,
) -> Result<DapInfo, TransportError> {
    let mut buf = vec![0; transport.initial_packet_size().max(64)];
    let mut ask = |id: u8| -> Result<Option<Vec<u8>>, TransportError> {
        transport.write_packet(&[DAP_INFO, id])?;
        let length = transport.read_packet(&mut buf, timeout)?;
        Ok(match buf.get(..length) {
            Some([DAP_INFO, info_length, rest @ ..]) => rest
                .get(..usize::from(*info_length))
                .filter(|info| !info.is_empty())
                .map(<[u8]>::to_vec),
            _ => None,
        })
    };
    let packet_size = ask(INFO_PACKET_SIZE)?.and_then(|info| match info.as_slice() {
        [low, high] => Some(u16::from_le_bytes([*low, *high])),
        _ => None,
    });
    let packet_count = ask(INFO_PACKET_COUNT)?.and_then(|info| match info.as_slice() {
        [count] => Some(*count),
        _ => None,
    });
    let protocol_version = ask(INFO_PROTOCOL_VERSION)?.and_then(info_string);
    let firmware_version = ask(INFO_FIRMWARE_VERSION)?.and_then(info_string);
    Ok(DapInfo {
        firmware_version,
        protocol_version,
        packet_size,
        packet_count,
    })
}

/// A DAP_Info string: NUL-terminated, possibly not UTF-8.
fn info_string(info: Vec<u8>) -> Option<String> {
    let text = String::from_utf8_lossy(&info);
    let text = text.trim_end_matches('\0').trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers each DAP_Info request with what `answer` gives for its id.
    struct ScriptedProbe<F: FnMut(u8) -> Result<Vec<u8>, TransportError>> {
        answer: F,
        pending: Option<u8>,
    }

    impl<F: FnMut(u8) -> Result<Vec<u8>, TransportError> + Send> Transport for ScriptedProbe<F> {
        fn write_packet(&mut self, packet: &[u8]) -> Result<(), TransportError> {
            assert_eq!(packet.first(), Some(&DAP_INFO));
            self.pending = packet.get(1).copied();
            Ok(())
        }

        fn read_packet(&mut self, buf: &mut [u8], _: Duration) -> Result<usize, TransportError> {
            let id = self.pending.take().expect("a request before each read");
            let reply = (self.answer)(id)?;
            buf[..reply.len()].copy_from_slice(&reply);
            Ok(reply.len())
        }

        fn initial_packet_size(&self) -> usize {
            64
        }
    }

    fn probe(
        answer: impl FnMut(u8) -> Result<Vec<u8>, TransportError> + Send,
    ) -> ScriptedProbe<impl FnMut(u8) -> Result<Vec<u8>, TransportError> + Send> {
        ScriptedProbe {
            answer,
            pending: None,
        }
    }

    #[test]
    fn versions_and_packet_limits_are_read() {
        let mut daplink = probe(|id| {
            Ok(match id {
                INFO_PACKET_SIZE => vec![0, 2, 0x00, 0x02],
                INFO_PACKET_COUNT => vec![0, 1, 4],
                INFO_PROTOCOL_VERSION => b"\x00\x062.1.0\0".to_vec(),
                INFO_FIRMWARE_VERSION => b"\x00\x05v257\0".to_vec(),
                _ => vec![0, 0],
            })
        });
        let info = read_dap_info(&mut daplink, Duration::from_secs(1)).unwrap();
        assert_eq!(
            info,
            DapInfo {
                firmware_version: Some("v257".into()),
                protocol_version: Some("2.1.0".into()),
                packet_size: Some(512),
                packet_count: Some(4),
            }
        );
    }

    #[test]
    fn missing_malformed_and_unsupported_answers_leave_fields_empty() {
        let mut old_firmware = probe(|id| {
            Ok(match id {
                INFO_PACKET_SIZE => vec![0, 2, 0x40], // length says 2, one byte came
                INFO_PACKET_COUNT => vec![0, 4, 1, 2, 3, 4], // wrong width
                INFO_PROTOCOL_VERSION => vec![0xff],  // command not implemented
                _ => vec![0, 0],                      // no such info
            })
        });
        let info = read_dap_info(&mut old_firmware, Duration::from_secs(1)).unwrap();
        assert_eq!(info, DapInfo::default());
    }

    #[test]
    fn silent_probe_is_a_timeout_error() {
        let timeout = Duration::from_millis(10);
        let mut silent = probe(move |_| Err(TransportError::Timeout(timeout)));
        assert_eq!(
            read_dap_info(&mut silent, timeout),
            Err(TransportError::Timeout(timeout))
        );
    }
}
