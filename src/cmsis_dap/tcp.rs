//! CMSIS-DAP packets over TCP, as OpenOCD's `cmsis-dap` driver frames them
//! with its `tcp` backend: an 8-byte little-endian header before each
//! packet (signature `0x00504144`, "DAP\0"; payload length; 1 for a
//! request, 2 for a response; a reserved 0).
//!
//! [`TcpTransport`] is the host side: the driver over a TCP connection to
//! a CMSIS-DAP server (probeshare's own DAP port, say). The header codec is
//! shared with the server side (`server::cmsis_dap_tcp`).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::{Transport, TransportError};

/// "DAP\0" read as a little-endian word.
pub const SIGNATURE: u32 = 0x0050_4144;
pub const HEADER_LEN: usize = 8;
pub const TYPE_REQUEST: u8 = 1;
pub const TYPE_RESPONSE: u8 = 2;

/// A packet header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub signature: u32,
    pub length: u16,
    pub packet_type: u8,
}

impl Header {
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Header {
        Header {
            signature: u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            length: u16::from_le_bytes([bytes[4], bytes[5]]),
            packet_type: bytes[6],
        }
    }
}

/// Appends `payload` with its header to `out`. Payloads longer than the
/// 16-bit length are cut: no packet size of CMSIS-DAP comes near it.
pub fn encode_packet(out: &mut Vec<u8>, packet_type: u8, payload: &[u8]) {
    let length = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&SIGNATURE.to_le_bytes());
    out.extend_from_slice(&length.to_le_bytes());
    out.push(packet_type);
    out.push(0);
    out.extend_from_slice(&payload[..usize::from(length)]);
}

/// The driver's transport to a CMSIS-DAP server over TCP.
pub struct TcpTransport {
    stream: TcpStream,
    packet_size: usize,
}

impl TcpTransport {
    pub fn connect(addr: SocketAddr) -> io::Result<TcpTransport> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(TcpTransport {
            stream,
            packet_size: 1024,
        })
    }

    /// The connection, for tests that need to misbehave on it.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

fn io_error(error: io::Error, timeout: Duration) -> TransportError {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => TransportError::Timeout(timeout),
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => TransportError::Disconnected(error.to_string()),
        _ => TransportError::Io(error.to_string()),
    }
}

impl Transport for TcpTransport {
    fn write_packet(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        let mut bytes = Vec::with_capacity(HEADER_LEN + packet.len());
        encode_packet(&mut bytes, TYPE_REQUEST, packet);
        self.stream
            .write_all(&bytes)
            .map_err(|e| io_error(e, Duration::ZERO))
    }

    fn read_packet(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .map_err(|e| TransportError::Io(e.to_string()))?;
        let mut header = [0u8; HEADER_LEN];
        self.stream
            .read_exact(&mut header)
            .map_err(|e| io_error(e, timeout))?;
        let header = Header::parse(&header);
        if header.signature != SIGNATURE || header.packet_type != TYPE_RESPONSE {
            return Err(TransportError::Io(format!(
                "not a CMSIS-DAP response header: {header:?}"
            )));
        }
        let length = usize::from(header.length);
        let mut payload = vec![0u8; length];
        self.stream
            .read_exact(&mut payload)
            .map_err(|e| io_error(e, timeout))?;
        let kept = length.min(buf.len());
        buf[..kept].copy_from_slice(&payload[..kept]);
        Ok(kept)
    }

    fn initial_packet_size(&self) -> usize {
        self.packet_size
    }

    fn set_packet_size(&mut self, size: usize) {
        self.packet_size = size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let mut bytes = Vec::new();
        encode_packet(&mut bytes, TYPE_RESPONSE, &[0x02, 0x01]);
        assert_eq!(bytes, [0x44, 0x41, 0x50, 0x00, 2, 0, 2, 0, 0x02, 0x01]);
        let header: [u8; HEADER_LEN] = bytes[..HEADER_LEN].try_into().unwrap();
        assert_eq!(
            Header::parse(&header),
            Header {
                signature: SIGNATURE,
                length: 2,
                packet_type: TYPE_RESPONSE
            }
        );
    }
}
