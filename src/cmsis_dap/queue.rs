//! The transfer queue: DP/AP register accesses batched into as few
//! DAP_Transfer and DAP_TransferBlock packets as the probe's packet size
//! allows, with up to its packet count in flight.
//!
//! Writes are queued and return at once. Single accesses fill one
//! DAP_Transfer (at most 255 accesses, request and reply each within the
//! packet size); runs to one register (`read_block`/`write_block`) go out
//! as DAP_TransferBlock packets split at the packet size. A packet leaves
//! when the next access does not fit, when a block follows, or at a read or
//! [`TransferQueue::flush`]. Before a packet is written while `packet count`
//! packets are in flight, the oldest reply is read first. A read completes
//! everything queued, so read data always belongs to the request reading.
//!
//! # Errors, and which request gets them
//!
//! A reply's response byte is mapped as: WAIT (after the probe's own
//! retries, see DAP_TransferConfigure) → `TransferTimeout`; FAULT →
//! `TransferFault`; no ACK, an undefined ACK, the SWD protocol (parity)
//! error bit or a value mismatch → `Transfer`. A reply that is missing,
//! short, or to another command → `Probe`; a lost device → `Disconnected`.
//!
//! The error is returned by the request during which its reply is read.
//! For a failing read, or a write in the same packet as a read, that is the
//! request that queued it. For a write queued by an earlier request (which
//! already returned success), it is the first later request that reads
//! replies: a read, `flush`, any other probe command (which flushes
//! first), or a write that finds `packet count` packets in flight. This is
//! how pyOCD's own CMSIS-DAP driver reports deferred writes; the message
//! then says "queued by an earlier request".
//!
//! After an error nothing queued is executed any more: the probe stops a
//! packet at its first failing transfer, the packet being filled is
//! dropped, and the replies of packets already in flight (whose transfers
//! the probe did run) are read and discarded, so request and reply stay
//! paired. If the link lost step (timeout, stray reply), those replies are
//! left to the link's resynchronisation instead.

use std::collections::VecDeque;

use crate::probe::{ProbeError, ProbeResult};

use super::commands::transfer::{
    check_response, describe_request, AckError, BlockAccess, Register, Transfer, TransferBlock,
    TransferReply, TransferRequest, BLOCK_REPLY_HEADER, BLOCK_REQUEST_HEADER, MAX_TRANSFER_COUNT,
    TRANSFER_REPLY_HEADER, TRANSFER_REQUEST_HEADER,
};
use super::commands::{CommandId, DapCommand, ReplyError, ID_NOT_IMPLEMENTED};
use super::link::Link;
use super::Transport;

/// Numbers the probe requests (operations), to tell whose transfer failed.
type RequestNumber = u64;

/// A DAP_Transfer being filled.
#[derive(Debug, Default)]
struct Filling {
    command: Transfer,
    origins: Vec<RequestNumber>,
    request_len: usize,
    reply_len: usize,
}

/// A packet written to the probe whose reply is not read yet.
#[derive(Debug)]
enum InFlight {
    Transfer {
        command: Transfer,
        origins: Vec<RequestNumber>,
    },
    Block {
        command: TransferBlock,
        origin: RequestNumber,
    },
}

impl InFlight {
    fn id(&self) -> CommandId {
        match self {
            InFlight::Transfer { command, .. } => command.id(),
            InFlight::Block { command, .. } => command.id(),
        }
    }

    fn request(&self) -> Vec<u8> {
        match self {
            InFlight::Transfer { command, .. } => command.request(),
            InFlight::Block { command, .. } => command.request(),
        }
    }

    fn parse_reply(&self, bytes: &[u8]) -> Result<TransferReply, ReplyError> {
        match self {
            InFlight::Transfer { command, .. } => command.parse_reply(bytes),
            InFlight::Block { command, .. } => command.parse_reply(bytes),
        }
    }

    fn expected(&self) -> usize {
        match self {
            InFlight::Transfer { command, .. } => command.requests.len(),
            InFlight::Block { command, .. } => command.count(),
        }
    }

    /// The request byte and origin of the `index`th transfer.
    fn transfer(&self, index: usize) -> (u8, RequestNumber) {
        match self {
            InFlight::Transfer { command, origins } => {
                let request = command.requests.get(index).map_or(0, |r| r.request_byte());
                (request, origins.get(index).copied().unwrap_or_default())
            }
            InFlight::Block { command, origin } => (command.request_byte(), *origin),
        }
    }
}

pub struct TransferQueue {
    packet_size: usize,
    packet_count: usize,
    filling: Option<Filling>,
    in_flight: VecDeque<InFlight>,
    /// Read data of completed packets, in order.
    read_data: Vec<u32>,
    request: RequestNumber,
}

impl TransferQueue {
    /// A queue for a probe taking packets of `packet_size` bytes (at least
    /// 16) and buffering `packet_count` of them (at least 1).
    pub fn new(packet_size: usize, packet_count: usize) -> TransferQueue {
        TransferQueue {
            packet_size: packet_size.max(16),
            packet_count: packet_count.max(1),
            filling: None,
            in_flight: VecDeque::new(),
            read_data: Vec::new(),
            request: 0,
        }
    }

    /// Marks the start of a new probe request, for error messages.
    pub fn begin_request(&mut self) {
        self.request += 1;
    }

    /// True when nothing is queued or in flight.
    pub fn is_empty(&self) -> bool {
        self.filling.is_none() && self.in_flight.is_empty()
    }

    pub fn write<T: Transport>(
        &mut self,
        link: &mut Link<T>,
        register: Register,
        value: u32,
    ) -> ProbeResult<()> {
        self.push(link, TransferRequest::write(register, value))
    }

    /// Reads one register, completing everything queued before it.
    pub fn read<T: Transport>(
        &mut self,
        link: &mut Link<T>,
        register: Register,
    ) -> ProbeResult<u32> {
        self.push(link, TransferRequest::read(register))?;
        self.flush(link)?;
        let data = std::mem::take(&mut self.read_data);
        data.last()
            .copied()
            .ok_or_else(|| ProbeError::Probe("the probe returned no data for a read".to_owned()))
    }

    /// Writes `values` to one register in DAP_TransferBlock packets.
    pub fn write_block<T: Transport>(
        &mut self,
        link: &mut Link<T>,
        register: Register,
        values: &[u32],
    ) -> ProbeResult<()> {
        self.send_filling(link)?;
        let per_packet = (self.packet_size - BLOCK_REQUEST_HEADER) / 4;
        for chunk in values.chunks(per_packet.clamp(1, usize::from(u16::MAX))) {
            let command = TransferBlock {
                register,
                access: BlockAccess::Write(chunk.to_vec()),
            };
            self.send(link, self.block(command))?;
        }
        Ok(())
    }

    /// Reads one register `count` times in DAP_TransferBlock packets,
    /// completing everything queued before.
    pub fn read_block<T: Transport>(
        &mut self,
        link: &mut Link<T>,
        register: Register,
        count: u32,
    ) -> ProbeResult<Vec<u32>> {
        self.send_block_reads(link, register, count)?;
        self.flush(link)?;
        Ok(std::mem::take(&mut self.read_data))
    }

    /// Reads several blocks, each after a register write (TAR), keeping
    /// packets in flight across the blocks; the words of all, in order.
    /// The reads go as single DAP_Transfer reads rather than a
    /// DAP_TransferBlock: a read costs the same reply bytes either way, and
    /// this way each TAR write rides in a packet with reads instead of
    /// costing a packet of its own.
    pub fn read_blocks_after_writes<T: Transport>(
        &mut self,
        link: &mut Link<T>,
        write_register: Register,
        read_register: Register,
        blocks: &[(u32, u32)],
    ) -> ProbeResult<Vec<u32>> {
        for &(value, count) in blocks {
            self.write(link, write_register, value)?;
            for _ in 0..count {
                self.push(link, TransferRequest::read(read_register))?;
            }
        }
        self.flush(link)?;
        Ok(std::mem::take(&mut self.read_data))
    }

    /// Sends the DAP_TransferBlock reads of `count` words without waiting
    /// for their replies.
    fn send_block_reads<T: Transport>(
        &mut self,
        link: &mut Link<T>,
        register: Register,
        count: u32,
    ) -> ProbeResult<()> {
        self.send_filling(link)?;
        let per_packet = (self.packet_size - BLOCK_REPLY_HEADER) / 4;
        let per_packet = per_packet.clamp(1, usize::from(u16::MAX)) as u32;
        let mut left = count;
        while left > 0 {
            let now = left.min(per_packet);
            let command = TransferBlock {
                register,
                // `now` is at most `per_packet`, which fits a u16.
                access: BlockAccess::Read(now as u16),
            };
            self.send(link, self.block(command))?;
            left -= now;
        }
        Ok(())
    }

    /// Sends everything queued and reads every reply.
    pub fn flush<T: Transport>(&mut self, link: &mut Link<T>) -> ProbeResult<()> {
        self.send_filling(link)?;
        while !self.in_flight.is_empty() {
            self.complete_oldest(link)?;
        }
        Ok(())
    }

    fn block(&self, command: TransferBlock) -> InFlight {
        InFlight::Block {
            command,
            origin: self.request,
        }
    }

    fn push<T: Transport>(
        &mut self,
        link: &mut Link<T>,
        request: TransferRequest,
    ) -> ProbeResult<()> {
        if self
            .filling
            .as_ref()
            .is_some_and(|f| !self.fits(f, &request))
        {
            self.send_filling(link)?;
        }
        let filling = self.filling.get_or_insert_with(|| Filling {
            request_len: TRANSFER_REQUEST_HEADER,
            reply_len: TRANSFER_REPLY_HEADER,
            ..Filling::default()
        });
        filling.request_len += request.request_len();
        filling.reply_len += request.reply_len();
        filling.command.requests.push(request);
        filling.origins.push(self.request);
        Ok(())
    }

    fn fits(&self, filling: &Filling, request: &TransferRequest) -> bool {
        filling.command.requests.len() < MAX_TRANSFER_COUNT
            && filling.request_len + request.request_len() <= self.packet_size
            && filling.reply_len + request.reply_len() <= self.packet_size
    }

    fn send_filling<T: Transport>(&mut self, link: &mut Link<T>) -> ProbeResult<()> {
        match self.filling.take() {
            Some(Filling {
                command, origins, ..
            }) => self.send(link, InFlight::Transfer { command, origins }),
            None => Ok(()),
        }
    }

    /// Writes one packet, first making room in the probe's buffers.
    fn send<T: Transport>(&mut self, link: &mut Link<T>, packet: InFlight) -> ProbeResult<()> {
        while self.in_flight.len() >= self.packet_count {
            self.complete_oldest(link)?;
        }
        if let Err(error) = link.send(&packet.request(), packet.id().name()) {
            return Err(self.abort(link, error));
        }
        self.in_flight.push_back(packet);
        Ok(())
    }

    fn complete_oldest<T: Transport>(&mut self, link: &mut Link<T>) -> ProbeResult<()> {
        let Some(packet) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let outcome = match link
            .receive(packet.id().name())
            .map(|b| packet.parse_reply(b))
        {
            Ok(Ok(reply)) => self.accept(&packet, reply),
            Ok(Err(bad_reply)) => {
                link.note_reply_error(Some(&bad_reply));
                Err(bad_reply.into())
            }
            Err(error) => Err(error),
        };
        outcome.map_err(|error| self.abort(link, error))
    }

    fn accept(&mut self, packet: &InFlight, reply: TransferReply) -> ProbeResult<()> {
        let expected = packet.expected();
        if reply.completed(expected) {
            self.read_data.extend(reply.data);
            return Ok(());
        }
        let name = packet.id().name();
        let Err(ack) = check_response(reply.response) else {
            return Err(ProbeError::Probe(format!(
                "{name}: the probe did {} of {expected} transfers and reported no error",
                reply.count
            )));
        };
        // The probe stops at the failing transfer; a failing trailing write
        // is only noticed afterwards, so `count` may be all of them.
        let (request, origin) = packet.transfer(reply.count.min(expected.saturating_sub(1)));
        let mut what = describe_request(request);
        if origin != self.request {
            what.push_str(" (queued by an earlier request)");
        }
        Err(ack_error(ack, &what))
    }

    /// Forgets everything queued after an error, reads the replies still
    /// owed, and returns the error to report.
    fn abort<T: Transport>(&mut self, link: &mut Link<T>, error: ProbeError) -> ProbeError {
        self.filling = None;
        self.read_data.clear();
        let mut error = error;
        while let Some(packet) = self.in_flight.pop_front() {
            if matches!(error, ProbeError::Disconnected(_)) || link.is_out_of_step() {
                continue;
            }
            match link.receive(packet.id().name()) {
                Ok(bytes) => {
                    let first = bytes.first().copied();
                    if first != Some(packet.id() as u8) && first != Some(ID_NOT_IMPLEMENTED) {
                        link.mark_out_of_step();
                    }
                }
                Err(lost @ ProbeError::Disconnected(_)) => error = lost,
                Err(_) => {} // the link is out of step now; it resynchronises
            }
        }
        error
    }
}

/// The probe error a failed response byte becomes.
pub(super) fn ack_error(ack: AckError, what: &str) -> ProbeError {
    match ack {
        AckError::Wait => ProbeError::TransferTimeout(format!(
            "WAIT response to {what} after the probe's retries"
        )),
        AckError::Fault => ProbeError::TransferFault(format!("FAULT response to {what}")),
        AckError::NoAck => ProbeError::Transfer(format!("no ACK to {what}")),
        AckError::Protocol => {
            ProbeError::Transfer(format!("SWD protocol error (parity) on {what}"))
        }
        AckError::ValueMismatch => ProbeError::Transfer(format!("value mismatch on {what}")),
        AckError::Invalid(ack) => ProbeError::Transfer(format!("invalid ACK {ack:#05b} to {what}")),
    }
}
