//! The front end for CMSIS-DAP packets over TCP, as OpenOCD's `cmsis-dap`
//! driver sends them with its `tcp` backend: the DAP port.
//!
//! Each request packet ([`framing`]) is one command ([`command`]), decoded
//! with its bounds checked, and becomes one arbiter request, so the
//! arbiter runs it as a unit: no other client's transfer lands inside a
//! packet. What needs no probe is answered here (DAP_Info about the server
//! and the served probe, DAP_HostStatus, the configure commands, DAP_Delay,
//! unknown commands); DAP_Connect and DAP_Disconnect are the counted
//! `connect`/`disconnect` of the sharing rules; DAP_Transfer and
//! DAP_TransferBlock become a sequence of DP/AP register operations that
//! stops at its first failure, reported with the count and acknowledge
//! firmware would give ([`reply`]).
//!
//! Per client, the front end keeps what a raw DAP client sets in the probe
//! firmware rather than in the target: the SELECT it last wrote (an AP
//! transfer's register is SELECT's APSEL and APBANKSEL with the transfer's
//! A\[3:2\]), the match mask, and the nRESET pin it drives. A DAP client
//! has no `open`: its first request that needs the probe is preceded by
//! one, whose answer is not sent, and the loop releases it with the rest
//! when the client goes.
//!
//! Not served as firmware would: value-match reads compare once (no match
//! retries); DAP_Delay is answered at once; DAP_ResetTarget is an nRESET
//! pulse; a transfer after a failed one in the same packet is not run, but
//! a deferred write's failure may be reported at a later transfer of the
//! packet (the count then names that one).

mod command;
mod framing;
mod reply;

use std::collections::HashMap;
use std::io::{self, Read};

use self::command::{
    DapCommand, TransferRequest, ID_CONNECT, ID_DISCONNECT, ID_HOST_STATUS, ID_INVALID,
    ID_RESET_TARGET, ID_SWD_CONFIGURE, ID_SWD_SEQUENCE, ID_SWJ_CLOCK, ID_SWJ_PINS, ID_SWJ_SEQUENCE,
    ID_TRANSFER, ID_TRANSFER_BLOCK, ID_TRANSFER_CONFIGURE, ID_WRITE_ABORT, TRANSFER_MATCH_MASK,
    TRANSFER_MATCH_VALUE, TRANSFER_RNW,
};
use self::framing::PacketFramer;
use self::reply::{PortInfo, TransferReply, ACK_MISMATCH, ACK_OK};
use super::front_end::{Encoded, FrontEnd, Incoming, ProbeView, Route, WireFormat};
use super::traffic::{AnswerStatus, INVALID_REQUEST};
use crate::arbiter::{Outcome, Request};
use crate::dap::registers::{DP_SELECT, SELECT_APBANKSEL, SELECT_APSEL};
use crate::probe::{Op, OpOutput, ProbeError, ProtocolRequest, SequenceOutput, WireProtocol};
use crate::protocol::{Failure, SharingFailure};

/// The largest packet the port takes and sends: OpenOCD's buffer size.
pub const PACKET_SIZE: u16 = 1024;
/// Packets a client may have in flight (OpenOCD sends at most three).
pub const PACKET_COUNT: u8 = 4;

/// The nRESET bit of DAP_SWJ_Pins.
const PIN_NRESET: u8 = 1 << 7;

/// The DAP port's wire format.
#[derive(Debug, Default)]
pub struct CmsisDapTcp;

impl WireFormat for CmsisDapTcp {
    fn name(&self) -> &'static str {
        super::front_end::FRONT_END_CMSIS_DAP
    }

    fn front_end(&self) -> Box<dyn FrontEnd> {
        Box::new(DapClient::new())
    }

    /// CMSIS-DAP has no way to say why: the peer is closed unanswered.
    fn refusal(&self, _why: &str) -> Vec<u8> {
        Vec::new()
    }
}

/// What a request waits for to be answered.
#[derive(Debug)]
enum Pending {
    /// The `open` a client's first probe request brings: answered silently.
    Open,
    Status(u8),
    Connect,
    ResetTarget,
    SwjPins,
    SwdSequence,
    Transfer(Vec<Planned>),
    TransferBlock {
        id: u8,
        request: u8,
        count: u16,
    },
}

/// One transfer of a DAP_Transfer: whether it is an operation of the
/// sequence or was done here (a match-mask write).
#[derive(Clone, Copy, Debug)]
struct Planned {
    transfer: TransferRequest,
    runs: bool,
    /// The mask a match read compares under.
    match_mask: u32,
}

/// One DAP client's side of the port.
struct DapClient {
    framer: PacketFramer,
    port: PortInfo,
    /// SELECT as this client last wrote it.
    select: u32,
    match_mask: u32,
    /// The output this client last drove on the pins.
    pins: u8,
    opened: bool,
    next_key: i64,
    pending: HashMap<i64, Pending>,
    /// A request that follows the `open` just handed out.
    queued: Option<(Incoming, Pending)>,
}

impl DapClient {
    fn new() -> DapClient {
        DapClient {
            framer: PacketFramer::new(usize::from(PACKET_SIZE)),
            port: PortInfo {
                packet_size: PACKET_SIZE,
                packet_count: PACKET_COUNT,
            },
            select: 0,
            match_mask: u32::MAX,
            pins: PIN_NRESET,
            opened: false,
            next_key: 0,
            pending: HashMap::new(),
            queued: None,
        }
    }

    fn key(&mut self) -> i64 {
        self.next_key += 1;
        self.next_key
    }

    /// An answer made here.
    fn local(&mut self, name: &'static str, bytes: Vec<u8>) -> Incoming {
        Incoming {
            key: self.key(),
            name,
            held: 0,
            route: Route::Answer(encoded(bytes, AnswerStatus::SUCCESS)),
        }
    }

    /// Routes one decoded command; probe work comes back with what its
    /// answer needs.
    fn route(
        &mut self,
        command: DapCommand,
        probe: &ProbeView<'_>,
    ) -> Result<Incoming, (Incoming, Pending)> {
        let probe_work = |name: &'static str, request: Request| Incoming {
            key: 0,
            name,
            held: usize::from(PACKET_SIZE) * 2,
            route: Route::Arbitrate(request),
        };
        let work = match command {
            DapCommand::Info(id) => {
                return Ok(self.local("DAP_Info", reply::info(id, probe.info(), &self.port)))
            }
            DapCommand::HostStatus => {
                return Ok(self.local("DAP_HostStatus", reply::status(ID_HOST_STATUS, true)))
            }
            DapCommand::TransferConfigure { .. } => {
                return Ok(self.local(
                    "DAP_TransferConfigure",
                    reply::status(ID_TRANSFER_CONFIGURE, true),
                ))
            }
            DapCommand::SwdConfigure(_) => {
                return Ok(self.local("DAP_SWD_Configure", reply::status(ID_SWD_CONFIGURE, true)))
            }
            DapCommand::Delay(_) => return Ok(self.local("DAP_Delay", reply::status(0x09, true))),
            DapCommand::TransferAbort => return Ok(self.local("DAP_TransferAbort", Vec::new())),
            DapCommand::Unsupported(_) => return Ok(self.local(INVALID_REQUEST, vec![ID_INVALID])),
            DapCommand::Malformed(id) => {
                return Ok(self.local(INVALID_REQUEST, reply::status(id, false)))
            }
            DapCommand::Connect(port) => {
                let wanted = match port {
                    0 => ProtocolRequest::Default,
                    1 => ProtocolRequest::Specific(WireProtocol::Swd),
                    _ => return Ok(self.local("DAP_Connect", vec![ID_CONNECT, 0])),
                };
                (
                    probe_work("DAP_Connect", Request::Probe(Op::Connect(wanted))),
                    Pending::Connect,
                )
            }
            DapCommand::Disconnect => (
                probe_work("DAP_Disconnect", Request::Probe(Op::Disconnect)),
                Pending::Status(ID_DISCONNECT),
            ),
            DapCommand::WriteAbort(value) => (
                probe_work(
                    "DAP_WriteABORT",
                    Request::Probe(Op::WriteDp { addr: 0, value }),
                ),
                Pending::Status(ID_WRITE_ABORT),
            ),
            DapCommand::SwjClock(hz) => (
                probe_work("DAP_SWJ_Clock", Request::Probe(Op::SetClock(hz))),
                Pending::Status(ID_SWJ_CLOCK),
            ),
            DapCommand::SwjSequence { bit_count, bits } => (
                probe_work(
                    "DAP_SWJ_Sequence",
                    Request::Probe(Op::SwjSequence { bit_count, bits }),
                ),
                Pending::Status(ID_SWJ_SEQUENCE),
            ),
            DapCommand::SwdSequence(sequences) => (
                probe_work(
                    "DAP_SWD_Sequence",
                    Request::Probe(Op::SwdSequence(sequences)),
                ),
                Pending::SwdSequence,
            ),
            DapCommand::ResetTarget => (
                probe_work("DAP_ResetTarget", Request::Probe(Op::Reset)),
                Pending::ResetTarget,
            ),
            DapCommand::SwjPins { output, select, .. } => {
                let mut ops = Vec::new();
                if select & PIN_NRESET != 0 {
                    self.pins = (self.pins & !PIN_NRESET) | (output & PIN_NRESET);
                    ops.push(Op::AssertReset(output & PIN_NRESET == 0));
                }
                ops.push(Op::IsResetAsserted);
                (
                    probe_work("DAP_SWJ_Pins", Request::Sequence(ops)),
                    Pending::SwjPins,
                )
            }
            DapCommand::Transfer(transfers) => {
                let (ops, planned) = self.plan_transfers(&transfers);
                (
                    probe_work("DAP_Transfer", Request::Sequence(ops)),
                    Pending::Transfer(planned),
                )
            }
            DapCommand::TransferBlock {
                request,
                count,
                data,
            } => {
                let reply_words = if request & TRANSFER_RNW != 0 {
                    count
                } else {
                    0
                };
                if usize::from(reply_words) * 4 + 4 > usize::from(PACKET_SIZE) {
                    return Ok(self.local(INVALID_REQUEST, reply::status(ID_TRANSFER_BLOCK, false)));
                }
                let ops = self.plan_block(request, count, data);
                (
                    probe_work("DAP_TransferBlock", Request::Sequence(ops)),
                    Pending::TransferBlock {
                        id: ID_TRANSFER_BLOCK,
                        request,
                        count,
                    },
                )
            }
        };
        Err(work)
    }

    /// The register address of a transfer: A\[3:2\], in the AP and bank of
    /// this client's SELECT for an AP transfer.
    fn address(&self, transfer: TransferRequest) -> u32 {
        if transfer.is_ap() {
            (self.select & (SELECT_APSEL | SELECT_APBANKSEL)) | transfer.a32()
        } else {
            transfer.a32()
        }
    }

    fn plan_transfers(&mut self, transfers: &[TransferRequest]) -> (Vec<Op>, Vec<Planned>) {
        let mut ops = Vec::new();
        let mut planned = Vec::new();
        for &transfer in transfers {
            let match_mask = self.match_mask;
            if !transfer.is_read() && transfer.request & TRANSFER_MATCH_MASK != 0 {
                self.match_mask = transfer.data.unwrap_or(u32::MAX);
                planned.push(Planned {
                    transfer,
                    runs: false,
                    match_mask,
                });
                continue;
            }
            let addr = self.address(transfer);
            let op = match (transfer.is_ap(), transfer.is_read()) {
                (false, true) => Op::ReadDp(addr),
                (true, true) => Op::ReadAp(addr),
                (false, false) => {
                    let value = transfer.data.unwrap_or(0);
                    if addr == DP_SELECT {
                        self.select = value;
                    }
                    Op::WriteDp { addr, value }
                }
                (true, false) => Op::WriteAp {
                    addr,
                    value: transfer.data.unwrap_or(0),
                },
            };
            ops.push(op);
            planned.push(Planned {
                transfer,
                runs: true,
                match_mask,
            });
        }
        (ops, planned)
    }

    fn plan_block(&mut self, request: u8, count: u16, data: Vec<u32>) -> Vec<Op> {
        let transfer = TransferRequest {
            request,
            data: None,
        };
        let addr = self.address(transfer);
        match (transfer.is_ap(), transfer.is_read()) {
            (true, true) => vec![Op::ReadApMultiple {
                addr,
                count: u32::from(count),
            }],
            (true, false) => vec![Op::WriteApMultiple { addr, values: data }],
            (false, true) => (0..count).map(|_| Op::ReadDp(addr)).collect(),
            (false, false) => {
                if addr == DP_SELECT {
                    if let Some(&last) = data.last() {
                        self.select = last;
                    }
                }
                data.into_iter()
                    .map(|value| Op::WriteDp { addr, value })
                    .collect()
            }
        }
    }
}

impl FrontEnd for DapClient {
    fn read_from(
        &mut self,
        socket: &mut dyn Read,
        scratch: &mut [u8],
    ) -> io::Result<(usize, bool)> {
        self.framer.read_from(socket, scratch)
    }

    fn next_request(&mut self, probe: &mut ProbeView<'_>) -> Option<Incoming> {
        if let Some((mut incoming, pending)) = self.queued.take() {
            incoming.key = self.key();
            self.pending.insert(incoming.key, pending);
            return Some(incoming);
        }
        let packet = match self.framer.next_packet() {
            Ok(packet) => packet?,
            Err(error) => {
                // The stream cannot be framed any further: the loop reads
                // on and the next read fails the connection.
                self.framer.poison(error);
                return None;
            }
        };
        match self.route(command::decode(&packet), probe) {
            Ok(local) => Some(local),
            Err((mut work, pending)) => {
                if !self.opened {
                    self.opened = true;
                    self.queued = Some((work, pending));
                    let key = self.key();
                    self.pending.insert(key, Pending::Open);
                    return Some(Incoming {
                        key,
                        name: "open",
                        held: 0,
                        route: Route::Arbitrate(Request::Probe(Op::Open)),
                    });
                }
                work.key = self.key();
                self.pending.insert(work.key, pending);
                Some(work)
            }
        }
    }

    fn encode(&mut self, out: &mut Vec<u8>, key: i64, outcome: Outcome) -> AnswerStatus {
        let Some(pending) = self.pending.remove(&key) else {
            return AnswerStatus::SUCCESS;
        };
        let status = answer_status(&outcome);
        let payload = answer(pending, outcome, self.pins);
        if let Some(payload) = payload {
            framing::encode_response(out, &payload);
        }
        status
    }
}

fn encoded(payload: Vec<u8>, status: AnswerStatus) -> Encoded {
    let mut bytes = Vec::new();
    if !payload.is_empty() {
        framing::encode_response(&mut bytes, &payload);
    }
    Encoded { bytes, status }
}

fn answer_status(outcome: &Outcome) -> AnswerStatus {
    match outcome {
        Outcome::Ok(OpOutput::Sequence(SequenceOutput {
            failure: Some(error),
            ..
        }))
        | Outcome::Probe(error) => AnswerStatus::failed(&Failure::Probe(error.clone())),
        Outcome::Ok(_) => AnswerStatus::SUCCESS,
        Outcome::Sharing(refused) => AnswerStatus::failed(&Failure::Sharing(SharingFailure {
            probe_error: refused.is_probe_error(),
            message: refused.to_string(),
        })),
    }
}

/// The reply payload for a finished request (`None`: nothing is sent).
fn answer(pending: Pending, outcome: Outcome, pins: u8) -> Option<Vec<u8>> {
    let ok = matches!(outcome, Outcome::Ok(_));
    Some(match pending {
        Pending::Open => return None,
        Pending::Status(id) => reply::status(id, ok),
        Pending::Connect => {
            let mode = match outcome {
                Outcome::Ok(OpOutput::Connected(WireProtocol::Swd)) => 1,
                Outcome::Ok(OpOutput::Connected(WireProtocol::Jtag)) => 2,
                _ => 0,
            };
            vec![ID_CONNECT, mode]
        }
        Pending::ResetTarget => vec![ID_RESET_TARGET, if ok { 0x00 } else { 0xFF }, 1],
        Pending::SwdSequence => match outcome {
            Outcome::Ok(OpOutput::SwdSequence(sequence)) => {
                let mut reply = vec![ID_SWD_SEQUENCE, sequence.status];
                for captured in sequence.captured {
                    reply.extend(captured);
                }
                reply
            }
            _ => reply::status(ID_SWD_SEQUENCE, false),
        },
        Pending::SwjPins => {
            let asserted = match outcome {
                Outcome::Ok(OpOutput::Sequence(SequenceOutput {
                    outputs,
                    failure: None,
                })) => {
                    matches!(outputs.last(), Some(OpOutput::Bool(true)))
                }
                _ => false,
            };
            let nreset = if asserted { 0 } else { PIN_NRESET };
            vec![ID_SWJ_PINS, (pins & !PIN_NRESET) | nreset]
        }
        Pending::Transfer(planned) => transfer_reply(planned, outcome),
        Pending::TransferBlock { id, request, count } => {
            let (outputs, failure) = sequence_parts(outcome);
            let words: Vec<u32> = outputs
                .iter()
                .flat_map(|output| match output {
                    OpOutput::Word(word) => vec![*word],
                    OpOutput::Words(words) => words.clone(),
                    _ => Vec::new(),
                })
                .collect();
            match failure {
                None => reply::transfer_block(id, count, ACK_OK, &words),
                Some(error) => {
                    let done = if request & TRANSFER_RNW != 0 {
                        words.len()
                    } else {
                        0
                    };
                    let done = u16::try_from(done.min(usize::from(count))).unwrap_or(0);
                    reply::transfer_block(
                        id,
                        done,
                        reply::ack_of(&error),
                        &words[..usize::from(done)],
                    )
                }
            }
        }
    })
}

/// The outputs a sequence produced and the failure that ended it.
fn sequence_parts(outcome: Outcome) -> (Vec<OpOutput>, Option<ProbeError>) {
    match outcome {
        Outcome::Ok(OpOutput::Sequence(SequenceOutput { outputs, failure })) => (outputs, failure),
        Outcome::Ok(other) => (vec![other], None),
        Outcome::Probe(error) => (Vec::new(), Some(error)),
        Outcome::Sharing(refused) => (Vec::new(), Some(ProbeError::Probe(refused.to_string()))),
    }
}

fn transfer_reply(planned: Vec<Planned>, outcome: Outcome) -> Vec<u8> {
    let (outputs, failure) = sequence_parts(outcome);
    let mut outputs = outputs.into_iter();
    let mut reply = TransferReply::new(ID_TRANSFER);
    let mut count: u8 = 0;
    for step in planned {
        if !step.runs {
            reply.push(step.transfer.request, None);
            count = count.saturating_add(1);
            continue;
        }
        let Some(output) = outputs.next() else {
            // The sequence stopped before this transfer.
            let ack = failure.as_ref().map_or(reply::ACK_NO_ACK, reply::ack_of);
            return reply.finish(count, ack);
        };
        let read = match output {
            OpOutput::Word(word) => Some(word),
            _ => None,
        };
        if step.transfer.request & TRANSFER_MATCH_VALUE != 0 {
            let wanted = step.transfer.data.unwrap_or(0) & step.match_mask;
            if read.map(|word| word & step.match_mask) != Some(wanted) {
                return reply.finish(count, ACK_OK | ACK_MISMATCH);
            }
        }
        reply.push(step.transfer.request, read);
        count = count.saturating_add(1);
    }
    let ack = failure.as_ref().map_or(ACK_OK, reply::ack_of);
    reply.finish(count, ack)
}

#[cfg(test)]
mod tests;
