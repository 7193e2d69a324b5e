//! Server-side MEM-AP memory access: what memory handles run on.
//!
//! pyOCD drives memory through AP registers (CSW, TAR, DRW), one request
//! per register access, unless the probe hands it a memory interface for
//! the AP; then one `read_block32` replaces hundreds of round trips, which
//! is what makes a client across a VPN usable. This module does that
//! sequencing on the probe's worker thread, over any [`DebugProbe`], with
//! pyOCD-style AP addresses (see [`ApAddress`]).
//!
//! What a memory handle asks for is a [`MemoryRequest`] (`request`): a
//! request of this layer, not a probe operation, since no `DebugProbe`
//! runs it; [`MemAps::run`] carries it out.
//!
//! [`MemAps`] is the worker's knowledge of the APs it drives: each one's
//! TAR auto-increment page and its CSW, so that a request costs no round
//! trip to learn them. It sees every probe operation the worker runs
//! ([`MemAps::observe`]) and forgets what an operation may have changed:
//!
//! - a client's write to an AP's CSW: that AP's CSW;
//! - a reset, a raw SWJ/SWD/JTAG sequence, or a DP write other than to
//!   ABORT or SELECT (a power-down resets the APs): every AP's CSW;
//! - open, close, connect, disconnect (the target may be another one):
//!   everything.
//!
//! A failed access forgets its AP's CSW too. Two things are not seen: a
//! target that resets its debug domain by itself, whose first fault then
//! makes the server read CSW again; and an AP register write that aliases
//! CSW through another address, which ADIv5 does not have.
//!
//! How one access is carried out is in `transfer`; how the debug port is
//! cleaned up after a failed one, in `recovery`.

mod recovery;
pub use recovery::{leaves_sticky_flags, recover};
mod registers;
mod request;
mod runs;
mod transfer;
pub use request::{MemoryOp, MemoryRequest};

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::dap::registers::{DP_ABORT, DP_SELECT};
use crate::probe::{ApAddress, DebugProbe, Op, OpOutput, ProbeError, ProbeResult, WireProtocol};

use registers::{Idr, Size};

/// APs remembered at most; past this the memory starts afresh (it is only
/// a cache, and a client can name APv2 addresses without end).
const MAX_REMEMBERED_APS: usize = 1024;

/// What the worker knows about the MEM-APs it drives.
#[derive(Debug, Default)]
pub struct MemAps {
    wire: Option<WireProtocol>,
    aps: HashMap<ApAddress, ApState>,
}

/// What is known about one MEM-AP.
#[derive(Clone, Copy, Debug, Default)]
struct ApState {
    /// Bytes one TAR write may stream through, from the IDR.
    page: Option<u32>,
    /// What CSW holds: read from the AP, or put back by the last access.
    csw: Option<u32>,
    byte: SizeSupport,
    halfword: SizeSupport,
}

/// Whether CSW.Size takes a narrow size (words are always supported).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum SizeSupport {
    #[default]
    Unknown,
    Supported,
    Unsupported,
}

impl ApState {
    fn support(&self, size: Size) -> SizeSupport {
        match size {
            Size::Byte => self.byte,
            Size::Halfword => self.halfword,
            Size::Word => SizeSupport::Supported,
        }
    }

    fn set_support(&mut self, size: Size, supported: bool) {
        let support = if supported {
            SizeSupport::Supported
        } else {
            SizeSupport::Unsupported
        };
        match size {
            Size::Byte => self.byte = support,
            Size::Halfword => self.halfword = support,
            Size::Word => {}
        }
    }
}

impl MemAps {
    /// Forgets what `op` may change; call before running it.
    pub fn observe(&mut self, op: &Op) {
        match op {
            Op::Open | Op::Close | Op::Connect(_) | Op::Disconnect => {
                self.aps.clear();
                self.wire = None;
            }
            Op::Reset
            | Op::AssertReset(_)
            | Op::SwjSequence { .. }
            | Op::SwdSequence(_)
            | Op::JtagSequence { .. } => self.forget_csws(),
            // ABORT and SELECT writes leave the APs as they are.
            Op::WriteDp { addr, .. } if !matches!(addr & 0xF, DP_ABORT | DP_SELECT) => {
                self.forget_csws()
            }
            Op::WriteAp { addr, .. } | Op::WriteApMultiple { addr, .. } => {
                for (&ap, state) in &mut self.aps {
                    if registers::csw(ap) == *addr {
                        state.csw = None;
                    }
                }
            }
            _ => {}
        }
    }

    /// The wire protocol in use, as far as the operations seen tell.
    pub fn wire(&self) -> Option<WireProtocol> {
        self.wire
    }

    /// The wire is up with `wire` (how sticky errors are cleared depends on it).
    pub fn connected(&mut self, wire: WireProtocol) {
        self.wire = Some(wire);
    }

    /// Carries out a memory-handle request on the probe.
    pub fn run(
        &mut self,
        probe: &mut dyn DebugProbe,
        request: &MemoryRequest,
    ) -> ProbeResult<OpOutput> {
        match request {
            MemoryRequest::IdentifyAp(ap) => {
                let is_mem_ap = self.identify(probe, *ap)?;
                Ok(OpOutput::MemoryAp(is_mem_ap.then_some(*ap)))
            }
            MemoryRequest::Access { ap, op } => self.access(probe, *ap, op),
        }
    }

    /// Whether `ap` is a MEM-AP, from its IDR. An absent AP reads zero.
    fn identify(&mut self, probe: &mut dyn DebugProbe, ap: ApAddress) -> ProbeResult<bool> {
        let idr = match probe.read_ap(registers::idr(ap)) {
            Ok(idr) => Idr(idr),
            Err(error) => {
                recovery::recover(probe, self.wire, &error);
                return Err(error);
            }
        };
        if idr.is_mem_ap() {
            self.state(ap).page = Some(idr.increment_page());
            Ok(true)
        } else {
            self.aps.remove(&ap);
            Ok(false)
        }
    }

    /// Runs a memory access on the MEM-AP `ap`.
    fn access(
        &mut self,
        probe: &mut dyn DebugProbe,
        ap: ApAddress,
        op: &MemoryOp,
    ) -> ProbeResult<OpOutput> {
        check(op)?;
        if let Some(output) = empty_output(op) {
            return Ok(output);
        }
        let wire = self.wire;
        transfer::run(probe, wire, ap, self.state(ap), op)
    }

    fn state(&mut self, ap: ApAddress) -> &mut ApState {
        if self.aps.len() >= MAX_REMEMBERED_APS && !self.aps.contains_key(&ap) {
            self.aps.clear();
        }
        self.aps.entry(ap).or_default()
    }

    fn forget_csws(&mut self) {
        for state in self.aps.values_mut() {
            state.csw = None;
        }
    }
}

/// Refuses what no MEM-AP can do, before anything is sent: a size other
/// than 8, 16 or 32 bits, a single access not aligned to its size, a word
/// block not aligned to a word, a block running past 4 GiB.
fn check(op: &MemoryOp) -> ProbeResult<()> {
    let (addr, bytes, alignment) = match op {
        MemoryOp::Read { addr, size } | MemoryOp::Write { addr, size, .. } => {
            let size = Size::from_bits(*size).ok_or_else(|| {
                ProbeError::InvalidArgument(format!("invalid transfer size {size}"))
            })?;
            (*addr, u64::from(size.bytes()), size.bytes())
        }
        MemoryOp::ReadBlock32 { addr, count } => (*addr, u64::from(*count) * 4, 4),
        MemoryOp::WriteBlock32 { addr, data } => (*addr, data.len() as u64 * 4, 4),
        MemoryOp::ReadBlock8 { addr, count } => (*addr, u64::from(*count), 1),
        MemoryOp::WriteBlock8 { addr, data } => (*addr, data.len() as u64, 1),
    };
    if addr % alignment != 0 {
        return Err(ProbeError::InvalidArgument(format!(
            "address {addr:#010x} is not aligned to {alignment} bytes for {}",
            op.name()
        )));
    }
    if u64::from(addr) + bytes > 1 << 32 {
        return Err(ProbeError::InvalidArgument(format!(
            "{} of {bytes} bytes at {addr:#010x} runs past the end of the address space",
            op.name()
        )));
    }
    Ok(())
}

/// The answer to a block access of no elements, which touches nothing.
fn empty_output(op: &MemoryOp) -> Option<OpOutput> {
    match op {
        MemoryOp::ReadBlock32 { count: 0, .. } => Some(OpOutput::Words(Vec::new())),
        MemoryOp::ReadBlock8 { count: 0, .. } => Some(OpOutput::Bytes(Vec::new())),
        MemoryOp::WriteBlock32 { data, .. } if data.is_empty() => Some(OpOutput::Done),
        MemoryOp::WriteBlock8 { data, .. } if data.is_empty() => Some(OpOutput::Done),
        _ => None,
    }
}
