//! A session's pyOCD port: pyOCD's JSON lines, plus session commands
//! (docs/protocol.md, "Session ports").
//!
//! A line that is a JSON object with a `name` key and no `request` key is
//! a session command, `{"name": "connect", "args": {...}}` (`args`
//! optional), answered `{"name": ..., "status": 0, ...}` or with `status`
//! and `error` as pyOCD's requests are (the same numbers). Every other line
//! is a pyOCD request, served as on the probe's own port. Commands:
//!
//! - `connect`: `open` and `connect` (`args.protocol`: `SWD`, the default,
//!   `JTAG` or `DEFAULT`), counted for this connection as a pyOCD client's
//!   are, then the debug port powered up (CTRL/STAT's CDBGPWRUPREQ and
//!   CSYSPWRUPREQ, checked acknowledged) and DPIDR read: answered with
//!   `dpidr` and `protocol`. Connecting again only powers up and reads.
//! - `disconnect`: drops this connection's `connect` and `open`.
//! - `erase`: a mass erase ([`crate::mass_erase`]), with `method`; needs
//!   the wire up (status 3 otherwise).
//! - `stop`: ends the session (the connection stays open).
//!
//! A command that takes several requests of the arbiter queues them in a
//! row, so nothing of this connection runs between them; it is answered
//! once, when the last of them completes, with the first failure among
//! them. Each request this front end hands the loop gets a key of its own
//! (pyOCD ids are the client's and could collide with a command's).

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read};

use serde_json::{json, Value};

use super::framing::Frame;
use super::{outcome_to_reply, JsonLines, Pyocd};
use crate::arbiter::{Outcome, Request};
use crate::dap::registers::{
    CDBGPWRUPACK, CDBGPWRUPREQ, CSYSPWRUPACK, CSYSPWRUPREQ, DP_CTRL_STAT, DP_IDR,
};
use crate::mass_erase;
use crate::probe::{Op, OpOutput, ProtocolRequest, SequenceOutput, WireProtocol};
use crate::protocol::{self, Failure, Reply};
use crate::server::front_end::{
    Encoded, FrontEnd, Incoming, ProbeView, Route, WireFormat, FRONT_END_PYOCD,
};
use crate::server::settings::ServerConfig;
use crate::server::traffic::AnswerStatus;

/// The wire format of a session's pyOCD port.
pub struct SessionPort {
    pyocd: Pyocd,
}

impl SessionPort {
    pub fn new(config: &ServerConfig) -> SessionPort {
        SessionPort {
            pyocd: Pyocd::new(config),
        }
    }
}

impl WireFormat for SessionPort {
    /// pyOCD's: the metrics count a session port's requests with the
    /// probe port's; the client list shows the session.
    fn name(&self) -> &'static str {
        FRONT_END_PYOCD
    }

    fn front_end(&self) -> Box<dyn FrontEnd> {
        Box::new(SessionLines {
            lines: self.pyocd.json_lines(),
            origins: HashMap::new(),
            next_key: 0,
            queued: VecDeque::new(),
            opened: false,
            connected: false,
            runs: HashMap::new(),
            next_run: 0,
        })
    }

    fn refusal(&self, why: &str) -> Vec<u8> {
        self.pyocd.refusal(why)
    }
}

/// What a request handed to the loop came from.
#[derive(Clone, Copy, Debug)]
enum Origin {
    /// A pyOCD request with this id.
    Pyocd(i64),
    /// One step of session command run `run`.
    Step { run: u64, step: Step },
}

/// The arbiter requests a session command is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Open,
    Connect,
    /// CTRL/STAT power-up written and read back, then DPIDR read.
    PowerUp,
    Disconnect,
    Close,
    Erase,
}

/// A session command whose steps are under way.
#[derive(Debug)]
struct Run {
    name: &'static str,
    /// Steps not answered yet.
    left: usize,
    /// The first step that failed.
    failure: Option<Failure>,
    protocol: Option<WireProtocol>,
    ctrl_stat: Option<u32>,
    dpidr: Option<u32>,
}

struct SessionLines {
    lines: JsonLines,
    origins: HashMap<i64, Origin>,
    next_key: i64,
    /// Steps of a command after the one handed out.
    queued: VecDeque<Incoming>,
    /// This connection's `open` and `connect` from session commands.
    opened: bool,
    connected: bool,
    runs: HashMap<u64, Run>,
    next_run: u64,
}

/// A parsed session command line.
struct Command {
    name: Value,
    args: Option<Value>,
}

impl FrontEnd for SessionLines {
    fn read_from(
        &mut self,
        mut socket: &mut dyn Read,
        scratch: &mut [u8],
    ) -> io::Result<(usize, bool)> {
        self.lines.framer.read_from(&mut socket, scratch)
    }

    fn next_request(&mut self, probe: &mut ProbeView<'_>) -> Option<Incoming> {
        if let Some(step) = self.queued.pop_front() {
            return Some(step);
        }
        loop {
            let line = match self.lines.framer.next_frame()? {
                Frame::Line(line) => line,
                Frame::TooLong => {
                    let incoming = self.lines.too_long();
                    return Some(self.pass(incoming));
                }
            };
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if let Some(command) = parse_command(line) {
                return Some(self.command(command, probe));
            }
            let incoming = self.lines.request(line, probe);
            return Some(self.pass(incoming));
        }
    }

    fn encode(&mut self, out: &mut Vec<u8>, key: i64, outcome: Outcome) -> AnswerStatus {
        match self.origins.remove(&key) {
            Some(Origin::Pyocd(id)) => self.lines.encode(out, id, outcome),
            Some(Origin::Step { run, step }) => self.step_done(out, run, step, outcome),
            None => AnswerStatus::SUCCESS,
        }
    }
}

impl SessionLines {
    fn key(&mut self, origin: Origin) -> i64 {
        self.next_key += 1;
        self.origins.insert(self.next_key, origin);
        self.next_key
    }

    /// A pyOCD request, under a key of this front end's.
    fn pass(&mut self, mut incoming: Incoming) -> Incoming {
        if matches!(incoming.route, Route::Arbitrate(_)) {
            incoming.key = self.key(Origin::Pyocd(incoming.key));
        }
        incoming
    }

    /// Routes a session command: answered now, or its steps queued.
    fn command(&mut self, command: Command, probe: &mut ProbeView<'_>) -> Incoming {
        let Some(name) = command.name.as_str().map(str::to_owned) else {
            return answered(
                command.name,
                Err(Failure::Request(
                    "invalid session command: 'name' must be a string".into(),
                )),
            );
        };
        let args = match command.args {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(args)) => args,
            Some(_) => {
                return answered(
                    name.into(),
                    Err(Failure::Request(
                        "invalid session command: 'args' must be an object".into(),
                    )),
                )
            }
        };
        let steps = match name.as_str() {
            "connect" => match connect_protocol(&args) {
                Ok(protocol) => self.connect_steps(protocol),
                Err(failure) => return answered(name.into(), Err(failure)),
            },
            "disconnect" if !self.connected && !self.opened => {
                return answered(
                    name.into(),
                    Err(Failure::Request(
                        "not connected: this connection sent no connect".into(),
                    )),
                )
            }
            "disconnect" => self.disconnect_steps(),
            "erase" if probe.wire_protocol().is_none() => {
                return answered(
                    name.into(),
                    Err(Failure::Probe(crate::probe::ProbeError::Probe(
                        "target not connected: send connect first".into(),
                    ))),
                )
            }
            "erase" => vec![(Step::Erase, Request::MassErase)],
            "stop" => {
                let bytes = answer_line(json!({ "name": "stop", "status": 0 }));
                return Incoming {
                    key: -1,
                    name: "session stop",
                    held: 0,
                    route: Route::EndSession(Encoded {
                        bytes,
                        status: AnswerStatus::SUCCESS,
                    }),
                };
            }
            _ => {
                let message =
                    format!("unknown session command '{name}' (connect, disconnect, erase, stop)");
                return answered(name.into(), Err(Failure::Request(message)));
            }
        };
        let run = self.next_run;
        self.next_run += 1;
        let (command_name, metric_name) = command_names(&name);
        self.runs.insert(
            run,
            Run {
                name: command_name,
                left: steps.len(),
                failure: None,
                protocol: probe.wire_protocol(),
                ctrl_stat: None,
                dpidr: None,
            },
        );
        let mut incomings = steps.into_iter().map(|(step, request)| Incoming {
            key: self.key(Origin::Step { run, step }),
            name: metric_name,
            held: 0,
            route: Route::Arbitrate(request),
        });
        let first = incomings.next();
        let rest: Vec<Incoming> = incomings.collect();
        self.queued.extend(rest);
        // A command has at least one step.
        first.unwrap_or_else(|| answered(name.into(), Ok(Reply::Value(Value::Null))))
    }

    fn connect_steps(&mut self, protocol: ProtocolRequest) -> Vec<(Step, Request)> {
        let mut steps = Vec::new();
        if !self.opened {
            self.opened = true;
            steps.push((Step::Open, Request::Probe(Op::Open)));
        }
        if !self.connected {
            self.connected = true;
            steps.push((Step::Connect, Request::Probe(Op::Connect(protocol))));
        }
        let power_up = Request::Sequence(vec![
            Op::WriteDp {
                addr: DP_CTRL_STAT,
                value: CDBGPWRUPREQ | CSYSPWRUPREQ,
            },
            Op::ReadDp(DP_CTRL_STAT),
            Op::ReadDp(DP_IDR),
        ]);
        steps.push((Step::PowerUp, power_up));
        steps
    }

    fn disconnect_steps(&mut self) -> Vec<(Step, Request)> {
        let mut steps = Vec::new();
        if std::mem::take(&mut self.connected) {
            steps.push((Step::Disconnect, Request::Probe(Op::Disconnect)));
        }
        if std::mem::take(&mut self.opened) {
            steps.push((Step::Close, Request::Probe(Op::Close)));
        }
        steps
    }

    /// A step's outcome; the command's answer once it was the last.
    fn step_done(
        &mut self,
        out: &mut Vec<u8>,
        run: u64,
        step: Step,
        outcome: Outcome,
    ) -> AnswerStatus {
        let Some(state) = self.runs.get_mut(&run) else {
            return AnswerStatus::SUCCESS;
        };
        state.left = state.left.saturating_sub(1);
        let result = outcome_to_reply(outcome);
        let status = match &result {
            Ok(_) => AnswerStatus::SUCCESS,
            Err(failure) => AnswerStatus::failed(failure),
        };
        match result {
            Ok(Reply::Output(OpOutput::Connected(protocol))) => state.protocol = Some(protocol),
            Ok(Reply::Output(OpOutput::Sequence(SequenceOutput { outputs, failure }))) => {
                if let [_, OpOutput::Word(ctrl_stat), OpOutput::Word(dpidr)] = outputs[..] {
                    state.ctrl_stat = Some(ctrl_stat);
                    state.dpidr = Some(dpidr);
                }
                if let Some(error) = failure {
                    state.failure.get_or_insert(Failure::Probe(error));
                }
            }
            Ok(_) => {}
            Err(failure) => {
                match step {
                    Step::Open => self.opened = false,
                    Step::Connect => self.connected = false,
                    _ => {}
                }
                state.failure.get_or_insert(failure);
            }
        }
        if state.left > 0 {
            return status;
        }
        let Some(state) = self.runs.remove(&run) else {
            return status;
        };
        let (bytes, status) = finish(state);
        out.extend_from_slice(&bytes);
        status
    }
}

/// The answer to a finished command and how it counts.
fn finish(run: Run) -> (Vec<u8>, AnswerStatus) {
    let result = match run.failure {
        Some(failure) => Err(failure),
        None => Ok(success_fields(&run)),
    };
    let result = result.and_then(|fields| fields);
    let status = match &result {
        Ok(_) => AnswerStatus::SUCCESS,
        Err(failure) => AnswerStatus::failed(failure),
    };
    let mut answer = json!({ "name": run.name, "status": 0 });
    match result {
        Ok(fields) => {
            if let (Value::Object(answer), Value::Object(fields)) = (&mut answer, fields) {
                answer.extend(fields);
            }
        }
        Err(failure) => {
            answer["status"] = protocol::status_code(&failure).into();
            answer["error"] = failure.to_string().into();
        }
    }
    (answer_line(answer), status)
}

/// What a successful command adds to its answer.
fn success_fields(run: &Run) -> Result<Value, Failure> {
    Ok(match run.name {
        "connect" => {
            let acknowledged = CDBGPWRUPACK | CSYSPWRUPACK;
            let ctrl_stat = run.ctrl_stat.unwrap_or(0);
            if ctrl_stat & acknowledged != acknowledged {
                return Err(Failure::Probe(crate::probe::ProbeError::Probe(format!(
                    "debug power-up not acknowledged (CTRL/STAT {ctrl_stat:#010x})"
                ))));
            }
            json!({
                "dpidr": run.dpidr,
                "protocol": run.protocol.map(WireProtocol::name),
            })
        }
        "erase" => json!({ "method": mass_erase::NORDIC_CTRL_AP }),
        _ => json!({}),
    })
}

/// A command with steps: its name in answers, and in the metrics (apart
/// from pyOCD's requests of the same name).
fn command_names(name: &str) -> (&'static str, &'static str) {
    match name {
        "connect" => ("connect", "session connect"),
        "disconnect" => ("disconnect", "session disconnect"),
        _ => ("erase", "session erase"),
    }
}

/// `args.protocol` of `connect`: SWD unless named.
fn connect_protocol(args: &serde_json::Map<String, Value>) -> Result<ProtocolRequest, Failure> {
    let name = match args.get("protocol") {
        None | Some(Value::Null) => return Ok(ProtocolRequest::Specific(WireProtocol::Swd)),
        Some(Value::String(name)) => name.to_ascii_uppercase(),
        Some(other) => {
            return Err(Failure::Request(format!(
                "invalid args.protocol of connect: expected \"SWD\", \"JTAG\" or \"DEFAULT\", got {other}"
            )))
        }
    };
    match name.as_str() {
        "SWD" => Ok(ProtocolRequest::Specific(WireProtocol::Swd)),
        "JTAG" => Ok(ProtocolRequest::Specific(WireProtocol::Jtag)),
        "DEFAULT" => Ok(ProtocolRequest::Default),
        _ => Err(Failure::Request(format!(
            "invalid args.protocol of connect: expected \"SWD\", \"JTAG\" or \"DEFAULT\", got \"{name}\""
        ))),
    }
}

/// A command answered without the probe.
fn answered(name: Value, result: Result<Reply, Failure>) -> Incoming {
    let status = match &result {
        Ok(_) => AnswerStatus::SUCCESS,
        Err(failure) => AnswerStatus::failed(failure),
    };
    let answer = match result {
        Ok(_) => json!({ "name": name, "status": 0 }),
        Err(failure) => json!({
            "name": name,
            "status": protocol::status_code(&failure),
            "error": failure.to_string(),
        }),
    };
    Incoming {
        key: -1,
        name: "session command",
        held: 0,
        route: Route::Answer(Encoded {
            bytes: answer_line(answer),
            status,
        }),
    }
}

fn answer_line(answer: Value) -> Vec<u8> {
    let mut line = answer.to_string().into_bytes();
    line.push(b'\n');
    line
}

/// The line as a session command, if it is one: a JSON object with a
/// `name` key and no `request` key. Lines without `"name"` in them are
/// not parsed twice (a megabyte `write_block8` line has none).
fn parse_command(line: &[u8]) -> Option<Command> {
    const NAME_KEY: &[u8] = b"\"name\"";
    if !line.windows(NAME_KEY.len()).any(|w| w == NAME_KEY) {
        return None;
    }
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(line) else {
        return None;
    };
    if object.contains_key("request") {
        return None;
    }
    let name = object.remove("name")?;
    Some(Command {
        name,
        args: object.remove("args"),
    })
}

#[cfg(test)]
mod tests;
