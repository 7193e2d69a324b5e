//! Tests of the wire format, by area.

mod arguments;
mod encode;
mod envelope;
mod requests;
mod status;

use super::{decode_request, Command, DecodeLimits, Request, RequestError};

fn decode(line: &str) -> Result<Request, RequestError> {
    decode_request(line.as_bytes(), &DecodeLimits::default())
}

/// The command of a line that must decode.
fn command(line: &str) -> Command {
    match decode(line) {
        Ok(request) => request.command,
        Err(error) => panic!("{line} was refused: {}", error.message),
    }
}

/// The refusal of a line that must not decode.
fn refusal(line: &str) -> RequestError {
    match decode(line) {
        Ok(request) => panic!("{line} was accepted as {request:?}"),
        Err(error) => error,
    }
}

/// The status-1 message for `request` with `arguments` (a JSON list).
fn argument_error(request: &str, arguments: &str) -> String {
    let line = format!(r#"{{"id": 7, "request": "{request}", "arguments": {arguments}}}"#);
    let error = refusal(&line);
    assert_eq!(
        error.id, 7,
        "an argument error answers under the request's id"
    );
    error.message
}
