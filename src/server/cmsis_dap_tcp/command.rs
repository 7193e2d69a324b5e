//! CMSIS-DAP command packets as a server receives them: every command the
//! DAP port serves, decoded with its bounds checked. A packet too short
//! for its fields, or carrying more than its fields say, is `Malformed`
//! (answered with the command id and DAP_ERROR); an id the port does not
//! serve is `Unsupported` (answered with the single DAP_Invalid byte, as
//! CMSIS-DAP firmware does).

use crate::cmsis_dap::commands::{self, CommandId, ID_NOT_IMPLEMENTED};
use crate::probe::SwdSequence;

// The ids and status bytes are the driver's (`cmsis_dap::commands`), the
// one home of CMSIS-DAP's command layouts; named here as the server reads
// them.
pub const ID_INFO: u8 = CommandId::Info as u8;
pub const ID_HOST_STATUS: u8 = CommandId::HostStatus as u8;
pub const ID_CONNECT: u8 = CommandId::Connect as u8;
pub const ID_DISCONNECT: u8 = CommandId::Disconnect as u8;
pub const ID_TRANSFER_CONFIGURE: u8 = CommandId::TransferConfigure as u8;
pub const ID_TRANSFER: u8 = CommandId::Transfer as u8;
pub const ID_TRANSFER_BLOCK: u8 = CommandId::TransferBlock as u8;
pub const ID_TRANSFER_ABORT: u8 = CommandId::TransferAbort as u8;
pub const ID_WRITE_ABORT: u8 = CommandId::WriteAbort as u8;
pub const ID_DELAY: u8 = CommandId::Delay as u8;
pub const ID_RESET_TARGET: u8 = CommandId::ResetTarget as u8;
pub const ID_SWJ_PINS: u8 = CommandId::SwjPins as u8;
pub const ID_SWJ_CLOCK: u8 = CommandId::SwjClock as u8;
pub const ID_SWJ_SEQUENCE: u8 = CommandId::SwjSequence as u8;
pub const ID_SWD_CONFIGURE: u8 = CommandId::SwdConfigure as u8;
pub const ID_SWD_SEQUENCE: u8 = CommandId::SwdSequence as u8;
/// The reply to a command id the firmware does not implement.
pub const ID_INVALID: u8 = ID_NOT_IMPLEMENTED;
pub const DAP_OK: u8 = commands::DAP_OK;
pub const DAP_ERROR: u8 = 0xFF;

/// Transfer request bits.
pub const TRANSFER_APNDP: u8 = 1 << 0;
pub const TRANSFER_RNW: u8 = 1 << 1;
pub const TRANSFER_A32: u8 = 0b11 << 2;
pub const TRANSFER_MATCH_VALUE: u8 = 1 << 4;
pub const TRANSFER_MATCH_MASK: u8 = 1 << 5;

/// One transfer of a DAP_Transfer: its request byte and the word it carries
/// (write data, or the value a match read compares against).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferRequest {
    pub request: u8,
    pub data: Option<u32>,
}

impl TransferRequest {
    pub fn is_read(self) -> bool {
        self.request & TRANSFER_RNW != 0
    }

    pub fn is_ap(self) -> bool {
        self.request & TRANSFER_APNDP != 0
    }

    /// A\[3:2\] as a register address.
    pub fn a32(self) -> u32 {
        u32::from(self.request & TRANSFER_A32)
    }

    fn carries_data(request: u8) -> bool {
        request & TRANSFER_RNW == 0 || request & TRANSFER_MATCH_VALUE != 0
    }
}

/// A decoded command packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DapCommand {
    Info(u8),
    HostStatus,
    Connect(u8),
    Disconnect,
    TransferConfigure {
        idle_cycles: u8,
        wait_retry: u16,
        match_retry: u16,
    },
    Transfer(Vec<TransferRequest>),
    TransferBlock {
        request: u8,
        count: u16,
        /// The words to write (empty for a read).
        data: Vec<u32>,
    },
    /// Has no response.
    TransferAbort,
    WriteAbort(u32),
    Delay(u16),
    ResetTarget,
    SwjPins {
        output: u8,
        select: u8,
        wait_us: u32,
    },
    SwjClock(u32),
    SwjSequence {
        bit_count: u16,
        bits: Vec<u8>,
    },
    SwdConfigure(u8),
    SwdSequence(Vec<SwdSequence>),
    /// A command id the port does not serve.
    Unsupported(u8),
    /// A packet its command's fields do not fit.
    Malformed(u8),
}

/// Reads fields off a packet; every read is bounds-checked.
struct Fields<'a> {
    bytes: &'a [u8],
}

impl<'a> Fields<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&first, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(first)
    }

    fn u16(&mut self) -> Option<u16> {
        let bytes = self.take(2)?;
        Some(u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        let bytes = self.take(4)?;
        Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(taken)
    }

    /// Nothing may be left over: a packet longer than its fields is as
    /// suspect as a short one.
    fn end(&self) -> Option<()> {
        self.bytes.is_empty().then_some(())
    }
}

/// Decodes one command packet (at least one byte: the framing refuses
/// empty ones).
pub fn decode(packet: &[u8]) -> DapCommand {
    let Some((&id, rest)) = packet.split_first() else {
        return DapCommand::Malformed(0);
    };
    let mut fields = Fields { bytes: rest };
    decode_fields(id, &mut fields).unwrap_or(DapCommand::Malformed(id))
}

fn decode_fields(id: u8, f: &mut Fields<'_>) -> Option<DapCommand> {
    let command = match id {
        ID_INFO => DapCommand::Info(f.u8()?),
        ID_HOST_STATUS => {
            f.take(2)?;
            DapCommand::HostStatus
        }
        ID_CONNECT => DapCommand::Connect(f.u8()?),
        ID_DISCONNECT => DapCommand::Disconnect,
        ID_TRANSFER_CONFIGURE => DapCommand::TransferConfigure {
            idle_cycles: f.u8()?,
            wait_retry: f.u16()?,
            match_retry: f.u16()?,
        },
        ID_TRANSFER => {
            let _dap_index = f.u8()?;
            let count = f.u8()?;
            let mut transfers = Vec::with_capacity(usize::from(count));
            for _ in 0..count {
                let request = f.u8()?;
                let data = if TransferRequest::carries_data(request) {
                    Some(f.u32()?)
                } else {
                    None
                };
                transfers.push(TransferRequest { request, data });
            }
            DapCommand::Transfer(transfers)
        }
        ID_TRANSFER_BLOCK => {
            let _dap_index = f.u8()?;
            let count = f.u16()?;
            let request = f.u8()?;
            let data = if request & TRANSFER_RNW == 0 {
                (0..count).map(|_| f.u32()).collect::<Option<Vec<u32>>>()?
            } else {
                Vec::new()
            };
            DapCommand::TransferBlock {
                request,
                count,
                data,
            }
        }
        ID_TRANSFER_ABORT => DapCommand::TransferAbort,
        ID_WRITE_ABORT => {
            let _dap_index = f.u8()?;
            DapCommand::WriteAbort(f.u32()?)
        }
        ID_DELAY => DapCommand::Delay(f.u16()?),
        ID_RESET_TARGET => DapCommand::ResetTarget,
        ID_SWJ_PINS => DapCommand::SwjPins {
            output: f.u8()?,
            select: f.u8()?,
            wait_us: f.u32()?,
        },
        ID_SWJ_CLOCK => DapCommand::SwjClock(f.u32()?),
        ID_SWJ_SEQUENCE => {
            let count = f.u8()?;
            let bit_count = if count == 0 { 256 } else { u16::from(count) };
            let bits = f.take(usize::from(bit_count).div_ceil(8))?.to_vec();
            DapCommand::SwjSequence { bit_count, bits }
        }
        ID_SWD_CONFIGURE => DapCommand::SwdConfigure(f.u8()?),
        ID_SWD_SEQUENCE => {
            let count = f.u8()?;
            let mut sequences = Vec::with_capacity(usize::from(count));
            for _ in 0..count {
                let info = f.u8()?;
                let cycles = match info & 0x3F {
                    0 => 64,
                    n => n,
                };
                let bits = if info & 0x80 == 0 {
                    let bytes = f.take(usize::from(cycles).div_ceil(8))?;
                    let mut word = [0u8; 8];
                    word[..bytes.len()].copy_from_slice(bytes);
                    Some(u64::from_le_bytes(word))
                } else {
                    None
                };
                sequences.push(SwdSequence { cycles, bits });
            }
            DapCommand::SwdSequence(sequences)
        }
        other => return Some(DapCommand::Unsupported(other)),
    };
    f.end()?;
    Some(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_carry_data_for_writes_and_match_reads_only() {
        let packet = [
            ID_TRANSFER,
            0,
            3,
            0x02, // DP read 0x0
            0x05, // AP write 0x0
            0x78,
            0x56,
            0x34,
            0x12,
            0x1B, // AP read 0xC, match value
            1,
            0,
            0,
            0,
        ];
        assert_eq!(
            decode(&packet),
            DapCommand::Transfer(vec![
                TransferRequest {
                    request: 0x02,
                    data: None
                },
                TransferRequest {
                    request: 0x05,
                    data: Some(0x1234_5678)
                },
                TransferRequest {
                    request: 0x1B,
                    data: Some(1)
                },
            ])
        );
    }

    #[test]
    fn block_writes_carry_their_words_and_reads_none() {
        let read = [ID_TRANSFER_BLOCK, 0, 0x00, 0x01, 0x0F];
        assert_eq!(
            decode(&read),
            DapCommand::TransferBlock {
                request: 0x0F,
                count: 256,
                data: vec![]
            }
        );
        let write = [ID_TRANSFER_BLOCK, 0, 2, 0, 0x0D, 1, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(
            decode(&write),
            DapCommand::TransferBlock {
                request: 0x0D,
                count: 2,
                data: vec![1, 2]
            }
        );
    }

    #[test]
    fn short_and_overlong_packets_are_malformed_never_a_panic() {
        assert_eq!(
            decode(&[ID_TRANSFER, 0, 2, 0x05, 1, 2]),
            DapCommand::Malformed(ID_TRANSFER)
        );
        assert_eq!(
            decode(&[ID_TRANSFER_BLOCK, 0, 0xFF, 0xFF, 0x0D, 1]),
            DapCommand::Malformed(ID_TRANSFER_BLOCK)
        );
        assert_eq!(
            decode(&[ID_SWJ_CLOCK, 1, 2]),
            DapCommand::Malformed(ID_SWJ_CLOCK)
        );
        assert_eq!(
            decode(&[ID_CONNECT, 1, 9]),
            DapCommand::Malformed(ID_CONNECT)
        );
        assert_eq!(decode(&[]), DapCommand::Malformed(0));
        // Every prefix of a valid packet, and every byte value as a command.
        let transfer = [ID_TRANSFER, 0, 2, 0x05, 1, 2, 3, 4, 0x02];
        for end in 0..transfer.len() {
            let _ = decode(&transfer[..end]);
        }
        for id in 0..=255u8 {
            let _ = decode(&[id]);
        }
    }

    #[test]
    fn sequences_count_bits_as_cmsis_dap_does() {
        assert_eq!(
            decode(
                &[ID_SWJ_SEQUENCE, 0]
                    .iter()
                    .chain(&[0xFF; 32])
                    .copied()
                    .collect::<Vec<_>>()
            ),
            DapCommand::SwjSequence {
                bit_count: 256,
                bits: vec![0xFF; 32]
            }
        );
        assert_eq!(
            decode(&[ID_SWD_SEQUENCE, 2, 0x08, 0xA5, 0x84]),
            DapCommand::SwdSequence(vec![
                SwdSequence {
                    cycles: 8,
                    bits: Some(0xA5)
                },
                SwdSequence {
                    cycles: 4,
                    bits: None
                },
            ])
        );
    }

    #[test]
    fn unknown_commands_are_unsupported() {
        assert_eq!(decode(&[0x7F, 1]), DapCommand::Unsupported(0x7F));
        assert_eq!(decode(&[0x14, 0]), DapCommand::Unsupported(0x14));
    }
}
