//! Raw bit sequences for [`CmsisDapProbe`]: SWJ (always), SWD (protocol
//! 1.2 and later) and JTAG (probes with JTAG), each cut into as many
//! commands as the packet size needs.

use crate::probe::{ProbeError, ProbeResult, SwdSequence, SwdSequenceReply};

use super::super::commands::sequence::{JtagSequence, JtagSequences, SwdSequences};
use super::super::commands::swj::{SwjSequence, MAX_SWJ_SEQUENCE_BITS};
use super::super::commands::DAP_OK;
use super::super::Transport;
use super::CmsisDapProbe;

/// Request bytes of DAP_SWJ_Sequence before its bits.
const SWJ_SEQUENCE_HEADER: usize = 2;

impl<T: Transport> CmsisDapProbe<T> {
    /// Up to 256 bits, as the remote protocol allows.
    pub(super) fn run_swj_sequence(&mut self, bit_count: u16, bits: &[u8]) -> ProbeResult<()> {
        if usize::from(bit_count) > MAX_SWJ_SEQUENCE_BITS {
            return Err(ProbeError::InvalidArgument(format!(
                "SWJ sequence of {bit_count} bits (at most {MAX_SWJ_SEQUENCE_BITS} allowed)"
            )));
        }
        let per_packet = (self.dap.packet_size - SWJ_SEQUENCE_HEADER) * 8;
        let pieces =
            SwjSequence::split(usize::from(bit_count), bits, per_packet).ok_or_else(|| {
                ProbeError::InvalidArgument(format!(
                    "SWJ sequence of {bit_count} bits given only {} bytes",
                    bits.len()
                ))
            })?;
        pieces.iter().try_for_each(|piece| self.command(piece))
    }

    /// Stops at the first command whose status is not `DAP_OK` and passes
    /// that status on, with what was captured until then.
    pub(super) fn run_swd_sequences(
        &mut self,
        sequences: &[SwdSequence],
    ) -> ProbeResult<SwdSequenceReply> {
        if !self.dap.has_swd_sequence() {
            return Err(ProbeError::Unsupported("swd_sequence"));
        }
        let commands = SwdSequences::split(sequences, self.dap.packet_size)
            .map_err(ProbeError::InvalidArgument)?;
        let mut captured = Vec::new();
        for command in &commands {
            let reply = self.command(command)?;
            captured.extend(reply.captured);
            if reply.status != DAP_OK {
                return Ok(SwdSequenceReply {
                    status: reply.status,
                    captured,
                });
            }
        }
        Ok(SwdSequenceReply {
            status: DAP_OK,
            captured,
        })
    }

    /// TDO of the `cycles` cycles when asked for, with bits beyond them
    /// cleared (the probe's last byte may carry junk there).
    pub(super) fn run_jtag_sequence(
        &mut self,
        cycles: u8,
        tms: bool,
        read_tdo: bool,
        tdi: u64,
    ) -> ProbeResult<Option<u64>> {
        if !self.dap.capabilities.jtag() {
            return Err(ProbeError::Unsupported("jtag_sequence"));
        }
        let command = JtagSequences::new(vec![JtagSequence {
            cycles,
            tms,
            capture_tdo: read_tdo,
            tdi,
        }])
        .map_err(ProbeError::InvalidArgument)?;
        let tdo = self.command(&command)?;
        // `new` checked 1 <= cycles <= 64.
        let mask = u64::MAX >> (64 - u32::from(cycles));
        Ok(tdo.first().map(|bits| bits & mask))
    }
}
