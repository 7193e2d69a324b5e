//! Commands that set up the probe and the wire: HostStatus, Connect,
//! Disconnect, TransferConfigure, SWD_Configure, JTAG_Configure,
//! JTAG_IDCODE, WriteABORT and ResetTarget.

use crate::probe::WireProtocol;

use super::{CommandId, DapCommand, Reply, ReplyError};

/// Which host-status LED.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum HostStatusKind {
    Connect = 0,
    Running = 1,
}

/// DAP_HostStatus (0x01): `kind:u8 on:u8` → `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostStatus {
    pub kind: HostStatusKind,
    pub on: bool,
}

impl DapCommand for HostStatus {
    type Output = ();

    fn id(&self) -> CommandId {
        CommandId::HostStatus
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend([self.kind as u8, u8::from(self.on)]);
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(), ReplyError> {
        reply.status()
    }
}

/// DAP_Connect (0x02): `port:u8` → `port:u8` (0 = failed).
///
/// Only ever sent with a definite protocol: port 0 ("default") is refused
/// by some firmware (Microchip nEDBG), so the driver picks itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connect(pub WireProtocol);

/// The DAP_Connect port number of a protocol.
pub fn port_number(protocol: WireProtocol) -> u8 {
    match protocol {
        WireProtocol::Swd => 1,
        WireProtocol::Jtag => 2,
    }
}

impl DapCommand for Connect {
    /// The protocol the probe brought up; `None` when it refused.
    type Output = Option<WireProtocol>;

    fn id(&self) -> CommandId {
        CommandId::Connect
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(port_number(self.0));
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<Option<WireProtocol>, ReplyError> {
        match reply.u8()? {
            0 => Ok(None),
            1 => Ok(Some(WireProtocol::Swd)),
            2 => Ok(Some(WireProtocol::Jtag)),
            other => Err(reply.malformed(format!("unknown port {other}"))),
        }
    }
}

/// DAP_Disconnect (0x03): → `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disconnect;

impl DapCommand for Disconnect {
    type Output = ();

    fn id(&self) -> CommandId {
        CommandId::Disconnect
    }

    fn encode_body(&self, _out: &mut Vec<u8>) {}

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(), ReplyError> {
        reply.status()
    }
}

/// DAP_TransferConfigure (0x04): `idle:u8 wait_retry:u16 match_retry:u16`
/// → `status`. `wait_retry` is how often the probe itself retries a WAIT
/// before it reports one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferConfigure {
    pub idle_cycles: u8,
    pub wait_retry: u16,
    pub match_retry: u16,
}

impl DapCommand for TransferConfigure {
    type Output = ();

    fn id(&self) -> CommandId {
        CommandId::TransferConfigure
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.idle_cycles);
        out.extend(self.wait_retry.to_le_bytes());
        out.extend(self.match_retry.to_le_bytes());
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(), ReplyError> {
        reply.status()
    }
}

/// DAP_SWD_Configure (0x13): `cfg:u8` (bits 1:0 turnaround − 1, bit 2
/// always generate a data phase) → `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwdConfigure {
    /// 1 to 4 clock cycles.
    pub turnaround: u8,
    pub always_data_phase: bool,
}

impl DapCommand for SwdConfigure {
    type Output = ();

    fn id(&self) -> CommandId {
        CommandId::SwdConfigure
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        let turnaround = self.turnaround.clamp(1, 4) - 1;
        out.push(turnaround | u8::from(self.always_data_phase) << 2);
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(), ReplyError> {
        reply.status()
    }
}

/// DAP_JTAG_Configure (0x15): `count:u8 ir_length[count]` → `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JtagConfigure {
    /// IR length of each TAP on the chain, TDI side first.
    pub ir_lengths: Vec<u8>,
}

impl DapCommand for JtagConfigure {
    type Output = ();

    fn id(&self) -> CommandId {
        CommandId::JtagConfigure
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        // A chain longer than 255 TAPs cannot be described; the count byte
        // must match the lengths that follow.
        let lengths = &self.ir_lengths[..self.ir_lengths.len().min(255)];
        out.push(lengths.len() as u8);
        out.extend_from_slice(lengths);
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(), ReplyError> {
        reply.status()
    }
}

/// DAP_JTAG_IDCODE (0x16): `index:u8` → `status idcode:u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JtagIdcode {
    pub tap_index: u8,
}

impl DapCommand for JtagIdcode {
    type Output = u32;

    fn id(&self) -> CommandId {
        CommandId::JtagIdcode
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.tap_index);
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<u32, ReplyError> {
        reply.status()?;
        reply.u32()
    }
}

/// DAP_WriteABORT (0x08): `dap_index:u8 abort:u32` → `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteAbort {
    pub dap_index: u8,
    pub value: u32,
}

impl DapCommand for WriteAbort {
    type Output = ();

    fn id(&self) -> CommandId {
        CommandId::WriteAbort
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.dap_index);
        out.extend(self.value.to_le_bytes());
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(), ReplyError> {
        reply.status()
    }
}

/// DAP_ResetTarget (0x0A): → `status execute:u8`; `execute` tells whether
/// the firmware has a device-specific reset at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResetTarget;

impl DapCommand for ResetTarget {
    /// True when the firmware ran a device-specific reset.
    type Output = bool;

    fn id(&self) -> CommandId {
        CommandId::ResetTarget
    }

    fn encode_body(&self, _out: &mut Vec<u8>) {}

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<bool, ReplyError> {
        reply.status()?;
        Ok(reply.u8()? == 1)
    }
}
