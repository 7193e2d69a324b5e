//! What memory handles ask of the worker, as values: a [`MemoryRequest`].
//!
//! No `DebugProbe` runs these: [`super::MemAps::run`] carries each out as
//! AP register accesses on the probe. So they are not probe operations
//! (`probe::Op`, exactly the `DebugProbe` methods) but requests of their
//! own, which travel the same way: the front end resolves a handle to its
//! AP and hands the arbiter `Request::Memory`, the arbiter sends it to the
//! worker as `Task::Memory`, and the worker gives it to `memap`. Of the
//! sharing rules, the arbiter's need one fact about a request that no
//! register address tells: the memory it reaches
//! ([`MemoryRequest::accesses`]), which a handle names itself; the
//! worker's need only its AP.

use crate::dap::MemoryAccesses;
use crate::probe::ApAddress;

/// A memory-handle request, on the AP the handle stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryRequest {
    /// `get_memory_interface_for_ap`: whether the AP is a MEM-AP (reads
    /// its IDR). Answered `OpOutput::MemoryAp`, which the server turns
    /// into a handle (or null).
    IdentifyAp(ApAddress),
    /// A memory access through a handle.
    Access { ap: ApAddress, op: MemoryOp },
}

/// A memory access through a memory-interface handle (`read_mem`,
/// `write_block32`, …). The handle itself is resolved by the server, so
/// this carries only what the access needs. Its wire name
/// (`MemoryOp::name`) is defined with the protocol's request names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryOp {
    /// `size` is 8, 16 or 32 (bits).
    Read {
        addr: u32,
        size: u8,
    },
    Write {
        addr: u32,
        value: u32,
        size: u8,
    },
    ReadBlock32 {
        addr: u32,
        count: u32,
    },
    WriteBlock32 {
        addr: u32,
        data: Vec<u32>,
    },
    ReadBlock8 {
        addr: u32,
        count: u32,
    },
    WriteBlock8 {
        addr: u32,
        data: Vec<u8>,
    },
}

impl MemoryRequest {
    /// The memory the request reaches, if it reaches any (identifying an
    /// AP reads only the AP's own register).
    pub fn accesses(&self) -> Option<MemoryAccesses> {
        match self {
            MemoryRequest::IdentifyAp(_) => None,
            MemoryRequest::Access { op, .. } => Some(op.accesses()),
        }
    }
}

impl MemoryOp {
    /// The memory the access reaches: a handle names its own addresses,
    /// one element after another.
    pub fn accesses(&self) -> MemoryAccesses {
        let (start, size, count, is_write) = match self {
            MemoryOp::Read { addr, size } => (*addr, u32::from(*size / 8), 1, false),
            MemoryOp::Write { addr, size, .. } => (*addr, u32::from(*size / 8), 1, true),
            MemoryOp::ReadBlock32 { addr, count } => (*addr, 4, *count as usize, false),
            MemoryOp::WriteBlock32 { addr, data } => (*addr, 4, data.len(), true),
            MemoryOp::ReadBlock8 { addr, count } => (*addr, 1, *count as usize, false),
            MemoryOp::WriteBlock8 { addr, data } => (*addr, 1, data.len(), true),
        };
        MemoryAccesses {
            start,
            size,
            step: Some(size),
            count,
            is_write,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dap::registers::DCRSR;

    #[test]
    fn handle_accesses_name_their_own_addresses() {
        let op = MemoryRequest::Access {
            ap: ApAddress::V1(0),
            op: MemoryOp::ReadBlock32 {
                addr: 0xE000_EDF0,
                count: 4,
            },
        };
        let reach = op.accesses().unwrap();
        assert_eq!(reach.index_of(DCRSR), Some(1));
        assert!(!reach.is_write);
    }
}
