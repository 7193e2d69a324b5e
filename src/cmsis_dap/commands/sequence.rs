//! Raw bit sequences: DAP_SWD_Sequence (0x1D, protocol 1.2+) and
//! DAP_JTAG_Sequence (0x14).
//!
//! Both take a list of sequences of 1..=64 clock cycles each, encoded in
//! the low six bits of an info byte (64 as 0), data LSB first in
//! ceil(cycles/8) bytes.

use crate::probe::{SwdSequence, SwdSequenceReply};

use super::{bytes_for_bits, CommandId, DapCommand, Reply, ReplyError, DAP_OK};

/// The most clock cycles of one sequence.
pub const MAX_SEQUENCE_CYCLES: u8 = 64;
const INFO_CYCLES_MASK: u8 = 0x3F;

/// Request and reply bytes of each command before its sequences.
pub const SEQUENCE_REQUEST_HEADER: usize = 2;
pub const SEQUENCE_REPLY_HEADER: usize = 2;

fn check_cycles(cycles: u8) -> Result<(), String> {
    if (1..=MAX_SEQUENCE_CYCLES).contains(&cycles) {
        Ok(())
    } else {
        Err(format!(
            "a sequence of {cycles} cycles (1 to {MAX_SEQUENCE_CYCLES} allowed)"
        ))
    }
}

fn cycle_bytes(cycles: u8) -> usize {
    bytes_for_bits(usize::from(cycles))
}

/// Reads a little-endian value of up to 8 bytes.
fn read_bits(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |value, &byte| value << 8 | u64::from(byte))
}

/// Request bytes one SWD sequence takes.
pub fn swd_request_len(sequence: &SwdSequence) -> usize {
    1 + sequence.bits.map_or(0, |_| cycle_bytes(sequence.cycles))
}

/// Reply bytes one SWD sequence takes.
pub fn swd_reply_len(sequence: &SwdSequence) -> usize {
    sequence.bits.map_or(cycle_bytes(sequence.cycles), |_| 0)
}

/// DAP_SWD_Sequence: `count:u8 {info:u8 [swdio bytes]}×count` (info b7 set
/// = input) → `status [swdio bytes per input sequence]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwdSequences(Vec<SwdSequence>);

impl SwdSequences {
    /// At most 255 sequences of 1..=64 cycles.
    pub fn new(sequences: Vec<SwdSequence>) -> Result<SwdSequences, String> {
        if sequences.len() > 255 {
            return Err(format!("{} sequences (at most 255)", sequences.len()));
        }
        sequences.iter().try_for_each(|s| check_cycles(s.cycles))?;
        Ok(SwdSequences(sequences))
    }
}

impl DapCommand for SwdSequences {
    /// The status byte is passed on, as pyOCD's `swd_sequence` does; the
    /// captured bytes are there only when it is `DAP_OK`.
    type Output = SwdSequenceReply;

    fn id(&self) -> CommandId {
        CommandId::SwdSequence
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.0.len() as u8);
        for sequence in &self.0 {
            let cycles = sequence.cycles & INFO_CYCLES_MASK;
            match sequence.bits {
                None => out.push(cycles | 0x80),
                Some(bits) => {
                    out.push(cycles);
                    out.extend_from_slice(&bits.to_le_bytes()[..cycle_bytes(sequence.cycles)]);
                }
            }
        }
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<SwdSequenceReply, ReplyError> {
        let status = reply.u8()?;
        let mut captured = Vec::new();
        if status == DAP_OK {
            for sequence in self.0.iter().filter(|s| s.bits.is_none()) {
                captured.push(reply.take(cycle_bytes(sequence.cycles))?.to_vec());
            }
        }
        Ok(SwdSequenceReply { status, captured })
    }
}

/// One JTAG sequence: `cycles` TCK cycles with TMS held, shifting `tdi` in
/// (LSB first) and capturing TDO when asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JtagSequence {
    pub cycles: u8,
    pub tms: bool,
    pub capture_tdo: bool,
    pub tdi: u64,
}

/// DAP_JTAG_Sequence: `count:u8 {info:u8 tdi bytes}×count` (info b6 TMS,
/// b7 capture TDO) → `status [tdo bytes per capturing sequence]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JtagSequences(Vec<JtagSequence>);

impl JtagSequences {
    /// At most 255 sequences of 1..=64 cycles.
    pub fn new(sequences: Vec<JtagSequence>) -> Result<JtagSequences, String> {
        if sequences.len() > 255 {
            return Err(format!("{} sequences (at most 255)", sequences.len()));
        }
        sequences.iter().try_for_each(|s| check_cycles(s.cycles))?;
        Ok(JtagSequences(sequences))
    }
}

impl DapCommand for JtagSequences {
    /// TDO of each capturing sequence, in order.
    type Output = Vec<u64>;

    fn id(&self) -> CommandId {
        CommandId::JtagSequence
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.0.len() as u8);
        for sequence in &self.0 {
            let info = sequence.cycles & INFO_CYCLES_MASK
                | u8::from(sequence.tms) << 6
                | u8::from(sequence.capture_tdo) << 7;
            out.push(info);
            out.extend_from_slice(&sequence.tdi.to_le_bytes()[..cycle_bytes(sequence.cycles)]);
        }
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<Vec<u64>, ReplyError> {
        reply.status()?;
        self.0
            .iter()
            .filter(|s| s.capture_tdo)
            .map(|s| reply.take(cycle_bytes(s.cycles)).map(read_bits))
            .collect()
    }
}

impl SwdSequences {
    /// Packs sequences into as few commands as fit `packet_size` (request
    /// and reply), in order.
    pub fn split(
        sequences: &[SwdSequence],
        packet_size: usize,
    ) -> Result<Vec<SwdSequences>, String> {
        sequences.iter().try_for_each(|s| check_cycles(s.cycles))?;
        let mut commands = Vec::new();
        let mut current: Vec<SwdSequence> = Vec::new();
        let (mut request_len, mut reply_len) = (SEQUENCE_REQUEST_HEADER, SEQUENCE_REPLY_HEADER);
        for sequence in sequences {
            let fits = current.len() < 255
                && request_len + swd_request_len(sequence) <= packet_size
                && reply_len + swd_reply_len(sequence) <= packet_size;
            if !fits && !current.is_empty() {
                commands.push(SwdSequences(std::mem::take(&mut current)));
                (request_len, reply_len) = (SEQUENCE_REQUEST_HEADER, SEQUENCE_REPLY_HEADER);
            }
            request_len += swd_request_len(sequence);
            reply_len += swd_reply_len(sequence);
            current.push(*sequence);
        }
        if !current.is_empty() {
            commands.push(SwdSequences(current));
        }
        Ok(commands)
    }
}
