//! Running one [`Task`] on a probe: a probe operation is dispatched from
//! its value to its `DebugProbe` method, a memory-handle request is handed
//! to `memap`.

use super::Task;
use crate::mass_erase;
use crate::memap::MemAps;
use crate::probe::{DebugProbe, Op, OpOutput, ProbeResult, SequenceOutput};

/// Runs one task on a probe.
pub fn perform(
    probe: &mut dyn DebugProbe,
    memaps: &mut MemAps,
    task: &Task,
) -> ProbeResult<OpOutput> {
    match task {
        Task::Probe(op) => execute(probe, memaps, op),
        Task::Memory(request) => memaps.run(probe, request),
        Task::Sequence(ops) => Ok(OpOutput::Sequence(SequenceOutput::run(ops, |op| {
            execute(probe, memaps, op)
        }))),
        Task::MassErase => mass_erase::mass_erase(probe, mass_erase::ERASE_TIMEOUT),
    }
}

/// Runs one operation on a probe. `memaps` sees it first, since some
/// operations change what it knows about the access ports.
pub fn execute(probe: &mut dyn DebugProbe, memaps: &mut MemAps, op: &Op) -> ProbeResult<OpOutput> {
    use OpOutput::*;
    memaps.observe(op);
    Ok(match op {
        Op::Open => probe.open().map(|_| Done)?,
        Op::Close => probe.close().map(|_| Done)?,
        Op::Connect(p) => {
            let up = probe.connect(*p)?;
            memaps.connected(up);
            Connected(up)
        }
        Op::Disconnect => probe.disconnect().map(|_| Done)?,
        Op::SwjSequence { bit_count, bits } => {
            probe.swj_sequence(*bit_count, bits).map(|_| Done)?
        }
        Op::SwdSequence(seqs) => SwdSequence(probe.swd_sequence(seqs)?),
        Op::JtagSequence {
            cycles,
            tms,
            read_tdo,
            tdi,
        } => Tdo(probe.jtag_sequence(*cycles, *tms, *read_tdo, *tdi)?),
        Op::SetClock(hz) => probe.set_clock(*hz).map(|_| Done)?,
        Op::Reset => probe.reset().map(|_| Done)?,
        Op::AssertReset(a) => probe.assert_reset(*a).map(|_| Done)?,
        Op::IsResetAsserted => Bool(probe.is_reset_asserted()?),
        Op::Flush => probe.flush().map(|_| Done)?,
        Op::ReadDp(addr) => Word(probe.read_dp(*addr)?),
        Op::WriteDp { addr, value } => probe.write_dp(*addr, *value).map(|_| Done)?,
        Op::ReadAp(addr) => Word(probe.read_ap(*addr)?),
        Op::WriteAp { addr, value } => probe.write_ap(*addr, *value).map(|_| Done)?,
        Op::ReadApMultiple { addr, count } => Words(probe.read_ap_multiple(*addr, *count)?),
        Op::WriteApMultiple { addr, values } => {
            probe.write_ap_multiple(*addr, values).map(|_| Done)?
        }
        Op::HasSwo => Bool(probe.has_swo()),
        Op::SwoStart(baud) => probe.swo_start(*baud).map(|_| Done)?,
        Op::SwoStop => probe.swo_stop().map(|_| Done)?,
        Op::SwoRead => Bytes(probe.swo_read()?),
    })
}
