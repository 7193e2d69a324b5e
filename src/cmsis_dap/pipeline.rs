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

use std::collections::VecDeque;

use crate::probe::{OpOutput, ProbeError, Progress, SequenceOutput};

use super::commands::transfer::{
    check_response, describe_request, BlockAccess, Register, Transfer, TransferBlock,
    TransferRequest, BLOCK_REPLY_HEADER, BLOCK_REQUEST_HEADER, MAX_TRANSFER_COUNT,
    TRANSFER_REPLY_HEADER, TRANSFER_REQUEST_HEADER,
};
use super::commands::{CommandId, DapCommand};
use super::link::Link;
use super::queue::ack_error;
use super::Transport;

/// The shortest run of writes to one register sent as a DAP_TransferBlock.
pub const MIN_WRITE_BLOCK: usize = 4;
/// DAP_ExecuteCommands' own bytes (ID, command count), each way.
const EXECUTE_HEADER: usize = 2;
const ID_EXECUTE_COMMANDS: u8 = 0x7F;

/// One transfer and the operation of its group it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    pub request: TransferRequest,
    pub op: usize,
    /// One the operation asked for, not a SELECT write put before it.
    pub own: bool,
}

/// What an operation of a group gives when it succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Done,
    Word,
    Words,
}

/// A DAP_Transfer or DAP_TransferBlock of one group.
#[derive(Debug)]
struct Command {
    group: u64,
    block: bool,
    items: Vec<Item>,
}

impl Command {
    fn request_len(&self) -> usize {
        if self.block {
            BLOCK_REQUEST_HEADER + 4 * self.writes()
        } else {
            TRANSFER_REQUEST_HEADER
                + self
                    .items
                    .iter()
                    .map(|i| i.request.request_len())
                    .sum::<usize>()
        }
    }

    fn reply_len(&self) -> usize {
        let data = 4 * (self.items.len() - self.writes());
        let header = if self.block {
            BLOCK_REPLY_HEADER
        } else {
            TRANSFER_REPLY_HEADER
        };
        header + data
    }

    fn writes(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.request.write.is_some())
            .count()
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let requests = self.items.iter().map(|i| i.request);
        let bytes = if self.block {
            let register = self
                .items
                .first()
                .map_or(Register::ap(0), |i| i.request.register);
            let writes: Vec<u32> = requests.filter_map(|r| r.write).collect();
            let access = if writes.is_empty() {
                BlockAccess::Read(self.items.len() as u16)
            } else {
                BlockAccess::Write(writes)
            };
            TransferBlock { register, access }.request()
        } else {
            Transfer {
                requests: requests.collect(),
            }
            .request()
        };
        out.extend(bytes);
    }

    fn id(&self) -> CommandId {
        if self.block {
            CommandId::TransferBlock
        } else {
            CommandId::Transfer
        }
    }
}

/// A USB packet: one command, or several behind DAP_ExecuteCommands.
#[derive(Debug, Default)]
struct Packet {
    commands: Vec<Command>,
    /// The commands' own request and reply bytes.
    request_body: usize,
    reply_body: usize,
}

impl Packet {
    fn wrapper(commands: usize) -> usize {
        if commands > 1 {
            EXECUTE_HEADER
        } else {
            0
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.request_body + EXECUTE_HEADER);
        if self.commands.len() > 1 {
            out.extend([ID_EXECUTE_COMMANDS, self.commands.len() as u8]);
        }
        for command in &self.commands {
            command.encode(&mut out);
        }
        out
    }

    fn push(&mut self, command: Command) {
        self.request_body += command.request_len();
        self.reply_body += command.reply_len();
        self.commands.push(command);
    }

    fn drop_group(&mut self, group: u64) {
        self.commands.retain(|c| c.group != group);
        self.request_body = self.commands.iter().map(Command::request_len).sum();
        self.reply_body = self.commands.iter().map(Command::reply_len).sum();
    }
}

/// A group not finished yet.
#[derive(Debug)]
struct Group {
    id: u64,
    outputs: Vec<Output>,
    words: Vec<Vec<u32>>,
    /// Transfers not answered yet, and own transfers done, per operation.
    unanswered: Vec<usize>,
    done: Vec<u32>,
    /// Commands not answered yet.
    commands: usize,
    /// Where and why it stopped: a transfer failed, or an operation could
    /// not be turned into transfers (`stop`).
    failure: Option<(usize, ProbeError)>,
    stop: Option<(usize, ProbeError)>,
    /// Whether the failure is a transfer's, whose operation's progress
    /// is known.
    transfer_failed: bool,
}

impl Group {
    fn is_finished(&self) -> bool {
        self.failure.is_some() || self.commands == 0
    }

    fn finish(mut self) -> SequenceOutput {
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

    /// The first operation with a transfer not answered.
    fn first_unanswered(&self) -> usize {
        self.unanswered
            .iter()
            .position(|&n| n > 0)
            .unwrap_or(self.outputs.len())
    }
}

pub struct Pipeline {
    packet_size: usize,
    packet_count: usize,
    /// Whether several commands may share a packet.
    atomic: bool,
    filling: Packet,
    ready: VecDeque<Packet>,
    in_flight: VecDeque<Packet>,
    groups: VecDeque<Group>,
    finished: VecDeque<SequenceOutput>,
    next_group: u64,
    /// A transfer failed since [`Pipeline::take_failed`] was last asked.
    failed: bool,
}

impl Pipeline {
    pub fn new(packet_size: usize, packet_count: usize, atomic: bool) -> Pipeline {
        Pipeline {
            packet_size: packet_size.max(16),
            packet_count: packet_count.max(1),
            atomic,
            filling: Packet::default(),
            ready: VecDeque::new(),
            in_flight: VecDeque::new(),
            groups: VecDeque::new(),
            finished: VecDeque::new(),
            next_group: 0,
            failed: false,
        }
    }

    /// True when no group is unfinished.
    pub fn is_idle(&self) -> bool {
        self.groups.is_empty()
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
        let commands_before = self.commands_queued();
        self.pack(id, items);
        let commands = self.commands_queued() - commands_before;
        self.groups.push_back(Group {
            id,
            words: vec![Vec::new(); outputs.len()],
            done: vec![0; outputs.len()],
            outputs,
            unanswered,
            commands,
            failure: None,
            stop,
            transfer_failed: false,
        });
        self.collect_finished();
    }

    /// Sends what may be sent and reads one reply; false when nothing is
    /// left to do.
    pub fn advance<T: Transport>(&mut self, link: &mut Link<T>) -> bool {
        if !self.filling.commands.is_empty() && self.in_flight.len() + self.ready.len() < 2 {
            self.seal();
        }
        while self.in_flight.len() < self.packet_count {
            let Some(packet) = self.ready.pop_front() else {
                break;
            };
            if let Err(error) = link.send(&packet.bytes(), packet_name(&packet)) {
                self.abort(link, error);
                return false;
            }
            self.in_flight.push_back(packet);
        }
        if let Some(packet) = self.in_flight.pop_front() {
            let outcome = match link.receive(packet_name(&packet)) {
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

    fn commands_queued(&self) -> usize {
        self.filling.commands.len() + self.ready.iter().map(|p| p.commands.len()).sum::<usize>()
    }

    fn seal(&mut self) {
        if !self.filling.commands.is_empty() {
            self.ready.push_back(std::mem::take(&mut self.filling));
        }
    }

    fn pack(&mut self, group: u64, items: &[Item]) {
        let mut at = 0;
        while at < items.len() {
            let run = write_run(&items[at..]);
            if run >= MIN_WRITE_BLOCK {
                let room = self.block_room();
                if room == 0 || (room < run && room < MIN_WRITE_BLOCK) {
                    self.seal();
                    continue;
                }
                let n = run.min(room).min(usize::from(u16::MAX));
                self.filling.push(Command {
                    group,
                    block: true,
                    items: items[at..at + n].to_vec(),
                });
                at += n;
            } else {
                if !self.add_single(group, items[at]) {
                    self.seal();
                    // An empty packet takes any one transfer (at least 16 bytes).
                    self.add_single(group, items[at]);
                }
                at += 1;
            }
        }
    }

    /// The words a new write block could carry in the packet being filled.
    fn block_room(&self) -> usize {
        let commands = self.filling.commands.len();
        if commands > 0 && !self.atomic {
            return 0;
        }
        let wrapper = Packet::wrapper(commands + 1);
        let request = self.filling.request_body + wrapper + BLOCK_REQUEST_HEADER;
        let reply = self.filling.reply_body + wrapper + BLOCK_REPLY_HEADER;
        if reply > self.packet_size {
            return 0;
        }
        self.packet_size.saturating_sub(request) / 4
    }

    /// Adds one transfer to the packet being filled, if it fits.
    fn add_single(&mut self, group: u64, item: Item) -> bool {
        let (request, reply) = (item.request.request_len(), item.request.reply_len());
        let commands = self.filling.commands.len();
        let size = self.packet_size;
        let wrapper = Packet::wrapper(commands);
        let fits = |extra_request: usize, extra_reply: usize, wrapper: usize| {
            self.filling.request_body + wrapper + extra_request <= size
                && self.filling.reply_body + wrapper + extra_reply <= size
        };
        if let Some(last) = self.filling.commands.last() {
            if last.group == group
                && !last.block
                && last.items.len() < MAX_TRANSFER_COUNT
                && fits(request, reply, wrapper)
            {
                self.filling.request_body += request;
                self.filling.reply_body += reply;
                if let Some(last) = self.filling.commands.last_mut() {
                    last.items.push(item);
                }
                return true;
            }
        }
        if commands > 0 && !self.atomic {
            return false;
        }
        let new_request = TRANSFER_REQUEST_HEADER + request;
        let new_reply = TRANSFER_REPLY_HEADER + reply;
        if !fits(new_request, new_reply, Packet::wrapper(commands + 1)) {
            return false;
        }
        self.filling.push(Command {
            group,
            block: false,
            items: vec![item],
        });
        true
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
            let (reply, used) = parse_reply(command, rest)?;
            rest = &rest[used..];
            self.apply(command, reply);
        }
        Ok(())
    }

    fn apply(&mut self, command: &Command, reply: CommandReply) {
        let Some(group) = self.groups.iter_mut().find(|g| g.id == command.group) else {
            return;
        };
        if group.failure.is_some() {
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
        let error = match check_response(reply.response) {
            Ok(()) if complete => return,
            Ok(()) => ProbeError::Probe(format!(
                "{}: the probe did {} of {} transfers and reported no error",
                command.id().name(),
                reply.count,
                command.items.len()
            )),
            Err(ack) => {
                // A trailing write the firmware's RDBUFF read found failing
                // is counted as done: it is still the one that failed.
                let at = reply.count.min(command.items.len() - 1);
                ack_error(
                    ack,
                    &describe_request(command.items[at].request.request_byte()),
                )
            }
        };
        let at = reply.count.min(command.items.len() - 1);
        // When the firmware's RDBUFF read after a trailing write fails, the
        // write counts as done (a posted write's fault shows on the next
        // transaction, which this read is): the progress says so, as the
        // firmware's count would for the client's whole packet.
        let failed = command.items[at];
        group.failure = Some((failed.op, error));
        group.transfer_failed = true;
        self.failed = true;
        let id = group.id;
        self.filling.drop_group(id);
        for packet in &mut self.ready {
            packet.drop_group(id);
        }
        self.ready.retain(|p| !p.commands.is_empty());
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
        self.filling = Packet::default();
        self.ready.clear();
        let mut error = error;
        while let Some(packet) = self.in_flight.pop_front() {
            if matches!(error, ProbeError::Disconnected(_)) || link.is_out_of_step() {
                continue;
            }
            if let Err(lost @ ProbeError::Disconnected(_)) = link.receive(packet_name(&packet)) {
                error = lost;
            }
        }
        for group in &mut self.groups {
            if group.failure.is_none() {
                group.failure = Some((group.first_unanswered(), error.clone()));
            }
        }
        self.collect_finished();
    }
}

/// The length of the run of writes to one AP register at the start of
/// `items`.
fn write_run(items: &[Item]) -> usize {
    let Some(first) = items.first() else {
        return 0;
    };
    let register = first.request.register;
    if first.request.write.is_none() || register.port != super::commands::transfer::Port::Ap {
        return 0;
    }
    items
        .iter()
        .take_while(|i| i.request.register == register && i.request.write.is_some())
        .count()
}

fn packet_name(packet: &Packet) -> &'static str {
    match packet.commands.as_slice() {
        [only] => only.id().name(),
        _ => "DAP_ExecuteCommands",
    }
}

/// One command's part of a reply.
struct CommandReply {
    count: usize,
    response: u8,
    data: Vec<u32>,
}

/// Parses the reply to `command` at the start of `bytes`; also returns
/// how many bytes it took.
fn parse_reply(command: &Command, bytes: &[u8]) -> Result<(CommandReply, usize), ProbeError> {
    let malformed = || {
        ProbeError::Probe(format!(
            "{}: short or malformed reply {:02x?}",
            command.id().name(),
            &bytes[..bytes.len().min(8)]
        ))
    };
    let (count, response, header) = match (command.block, bytes) {
        (false, [id, count, response, ..]) if *id == CommandId::Transfer as u8 => {
            (usize::from(*count), *response, TRANSFER_REPLY_HEADER)
        }
        (true, [id, low, high, response, ..]) if *id == CommandId::TransferBlock as u8 => (
            usize::from(u16::from_le_bytes([*low, *high])),
            *response,
            BLOCK_REPLY_HEADER,
        ),
        _ => return Err(malformed()),
    };
    if count > command.items.len() {
        return Err(malformed());
    }
    let reads = command.items[..count]
        .iter()
        .filter(|i| i.request.write.is_none())
        .count();
    let end = header + 4 * reads;
    let data = bytes.get(header..end).ok_or_else(malformed)?;
    let data = data
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    Ok((
        CommandReply {
            count,
            response,
            data,
        },
        end,
    ))
}
