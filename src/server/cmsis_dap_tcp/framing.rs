//! The server side of CMSIS-DAP packets over TCP (the header is
//! `cmsis_dap::tcp`'s): request packets out of a client's byte stream.
//!
//! A peer whose header is wrong (signature, type, a payload longer than the
//! packet size the server announced) cannot be resynchronised: there is no
//! way to find the next header in a byte stream. Such a peer is dropped
//! ([`FramingError`]): the whole packets before the bad header are still
//! handed out, then the stream ends as if the peer had closed it, so the
//! loop answers what was taken and closes the connection, whether or not
//! the peer sends another byte. Nothing more of its input is buffered.
//! Memory per client is bounded by one header and one payload of the
//! announced size.

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
    ///
    /// Once the stream is broken (a bad header), reads end it: they return
    /// 0, as at EOF, without reading. The read that brings the bad header
    /// in is reported as not short, so the loop takes out the whole
    /// packets before it and then reads again, which ends the stream.
    pub fn read_from(
        &mut self,
        src: &mut dyn Read,
        scratch: &mut [u8],
    ) -> io::Result<(usize, bool)> {
        if self.poisoned.is_some() {
            return Ok((0, true));
        }
        let room = (HEADER_LEN + self.max_payload)
            .saturating_sub(self.buf.len())
            .max(1);
        let want = room.min(scratch.len());
        let n = src.read(&mut scratch[..want])?;
        self.buf.extend_from_slice(&scratch[..n]);
        if let Some((at, error)) = self.first_bad_header() {
            // Keep the whole packets before it; the rest cannot be framed.
            self.buf.truncate(at);
            log::info!("DAP port: closing a client after its packets: {error}");
            self.poisoned = Some(error);
            return Ok((n, false));
        }
        Ok((n, n < want))
    }

    /// Where the first header that cannot be trusted starts, walking the
    /// whole packets buffered, and what is wrong with it.
    fn first_bad_header(&self) -> Option<(usize, FramingError)> {
        let mut at = 0;
        while let Some(header) = self
            .buf
            .get(at..)
            .and_then(|rest| rest.first_chunk::<HEADER_LEN>())
        {
            match self.check(header) {
                Err(error) => return Some((at, error)),
                Ok(length) if self.buf.len() >= at + HEADER_LEN + length => {
                    at += HEADER_LEN + length;
                }
                Ok(_) => return None,
            }
        }
        None
    }

    /// The payload length a header announces, if the header can be trusted.
    fn check(&self, header: &[u8; HEADER_LEN]) -> Result<usize, FramingError> {
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
        Ok(length)
    }

    /// Gives up on the stream: what is buffered is dropped and every later
    /// read ends the stream.
    pub fn poison(&mut self, error: FramingError) {
        self.buf = Vec::new();
        self.poisoned = Some(error);
    }

    /// The next whole request payload, `Ok(None)` until one has arrived.
    pub fn next_packet(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let Some(header) = self.buf.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let length = self.check(header)?;
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

    /// Reads `bytes` and says how the stream ended: the packets framed,
    /// and whether the framer then ended the stream as at EOF.
    fn frame_all(bytes: &[u8]) -> (Vec<Vec<u8>>, bool) {
        let mut framer = PacketFramer::new(64);
        let mut scratch = [0u8; 256];
        let (n, short) = framer.read_from(&mut &bytes[..], &mut scratch).unwrap();
        assert_eq!(n, bytes.len());
        let mut packets = Vec::new();
        while let Some(packet) = framer.next_packet().unwrap() {
            packets.push(packet);
        }
        let ended = framer.read_from(&mut &[1u8][..], &mut scratch).unwrap() == (0, true);
        assert_eq!(!short, ended, "a read that breaks the stream is not short");
        (packets, ended)
    }

    #[test]
    fn a_header_that_cannot_be_trusted_ends_the_stream() {
        let mut bad_signature = request(&[0x00]);
        bad_signature[0] = b'X';
        let mut response_type = request(&[0x00]);
        response_type[6] = TYPE_RESPONSE;
        let mut too_long = request(&[0x00]);
        too_long[4..6].copy_from_slice(&65u16.to_le_bytes());
        for bad in [bad_signature, response_type, too_long, request(&[])] {
            assert_eq!(frame_all(&bad), (vec![], true), "{bad:02x?}");
        }
    }

    #[test]
    fn whole_packets_before_a_bad_header_are_still_framed() {
        let mut bytes = request(&[0x00, 0xFE]);
        bytes.extend(request(&[0x02, 0x01]));
        let mut bad = request(&[0x00]);
        bad[6] = 9;
        bytes.extend(bad);
        assert_eq!(
            frame_all(&bytes),
            (vec![vec![0x00, 0xFE], vec![0x02, 0x01]], true)
        );
        // A partial packet before it hides it until the packet is whole.
        let mut partial = request(&[0x00, 0x01, 0x02]);
        partial.truncate(10);
        assert_eq!(frame_all(&partial), (vec![], false));
    }

    #[test]
    fn a_header_error_names_what_is_wrong() {
        let framer = PacketFramer::new(64);
        let mut too_long = request(&[0x00]);
        too_long[4..6].copy_from_slice(&65u16.to_le_bytes());
        let header: [u8; HEADER_LEN] = too_long[..HEADER_LEN].try_into().unwrap();
        assert_eq!(
            framer.check(&header),
            Err(FramingError::TooLong {
                length: 65,
                limit: 64
            })
        );
        let header: [u8; HEADER_LEN] = request(&[])[..HEADER_LEN].try_into().unwrap();
        assert_eq!(framer.check(&header), Err(FramingError::Empty));
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
