//! SWO trace capture: SWO_Transport, SWO_Mode, SWO_Baudrate, SWO_Control,
//! SWO_Status and SWO_Data (0x17..=0x1C). Only UART (NRZ) mode is driven
//! by this driver, with trace data polled through DAP_SWO_Data.

use super::{CommandId, DapCommand, Reply, ReplyError};

/// How trace data leaves the probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum SwoTransportKind {
    None = 0,
    /// Polled with DAP_SWO_Data.
    DataCommand = 1,
    /// Streamed on the v2 SWO bulk endpoint.
    Endpoint = 2,
}

/// DAP_SWO_Transport (0x17): `transport:u8` → `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwoTransport(pub SwoTransportKind);

impl DapCommand for SwoTransport {
    type Output = ();

    fn id(&self) -> CommandId {
        CommandId::SwoTransport
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.0 as u8);
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(), ReplyError> {
        reply.status()
    }
}

/// SWO capture modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum SwoModeKind {
    Off = 0,
    Uart = 1,
    Manchester = 2,
}

/// DAP_SWO_Mode (0x18): `mode:u8` → `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwoMode(pub SwoModeKind);

impl DapCommand for SwoMode {
    type Output = ();

    fn id(&self) -> CommandId {
        CommandId::SwoMode
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.0 as u8);
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(), ReplyError> {
        reply.status()
    }
}

/// DAP_SWO_Baudrate (0x19): `baud:u32` → `actual:u32` (0: not possible).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwoBaudrate(pub u32);

impl DapCommand for SwoBaudrate {
    /// The rate the probe actually set; 0 when it cannot.
    type Output = u32;

    fn id(&self) -> CommandId {
        CommandId::SwoBaudrate
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend(self.0.to_le_bytes());
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<u32, ReplyError> {
        reply.u32()
    }
}

/// DAP_SWO_Control (0x1A): `1` starts capture (emptying the buffer), `0`
/// stops it → `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwoControl {
    pub start: bool,
}

impl DapCommand for SwoControl {
    type Output = ();

    fn id(&self) -> CommandId {
        CommandId::SwoControl
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.start));
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(), ReplyError> {
        reply.status()
    }
}

/// The trace status byte of SWO_Status and SWO_Data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceStatus(pub u8);

impl TraceStatus {
    pub fn active(self) -> bool {
        self.0 & 0x01 != 0
    }
    #[cfg(test)]
    pub fn stream_error(self) -> bool {
        self.0 & 0x40 != 0
    }
    pub fn overrun(self) -> bool {
        self.0 & 0x80 != 0
    }
}

/// DAP_SWO_Status (0x1B): → `status:u8 count:u32` (bytes buffered).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwoStatus;

impl DapCommand for SwoStatus {
    type Output = (TraceStatus, u32);

    fn id(&self) -> CommandId {
        CommandId::SwoStatus
    }

    fn encode_body(&self, _out: &mut Vec<u8>) {}

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(TraceStatus, u32), ReplyError> {
        let status = TraceStatus(reply.u8()?);
        Ok((status, reply.u32()?))
    }
}

/// Reply bytes of DAP_SWO_Data before its data.
pub const SWO_DATA_REPLY_HEADER: usize = 4;

/// DAP_SWO_Data (0x1C): `max:u16` → `status:u8 count:u16 data[count]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwoData {
    pub max_count: u16,
}

impl DapCommand for SwoData {
    type Output = (TraceStatus, Vec<u8>);

    fn id(&self) -> CommandId {
        CommandId::SwoData
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend(self.max_count.to_le_bytes());
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(TraceStatus, Vec<u8>), ReplyError> {
        let status = TraceStatus(reply.u8()?);
        let count = reply.u16()?;
        if count > self.max_count {
            return Err(reply.malformed(format!(
                "{count} trace bytes, at most {} asked for",
                self.max_count
            )));
        }
        Ok((status, reply.take(usize::from(count))?.to_vec()))
    }
}
