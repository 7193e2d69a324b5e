//! DAP_Info (0x00): what the probe is and what it can do.
//!
//! Reply: `00 len info[len]`. A length of 0 means "no such information"
//! (also the answer to unknown IDs), distinct from an empty string (length
//! 1, just the NUL). Numbers are 1, 2 or 4 bytes.

use std::fmt;

use super::{CommandId, DapCommand, Reply, ReplyError};

/// Info IDs that answer a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum StringInfo {
    Vendor = 0x01,
    Product = 0x02,
    SerialNumber = 0x03,
    ProtocolVersion = 0x04,
    FirmwareVersion = 0x09,
}

const ID_CAPABILITIES: u8 = 0xF0;
const ID_PACKET_COUNT: u8 = 0xFE;
const ID_PACKET_SIZE: u8 = 0xFF;

/// Reads the `len info[len]` part, `None` for length 0.
fn payload<'a>(reply: &mut Reply<'a>) -> Result<Option<&'a [u8]>, ReplyError> {
    let len = usize::from(reply.u8()?);
    if len == 0 {
        return Ok(None);
    }
    reply.take(len).map(Some)
}

/// DAP_Info for a string: `None` when the probe has no such information.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InfoString(pub StringInfo);

impl DapCommand for InfoString {
    type Output = Option<String>;

    fn id(&self) -> CommandId {
        CommandId::Info
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.0 as u8);
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<Option<String>, ReplyError> {
        Ok(payload(reply)?.map(|bytes| {
            // The length counts the NUL; some firmware pads with more.
            let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
            String::from_utf8_lossy(text).into_owned()
        }))
    }
}

/// DAP_Info 0xFF: the largest packet (command or reply) the probe takes;
/// `None` when it does not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketSize;

impl DapCommand for PacketSize {
    type Output = Option<u16>;

    fn id(&self) -> CommandId {
        CommandId::Info
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(ID_PACKET_SIZE);
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<Option<u16>, ReplyError> {
        match payload(reply)? {
            None => Ok(None),
            Some(&[lo, hi]) => Ok(Some(u16::from_le_bytes([lo, hi]))),
            Some(other) => Err(reply.malformed(format!(
                "packet size is {} bytes long, 2 expected",
                other.len()
            ))),
        }
    }
}

/// DAP_Info 0xFE: how many packets the probe buffers; `None` when it does
/// not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketCount;

impl DapCommand for PacketCount {
    type Output = Option<u8>;

    fn id(&self) -> CommandId {
        CommandId::Info
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(ID_PACKET_COUNT);
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<Option<u8>, ReplyError> {
        match payload(reply)? {
            None => Ok(None),
            Some(&[count]) => Ok(Some(count)),
            Some(other) => Err(reply.malformed(format!(
                "packet count is {} bytes long, 1 expected",
                other.len()
            ))),
        }
    }
}

/// DAP_Info 0xF0: the capability bits (one or two bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities;

impl DapCommand for Capabilities {
    type Output = DapCapabilities;

    fn id(&self) -> CommandId {
        CommandId::Info
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(ID_CAPABILITIES);
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<DapCapabilities, ReplyError> {
        match payload(reply)? {
            Some(&[info0]) => Ok(DapCapabilities(u16::from(info0))),
            Some(&[info0, info1]) => Ok(DapCapabilities(u16::from_le_bytes([info0, info1]))),
            None => Err(reply.malformed("no capabilities")),
            Some(other) => Err(reply.malformed(format!(
                "capabilities are {} bytes long, 1 or 2 expected",
                other.len()
            ))),
        }
    }
}

/// The capability bits: Info0 in the low byte, Info1 in the high byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DapCapabilities(pub u16);

impl DapCapabilities {
    fn bit(self, n: u32) -> bool {
        self.0 & (1 << n) != 0
    }
    pub fn swd(self) -> bool {
        self.bit(0)
    }
    pub fn jtag(self) -> bool {
        self.bit(1)
    }
    pub fn swo_uart(self) -> bool {
        self.bit(2)
    }
    pub fn atomic_commands(self) -> bool {
        self.bit(4)
    }
    #[cfg(test)]
    pub fn swo_streaming(self) -> bool {
        self.bit(6)
    }
    #[cfg(test)]
    pub fn usb_com_port(self) -> bool {
        self.bit(8)
    }
}

/// A CMSIS-DAP protocol version, for feature gates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DapVersion {
    pub major: u8,
    pub minor: u8,
    pub patch: u8,
}

impl DapVersion {
    pub const V1_0_0: DapVersion = DapVersion::new(1, 0, 0);
    pub const V1_2_0: DapVersion = DapVersion::new(1, 2, 0);
    pub const V1_3_0: DapVersion = DapVersion::new(1, 3, 0);
    pub const V2_0_0: DapVersion = DapVersion::new(2, 0, 0);
    pub const V2_1_0: DapVersion = DapVersion::new(2, 1, 0);

    pub const fn new(major: u8, minor: u8, patch: u8) -> DapVersion {
        DapVersion {
            major,
            minor,
            patch,
        }
    }

    /// Reads the protocol-version string. Old firmware writes "1.10" for
    /// 1.1.0; DAPLink 0254/0255 put their own four-digit version there,
    /// which speaks CMSIS-DAP 2.0. Anything unreadable (or an unknown major
    /// version) is taken as 1.0.0, which gates nothing on.
    pub fn from_info(text: Option<&str>) -> DapVersion {
        text.and_then(DapVersion::parse)
            .unwrap_or(DapVersion::V1_0_0)
    }

    fn parse(text: &str) -> Option<DapVersion> {
        let text = text.trim();
        if text.len() == 4 && text.starts_with("02") && text.bytes().all(|b| b.is_ascii_digit()) {
            return Some(DapVersion::V2_0_0);
        }
        let mut fields = text.split('.');
        let major: u8 = fields.next()?.parse().ok()?;
        let minor_text = fields.next().unwrap_or("0");
        let patch_text = fields.next();
        let (minor, patch) = match patch_text {
            None if minor_text.len() == 2 => {
                let minor = minor_text.get(..1)?.parse().ok()?;
                let patch = minor_text.get(1..)?.parse().ok()?;
                (minor, patch)
            }
            None => (minor_text.parse().ok()?, 0),
            Some(patch) => (minor_text.parse().ok()?, patch.parse().ok()?),
        };
        let version = match (major, minor) {
            // Beta firmware said 0.01 or 0.02.
            (0, _) => DapVersion::V1_0_0,
            (1 | 2, _) => DapVersion::new(major, minor, patch),
            _ => return None,
        };
        Some(version)
    }

    /// DAP_SWD_Sequence exists from protocol 1.2 on (and in every 2.x).
    pub fn has_swd_sequence(self) -> bool {
        self >= DapVersion::V1_2_0
    }

    /// DAP_Info 0x09 (firmware version) exists in 1.3+ and 2.1+.
    pub fn has_firmware_version(self) -> bool {
        self >= DapVersion::V2_1_0 || (self >= DapVersion::V1_3_0 && self < DapVersion::V2_0_0)
    }
}

impl fmt::Display for DapVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}
