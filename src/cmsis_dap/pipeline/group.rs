//! A group in the pipeline: what its operations give, the words and
//! transfers answered so far, and where it stopped; and the
//! [`SequenceOutput`] it becomes when finished.

use crate::probe::{OpOutput, ProbeError, Progress, SequenceOutput};

/// What an operation of a group gives when it succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Done,
    Word,
    Words,
}

/// A group not finished yet.
#[derive(Debug)]
pub struct Group {
    pub id: u64,
    outputs: Vec<Output>,
    /// Words read, per operation.
    pub words: Vec<Vec<u32>>,
    /// Transfers not answered yet, and own transfers done, per operation.
    pub unanswered: Vec<usize>,
    pub done: Vec<u32>,
    /// Commands not answered yet.
    pub commands: usize,
    /// Where and why it stopped: a transfer failed (its operation's
    /// progress is then known), or an operation could not be turned into
    /// transfers (`stop`), or the link failed.
    failure: Option<(usize, ProbeError)>,
    stop: Option<(usize, ProbeError)>,
    transfer_failed: bool,
}

impl Group {
    /// A group of operations giving `outputs`, `unanswered` transfers
    /// each, in `commands` commands.
    pub fn new(
        id: u64,
        outputs: Vec<Output>,
        unanswered: Vec<usize>,
        commands: usize,
        stop: Option<(usize, ProbeError)>,
    ) -> Group {
        Group {
            id,
            words: vec![Vec::new(); outputs.len()],
            done: vec![0; outputs.len()],
            outputs,
            unanswered,
            commands,
            failure: None,
            stop,
            transfer_failed: false,
        }
    }

    pub fn has_failed(&self) -> bool {
        self.failure.is_some()
    }

    /// A transfer of operation `op` failed.
    pub fn transfer_failed(&mut self, op: usize, error: ProbeError) {
        self.failure = Some((op, error));
        self.transfer_failed = true;
    }

    /// The link failed: the group stops at its first operation not
    /// answered in full.
    pub fn link_failed(&mut self, error: ProbeError) {
        let op = self
            .unanswered
            .iter()
            .position(|&n| n > 0)
            .unwrap_or(self.outputs.len());
        self.failure = Some((op, error));
    }

    pub fn is_finished(&self) -> bool {
        self.failure.is_some() || self.commands == 0
    }

    pub fn finish(mut self) -> SequenceOutput {
        let failure = self.failure.or(self.stop);
        let ran = failure.as_ref().map_or(self.outputs.len(), |(op, _)| *op);
        let progress = match &failure {
            Some((op, _)) if self.transfer_failed => Some(Progress {
                transfers: self.done.get(*op).copied().unwrap_or(0),
                words: self
                    .words
                    .get_mut(*op)
                    .map(std::mem::take)
                    .unwrap_or_default(),
            }),
            _ => None,
        };
        let outputs = self
            .outputs
            .iter()
            .zip(self.words)
            .take(ran)
            .map(|(output, words)| match output {
                Output::Done => OpOutput::Done,
                Output::Word => OpOutput::Word(words.first().copied().unwrap_or(0)),
                Output::Words => OpOutput::Words(words),
            })
            .collect();
        SequenceOutput {
            outputs,
            failure: failure.map(|(_, error)| error),
            progress,
        }
    }
}
