//! [`CmsisDapProbe`] as a [`TransferPipeline`]: each operation of a group
//! becomes its transfers (behind the SELECT write its AP or DP bank needs,
//! charged to it), and the pipeline (`cmsis_dap::pipeline`) packs and
//! answers them. The transfer queue and the pipeline never have packets
//! in flight at once: a group first completes what the queue holds (a
//! failure there stops the group at its first operation, where the queue
//! would report it), and every other call first finishes the pipeline
//! (`CmsisDapProbe::start`).

use crate::probe::{Op, ProbeError, ProbeResult, SequenceOutput, TransferPipeline};

use super::super::commands::transfer::{Register, TransferRequest};
use super::super::pipeline::{Item, Output};
use super::super::Transport;
use super::addresses::SELECT;
use super::CmsisDapProbe;

impl<T: Transport> CmsisDapProbe<T> {
    /// Finishes every group in the pipeline.
    pub(super) fn drain_pipeline(&mut self) {
        if !self.pipeline.is_idle() {
            self.pipeline.drain(&mut self.link);
        }
        self.forget_select_after_failure();
    }

    fn forget_select_after_failure(&mut self) {
        if self.pipeline.take_failed() {
            self.select = None;
        }
    }

    /// Whether register transfers may run now; completes the queue first.
    fn pipeline_ready(&mut self) -> ProbeResult<()> {
        if !self.is_open {
            return Err(ProbeError::Probe("probe is not open".to_owned()));
        }
        if self.wire.is_none() {
            return Err(ProbeError::Probe("probe is not connected".to_owned()));
        }
        self.flush_queue()
    }

    /// The transfers of one operation, appended to `items` as operation
    /// `index`; what it gives when it succeeds.
    fn op_transfers(
        &mut self,
        index: usize,
        op: &Op,
        items: &mut Vec<Item>,
    ) -> ProbeResult<Output> {
        let push = |items: &mut Vec<Item>,
                    select: Option<u32>,
                    requests: &mut dyn Iterator<Item = TransferRequest>| {
            if let Some(value) = select {
                items.push(Item {
                    request: TransferRequest::write(Register::dp(SELECT), value),
                    op: index,
                    own: false,
                });
            }
            items.extend(requests.map(|request| Item {
                request,
                op: index,
                own: true,
            }));
        };
        Ok(match op {
            Op::ReadDp(addr) => {
                let (register, select) = self.dp_target(*addr, true)?;
                push(
                    items,
                    select,
                    &mut std::iter::once(TransferRequest::read(register)),
                );
                Output::Word
            }
            Op::WriteDp { addr, value } => {
                let (register, select) = self.dp_target(*addr, false)?;
                push(
                    items,
                    select,
                    &mut std::iter::once(TransferRequest::write(register, *value)),
                );
                self.note_dp_write(register, *value);
                Output::Done
            }
            Op::ReadAp(addr) => {
                let (register, select) = self.ap_target(*addr)?;
                push(
                    items,
                    select,
                    &mut std::iter::once(TransferRequest::read(register)),
                );
                Output::Word
            }
            Op::WriteAp { addr, value } => {
                let (register, select) = self.ap_target(*addr)?;
                push(
                    items,
                    select,
                    &mut std::iter::once(TransferRequest::write(register, *value)),
                );
                Output::Done
            }
            Op::ReadApMultiple { addr, count } => {
                let (register, select) = self.ap_target(*addr)?;
                let read = TransferRequest::read(register);
                push(items, select, &mut (0..*count).map(|_| read));
                Output::Words
            }
            Op::WriteApMultiple { addr, values } => {
                let (register, select) = self.ap_target(*addr)?;
                push(
                    items,
                    select,
                    &mut values.iter().map(|&v| TransferRequest::write(register, v)),
                );
                Output::Done
            }
            other => {
                return Err(ProbeError::InvalidArgument(format!(
                    "{} cannot run in a transfer pipeline",
                    other.name()
                )))
            }
        })
    }
}

impl<T: Transport> TransferPipeline for CmsisDapProbe<T> {
    fn issue(&mut self, ops: &[Op]) {
        let mut outputs = Vec::with_capacity(ops.len());
        let mut items = Vec::new();
        let mut stop = self.pipeline_ready().err().map(|error| (0, error));
        if stop.is_none() {
            for (index, op) in ops.iter().enumerate() {
                match self.op_transfers(index, op, &mut items) {
                    Ok(output) => outputs.push(output),
                    Err(error) => {
                        stop = Some((index, error));
                        break;
                    }
                }
            }
        }
        // Operations after a stop never run: only their place is kept.
        outputs.resize(ops.len(), Output::Done);
        self.pipeline.issue(outputs, &items, stop);
    }

    fn advance(&mut self) -> bool {
        let more = self.pipeline.advance(&mut self.link);
        self.forget_select_after_failure();
        more
    }

    fn take_finished(&mut self) -> Option<SequenceOutput> {
        self.pipeline.take_finished()
    }
}
