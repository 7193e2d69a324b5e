//! Requests a fuzz input picks from tables of the values that matter to
//! the sharing rules and the driver (CTRL/STAT power bits, SELECT, CSW,
//! TAR at DHCSR/DCRSR/DCRDR, RAM, an unmapped address), and what a
//! successful answer to each must look like.

use probeshare::arbiter::Request;
use probeshare::memap::{MemoryOp, MemoryRequest};
use probeshare::probe::{ApAddress, Op, OpOutput, ProtocolRequest, SwdSequence, WireProtocol};

use crate::input::Input;

const DP_ADDRESSES: [u32; 6] = [0x0, 0x4, 0x8, 0xC, 0x14, 0x24];
const CTRL_STAT_VALUES: [u32; 6] = [
    0x5000_0000,
    0x0,
    0x1000_0000,
    0x4000_0000,
    0x5000_0F00,
    0x0000_001E,
];
const SELECT_VALUES: [u32; 5] = [0, 0x0100_0000, 0xF0, 0x1, 0x0100_00F0];
const AP_ADDRESSES: [u32; 7] = [0x00, 0x04, 0x0C, 0x10, 0xF8, 0xFC, 0x0100_000C];
const AP_VALUES: [u32; 9] = [
    0x2300_0002,
    0x2300_0012,
    0xE000_EDF0,
    0xE000_EDF4,
    0xE000_EDF8,
    0x2000_0000,
    0xA05F_0003,
    0x0001_0000,
    0,
];
const DHCSR: u32 = 0xE000_EDF0;
const DCRSR: u32 = 0xE000_EDF4;
const DCRDR: u32 = 0xE000_EDF8;
const RAM: u32 = 0x2000_0000;
const UNMAPPED: u32 = 0x1000_0000;

fn pick<T: Copy>(input: &mut Input, table: &[T]) -> T {
    table[usize::from(input.byte()) % table.len()]
}

/// A hardware operation other than open, close, connect and disconnect:
/// what a sequence may hold.
pub fn register_op(input: &mut Input) -> Op {
    match input.byte() % 16 {
        0 => Op::ReadDp(pick(input, &DP_ADDRESSES)),
        1 => Op::WriteDp {
            addr: 0x4,
            value: pick(input, &CTRL_STAT_VALUES),
        },
        2 => Op::WriteDp {
            addr: 0x8,
            value: pick(input, &SELECT_VALUES),
        },
        3 => Op::ReadAp(pick(input, &AP_ADDRESSES)),
        4 | 5 => Op::WriteAp {
            addr: pick(input, &AP_ADDRESSES),
            value: pick(input, &AP_VALUES),
        },
        6 => Op::ReadApMultiple {
            addr: 0x0C,
            count: u32::from(input.byte() % 4) + 1,
        },
        7 => Op::WriteApMultiple {
            addr: 0x0C,
            values: vec![pick(input, &AP_VALUES); usize::from(input.byte() % 3) + 1],
        },
        8 => Op::Flush,
        9 => Op::SwjSequence {
            // A line reset, then the JTAG-to-SWD switch or idle cycles.
            bit_count: pick(input, &[51, 59, 8, 16]),
            bits: vec![0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x9E, 0xE7],
        },
        10 => Op::SetClock(pick(input, &[1_000_000, 4_000_000, 0])),
        11 => Op::IsResetAsserted,
        12 => Op::AssertReset(input.byte() & 1 != 0),
        13 => Op::Reset,
        14 => Op::SwdSequence(vec![
            SwdSequence {
                cycles: 8,
                bits: Some(0xA5),
            },
            SwdSequence {
                cycles: input.byte() % 64 + 1,
                bits: None,
            },
        ]),
        _ => Op::HasSwo,
    }
}

fn memory_op(input: &mut Input) -> MemoryOp {
    match input.byte() % 8 {
        0 => MemoryOp::Read {
            addr: DHCSR,
            size: 32,
        },
        1 => MemoryOp::Write {
            addr: DHCSR,
            value: 0xA05F_0003,
            size: 32,
        },
        2 => MemoryOp::Write {
            addr: DCRSR,
            value: u32::from(input.byte() % 20),
            size: 32,
        },
        3 => MemoryOp::Read {
            addr: DCRDR,
            size: 32,
        },
        4 => MemoryOp::ReadBlock32 {
            addr: RAM,
            count: u32::from(input.byte() % 8) + 1,
        },
        5 => MemoryOp::WriteBlock8 {
            addr: RAM + 1,
            data: vec![1, 2, 3],
        },
        6 => MemoryOp::Read {
            addr: RAM + u32::from(input.byte() & 3),
            size: pick(input, &[8, 16, 32]),
        },
        _ => MemoryOp::Read {
            addr: UNMAPPED,
            size: 32,
        },
    }
}

/// A memory-handle request on AP 0.
pub fn memory_request(input: &mut Input) -> MemoryRequest {
    match input.byte() % 4 {
        0 => MemoryRequest::IdentifyAp(ApAddress::V1(0)),
        _ => MemoryRequest::Access {
            ap: ApAddress::V1(0),
            op: memory_op(input),
        },
    }
}

/// Any request a client can make of the arbiter.
pub fn request(input: &mut Input) -> Request {
    match input.byte() % 16 {
        0 => Request::Lock,
        1 => Request::Unlock,
        2 => Request::Probe(Op::Open),
        3 => Request::Probe(Op::Close),
        4 => Request::Probe(Op::Connect(pick(
            input,
            &[
                ProtocolRequest::Default,
                ProtocolRequest::Specific(WireProtocol::Swd),
                ProtocolRequest::Specific(WireProtocol::Jtag),
            ],
        ))),
        5 => Request::Probe(Op::Disconnect),
        6 => Request::Memory(memory_request(input)),
        7 => Request::Sequence(
            (0..input.byte() % 3 + 1)
                .map(|_| register_op(input))
                .collect(),
        ),
        _ => Request::Probe(register_op(input)),
    }
}

/// Whether `output` is the shape of a successful answer to `op`.
pub fn answers_op(op: &Op, output: &OpOutput) -> bool {
    use OpOutput::*;
    match (op, output) {
        (Op::Connect(_), Connected(_)) => true,
        (Op::ReadDp(_) | Op::ReadAp(_), Word(_)) => true,
        (Op::ReadApMultiple { count, .. }, Words(words)) => words.len() == *count as usize,
        (Op::IsResetAsserted | Op::HasSwo, Bool(_)) => true,
        (Op::SwoRead, Bytes(_)) => true,
        (Op::JtagSequence { .. }, Tdo(_)) => true,
        (Op::SwdSequence(sequences), SwdSequence(reply)) => {
            // A byte string per read sequence, all of them unless the
            // status says the probe stopped.
            let reads: Vec<_> = sequences.iter().filter(|s| s.bits.is_none()).collect();
            let sized = reads
                .iter()
                .zip(&reply.captured)
                .all(|(read, bytes)| bytes.len() == usize::from(read.cycles).div_ceil(8));
            sized
                && if reply.status == 0 {
                    reply.captured.len() == reads.len()
                } else {
                    reply.captured.len() <= reads.len()
                }
        }
        (
            Op::Open
            | Op::Close
            | Op::Disconnect
            | Op::SwjSequence { .. }
            | Op::SetClock(_)
            | Op::Reset
            | Op::AssertReset(_)
            | Op::Flush
            | Op::WriteDp { .. }
            | Op::WriteAp { .. }
            | Op::WriteApMultiple { .. }
            | Op::SwoStart(_)
            | Op::SwoStop,
            Done,
        ) => true,
        _ => false,
    }
}

/// Whether `output` is the shape of a successful answer to `request`.
pub fn answers(request: &Request, output: &OpOutput) -> bool {
    use OpOutput::*;
    match (request, output) {
        (Request::Lock | Request::Unlock, Done) => true,
        (Request::Probe(op), output) => answers_op(op, output),
        (Request::Memory(MemoryRequest::IdentifyAp(_)), MemoryAp(_)) => true,
        (Request::Memory(MemoryRequest::Access { op, .. }), output) => match (op, output) {
            (MemoryOp::Read { .. }, Word(_)) => true,
            (MemoryOp::ReadBlock32 { count, .. }, Words(words)) => words.len() == *count as usize,
            (MemoryOp::ReadBlock8 { count, .. }, Bytes(bytes)) => bytes.len() == *count as usize,
            (
                MemoryOp::Write { .. }
                | MemoryOp::WriteBlock32 { .. }
                | MemoryOp::WriteBlock8 { .. },
                Done,
            ) => true,
            _ => false,
        },
        (Request::Sequence(ops), Sequence(sequence)) => {
            let ran = sequence.outputs.len();
            let complete = sequence.failure.is_none();
            ran <= ops.len()
                && (ran == ops.len() || !complete)
                && ops
                    .iter()
                    .zip(&sequence.outputs)
                    .all(|(op, out)| answers_op(op, out))
        }
        _ => false,
    }
}
