//! CMSIS-DAP packets over TCP from a hostile client (the DAP port, as
//! OpenOCD's `cmsis-dap` tcp backend speaks it), through framing, command
//! decoding, the arbiter and the virtual target, with probe failures
//! injected: every request packet up to the first bad header gets exactly
//! one response packet, in order, that fits the announced packet size and
//! starts with the request's command id (or DAP_Invalid); DAP_TransferAbort
//! and the hidden `open` are answered with nothing.
//!
//! Input: the fault rate, a seed for read sizes and faults, then the
//! client's byte stream.

#![no_main]

use libfuzzer_sys::fuzz_target;
use probeshare::cmsis_dap::tcp::{Header, HEADER_LEN, SIGNATURE, TYPE_REQUEST, TYPE_RESPONSE};
use probeshare::server::fuzzing::{CmsisDapTcp, WireFormat, PACKET_SIZE};
use probeshare_fuzz::bench::{Faults, ProbeBench};
use probeshare_fuzz::front_end::serve;
use probeshare_fuzz::input::{Input, Prng};

const ID_TRANSFER_ABORT: u8 = 0x07;
const ID_INVALID: u8 = 0xFF;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let fault_rate = input.byte() / 4;
    let seed = input.u32();
    let stream = input.rest();

    let mut bench = ProbeBench::new(64, Faults::new(seed, fault_rate));
    let mut front_end = CmsisDapTcp.front_end();
    let transcript = serve(front_end.as_mut(), &mut bench, stream, Prng::new(seed));

    let requests = request_ids(stream);
    let answered: Vec<_> = transcript
        .exchanges
        .iter()
        .filter(|exchange| exchange.name != "open")
        .collect();
    assert_eq!(
        answered.len(),
        requests.len(),
        "one answer per request packet"
    );
    let mut expected = Vec::new();
    for (exchange, &id) in answered.iter().zip(&requests) {
        let (bytes, _) = exchange.answer.as_ref().expect("answered");
        expected.extend_from_slice(bytes);
        if bytes.is_empty() {
            assert_eq!(
                id, ID_TRANSFER_ABORT,
                "{} answered with nothing",
                exchange.name
            );
            continue;
        }
        let header = Header::parse(bytes.first_chunk::<HEADER_LEN>().expect("a header"));
        assert_eq!(header.signature, SIGNATURE);
        assert_eq!(header.packet_type, TYPE_RESPONSE);
        let payload = &bytes[HEADER_LEN..];
        assert_eq!(
            usize::from(header.length),
            payload.len(),
            "one packet per answer"
        );
        assert!(header.length <= PACKET_SIZE, "{} bytes", header.length);
        assert!(
            payload[0] == id || payload[0] == ID_INVALID,
            "request {id:#04x} answered {:#04x}",
            payload[0]
        );
    }
    for exchange in transcript.exchanges.iter().filter(|e| e.name == "open") {
        assert!(
            exchange.answer.as_ref().unwrap().0.is_empty(),
            "open answered"
        );
    }
    assert_eq!(transcript.written, expected, "answers written out of order");
    assert_eq!(bench.arbiter.open_count(), 0);
    assert_eq!(bench.arbiter.connect_count(), 0);
});

/// The command id of each whole request packet before the first header
/// the port must refuse (signature, type, empty or over the packet size).
fn request_ids(mut stream: &[u8]) -> Vec<u8> {
    let mut ids = Vec::new();
    while let Some(header) = stream.first_chunk::<HEADER_LEN>() {
        let header = Header::parse(header);
        let length = usize::from(header.length);
        let trusted = header.signature == SIGNATURE
            && header.packet_type == TYPE_REQUEST
            && length > 0
            && header.length <= PACKET_SIZE;
        if !trusted || stream.len() < HEADER_LEN + length {
            break;
        }
        ids.push(stream[HEADER_LEN]);
        stream = &stream[HEADER_LEN + length..];
    }
    ids
}
