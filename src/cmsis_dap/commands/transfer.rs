//! DAP_Transfer (0x05) and DAP_TransferBlock (0x06): DP and AP register
//! accesses, and what their response byte says.
//!
//! Request byte: b0 APnDP, b1 RnW, b2 A2, b3 A3 (b4/b5 value match and b7
//! timestamp are not used here). Response byte: b2..0 ACK (1 OK, 2 WAIT,
//! 4 FAULT, 7 no ACK), b3 SWD protocol (parity) error, b4 value mismatch.
//! The reference firmware stops at the first failing transfer and reports
//! how many succeeded; it also completes posted AP reads itself (reading
//! RDBUFF after a trailing AP read), so the host sees plain reads.

use super::{CommandId, DapCommand, Reply, ReplyError};

/// Which port a register is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    Dp,
    Ap,
}

/// A DP or AP register as the wire sees it: the port and A\[3:2\].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Register {
    pub port: Port,
    /// 0x0, 0x4, 0x8 or 0xC (other bits are ignored).
    pub addr: u8,
}

impl Register {
    pub const fn dp(addr: u8) -> Register {
        Register {
            port: Port::Dp,
            addr: addr & 0xC,
        }
    }

    pub const fn ap(addr: u8) -> Register {
        Register {
            port: Port::Ap,
            addr: addr & 0xC,
        }
    }

    /// The transfer request byte for a read (or a write).
    pub fn request_byte(self, read: bool) -> u8 {
        let ap = u8::from(self.port == Port::Ap);
        ap | u8::from(read) << 1 | self.addr & 0xC
    }
}

/// Describes a request byte for messages, e.g. "AP write 0x4".
pub fn describe_request(request: u8) -> String {
    let port = if request & 1 != 0 { "AP" } else { "DP" };
    let access = if request & 2 != 0 { "read" } else { "write" };
    format!("{port} {access} {:#x}", request & 0xC)
}

/// One access inside a DAP_Transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferRequest {
    pub register: Register,
    /// `Some(value)` writes it; `None` reads.
    pub write: Option<u32>,
}

impl TransferRequest {
    pub fn read(register: Register) -> TransferRequest {
        TransferRequest {
            register,
            write: None,
        }
    }

    pub fn write(register: Register, value: u32) -> TransferRequest {
        TransferRequest {
            register,
            write: Some(value),
        }
    }

    pub fn request_byte(&self) -> u8 {
        self.register.request_byte(self.write.is_none())
    }

    /// Request bytes this access takes in a DAP_Transfer.
    pub fn request_len(&self) -> usize {
        if self.write.is_some() {
            5
        } else {
            1
        }
    }

    /// Reply bytes this access takes in a DAP_Transfer.
    pub fn reply_len(&self) -> usize {
        if self.write.is_some() {
            0
        } else {
            4
        }
    }
}

/// Why a response byte is not a plain OK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckError {
    Wait,
    Fault,
    NoAck,
    /// SWD protocol error: parity of the read data, or a garbled ACK.
    Protocol,
    ValueMismatch,
    /// An ACK value the specification does not define.
    Invalid(u8),
}

pub const ACK_OK: u8 = 1;
const ACK_WAIT: u8 = 2;
const ACK_FAULT: u8 = 4;
const ACK_NONE: u8 = 7;
const RESPONSE_PROTOCOL_ERROR: u8 = 1 << 3;
const RESPONSE_VALUE_MISMATCH: u8 = 1 << 4;

/// Classifies a transfer response byte.
pub fn check_response(response: u8) -> Result<(), AckError> {
    if response & RESPONSE_PROTOCOL_ERROR != 0 {
        return Err(AckError::Protocol);
    }
    if response & RESPONSE_VALUE_MISMATCH != 0 {
        return Err(AckError::ValueMismatch);
    }
    match response & 0x7 {
        ACK_OK => Ok(()),
        ACK_WAIT => Err(AckError::Wait),
        ACK_FAULT => Err(AckError::Fault),
        ACK_NONE => Err(AckError::NoAck),
        other => Err(AckError::Invalid(other)),
    }
}

/// What a DAP_Transfer or DAP_TransferBlock answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferReply {
    /// How many transfers were carried out.
    pub count: usize,
    /// The response byte of the last one.
    pub response: u8,
    /// Read data, only when every transfer succeeded (a failed packet's
    /// data is of no use to anyone).
    pub data: Vec<u32>,
}

impl TransferReply {
    /// True when all `expected` transfers completed with OK.
    pub fn completed(&self, expected: usize) -> bool {
        self.response == ACK_OK && self.count == expected
    }
}

/// DAP_Transfer: `dap_index:u8 count:u8 {request:u8 [data:u32]}×count` →
/// `count:u8 response:u8 data:u32×reads`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transfer {
    pub requests: Vec<TransferRequest>,
}

/// The most accesses one DAP_Transfer holds (its count is a byte).
pub const MAX_TRANSFER_COUNT: usize = 255;
/// Request bytes of a DAP_Transfer before its accesses (ID, index, count).
pub const TRANSFER_REQUEST_HEADER: usize = 3;
/// Reply bytes of a DAP_Transfer before its data (ID, count, response).
pub const TRANSFER_REPLY_HEADER: usize = 3;

impl Transfer {
    pub fn reads(&self) -> usize {
        self.requests.iter().filter(|r| r.write.is_none()).count()
    }
}

impl DapCommand for Transfer {
    type Output = TransferReply;

    fn id(&self) -> CommandId {
        CommandId::Transfer
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        let requests = &self.requests[..self.requests.len().min(MAX_TRANSFER_COUNT)];
        out.extend([0, requests.len() as u8]);
        for request in requests {
            out.push(request.request_byte());
            if let Some(value) = request.write {
                out.extend(value.to_le_bytes());
            }
        }
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<TransferReply, ReplyError> {
        let count = usize::from(reply.u8()?);
        let response = reply.u8()?;
        if count > self.requests.len() {
            return Err(reply.malformed(format!(
                "{count} transfers done of {} requested",
                self.requests.len()
            )));
        }
        let mut done = TransferReply {
            count,
            response,
            data: Vec::new(),
        };
        if done.completed(self.requests.len()) {
            done.data = (0..self.reads())
                .map(|_| reply.u32())
                .collect::<Result<_, _>>()?;
        }
        Ok(done)
    }
}

/// DAP_TransferBlock: `dap_index:u8 count:u16 request:u8 [data:u32×count]`
/// → `count:u16 response:u8 [data:u32×count]`. Many accesses to one
/// register, the way memory moves through DRW.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferBlock {
    pub register: Register,
    pub access: BlockAccess,
}

/// The direction of a DAP_TransferBlock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockAccess {
    Read(u16),
    Write(Vec<u32>),
}

/// Request bytes of a DAP_TransferBlock before its data.
pub const BLOCK_REQUEST_HEADER: usize = 5;
/// Reply bytes of a DAP_TransferBlock before its data.
pub const BLOCK_REPLY_HEADER: usize = 4;

impl TransferBlock {
    /// How many accesses it asks for.
    pub fn count(&self) -> usize {
        match &self.access {
            BlockAccess::Read(count) => usize::from(*count),
            BlockAccess::Write(values) => values.len().min(usize::from(u16::MAX)),
        }
    }

    pub fn request_byte(&self) -> u8 {
        self.register
            .request_byte(matches!(self.access, BlockAccess::Read(_)))
    }
}

impl DapCommand for TransferBlock {
    type Output = TransferReply;

    fn id(&self) -> CommandId {
        CommandId::TransferBlock
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(0);
        out.extend((self.count() as u16).to_le_bytes());
        out.push(self.request_byte());
        if let BlockAccess::Write(values) = &self.access {
            for value in &values[..self.count()] {
                out.extend(value.to_le_bytes());
            }
        }
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<TransferReply, ReplyError> {
        let count = usize::from(reply.u16()?);
        let response = reply.u8()?;
        if count > self.count() {
            return Err(reply.malformed(format!(
                "{count} transfers done of {} requested",
                self.count()
            )));
        }
        let mut done = TransferReply {
            count,
            response,
            data: Vec::new(),
        };
        if matches!(self.access, BlockAccess::Read(_)) && done.completed(self.count()) {
            done.data = (0..count).map(|_| reply.u32()).collect::<Result<_, _>>()?;
        }
        Ok(done)
    }
}
