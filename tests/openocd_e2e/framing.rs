//! The 8-byte header OpenOCD's `cmsis-dap` `tcp` backend puts before each
//! CMSIS-DAP packet (docs/protocol.md, "The DAP port"), all
//! little-endian: signature "DAP\0", payload length (u16), type (1 request,
//! 2 response), a reserved zero byte.

pub const HEADER_LEN: usize = 8;
pub const SIGNATURE: u32 = 0x0050_4144;
pub const REQUEST: u8 = 1;
pub const RESPONSE: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub len: u16,
    pub kind: u8,
}

impl Header {
    pub fn new(kind: u8, len: usize) -> Header {
        Header {
            len: u16::try_from(len).expect("a packet fits a u16 length"),
            kind,
        }
    }

    /// The header in `bytes`, or None when its signature or reserved byte
    /// is wrong.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Option<Header> {
        let signature = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        (signature == SIGNATURE && bytes[7] == 0).then(|| Header {
            len: u16::from_le_bytes([bytes[4], bytes[5]]),
            kind: bytes[6],
        })
    }

    pub fn bytes(self) -> [u8; HEADER_LEN] {
        let signature = SIGNATURE.to_le_bytes();
        let len = self.len.to_le_bytes();
        [
            signature[0],
            signature[1],
            signature[2],
            signature[3],
            len[0],
            len[1],
            self.kind,
            0,
        ]
    }
}

/// A blocking client of a DAP port speaking the framing above, with a
/// deadline on every read, for checks OpenOCD does not print.
pub struct DapClient {
    stream: std::net::TcpStream,
}

impl DapClient {
    pub fn connect(addr: std::net::SocketAddr) -> DapClient {
        let stream = std::net::TcpStream::connect(addr).expect("connect to the DAP port");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .expect("read timeout");
        stream.set_nodelay(true).expect("nodelay");
        DapClient { stream }
    }

    /// Sends one request packet without waiting for its response.
    pub fn send(&mut self, packet: &[u8]) {
        use std::io::Write;
        let mut framed = Header::new(REQUEST, packet.len()).bytes().to_vec();
        framed.extend_from_slice(packet);
        self.stream.write_all(&framed).expect("send a request");
    }

    /// Reads the next response packet; fails the test on a bad header,
    /// end of stream or the deadline.
    pub fn recv(&mut self) -> Vec<u8> {
        use std::io::Read;
        let mut header = [0u8; HEADER_LEN];
        self.stream
            .read_exact(&mut header)
            .expect("a response header within the deadline");
        let parsed =
            Header::parse(&header).unwrap_or_else(|| panic!("bad response header {header:02x?}"));
        assert_eq!(parsed.kind, RESPONSE, "header {header:02x?}");
        let mut packet = vec![0u8; usize::from(parsed.len)];
        self.stream
            .read_exact(&mut packet)
            .expect("a response payload within the deadline");
        packet
    }
}
