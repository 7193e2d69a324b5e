//! What a session port answers for its commands, and which lines are
//! commands at all.

use serde_json::{json, Value};

use super::{Command, Run};
use crate::dap::registers::{CDBGPWRUPACK, CSYSPWRUPACK};
use crate::mass_erase;
use crate::probe::{ProbeError, ProtocolRequest, WireProtocol};
use crate::protocol::{self, Failure, Reply};
use crate::server::front_end::{Encoded, Incoming, Route};
use crate::server::traffic::AnswerStatus;

/// The answer to a finished command and how it counts.
pub(super) fn finish(run: Run) -> (Vec<u8>, AnswerStatus) {
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
                return Err(Failure::Probe(ProbeError::Probe(format!(
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
pub(super) fn command_names(name: &str) -> (&'static str, &'static str) {
    match name {
        "connect" => ("connect", "session connect"),
        "disconnect" => ("disconnect", "session disconnect"),
        _ => ("erase", "session erase"),
    }
}

/// `args.protocol` of `connect`: SWD unless named.
pub(super) fn connect_protocol(
    args: &serde_json::Map<String, Value>,
) -> Result<ProtocolRequest, Failure> {
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
pub(super) fn answered(name: Value, result: Result<Reply, Failure>) -> Incoming {
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

pub(super) fn answer_line(answer: Value) -> Vec<u8> {
    let mut line = answer.to_string().into_bytes();
    line.push(b'\n');
    line
}

/// The line as a session command, if it is one: a JSON object with a
/// `name` key and no `request` key. Lines without `"name"` in them are
/// not parsed twice (a megabyte `write_block8` line has none).
pub(super) fn parse_command(line: &[u8]) -> Option<Command> {
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
