//! The server side of CMSIS-DAP packets over TCP (the header is
//! `cmsis_dap::tcp`'s): request packets out of a client's byte stream.
//!
//! A peer whose header is wrong (signature, type, a payload longer than the
//! packet size the server announced) cannot be resynchronised: there is no
//! way to find the next header in a byte stream. Such a peer is dropped
//! ([`FramingError`]); nothing more of its input is buffered. Memory per
//! client is bounded by one header and one payload of the announced size.

use std::io::{self, Read};

use crate::cmsis_dap::tcp::{
    encode_packet, Header, HEADER_LEN, SIGNATURE, TYPE_REQUEST, TYPE_RESPONSE,
};

/// Why a peer's byte stream cannot be framed any further.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("bad packet signature {0:#010x} (expected {SIGNATURE:#010x}, \"DAP\")")]
    Signature(u32),
    #[error("packet type {0} where a request (1) was expected")]
    Type(u8),
    #[error("packet of {length} bytes is larger than the packet size {limit}")]
    TooLong { length: usize, limit: usize },
    #[error("empty packet: a command needs at least its id")]
    Empty,
}

/// Splits a byte stream into request payloads.
#[derive(Debug)]
pub struct PacketFramer {
    buf: Vec<u8>,
    max_payload: usize,
    /// Why the stream cannot be framed any more: every later read fails.
    poisoned: Option<FramingError>,
}

impl PacketFramer {
    pub fn new(max_payload: usize) -> PacketFramer {
        PacketFramer {
            buf: Vec::new(),
            max_payload,
            poisoned: None,
        }
    }

    /// Reads once from `src` through `scratch`; returns the byte count (0 at
    /// EOF) and whether the read came back short. Never holds more than one
    /// whole packet beyond what has been taken out.
    pub fn read_from(
        &mut self,
        src: &mut dyn Read,
        scratch: &mut [u8],
    ) -> io::Result<(usize, bool)> {
        if let Some(error) = &self.poisoned {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                error.to_string(),
            ));
        }
        let room = (HEADER_LEN + self.max_payload)
            .saturating_sub(self.buf.len())
            .max(1);
        let want = room.min(scratch.len());
        let n = src.read(&mut scratch[..want])?;
        self.buf.extend_from_slice(&scratch[..n]);
        Ok((n, n < want))
    }

    /// Gives up on the stream: what is buffered is dropped and every later
    /// read fails with `error`, which closes the connection.
    pub fn poison(&mut self, error: FramingError) {
        self.buf = Vec::new();
        self.poisoned = Some(error);
    }

    /// The next whole request payload, `Ok(None)` until one has arrived.
    pub fn next_packet(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let Some(header) = self.buf.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let Header {
            signature,
            length,
            packet_type,
        } = Header::parse(header);
        let length = usize::from(length);
        if signature != SIGNATURE {
            return Err(FramingError::Signature(signature));
        }
        if packet_type != TYPE_REQUEST {
            return Err(FramingError::Type(packet_type));
        }
        if length > self.max_payload {
            return Err(FramingError::TooLong {
                length,
                limit: self.max_payload,
            });
        }
        if length == 0 {
            return Err(FramingError::Empty);
        }
        if self.buf.len() < HEADER_LEN + length {
            return Ok(None);
        }
        let packet = self.buf[HEADER_LEN..HEADER_LEN + length].to_vec();
        self.buf.drain(..HEADER_LEN + length);
        Ok(Some(packet))
    }
}

/// Appends `payload` to `out` as a response packet.
pub fn encode_response(out: &mut Vec<u8>, payload: &[u8]) {
    encode_packet(out, TYPE_RESPONSE, payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(payload: &[u8]) -> Vec<u8> {
        let mut bytes = SIGNATURE.to_le_bytes().to_vec();
        bytes.extend_from_slice(&(payload.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&[TYPE_REQUEST, 0]);
        bytes.extend_from_slice(payload);
        bytes
    }

    fn framer_with(bytes: &[u8]) -> PacketFramer {
        let mut framer = PacketFramer::new(64);
        let mut scratch = [0u8; 256];
        let mut source = bytes;
        while !source.is_empty() {
            framer.read_from(&mut source, &mut scratch).unwrap();
        }
        framer
    }

    #[test]
    fn packets_come_out_whole_and_in_order_however_the_bytes_arrive() {
        let mut bytes = request(&[0x00, 0xFE]);
        bytes.extend(request(&[0x05, 0x00, 0x01, 0x02]));
        let mut framer = PacketFramer::new(64);
        let mut scratch = [0u8; 3];
        let mut packets = Vec::new();
        let mut source = &bytes[..];
        while !source.is_empty() {
            framer.read_from(&mut source, &mut scratch).unwrap();
            while let Some(packet) = framer.next_packet().unwrap() {
                packets.push(packet);
            }
        }
        assert_eq!(packets, [vec![0x00, 0xFE], vec![0x05, 0x00, 0x01, 0x02]]);
    }

    #[test]
    fn a_partial_header_or_payload_waits_for_more() {
        let bytes = request(&[0x00, 0x01]);
        assert_eq!(framer_with(&bytes[..5]).next_packet(), Ok(None));
        assert_eq!(framer_with(&bytes[..9]).next_packet(), Ok(None));
    }

    #[test]
    fn a_header_that_cannot_be_trusted_ends_the_stream() {
        let mut bad_signature = request(&[0x00]);
        bad_signature[0] = b'X';
        assert!(matches!(
            framer_with(&bad_signature).next_packet(),
            Err(FramingError::Signature(_))
        ));
        let mut response_type = request(&[0x00]);
        response_type[6] = TYPE_RESPONSE;
        assert_eq!(
            framer_with(&response_type).next_packet(),
            Err(FramingError::Type(2))
        );
        let mut too_long = request(&[0x00]);
        too_long[4..6].copy_from_slice(&65u16.to_le_bytes());
        assert_eq!(
            framer_with(&too_long).next_packet(),
            Err(FramingError::TooLong {
                length: 65,
                limit: 64
            })
        );
        assert_eq!(
            framer_with(&request(&[])).next_packet(),
            Err(FramingError::Empty)
        );
    }

    #[test]
    fn reading_stops_at_one_whole_packet() {
        let mut framer = PacketFramer::new(16);
        let mut scratch = [0u8; 1024];
        let endless = [0u8; 1024];
        let (n, _) = framer.read_from(&mut &endless[..], &mut scratch).unwrap();
        assert_eq!(n, HEADER_LEN + 16);
    }

    #[test]
    fn responses_carry_the_response_type() {
        let mut out = Vec::new();
        encode_response(&mut out, &[0x02, 0x01]);
        assert_eq!(out, [0x44, 0x41, 0x50, 0x00, 2, 0, 2, 0, 0x02, 0x01]);
    }
}
