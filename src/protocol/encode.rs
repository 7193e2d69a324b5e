//! Writing one response line straight into the connection's output buffer.
//!
//! Integers are formatted by hand: a 1 MiB `read_block8` result is a
//! million of them, and going through `fmt` for each would dominate.

use serde::Serialize;

use super::{status_code, Failure, Reply};
use crate::probe::{OpOutput, SwdSequenceReply};

/// Appends `{"id":N,"status":0[,"result":R]}` or
/// `{"id":N,"status":S,"error":"message"}`, then LF, to `out`.
pub fn encode_response(out: &mut Vec<u8>, id: i64, reply: &Result<Reply, Failure>) {
    out.extend_from_slice(b"{\"id\":");
    push_i64(out, id);
    match reply {
        Ok(reply) => {
            out.extend_from_slice(b",\"status\":0");
            push_result(out, reply);
        }
        Err(failure) => {
            out.extend_from_slice(b",\"status\":");
            push_u64(out, u64::from(status_code(failure)));
            out.extend_from_slice(b",\"error\":");
            push_json(out, &failure.to_string());
        }
    }
    out.extend_from_slice(b"}\n");
}

/// Appends `,"result":R`, or nothing when the reply has no value.
fn push_result(out: &mut Vec<u8>, reply: &Reply) {
    const RESULT_KEY: &[u8] = b",\"result\":";
    match reply {
        Reply::Value(serde_json::Value::Null) => {}
        Reply::Value(value) => {
            out.extend_from_slice(RESULT_KEY);
            push_json(out, value);
        }
        Reply::Output(output) => match output {
            // The server turns `MemoryAp` into a handle before encoding;
            // were one to slip through, no result reads as "no handle".
            // Sequences are the DAP port's; pyOCD's requests never make one.
            OpOutput::Done
            | OpOutput::Connected(_)
            | OpOutput::Tdo(None)
            | OpOutput::MemoryAp(_)
            | OpOutput::Sequence(_) => {}
            OpOutput::Word(word) => {
                out.extend_from_slice(RESULT_KEY);
                push_u64(out, u64::from(*word));
            }
            OpOutput::Tdo(Some(bits)) => {
                out.extend_from_slice(RESULT_KEY);
                push_u64(out, *bits);
            }
            OpOutput::Bool(value) => {
                out.extend_from_slice(RESULT_KEY);
                out.extend_from_slice(if *value { b"true" } else { b"false" });
            }
            OpOutput::Words(words) => {
                out.extend_from_slice(RESULT_KEY);
                push_list(out, words.iter().map(|&w| u64::from(w)));
            }
            OpOutput::Bytes(bytes) => {
                out.extend_from_slice(RESULT_KEY);
                push_list(out, bytes.iter().map(|&b| u64::from(b)));
            }
            OpOutput::SwdSequence(reply) => {
                out.extend_from_slice(RESULT_KEY);
                push_swd_sequence(out, reply);
            }
        },
    }
}

/// `[status, [[byte, ...], ...]]`: pyOCD's `(status, [bytes, ...])` after
/// JSON has turned the tuple and each `bytes` into lists of integers.
fn push_swd_sequence(out: &mut Vec<u8>, reply: &SwdSequenceReply) {
    out.push(b'[');
    push_u64(out, u64::from(reply.status));
    out.extend_from_slice(b",[");
    for (position, captured) in reply.captured.iter().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        push_list(out, captured.iter().map(|&b| u64::from(b)));
    }
    out.extend_from_slice(b"]]");
}

fn push_list(out: &mut Vec<u8>, values: impl ExactSizeIterator<Item = u64>) {
    // Most elements are short; reserving for the common size avoids most
    // regrowth on big blocks.
    out.reserve(values.len() * 4 + 2);
    out.push(b'[');
    for (position, value) in values.enumerate() {
        if position > 0 {
            out.push(b',');
        }
        push_u64(out, value);
    }
    out.push(b']');
}

fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

fn push_i64(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    push_u64(out, value.unsigned_abs());
}

/// Serialises a string or `Value` through serde_json, which escapes it
/// correctly. Writing to a `Vec` cannot fail and neither can these types'
/// serialisation, but should it, the line still stays valid JSON.
fn push_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
}
