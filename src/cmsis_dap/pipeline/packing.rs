//! How the pipeline's transfers become USB packets: [`Command`]s of one
//! group each, [`Packet`]s of one command or several behind
//! DAP_ExecuteCommands, filled by the [`Packer`] to the packet size each
//! way; and the part of a reply that answers one command.

use std::collections::VecDeque;

use crate::probe::ProbeError;

use super::super::commands::transfer::{
    BlockAccess, Register, Transfer, TransferBlock, TransferRequest, BLOCK_REPLY_HEADER,
    BLOCK_REQUEST_HEADER, MAX_TRANSFER_COUNT, TRANSFER_REPLY_HEADER, TRANSFER_REQUEST_HEADER,
};
use super::super::commands::{CommandId, DapCommand};

/// The shortest run of writes to one register sent as a DAP_TransferBlock.
pub const MIN_WRITE_BLOCK: usize = 4;
/// DAP_ExecuteCommands' own bytes (ID, command count), each way.
const EXECUTE_HEADER: usize = 2;
pub const ID_EXECUTE_COMMANDS: u8 = 0x7F;
/// The most commands one DAP_ExecuteCommands holds (its count is a byte).
const MAX_COMMANDS: usize = 255;

/// One transfer and the operation of its group it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    pub request: TransferRequest,
    pub op: usize,
    /// One the operation asked for, not a SELECT write put before it.
    pub own: bool,
}

/// A DAP_Transfer or DAP_TransferBlock of one group.
#[derive(Debug)]
pub struct Command {
    pub group: u64,
    pub block: bool,
    pub items: Vec<Item>,
}

impl Command {
    fn request_len(&self) -> usize {
        if self.block {
            BLOCK_REQUEST_HEADER + 4 * self.writes()
        } else {
            let requests: usize = self.items.iter().map(|i| i.request.request_len()).sum();
            TRANSFER_REQUEST_HEADER + requests
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

    pub fn id(&self) -> CommandId {
        if self.block {
            CommandId::TransferBlock
        } else {
            CommandId::Transfer
        }
    }

    /// Parses the reply to this command at the start of `bytes`; also
    /// returns how many bytes it took.
    pub fn parse_reply(&self, bytes: &[u8]) -> Result<(CommandReply, usize), ProbeError> {
        let malformed = || {
            ProbeError::Probe(format!(
                "{}: short or malformed reply {:02x?}",
                self.id().name(),
                &bytes[..bytes.len().min(8)]
            ))
        };
        let (count, response, header) = match (self.block, bytes) {
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
        if count > self.items.len() {
            return Err(malformed());
        }
        let reads = self.items[..count]
            .iter()
            .filter(|i| i.request.write.is_none())
            .count();
        let end = header + 4 * reads;
        let data = bytes.get(header..end).ok_or_else(malformed)?;
        let data = data
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let reply = CommandReply {
            count,
            response,
            data,
        };
        Ok((reply, end))
    }
}

/// One command's part of a reply.
pub struct CommandReply {
    pub count: usize,
    pub response: u8,
    pub data: Vec<u32>,
}

/// A USB packet: one command, or several behind DAP_ExecuteCommands.
#[derive(Debug, Default)]
pub struct Packet {
    pub commands: Vec<Command>,
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

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.request_body + EXECUTE_HEADER);
        if self.commands.len() > 1 {
            out.extend([ID_EXECUTE_COMMANDS, self.commands.len() as u8]);
        }
        for command in &self.commands {
            command.encode(&mut out);
        }
        out
    }

    pub fn name(&self) -> &'static str {
        match self.commands.as_slice() {
            [only] => only.id().name(),
            _ => "DAP_ExecuteCommands",
        }
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

/// The packet being filled and the packets filled, not yet sent.
#[derive(Debug)]
pub struct Packer {
    packet_size: usize,
    /// Whether several commands may share a packet.
    atomic: bool,
    pub filling: Packet,
    pub ready: VecDeque<Packet>,
}

impl Packer {
    pub fn new(packet_size: usize, atomic: bool) -> Packer {
        Packer {
            packet_size: packet_size.max(16),
            atomic,
            filling: Packet::default(),
            ready: VecDeque::new(),
        }
    }

    /// Commands not sent yet.
    pub fn commands_queued(&self) -> usize {
        self.filling.commands.len() + self.ready.iter().map(|p| p.commands.len()).sum::<usize>()
    }

    /// The packet being filled is done: it may be sent.
    pub fn seal(&mut self) {
        if !self.filling.commands.is_empty() {
            self.ready.push_back(std::mem::take(&mut self.filling));
        }
    }

    /// Forgets a group's commands not sent yet.
    pub fn drop_group(&mut self, group: u64) {
        self.filling.drop_group(group);
        for packet in &mut self.ready {
            packet.drop_group(group);
        }
        self.ready.retain(|p| !p.commands.is_empty());
    }

    pub fn clear(&mut self) {
        self.filling = Packet::default();
        self.ready.clear();
    }

    /// Packs a group's transfers after everything packed before.
    pub fn pack(&mut self, group: u64, items: &[Item]) {
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

    /// Whether a command more may join the packet being filled.
    fn takes_another_command(&self) -> bool {
        let commands = self.filling.commands.len();
        commands == 0 || (self.atomic && commands < MAX_COMMANDS)
    }

    /// The words a new write block could carry in the packet being filled.
    fn block_room(&self) -> usize {
        if !self.takes_another_command() {
            return 0;
        }
        let wrapper = Packet::wrapper(self.filling.commands.len() + 1);
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
        let fits = |extra_request: usize, extra_reply: usize, wrapper: usize| {
            self.filling.request_body + wrapper + extra_request <= size
                && self.filling.reply_body + wrapper + extra_reply <= size
        };
        if let Some(last) = self.filling.commands.last() {
            if last.group == group
                && !last.block
                && last.items.len() < MAX_TRANSFER_COUNT
                && fits(request, reply, Packet::wrapper(commands))
            {
                self.filling.request_body += request;
                self.filling.reply_body += reply;
                if let Some(last) = self.filling.commands.last_mut() {
                    last.items.push(item);
                }
                return true;
            }
        }
        let new_request = TRANSFER_REQUEST_HEADER + request;
        let new_reply = TRANSFER_REPLY_HEADER + reply;
        if !self.takes_another_command()
            || !fits(new_request, new_reply, Packet::wrapper(commands + 1))
        {
            return false;
        }
        self.filling.push(Command {
            group,
            block: false,
            items: vec![item],
        });
        true
    }
}

/// The length of the run of writes to one AP register at the start of
/// `items`.
fn write_run(items: &[Item]) -> usize {
    let Some(first) = items.first() else {
        return 0;
    };
    let register = first.request.register;
    if first.request.write.is_none() || register.port != super::super::commands::transfer::Port::Ap
    {
        return 0;
    }
    items
        .iter()
        .take_while(|i| i.request.register == register && i.request.write.is_some())
        .count()
}
