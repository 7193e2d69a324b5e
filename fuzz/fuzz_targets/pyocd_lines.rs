//! pyOCD's JSON lines from a hostile client, through framing, decoding,
//! the `hello` gate, memory handles, the arbiter and the virtual target,
//! with probe failures injected: every request gets exactly one answer,
//! in order, each one JSON line under the request's id with the status
//! it was counted with.
//!
//! Input: options (memory handles, line and block limits), the fault rate,
//! a seed for read sizes and faults, then the client's byte stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use probeshare::server::fuzzing::{Pyocd, WireFormat};
use probeshare::server::ServerConfig;
use probeshare_fuzz::bench::{Faults, ProbeBench};
use probeshare_fuzz::front_end::{serve, Exchange};
use probeshare_fuzz::input::{Input, Prng};

const LINE_LIMITS: [usize; 4] = [64, 300, 4096, 16 << 20];
const BLOCK_LIMITS: [usize; 2] = [16, 300];

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let options = input.byte();
    let fault_rate = input.byte() / 4;
    let seed = input.u32();
    let mut config = ServerConfig {
        memory_handles: options & 1 != 0,
        ..ServerConfig::default()
    };
    config.limits.max_line_bytes = LINE_LIMITS[usize::from(options >> 1 & 3)];
    config.limits.max_block_elements = BLOCK_LIMITS[usize::from(options >> 3 & 1)];

    let mut bench = ProbeBench::new(64, Faults::new(seed, fault_rate));
    let mut front_end = Pyocd::new(&config).front_end();
    let transcript = serve(
        front_end.as_mut(),
        &mut bench,
        input.rest(),
        Prng::new(seed),
    );

    let mut expected = Vec::new();
    for exchange in &transcript.exchanges {
        check_answer(exchange);
        expected.extend_from_slice(&exchange.answer.as_ref().unwrap().0);
    }
    assert_eq!(transcript.written, expected, "answers written out of order");
    assert_eq!(bench.arbiter.open_count(), 0);
    assert_eq!(bench.arbiter.connect_count(), 0);
});

/// One JSON line: `{"id": key, "status": code, ...}`, with an `error`
/// string exactly when the status is not 0.
fn check_answer(exchange: &Exchange) {
    let (bytes, status) = exchange.answer.as_ref().expect("answered");
    let text = std::str::from_utf8(bytes).expect("answers are UTF-8");
    assert_eq!(
        text.find('\n'),
        Some(text.len() - 1),
        "one answer, one line: {text:?}"
    );
    let answer: serde_json::Value = serde_json::from_str(text).expect("answers are JSON");
    assert_eq!(answer["id"].as_i64(), Some(exchange.key), "{text}");
    assert_eq!(
        answer["status"].as_u64(),
        Some(u64::from(status.code)),
        "{text}"
    );
    assert_eq!(
        answer.get("error").is_some_and(|e| e.is_string()),
        status.code != 0,
        "{text}"
    );
}
