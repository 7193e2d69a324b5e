//! The SWJ commands, which drive the debug pins directly: SWJ_Clock,
//! SWJ_Sequence and SWJ_Pins.

use super::{bytes_for_bits, CommandId, DapCommand, Reply, ReplyError};

/// DAP_SWJ_Clock (0x11): `hz:u32` → `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwjClock(pub u32);

impl DapCommand for SwjClock {
    type Output = ();

    fn id(&self) -> CommandId {
        CommandId::SwjClock
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend(self.0.to_le_bytes());
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(), ReplyError> {
        reply.status()
    }
}

/// The most bits one DAP_SWJ_Sequence carries.
pub const MAX_SWJ_SEQUENCE_BITS: usize = 256;

/// DAP_SWJ_Sequence (0x12): `nbits:u8` (0 means 256) then the bits, LSB of
/// the first byte first → `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwjSequence {
    bit_count: usize,
    bits: Vec<u8>,
}

impl SwjSequence {
    /// One command of 1..=256 bits taken from `bits`; `None` outside that
    /// range or when `bits` is too short.
    pub fn new(bit_count: usize, bits: &[u8]) -> Option<SwjSequence> {
        if !(1..=MAX_SWJ_SEQUENCE_BITS).contains(&bit_count) {
            return None;
        }
        let bits = bits.get(..bytes_for_bits(bit_count))?.to_vec();
        Some(SwjSequence { bit_count, bits })
    }

    /// Cuts a sequence of any length into commands of at most `max_bits`
    /// bits each (at most 256, a multiple of 8 except for the last one, so
    /// every piece starts on a byte boundary of `bits`). `None` when `bits`
    /// holds fewer than `bit_count` bits.
    pub fn split(bit_count: usize, bits: &[u8], max_bits: usize) -> Option<Vec<SwjSequence>> {
        if bits.len() < bytes_for_bits(bit_count) {
            return None;
        }
        let chunk_bits = (max_bits.min(MAX_SWJ_SEQUENCE_BITS) / 8 * 8).max(8);
        let mut pieces = Vec::new();
        let mut done = 0;
        while done < bit_count {
            let count = chunk_bits.min(bit_count - done);
            pieces.push(SwjSequence::new(count, bits.get(done / 8..)?)?);
            done += count;
        }
        Some(pieces)
    }

    pub fn bit_count(&self) -> usize {
        self.bit_count
    }
}

impl DapCommand for SwjSequence {
    type Output = ();

    fn id(&self) -> CommandId {
        CommandId::SwjSequence
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        // 256 is encoded as 0; `new` keeps the count within 1..=256.
        out.push(self.bit_count as u8);
        out.extend_from_slice(&self.bits);
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<(), ReplyError> {
        reply.status()
    }
}

/// SWJ_Pins bit of nRESET (b0 SWCLK/TCK, b1 SWDIO/TMS, b2 TDI, b3 TDO,
/// b5 nTRST, b7 nRESET).
pub const PIN_NRESET: u8 = 1 << 7;

/// DAP_SWJ_Pins (0x10): `output:u8 select:u8 wait_us:u32` → `input:u8`.
/// Only pins in `select` are driven; the reply reads every pin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwjPins {
    pub output: u8,
    pub select: u8,
    /// How long the probe waits for the selected pins to settle (≤ 3 s).
    pub wait_us: u32,
}

impl SwjPins {
    /// Drives nRESET low (asserted) or releases it high.
    pub fn drive_reset(asserted: bool) -> SwjPins {
        SwjPins {
            output: if asserted { 0 } else { PIN_NRESET },
            select: PIN_NRESET,
            wait_us: 0,
        }
    }

    /// Drives nothing, only reads the pins.
    pub fn read() -> SwjPins {
        SwjPins {
            output: 0,
            select: 0,
            wait_us: 0,
        }
    }
}

impl DapCommand for SwjPins {
    /// The pin levels read back.
    type Output = u8;

    fn id(&self) -> CommandId {
        CommandId::SwjPins
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend([self.output, self.select]);
        out.extend(self.wait_us.to_le_bytes());
    }

    fn decode_body(&self, reply: &mut Reply<'_>) -> Result<u8, ReplyError> {
        reply.u8()
    }
}
