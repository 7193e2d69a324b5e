//! The transfer pipeline: the register transfers of several groups (see
//! `probe::TransferPipeline`) packed into DAP_Transfer and
//! DAP_TransferBlock commands, several commands to a packet with
//! DAP_ExecuteCommands when the probe has atomic commands, up to the
//! probe's packet count in flight; each group's outputs are cut from the
//! replies as they arrive.
//!
//! - **A command is one group's.** The firmware stops a command at its
//!   first failing transfer and runs the next command of a packet, and
//!   the next packet, as it would have anyway, so a group's failure stops
//!   that group's command and nothing of another group's: a later group
//!   runs as it would have had it been sent after the failing one's reply.
//!   The failing group's commands not sent yet are dropped; those already
//!   in flight run (after a FAULT the DP's STICKYERR refuses their AP
//!   transfers; the transfer queue sends a long request the same way).
//! - **Exact counts.** Each transfer is charged to the operation it
//!   belongs to, so a failure stops its group at exactly that operation,
//!   with the words of the reads before it. A trailing write whose error
//!   the firmware's own confirming read of RDBUFF finds is charged to that
//!   write (the reply then counts every transfer, as firmware's does).
//! - **Packing.** Reads and single writes fill DAP_Transfer commands (a
//!   read costs 4 reply bytes either way, and a TAR write rides with the
//!   reads); runs of at least [`MIN_WRITE_BLOCK`] writes to one AP
//!   register go as DAP_TransferBlock (4 bytes a word instead of 5).
//!   Packets fill to the packet size each way; the packet being filled
//!   leaves when the link would otherwise run dry (fewer than two packets
//!   queued or in flight), so groups issued meanwhile still join it.
//! - **Errors of the link** (no reply, a reply that cannot be parsed, a
//!   lost device) fail every unfinished group at its first unanswered
//!   operation; replies still owed are read and dropped unless the device
//!   is gone or the link out of step, as the transfer queue does.

mod group;
mod packing;

pub use group::Output;
pub use packing::{Item, MIN_WRITE_BLOCK};

use std::collections::VecDeque;

use crate::probe::{ProbeError, SequenceOutput};

use super::commands::transfer::{check_response, describe_request};
use super::link::Link;
use super::queue::ack_error;
use super::Transport;
use group::Group;
use packing::{Command, CommandReply, Packer, Packet, ID_EXECUTE_COMMANDS};

/// Groups of transfers on their way through the probe.
pub struct Pipeline {
    packet_count: usize,
    packer: Packer,
    in_flight: VecDeque<Packet>,
    groups: VecDeque<Group>,
    finished: VecDeque<SequenceOutput>,
    next_group: u64,
    /// A transfer failed since [`Pipeline::take_failed`] was last asked.
    failed: bool,
}

impl Pipeline {
    /// A pipeline for a probe taking packets of `packet_size` bytes,
    /// `packet_count` at once, with DAP_ExecuteCommands if `atomic`.
    pub fn new(packet_size: usize, packet_count: usize, atomic: bool) -> Pipeline {
        Pipeline {
            packet_count: packet_count.max(1),
            packer: Packer::new(packet_size, atomic),
            in_flight: VecDeque::new(),
            groups: VecDeque::new(),
            finished: VecDeque::new(),
            next_group: 0,
            failed: false,
        }
    }

    /// True when no group is unfinished and no reply is owed: a group that
    /// failed part-way finishes with its later packets still in flight,
    /// and their replies must be read before anything else is sent, or
    /// the next call would take one of them for its own.
    pub fn is_idle(&self) -> bool {
        self.groups.is_empty() && self.in_flight.is_empty()
    }

    /// Whether a transfer failed since last asked (what SELECT holds is
    /// then unknown).
    pub fn take_failed(&mut self) -> bool {
        std::mem::take(&mut self.failed)
    }

    pub fn take_finished(&mut self) -> Option<SequenceOutput> {
        self.finished.pop_front()
    }

    /// Adds a group: `items` for the operations before `stop`'s (all of
    /// them without one), which give `outputs`.
    pub fn issue(
        &mut self,
        outputs: Vec<Output>,
        items: &[Item],
        stop: Option<(usize, ProbeError)>,
    ) {
        let id = self.next_group;
        self.next_group += 1;
        let mut unanswered = vec![0; outputs.len()];
        for item in items {
            if let Some(n) = unanswered.get_mut(item.op) {
                *n += 1;
            }
        }
        let commands_before = self.packer.commands_queued();
        self.packer.pack(id, items);
        let commands = self.packer.commands_queued() - commands_before;
        self.groups
            .push_back(Group::new(id, outputs, unanswered, commands, stop));
        self.collect_finished();
    }

    /// Sends what may be sent and reads one reply; false when nothing is
    /// left to do.
    pub fn advance<T: Transport>(&mut self, link: &mut Link<T>) -> bool {
        let queued = self.in_flight.len() + self.packer.ready.len();
        if !self.packer.filling.commands.is_empty() && queued < 2 {
            self.packer.seal();
        }
        while self.in_flight.len() < self.packet_count {
            let Some(packet) = self.packer.ready.pop_front() else {
                break;
            };
            if let Err(error) = link.send(&packet.bytes(), packet.name()) {
                self.abort(link, error);
                return false;
            }
            self.in_flight.push_back(packet);
        }
        if let Some(packet) = self.in_flight.pop_front() {
            let outcome = match link.receive(packet.name()) {
                Ok(bytes) => self.accept(&packet, bytes).inspect_err(|_| {
                    // Which command the reply was to is not known.
                    link.mark_out_of_step();
                }),
                Err(error) => Err(error),
            };
            if let Err(error) = outcome {
                self.abort(link, error);
            }
        }
        self.collect_finished();
        !self.is_idle()
    }

    /// Finishes every group.
    pub fn drain<T: Transport>(&mut self, link: &mut Link<T>) {
        while self.advance(link) {}
    }

    /// Applies one packet's reply to the groups whose commands it held.
    fn accept(&mut self, packet: &Packet, bytes: &[u8]) -> Result<(), ProbeError> {
        let mut rest = bytes;
        if packet.commands.len() > 1 {
            match rest {
                [ID_EXECUTE_COMMANDS, count, tail @ ..]
                    if usize::from(*count) == packet.commands.len() =>
                {
                    rest = tail
                }
                _ => {
                    return Err(ProbeError::Probe(format!(
                        "DAP_ExecuteCommands: unexpected reply {:02x?}",
                        &bytes[..bytes.len().min(4)]
                    )))
                }
            }
        }
        for command in &packet.commands {
            let (reply, used) = command.parse_reply(rest)?;
            rest = &rest[used..];
            self.apply(command, reply);
        }
        Ok(())
    }

    fn apply(&mut self, command: &Command, reply: CommandReply) {
        let Some(group) = self.groups.iter_mut().find(|g| g.id == command.group) else {
            return;
        };
        if group.has_failed() {
            return; // it ran, but its group had stopped already
        }
        group.commands -= 1;
        let mut words = reply.data.into_iter();
        for item in &command.items[..reply.count.min(command.items.len())] {
            if item.request.write.is_none() {
                if let (Some(word), Some(op_words)) = (words.next(), group.words.get_mut(item.op)) {
                    op_words.push(word);
                }
            }
            if let Some(n) = group.unanswered.get_mut(item.op) {
                *n = n.saturating_sub(1);
            }
            if let Some(done) = group.done.get_mut(item.op).filter(|_| item.own) {
                *done += 1;
            }
        }
        let complete = reply.count == command.items.len();
        // When the firmware's RDBUFF read after a trailing write fails, the
        // write counts as done (a posted write's fault shows on the next
        // transaction, which this read is): the progress says so, as the
        // firmware's count would for the client's whole packet.
        let at = reply.count.min(command.items.len() - 1);
        let failed = command.items[at];
        let error = match check_response(reply.response) {
            Ok(()) if complete => return,
            Ok(()) => ProbeError::Probe(format!(
                "{}: the probe did {} of {} transfers and reported no error",
                command.id().name(),
                reply.count,
                command.items.len()
            )),
            Err(ack) => ack_error(ack, &describe_request(failed.request.request_byte())),
        };
        group.transfer_failed(failed.op, error);
        self.failed = true;
        let id = group.id;
        self.packer.drop_group(id);
    }

    fn collect_finished(&mut self) {
        while self.groups.front().is_some_and(Group::is_finished) {
            if let Some(group) = self.groups.pop_front() {
                self.finished.push_back(group.finish());
            }
        }
    }

    /// The link failed: every unfinished group stops, and the replies
    /// still owed are read and dropped.
    fn abort<T: Transport>(&mut self, link: &mut Link<T>, error: ProbeError) {
        self.failed = true;
        self.packer.clear();
        let mut error = error;
        while let Some(packet) = self.in_flight.pop_front() {
            if matches!(error, ProbeError::Disconnected(_)) || link.is_out_of_step() {
                continue;
            }
            if let Err(lost @ ProbeError::Disconnected(_)) = link.receive(packet.name()) {
                error = lost;
            }
        }
        for group in &mut self.groups {
            if !group.has_failed() {
                group.link_failed(error.clone());
            }
        }
        self.collect_finished();
    }
}
