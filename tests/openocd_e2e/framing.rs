//! The 8-byte header OpenOCD's `cmsis-dap` `tcp` backend puts before each
//! CMSIS-DAP packet (shared/reference/openocd-cmsis-dap-tcp.md), all
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
