//! One memory access through a MEM-AP, as a sequence of AP register
//! accesses: CSW (when its Size or AddrInc must change), TAR (at the start
//! and at every auto-increment page boundary), DRW (in runs, one
//! `read_ap_multiple`/`write_ap_multiple` per page, which a CMSIS-DAP driver
//! sends as DAP_TransferBlock packets).
//!
//! - CSW is written with Size and AddrInc = single and every other bit as
//!   the AP held it, and put back as found when the access is over, so a
//!   client that drives the AP itself finds it as it left it. Both writes
//!   ride in the same packets as the transfers; only learning CSW costs a
//!   round trip, and [`ApState`] remembers it between requests. The first
//!   write happens even when CSW already looks right, so an AP reset the
//!   server did not see cannot make the access use another size.
//! - Byte and halfword accesses use the lanes TAR[1:0] selects. A byte
//!   block moves its unaligned head and tail (at most three bytes each)
//!   with byte transfers and its aligned middle with words.
//! - The first time an AP is asked for byte or halfword transfers, CSW is
//!   read back to see that the size took: an AP that cannot do them (an
//!   APB-AP) would otherwise move whole words and overwrite the bytes
//!   around the ones asked for.
//! - Writes are flushed before the request is answered, so a fault in them
//!   goes to this request's client, not to whoever touches the probe next
//!   (drivers may defer writes). The restoring CSW write after a read is
//!   left to go out with the next packet.
//! - A failed transfer stops the access there: what was written before it
//!   stays written. The debug port is cleaned up (`recovery`), CSW put
//!   back as well as it can be, and forgotten.

use crate::probe::{ApAddress, DebugProbe, OpOutput, ProbeError, ProbeResult, WireProtocol};

use super::recovery;
use super::registers::{self, csw_for, Idr, Size};
use super::runs::{pages, ByteBlock};
use super::MemoryOp;
use super::{ApState, SizeSupport};
use crate::dap::registers::CSW_SIZE_MASK;

/// Runs `op` (already checked by `super::check`) on `ap`.
pub(super) fn run(
    probe: &mut dyn DebugProbe,
    wire: Option<WireProtocol>,
    ap: ApAddress,
    state: &mut ApState,
    op: &MemoryOp,
) -> ProbeResult<OpOutput> {
    let mut transfer = match Transfer::begin(probe, ap, state) {
        Ok(transfer) => transfer,
        Err(error) => {
            state.csw = None;
            recovery::recover(probe, wire, &error);
            return Err(error);
        }
    };
    let result = transfer.perform(op).and_then(|output| {
        transfer.restore_csw()?;
        if is_write(op) {
            transfer.probe.flush()?;
        }
        Ok(output)
    });
    if let Err(error) = &result {
        transfer.state.csw = None;
        recovery::recover(transfer.probe, wire, error);
        transfer.restore_csw_after_failure();
    }
    result
}

fn is_write(op: &MemoryOp) -> bool {
    matches!(
        op,
        MemoryOp::Write { .. } | MemoryOp::WriteBlock32 { .. } | MemoryOp::WriteBlock8 { .. }
    )
}

/// The most elements reserved up front for a result; larger ones grow as
/// the data arrives (the server bounds counts, other callers may not).
const MAX_RESERVE: u32 = 1 << 20;

struct Transfer<'a> {
    probe: &'a mut dyn DebugProbe,
    ap: ApAddress,
    state: &'a mut ApState,
    /// Bytes one TAR write may stream through.
    page: u32,
    /// CSW as this access found it.
    found_csw: u32,
    /// What this access last wrote to CSW.
    written_csw: Option<u32>,
}

impl<'a> Transfer<'a> {
    /// Learns what the access needs and the server does not know yet: the
    /// AP's auto-increment page (from its IDR) and its CSW.
    fn begin(
        probe: &'a mut dyn DebugProbe,
        ap: ApAddress,
        state: &'a mut ApState,
    ) -> ProbeResult<Transfer<'a>> {
        let page = match state.page {
            Some(page) => page,
            None => {
                let idr = Idr(probe.read_ap(registers::idr(ap))?);
                if !idr.is_mem_ap() {
                    return Err(ProbeError::Probe(format!(
                        "{ap} is no longer a MEM-AP (IDR {:#010x})",
                        idr.0
                    )));
                }
                *state.page.insert(idr.increment_page())
            }
        };
        let found_csw = match state.csw {
            Some(csw) => csw,
            None => *state.csw.insert(probe.read_ap(registers::csw(ap))?),
        };
        Ok(Transfer {
            probe,
            ap,
            state,
            page,
            found_csw,
            written_csw: None,
        })
    }

    fn perform(&mut self, op: &MemoryOp) -> ProbeResult<OpOutput> {
        Ok(match op {
            MemoryOp::Read { addr, size } => OpOutput::Word(self.read_one(*addr, size_of(*size)?)?),
            MemoryOp::Write { addr, value, size } => {
                self.write_one(*addr, *value, size_of(*size)?)?;
                OpOutput::Done
            }
            MemoryOp::ReadBlock32 { addr, count } => {
                OpOutput::Words(self.read_words(*addr, *count)?)
            }
            MemoryOp::WriteBlock32 { addr, data } => {
                self.write_words(*addr, data)?;
                OpOutput::Done
            }
            MemoryOp::ReadBlock8 { addr, count } => {
                OpOutput::Bytes(self.read_bytes(*addr, *count)?)
            }
            MemoryOp::WriteBlock8 { addr, data } => {
                self.write_bytes(*addr, data)?;
                OpOutput::Done
            }
        })
    }

    fn read_one(&mut self, addr: u32, size: Size) -> ProbeResult<u32> {
        self.use_size(size)?;
        self.probe.write_ap(registers::tar(self.ap), addr)?;
        let word = self.probe.read_ap(registers::drw(self.ap))?;
        Ok(size.take_from_lanes(addr, word))
    }

    fn write_one(&mut self, addr: u32, value: u32, size: Size) -> ProbeResult<()> {
        self.use_size(size)?;
        self.probe.write_ap(registers::tar(self.ap), addr)?;
        self.probe
            .write_ap(registers::drw(self.ap), size.place_in_lanes(addr, value))
    }

    fn read_words(&mut self, addr: u32, count: u32) -> ProbeResult<Vec<u32>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        self.use_size(Size::Word)?;
        let runs: Vec<(u32, u32)> = pages(addr, u64::from(count) * 4, self.page)
            .map(|(start, bytes)| (start, bytes / 4))
            .collect();
        let words =
            self.probe
                .read_ap_pages(registers::tar(self.ap), registers::drw(self.ap), &runs)?;
        expect_count(words.len(), count)?;
        Ok(words)
    }

    fn write_words(&mut self, addr: u32, words: &[u32]) -> ProbeResult<()> {
        if words.is_empty() {
            return Ok(());
        }
        self.use_size(Size::Word)?;
        let mut rest = words;
        for (start, bytes) in pages(addr, rest.len() as u64 * 4, self.page) {
            let (run, after) = rest.split_at((bytes / 4) as usize);
            self.probe.write_ap(registers::tar(self.ap), start)?;
            self.probe.write_ap_multiple(registers::drw(self.ap), run)?;
            rest = after;
        }
        Ok(())
    }

    fn read_bytes(&mut self, addr: u32, count: u32) -> ProbeResult<Vec<u8>> {
        let parts = ByteBlock::split(addr, count);
        let mut bytes = Vec::with_capacity(count.min(MAX_RESERVE) as usize);
        bytes.extend(self.read_byte_run(addr, parts.head)?);
        for word in self.read_words(parts.middle_start(addr), parts.words)? {
            bytes.extend(word.to_le_bytes());
        }
        bytes.extend(self.read_byte_run(parts.tail_start(addr), parts.tail)?);
        Ok(bytes)
    }

    fn write_bytes(&mut self, addr: u32, data: &[u8]) -> ProbeResult<()> {
        let parts = ByteBlock::split(addr, data.len() as u32);
        let (head, rest) = data.split_at(parts.head as usize);
        let (middle, tail) = rest.split_at(parts.words as usize * 4);
        self.write_byte_run(addr, head)?;
        let words: Vec<u32> = middle
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        self.write_words(parts.middle_start(addr), &words)?;
        self.write_byte_run(parts.tail_start(addr), tail)
    }

    /// Up to three bytes inside one word, with byte transfers.
    fn read_byte_run(&mut self, addr: u32, count: u32) -> ProbeResult<Vec<u8>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        self.use_size(Size::Byte)?;
        self.probe.write_ap(registers::tar(self.ap), addr)?;
        let words = self
            .probe
            .read_ap_multiple(registers::drw(self.ap), count)?;
        expect_count(words.len(), count)?;
        Ok((addr..)
            .zip(words)
            .map(|(at, word)| Size::Byte.take_from_lanes(at, word) as u8)
            .collect())
    }

    fn write_byte_run(&mut self, addr: u32, bytes: &[u8]) -> ProbeResult<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.use_size(Size::Byte)?;
        self.probe.write_ap(registers::tar(self.ap), addr)?;
        let words: Vec<u32> = (addr..)
            .zip(bytes)
            .map(|(at, &byte)| Size::Byte.place_in_lanes(at, u32::from(byte)))
            .collect();
        self.probe
            .write_ap_multiple(registers::drw(self.ap), &words)
    }

    /// Sets CSW for `size`, writing it only when this access has not
    /// already, and checks once per AP that a narrow size took.
    fn use_size(&mut self, size: Size) -> ProbeResult<()> {
        let wanted = csw_for(self.found_csw, size);
        if self.written_csw == Some(wanted) {
            return Ok(());
        }
        let support = self.state.support(size);
        if support == SizeSupport::Unsupported {
            return Err(unsupported(size, self.ap));
        }
        self.probe.write_ap(registers::csw(self.ap), wanted)?;
        self.written_csw = Some(wanted);
        if support == SizeSupport::Unknown {
            let read_back = self.probe.read_ap(registers::csw(self.ap))?;
            let took = read_back & CSW_SIZE_MASK == size.csw_field();
            self.state.set_support(size, took);
            if !took {
                return Err(unsupported(size, self.ap));
            }
        }
        Ok(())
    }

    fn restore_csw(&mut self) -> ProbeResult<()> {
        if self
            .written_csw
            .is_some_and(|written| written != self.found_csw)
        {
            self.probe
                .write_ap(registers::csw(self.ap), self.found_csw)?;
            self.written_csw = Some(self.found_csw);
        }
        Ok(())
    }

    /// After a failure the CSW write may or may not have happened, and
    /// the AP may refuse it still; the next access reads CSW anew anyway.
    fn restore_csw_after_failure(&mut self) {
        if self.written_csw.is_none() {
            return;
        }
        let restored = self
            .probe
            .write_ap(registers::csw(self.ap), self.found_csw)
            .and_then(|()| self.probe.flush());
        if let Err(error) = restored {
            log::debug!("{}: restoring CSW after a failed access: {error}", self.ap);
        }
    }
}

fn size_of(bits: u8) -> ProbeResult<Size> {
    Size::from_bits(bits)
        .ok_or_else(|| ProbeError::InvalidArgument(format!("invalid transfer size {bits}")))
}

fn unsupported(size: Size, ap: ApAddress) -> ProbeError {
    ProbeError::Transfer(format!(
        "{}-bit transfers are not supported by {ap}",
        size.bits()
    ))
}

/// A driver that answers a run with fewer words than asked is broken; say
/// so rather than hand back a short block.
fn expect_count(got: usize, wanted: u32) -> ProbeResult<()> {
    if got == wanted as usize {
        Ok(())
    } else {
        Err(ProbeError::Probe(format!(
            "the probe returned {got} words for a run of {wanted}"
        )))
    }
}
