//! The front end for CMSIS-DAP packets over TCP, as OpenOCD's `cmsis-dap`
//! driver sends them with its `tcp` backend: the DAP port.
//!
//! Each request packet ([`framing`]) is one command ([`command`]), decoded
//! with its bounds checked, and becomes one arbiter request, so the
//! arbiter runs it as a unit: no other client's transfer lands inside a
//! packet. What needs no probe is answered here (DAP_Info about the server
//! and the served probe, DAP_HostStatus, the configure commands, DAP_Delay,
//! an empty DAP_Transfer, unknown commands); DAP_Connect and DAP_Disconnect
//! are the counted `connect`/`disconnect` of the sharing rules, one
//! reference per connected client (a DAP client is connected or not, as
//! with firmware: connecting again only reports the mode, and a disconnect
//! while not connected is DAP_OK); DAP_Transfer and DAP_TransferBlock
//! become a sequence of DP/AP register operations ([`transfer`]) that
//! stops at its first failure, reported with the count and acknowledge
//! firmware would give ([`outcome`], [`reply`]). A client's packets queued
//! one behind another run in the probe's transfer pipeline together
//! (`worker::pipeline`), each answered as soon as its own transfers are.
//!
//! Per client, the front end keeps what a raw DAP client sets in the probe
//! firmware rather than in the target: the SELECT it last wrote (an AP
//! transfer's register is SELECT's APSEL and APBANKSEL with the transfer's
//! A\[3:2\]), the match mask, and the nRESET pin it drives. A DAP client
//! has no `open`: its first request that needs the probe is preceded by
//! one, whose answer is not sent (if it fails, the next such request
//! brings another), and the loop releases it with the rest when the
//! client goes. A header that cannot be trusted ends the
//! connection once the packets before it are answered ([`framing`]).
//!
//! Not served as firmware would:
//! - value-match reads compare once, after the packet has run: no match
//!   retries, and the transfers after a mismatch have run (the reply stops
//!   at it, as the firmware's);
//! - a packet the worker runs one operation at a time (its client owes
//!   STICKYERR, its CSW or TAR must be written back first, another
//!   client's line reset is pending, or the probe has no transfer
//!   pipeline) reports a failure inside a run of one AP register's
//!   transfers, or inside a DAP_TransferBlock, at the run's first
//!   transfer, without the words read before it, and charges a write's
//!   failure that only a later read reports to the first memory write
//!   since the last completed read ([`outcome`]): exact when that write is
//!   the one that failed. Through the pipeline every count is exact;
//! - transfers of a failing packet that the probe had already been sent in
//!   a later USB packet run (`cmsis_dap::pipeline`); after a FAULT the
//!   DP's STICKYERR refuses their AP transfers;
//! - DAP_TransferConfigure and DAP_SWD_Configure are acknowledged, and the
//!   probe keeps the server's own settings (the probe is shared);
//! - DAP_Delay is answered at once; DAP_ResetTarget is an nRESET pulse
//!   (execute 1);
//! - no timestamps are sent (no timer is announced, as firmware without
//!   one);
//! - bytes beyond a command's fields make it malformed (DAP_ERROR) where
//!   firmware would ignore them.

mod command;
mod framing;
mod outcome;
mod reply;
mod transfer;

use std::collections::HashMap;
use std::io::{self, Read};

use self::command::{
    DapCommand, ID_CONNECT, ID_DISCONNECT, ID_HOST_STATUS, ID_INVALID, ID_RESET_TARGET,
    ID_SWD_CONFIGURE, ID_SWD_SEQUENCE, ID_SWJ_CLOCK, ID_SWJ_PINS, ID_SWJ_SEQUENCE, ID_TRANSFER,
    ID_TRANSFER_BLOCK, ID_TRANSFER_CONFIGURE, ID_WRITE_ABORT, TRANSFER_RNW,
};
use self::framing::PacketFramer;
use self::reply::PortInfo;
use self::transfer::{ClientRegisters, Planned};
use super::front_end::{Encoded, FrontEnd, Incoming, ProbeView, Route, WireFormat};
use super::traffic::{AnswerStatus, INVALID_REQUEST};
use crate::arbiter::{Outcome, Request};
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
    /// A DAP_Connect sent to the arbiter, before the `disconnects`th
    /// DAP_Disconnect of the client.
    Connect {
        disconnects: u64,
    },
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

/// One DAP client's side of the port.
struct DapClient {
    framer: PacketFramer,
    port: PortInfo,
    /// SELECT and the match mask as this client last wrote them.
    registers: ClientRegisters,
    /// Whether this client is connected (a DAP client is or is not, as
    /// with firmware: a second DAP_Connect only reports the mode).
    connected: bool,
    /// DAP_Connects sent to the arbiter and not answered yet.
    connects_pending: usize,
    /// DAP_Disconnects sent to the arbiter so far.
    disconnects: u64,
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
            registers: ClientRegisters::default(),
            connected: false,
            connects_pending: 0,
            disconnects: 0,
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
                if self.connected {
                    // Connected already (OpenOCD connects again after each
                    // line reset): the mode, and no second reference.
                    let mode = u8::from(probe.wire_protocol() == Some(WireProtocol::Swd));
                    return Ok(self.local("DAP_Connect", vec![ID_CONNECT, mode]));
                }
                self.connects_pending += 1;
                (
                    probe_work("DAP_Connect", Request::Probe(Op::Connect(wanted))),
                    Pending::Connect {
                        disconnects: self.disconnects,
                    },
                )
            }
            DapCommand::Disconnect => {
                if !self.connected && self.connects_pending == 0 {
                    // Firmware disconnects whatever it was doing: OK.
                    return Ok(self.local("DAP_Disconnect", reply::status(ID_DISCONNECT, true)));
                }
                self.connected = false;
                self.disconnects += 1;
                (
                    probe_work("DAP_Disconnect", Request::Probe(Op::Disconnect)),
                    Pending::Status(ID_DISCONNECT),
                )
            }
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
            // No transfer: nothing runs, count 0 and no acknowledge, as
            // firmware answers.
            DapCommand::Transfer(transfers) if transfers.is_empty() => {
                return Ok(self.local("DAP_Transfer", vec![ID_TRANSFER, 0, 0]))
            }
            DapCommand::Transfer(transfers) => {
                let plan = transfer::plan_transfers(&mut self.registers, &transfers);
                (
                    probe_work("DAP_Transfer", Request::Sequence(plan.ops)),
                    Pending::Transfer(plan.planned),
                )
            }
            DapCommand::TransferBlock { count: 0, .. } => {
                return Ok(self.local(
                    "DAP_TransferBlock",
                    reply::transfer_block(ID_TRANSFER_BLOCK, 0, 0, &[]),
                ))
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
                let ops = transfer::plan_block(&mut self.registers, request, count, data);
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
                // The stream cannot be framed any further (the framer
                // catches this as it reads; this is its backstop): the
                // next read ends the stream.
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
        if matches!(pending, Pending::Open) && !matches!(outcome, Outcome::Ok(_)) {
            // No probe to open (unplugged, say): the next request that
            // needs it tries again.
            self.opened = false;
        }
        if let Pending::Connect { disconnects } = pending {
            self.connects_pending = self.connects_pending.saturating_sub(1);
            // Unless a DAP_Disconnect followed it already.
            if matches!(outcome, Outcome::Ok(OpOutput::Connected(_)))
                && disconnects == self.disconnects
            {
                self.connected = true;
            }
        }
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
        Pending::Connect { .. } => {
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
                    ..
                })) => {
                    matches!(outputs.last(), Some(OpOutput::Bool(true)))
                }
                _ => false,
            };
            let nreset = if asserted { 0 } else { PIN_NRESET };
            vec![ID_SWJ_PINS, (pins & !PIN_NRESET) | nreset]
        }
        Pending::Transfer(planned) => outcome::transfer_reply(&planned, &sequence_of(outcome)),
        Pending::TransferBlock { id, request, count } => {
            outcome::block_reply(id, request, count, &sequence_of(outcome))
        }
    })
}

/// What a sequence did, whatever the outcome.
fn sequence_of(outcome: Outcome) -> SequenceOutput {
    match outcome {
        Outcome::Ok(OpOutput::Sequence(sequence)) => sequence,
        Outcome::Ok(other) => SequenceOutput {
            outputs: vec![other],
            failure: None,
            progress: None,
        },
        Outcome::Probe(error) => outcome::failed(error),
        Outcome::Sharing(refused) => outcome::failed(ProbeError::Probe(refused.to_string())),
    }
}

#[cfg(test)]
mod tests;
