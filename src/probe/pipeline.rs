//! [`TransferPipeline`]: register transfers a probe keeps in flight across
//! requests, so that the requests a client has already queued keep the
//! probe's link busy instead of each waiting for the last one's replies.
//!
//! A *group* is the operations of one request (a DAP port packet) that
//! run in order up to the first that fails, as `worker::Task::Sequence`
//! runs them. Groups run in the order they are issued and finish in that
//! order; each group's failure stops that group alone. What a group gives
//! back is the [`SequenceOutput`] the same operations run one by one give
//! (its read data, and the failure with the operation it stopped at).

use super::{Op, SequenceOutput};

/// A probe's pipeline of register-transfer groups.
pub trait TransferPipeline {
    /// Queues `ops` (all [`is_pipelined`]) as one group after every group
    /// issued before. Returns at once: nothing need be sent yet.
    fn issue(&mut self, ops: &[Op]);
    /// Moves the pipeline on: sends what may be sent now and reads one
    /// reply if one is owed. False when nothing is queued or in flight
    /// any more.
    fn advance(&mut self) -> bool;
    /// The oldest finished group's outputs, in issue order.
    fn take_finished(&mut self) -> Option<SequenceOutput>;
}

/// Whether `op` may run in a pipeline: a DP or AP register read or
/// write, single or multiple.
pub fn is_pipelined(op: &Op) -> bool {
    matches!(
        op,
        Op::ReadDp(_)
            | Op::WriteDp { .. }
            | Op::ReadAp(_)
            | Op::WriteAp { .. }
            | Op::ReadApMultiple { .. }
            | Op::WriteApMultiple { .. }
    )
}
