//! The CMSIS-DAP command set: one type per command, each knowing its
//! request bytes and how to read its reply.
//!
//! Every reply is checked before a byte of it is believed: the echoed
//! command ID must match (0xFF means the probe does not implement the
//! command), every field must be present, and a length inside the reply may
//! not point past its end. A bad reply is a [`ReplyError`], never a panic.
//! Trailing bytes are allowed, because HID reports arrive padded to the
//! report size. Multi-byte fields are little-endian throughout.
//!
//! Layouts: `docs/reference/cmsis-dap.md` §3 (from the CMSIS-DAP
//! specification, `ref_dap.txt`).

pub mod info;
pub mod sequence;
pub mod setup;
pub mod swj;
pub mod swo;
pub mod transfer;

use crate::probe::ProbeError;

/// Command IDs (first byte of a request, echoed as the first reply byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum CommandId {
    Info = 0x00,
    HostStatus = 0x01,
    Connect = 0x02,
    Disconnect = 0x03,
    TransferConfigure = 0x04,
    Transfer = 0x05,
    TransferBlock = 0x06,
    TransferAbort = 0x07,
    WriteAbort = 0x08,
    Delay = 0x09,
    ResetTarget = 0x0A,
    SwjPins = 0x10,
    SwjClock = 0x11,
    SwjSequence = 0x12,
    SwdConfigure = 0x13,
    JtagSequence = 0x14,
    JtagConfigure = 0x15,
    JtagIdcode = 0x16,
    SwoTransport = 0x17,
    SwoMode = 0x18,
    SwoBaudrate = 0x19,
    SwoControl = 0x1A,
    SwoStatus = 0x1B,
    SwoData = 0x1C,
    SwdSequence = 0x1D,
}

/// What a probe answers instead of the echo for a command it lacks.
pub const ID_NOT_IMPLEMENTED: u8 = 0xFF;

/// The status byte of a command that succeeded (0xFF is `DAP_ERROR`).
pub const DAP_OK: u8 = 0x00;

impl CommandId {
    /// The specification's name, for messages.
    pub fn name(self) -> &'static str {
        use CommandId::*;
        match self {
            Info => "DAP_Info",
            HostStatus => "DAP_HostStatus",
            Connect => "DAP_Connect",
            Disconnect => "DAP_Disconnect",
            TransferConfigure => "DAP_TransferConfigure",
            Transfer => "DAP_Transfer",
            TransferBlock => "DAP_TransferBlock",
            TransferAbort => "DAP_TransferAbort",
            WriteAbort => "DAP_WriteABORT",
            Delay => "DAP_Delay",
            ResetTarget => "DAP_ResetTarget",
            SwjPins => "DAP_SWJ_Pins",
            SwjClock => "DAP_SWJ_Clock",
            SwjSequence => "DAP_SWJ_Sequence",
            SwdConfigure => "DAP_SWD_Configure",
            JtagSequence => "DAP_JTAG_Sequence",
            JtagConfigure => "DAP_JTAG_Configure",
            JtagIdcode => "DAP_JTAG_IDCODE",
            SwoTransport => "DAP_SWO_Transport",
            SwoMode => "DAP_SWO_Mode",
            SwoBaudrate => "DAP_SWO_Baudrate",
            SwoControl => "DAP_SWO_Control",
            SwoStatus => "DAP_SWO_Status",
            SwoData => "DAP_SWO_Data",
            SwdSequence => "DAP_SWD_Sequence",
        }
    }
}

/// Why a reply could not be accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The probe answered 0xFF: it does not implement the command.
    #[error("the probe does not implement {}", .0.name())]
    NotImplemented(CommandId),
    /// The reply is to some other command (a stale or lost reply).
    #[error("reply to {} starts with {got:#04x}", .command.name())]
    WrongCommand { command: CommandId, got: u8 },
    /// A field is missing.
    #[error("reply to {} is {got} bytes long, {needed} needed", .command.name())]
    Short {
        command: CommandId,
        needed: usize,
        got: usize,
    },
    /// The probe's status byte says the command failed (`DAP_ERROR`).
    #[error("{} failed on the probe (status {status:#04x})", .command.name())]
    Failed { command: CommandId, status: u8 },
    /// A field holds a value the specification does not allow.
    #[error("malformed reply to {}: {detail}", .command.name())]
    Malformed { command: CommandId, detail: String },
}

impl ReplyError {
    /// True when request/response pairing may be lost: the reply belongs
    /// to another request, so later replies are not to be trusted.
    pub fn breaks_pairing(&self) -> bool {
        matches!(self, ReplyError::WrongCommand { .. })
    }
}

impl From<ReplyError> for ProbeError {
    fn from(error: ReplyError) -> ProbeError {
        match error {
            ReplyError::NotImplemented(command) => ProbeError::Unsupported(command.name()),
            other => ProbeError::Probe(other.to_string()),
        }
    }
}

/// A bounds-checked cursor over one reply, positioned after the echoed ID.
#[derive(Debug)]
pub struct Reply<'a> {
    command: CommandId,
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reply<'a> {
    /// Checks the echoed command ID.
    pub fn new(command: CommandId, bytes: &'a [u8]) -> Result<Reply<'a>, ReplyError> {
        match bytes.first() {
            None => Err(ReplyError::Short {
                command,
                needed: 1,
                got: 0,
            }),
            Some(&id) if id == command as u8 => Ok(Reply {
                command,
                bytes,
                position: 1,
            }),
            Some(&ID_NOT_IMPLEMENTED) => Err(ReplyError::NotImplemented(command)),
            Some(&got) => Err(ReplyError::WrongCommand { command, got }),
        }
    }

    pub fn command(&self) -> CommandId {
        self.command
    }

    /// The next `len` bytes.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], ReplyError> {
        let end = self.position.saturating_add(len);
        let field = self
            .bytes
            .get(self.position..end)
            .ok_or(ReplyError::Short {
                command: self.command,
                needed: end,
                got: self.bytes.len(),
            })?;
        self.position = end;
        Ok(field)
    }

    pub fn u8(&mut self) -> Result<u8, ReplyError> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, ReplyError> {
        let field = self.take(2)?;
        Ok(u16::from_le_bytes([field[0], field[1]]))
    }

    pub fn u32(&mut self) -> Result<u32, ReplyError> {
        let field = self.take(4)?;
        Ok(u32::from_le_bytes([field[0], field[1], field[2], field[3]]))
    }

    /// A status byte that must be `DAP_OK`.
    pub fn status(&mut self) -> Result<(), ReplyError> {
        match self.u8()? {
            DAP_OK => Ok(()),
            status => Err(ReplyError::Failed {
                command: self.command,
                status,
            }),
        }
    }

    /// A reply-level error about this command.
    pub fn malformed(&self, detail: impl Into<String>) -> ReplyError {
        ReplyError::Malformed {
            command: self.command,
            detail: detail.into(),
        }
    }
}

/// One CMSIS-DAP command: its request bytes and the meaning of its reply.
pub trait DapCommand {
    /// What a successful reply carries.
    type Output;

    fn id(&self) -> CommandId;

    /// Appends the request bytes that follow the command ID.
    fn encode_body(&self, out: &mut Vec<u8>);

    /// Reads the reply fields that follow the echoed ID.
    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<Self::Output, ReplyError>;

    /// The whole request packet.
    fn request(&self) -> Vec<u8> {
        let mut out = vec![self.id() as u8];
        self.encode_body(&mut out);
        out
    }

    /// Checks and decodes a whole reply packet.
    fn parse_reply(&self, bytes: &[u8]) -> Result<Self::Output, ReplyError> {
        let mut reply = Reply::new(self.id(), bytes)?;
        self.decode_body(&mut reply)
    }
}

/// Bytes needed for `bits` bits.
pub(crate) fn bytes_for_bits(bits: usize) -> usize {
    bits.div_ceil(8)
}
