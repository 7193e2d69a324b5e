//! The request table: each request's name, argument names and builder.
//!
//! Like the handler table of pyOCD's server, one row per request; a
//! builder turns arguments of the right count into a [`Command`].

use super::args::{expected, for_each_element, parse_ranged, parse_u32, parse_u8, Args};
use super::literal::{self, MAX_SEQUENCE_BITS};
use super::names::*;
use super::Command;
use crate::events::{EventKind, KindSet};
use crate::memap::MemoryOp;
use crate::probe::{Op, ProtocolRequest, SwdSequence, WireProtocol};

/// The most arguments any request takes (`write_mem`).
pub const MAX_ARITY: usize = 4;

/// Cycle bounds of one SWD or JTAG sequence (a DAP command field).
const MAX_SEQUENCE_CYCLES: u64 = 64;

type Builder = fn(&Args) -> Result<Command, String>;

pub struct RequestKind {
    pub name: &'static str,
    pub params: &'static [&'static str],
    pub build: Builder,
}

const fn kind(name: &'static str, params: &'static [&'static str], build: Builder) -> RequestKind {
    RequestKind {
        name,
        params,
        build,
    }
}

fn probe(op: Op) -> Result<Command, String> {
    Ok(Command::Probe(op))
}

/// A memory access; callers decode `handle` (argument 0) first, so the
/// first bad argument is the one reported.
fn memory(handle: u64, op: MemoryOp) -> Result<Command, String> {
    Ok(Command::Memory { handle, op })
}

#[rustfmt::skip]
static REQUESTS: [RequestKind; 35] = [
    kind(HELLO, &["version"], |a| Ok(Command::Hello { version: a.i64(0)? })),
    kind(READPROP, &["name"], |a| Ok(Command::ReadProp { name: a.string(0)? })),
    kind(OPEN, &[], |_| probe(Op::Open)),
    kind(CLOSE, &[], |_| probe(Op::Close)),
    kind(LOCK, &[], |_| Ok(Command::Lock)),
    kind(UNLOCK, &[], |_| Ok(Command::Unlock)),
    kind(CONNECT, &["protocol"], connect),
    kind(DISCONNECT, &[], |_| probe(Op::Disconnect)),
    kind(SWJ_SEQUENCE, &["length", "bits"], swj_sequence),
    kind(SWD_SEQUENCE, &["sequences"], swd_sequence),
    kind(JTAG_SEQUENCE, &["cycles", "tms", "read_tdo", "tdi"], jtag_sequence),
    kind(SET_CLOCK, &["freq"], |a| probe(Op::SetClock(a.u32(0)?))),
    kind(RESET, &[], |_| probe(Op::Reset)),
    kind(ASSERT_RESET, &["asserted"], |a| probe(Op::AssertReset(a.boolean(0)?))),
    kind(IS_RESET_ASSERTED, &[], |_| probe(Op::IsResetAsserted)),
    kind(FLUSH, &[], |_| probe(Op::Flush)),
    kind(READ_DP, &["addr"], |a| probe(Op::ReadDp(a.u32(0)?))),
    kind(WRITE_DP, &["addr", "data"], |a| probe(Op::WriteDp { addr: a.u32(0)?, value: a.u32(1)? })),
    kind(READ_AP, &["addr"], |a| probe(Op::ReadAp(a.u32(0)?))),
    kind(WRITE_AP, &["addr", "data"], |a| probe(Op::WriteAp { addr: a.u32(0)?, value: a.u32(1)? })),
    kind(READ_AP_MULTIPLE, &["addr", "count"], |a| {
        probe(Op::ReadApMultiple { addr: a.u32(0)?, count: a.count(1)? })
    }),
    kind(WRITE_AP_MULTIPLE, &["addr", "data"], |a| {
        probe(Op::WriteApMultiple { addr: a.u32(0)?, values: a.list(1, parse_u32)? })
    }),
    kind(GET_MEMORY_INTERFACE_FOR_AP, &["ap_address_version", "ap_nominal_address"], |a| {
        Ok(Command::GetMemoryInterface {
            ap_address_version: a.ranged(0, 1, 2)? as u32,
            ap_nominal_address: a.u64(1)?,
        })
    }),
    kind(SWO_START, &["baudrate"], |a| probe(Op::SwoStart(a.u32(0)?))),
    kind(SWO_STOP, &[], |_| probe(Op::SwoStop)),
    kind(SWO_READ, &[], |_| probe(Op::SwoRead)),
    kind(HAS_SWO, &[], |_| probe(Op::HasSwo)),
    kind(READ_MEM, &["handle", "addr", "xfer_size"], |a| {
        memory(a.u64(0)?, MemoryOp::Read { addr: a.u32(1)?, size: transfer_size(a, 2)? })
    }),
    kind(WRITE_MEM, &["handle", "addr", "value", "xfer_size"], write_mem),
    kind(READ_BLOCK32, &["handle", "addr", "word_count"], |a| {
        memory(a.u64(0)?, MemoryOp::ReadBlock32 { addr: word_address(a, 1)?, count: a.count(2)? })
    }),
    kind(WRITE_BLOCK32, &["handle", "addr", "data"], |a| {
        let (handle, addr) = (a.u64(0)?, word_address(a, 1)?);
        memory(handle, MemoryOp::WriteBlock32 { addr, data: a.list(2, parse_u32)? })
    }),
    kind(READ_BLOCK8, &["handle", "addr", "byte_count"], |a| {
        memory(a.u64(0)?, MemoryOp::ReadBlock8 { addr: a.u32(1)?, count: a.count(2)? })
    }),
    kind(WRITE_BLOCK8, &["handle", "addr", "data"], |a| {
        memory(a.u64(0)?, MemoryOp::WriteBlock8 { addr: a.u32(1)?, data: a.list(2, parse_u8)? })
    }),
    kind(SUBSCRIBE, &["kinds"], subscribe),
    kind(PROBESHARE_FEATURES, &["features"], features),
];

/// The request called `name`, if there is one.
pub fn find_request(name: &str) -> Option<&'static RequestKind> {
    REQUESTS.iter().find(|kind| kind.name == name)
}

/// Every request name (for tests).
#[cfg(test)]
pub fn request_names() -> impl Iterator<Item = &'static str> {
    REQUESTS.iter().map(|kind| kind.name)
}

fn connect(args: &Args) -> Result<Command, String> {
    let name = args.string(0)?;
    let protocol = match name.as_str() {
        "DEFAULT" => ProtocolRequest::Default,
        "SWD" => ProtocolRequest::Specific(WireProtocol::Swd),
        "JTAG" => ProtocolRequest::Specific(WireProtocol::Jtag),
        // pyOCD's server message, which names no argument.
        _ => return Err(format!("invalid protocol name {name}")),
    };
    probe(Op::Connect(protocol))
}

fn swj_sequence(args: &Args) -> Result<Command, String> {
    let bit_count = args.ranged(0, 0, MAX_SEQUENCE_BITS as u64)? as u16;
    let wide = args.read(1, |text| {
        literal::unsigned_wide(text).ok_or_else(|| {
            let what = format!("a non-negative integer of at most {MAX_SEQUENCE_BITS} bits");
            expected(&what, text)
        })
    })?;
    let byte_count = usize::from(bit_count).div_ceil(8);
    let mut bits = wide.get(..byte_count).unwrap_or(&wide).to_vec();
    let spare_bits = byte_count * 8 - usize::from(bit_count);
    if let Some(last) = bits.last_mut() {
        *last &= 0xff >> spare_bits;
    }
    probe(Op::SwjSequence { bit_count, bits })
}

/// The low `cycles` bits of `bits`: the rest are never clocked out.
fn clocked_bits(bits: u64, cycles: u8) -> u64 {
    match 1u64.checked_shl(u32::from(cycles)) {
        Some(bound) => bits & (bound - 1),
        None => bits,
    }
}

fn swd_sequence(args: &Args) -> Result<Command, String> {
    let limit = args.max_block_elements;
    let sequences = args.read(0, |text| {
        let mut sequences = Vec::new();
        for_each_element(text, limit, |position, sequence| {
            let parsed = parse_swd_sequence(sequence)
                .map_err(|problem| format!("sequence {position}: {problem}"))?;
            sequences.push(parsed);
            Ok(())
        })?;
        Ok(sequences)
    })?;
    probe(Op::SwdSequence(sequences))
}

fn parse_swd_sequence(text: &str) -> Result<SwdSequence, String> {
    let shape = || expected("[cycles] or [cycles, bits]", text);
    let mut items = [""; 2];
    let mut count = 0;
    for_each_element(text, items.len(), |position, item| {
        if let Some(slot) = items.get_mut(position) {
            *slot = item;
        }
        count = position + 1;
        Ok(())
    })
    .map_err(|_| shape())?;
    let [cycles_text, bits_text] = items;
    if count == 0 {
        return Err(shape());
    }
    let cycles = parse_ranged(cycles_text, 1, MAX_SEQUENCE_CYCLES)
        .map_err(|problem| format!("cycles: {problem}"))? as u8;
    let bits = if count == 2 {
        let bits = literal::unsigned(bits_text).ok_or_else(|| {
            format!(
                "bits: {}",
                expected("an unsigned 64-bit integer", bits_text)
            )
        })?;
        Some(clocked_bits(bits, cycles))
    } else {
        None
    };
    Ok(SwdSequence { cycles, bits })
}

fn jtag_sequence(args: &Args) -> Result<Command, String> {
    let cycles = args.ranged(0, 1, MAX_SEQUENCE_CYCLES)? as u8;
    let tms = args.boolean(1)?;
    let read_tdo = args.boolean(2)?;
    let tdi = clocked_bits(args.u64(3)?, cycles);
    probe(Op::JtagSequence {
        cycles,
        tms,
        read_tdo,
        tdi,
    })
}

/// The most feature names one `probeshare_features` may carry.
pub const MAX_FEATURES: usize = 64;

fn features(args: &Args) -> Result<Command, String> {
    let mut names = Vec::new();
    args.read(0, |text| {
        for_each_element(text, MAX_FEATURES, |position, item| {
            let name = literal::string(item)
                .ok_or_else(|| format!("element {position}: {}", expected("a string", item)))?;
            names.push(name.into_owned());
            Ok(())
        })
    })?;
    Ok(Command::Features { names })
}

fn transfer_size(args: &Args, index: usize) -> Result<u8, String> {
    args.read(index, |text| match literal::unsigned(text) {
        Some(size @ (8 | 16 | 32)) => Ok(size as u8),
        _ => Err(expected("8, 16 or 32", text)),
    })
}

/// A `block32` address, which must be word-aligned.
fn word_address(args: &Args, index: usize) -> Result<u32, String> {
    args.read(index, |text| {
        let addr = parse_u32(text)?;
        if addr % 4 != 0 {
            return Err(format!("expected a 4-aligned address, got {addr:#x}"));
        }
        Ok(addr)
    })
}

fn write_mem(args: &Args) -> Result<Command, String> {
    let handle = args.u64(0)?;
    let addr = args.u32(1)?;
    let value = args.u32(2)?;
    let size = transfer_size(args, 3)?;
    if size < 32 && value >> size != 0 {
        let problem = format!("{value:#x} does not fit in the transfer size of {size} bits");
        return Err(args.invalid(2, problem));
    }
    memory(handle, MemoryOp::Write { addr, value, size })
}

/// `subscribe`'s kinds: a non-empty list of event kind names.
fn subscribe(args: &Args) -> Result<Command, String> {
    let names = args.list(0, |text| {
        let name = literal::string(text).ok_or_else(|| expected("a string", text))?;
        EventKind::parse(&name).ok_or_else(|| {
            format!(
                "unknown event kind '{name}' (expected one of {})",
                EventKind::names()
            )
        })
    })?;
    if names.is_empty() {
        return Err(args.invalid(0, "expected at least one event kind".to_owned()));
    }
    Ok(Command::Subscribe {
        kinds: names.into_iter().collect::<KindSet>(),
    })
}
