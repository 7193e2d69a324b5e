//! The DAP port's front end alone, without a socket or a loop: what each
//! packet becomes, and the reply each outcome gives.

use super::*;
use crate::arbiter::{Arbiter, ArbiterConfig};
use crate::cmsis_dap::tcp::{encode_packet, TYPE_REQUEST};
use crate::ids::ClientId;
use crate::probe::ProbeInfo;

fn info() -> ProbeInfo {
    ProbeInfo {
        unique_id: "sim:test".into(),
        vendor_name: "v".into(),
        product_name: "p".into(),
        description: "d".into(),
        supported_wire_protocols: vec![WireProtocol::Swd],
        capabilities: vec![],
        firmware_version: None,
    }
}

/// A front end and what it needs to route.
struct Port {
    client: DapClient,
    arbiter: Arbiter,
    info: ProbeInfo,
}

impl Port {
    fn new() -> Port {
        Port {
            client: DapClient::new(),
            arbiter: Arbiter::new(ArbiterConfig::default()),
            info: info(),
        }
    }

    /// Sends one packet and takes every request it becomes.
    fn send(&mut self, payload: &[u8]) -> Vec<Incoming> {
        let mut bytes = Vec::new();
        encode_packet(&mut bytes, TYPE_REQUEST, payload);
        let mut scratch = vec![0u8; 4096];
        let mut source = &bytes[..];
        while !source.is_empty() {
            self.client.read_from(&mut source, &mut scratch).unwrap();
        }
        let mut view = ProbeView::new(ClientId(1), &self.info, &mut self.arbiter);
        std::iter::from_fn(|| self.client.next_request(&mut view)).collect()
    }

    /// Encodes `outcome` for `incoming` and returns the reply payload.
    fn answer(&mut self, incoming: &Incoming, outcome: Outcome) -> Vec<u8> {
        let mut out = Vec::new();
        self.client.encode(&mut out, incoming.key, outcome);
        strip_header(out)
    }
}

fn strip_header(bytes: Vec<u8>) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    assert_eq!(&bytes[..4], b"DAP\0");
    assert_eq!(bytes[6], 2, "response type");
    bytes[8..].to_vec()
}

fn local_reply(incoming: &Incoming) -> Vec<u8> {
    match &incoming.route {
        Route::Answer(encoded) | Route::Reject(encoded) => strip_header(encoded.bytes.clone()),
        Route::Arbitrate(request) => panic!("expected a local answer, got {request:?}"),
        Route::EndSession(_) => panic!("the DAP port has no session commands"),
    }
}

fn arbitrated(incoming: &Incoming) -> &Request {
    match &incoming.route {
        Route::Arbitrate(request) => request,
        _ => panic!("expected probe work"),
    }
}

fn sequence(outputs: Vec<OpOutput>, failure: Option<ProbeError>) -> Outcome {
    Outcome::Ok(OpOutput::Sequence(SequenceOutput { outputs, failure }))
}

#[test]
fn info_is_answered_without_the_probe() {
    let mut port = Port::new();
    let replies = port.send(&[0x00, 0xFF]);
    assert_eq!(replies.len(), 1);
    assert_eq!(local_reply(&replies[0]), [0x00, 2, 0x00, 0x04]);
    let serial = port.send(&[0x00, 0x03]);
    assert_eq!(local_reply(&serial[0]), b"\x00\x09sim:test\x00");
}

#[test]
fn the_first_probe_request_is_preceded_by_a_silent_open() {
    let mut port = Port::new();
    let connect = port.send(&[0x02, 0x01]);
    assert_eq!(connect.len(), 2);
    assert_eq!(arbitrated(&connect[0]), &Request::Probe(Op::Open));
    assert_eq!(
        arbitrated(&connect[1]),
        &Request::Probe(Op::Connect(ProtocolRequest::Specific(WireProtocol::Swd)))
    );
    assert_eq!(port.answer(&connect[0], Outcome::Ok(OpOutput::Done)), b"");
    assert_eq!(
        port.answer(
            &connect[1],
            Outcome::Ok(OpOutput::Connected(WireProtocol::Swd))
        ),
        [0x02, 0x01]
    );
    let again = port.send(&[0x03]);
    assert_eq!(again.len(), 1, "opened once per connection");
    assert_eq!(arbitrated(&again[0]), &Request::Probe(Op::Disconnect));
}

#[test]
fn a_refused_connect_reports_no_mode() {
    let mut port = Port::new();
    let connect = port.send(&[0x02, 0x00]);
    let refused = Outcome::Sharing(crate::arbiter::SharingError::ProtocolConflict(
        WireProtocol::Jtag,
    ));
    assert_eq!(port.answer(&connect[1], refused), [0x02, 0x00]);
    let jtag = port.send(&[0x02, 0x02]);
    assert_eq!(local_reply(&jtag[0]), [0x02, 0x00], "JTAG is not served");
}

#[test]
fn ap_transfers_use_the_clients_own_select() {
    let mut port = Port::new();
    port.send(&[0x02, 0x01]);
    // SELECT = AP 1, bank 0xF; then read AP register 0xC (IDR).
    let transfer = port.send(&[0x05, 0, 2, 0x08, 0xF0, 0, 0, 0x01, 0x0F]);
    assert_eq!(
        arbitrated(&transfer[0]),
        &Request::Sequence(vec![
            Op::WriteDp {
                addr: 0x8,
                value: 0x0100_00F0
            },
            Op::ReadAp(0x0100_00FC),
        ])
    );
    let reply = port.answer(
        &transfer[0],
        sequence(vec![OpOutput::Done, OpOutput::Word(0x2477_0011)], None),
    );
    assert_eq!(reply, [0x05, 2, 0x01, 0x11, 0x00, 0x77, 0x24]);
}

#[test]
fn a_failed_transfer_reports_the_count_before_it_and_its_acknowledge() {
    let mut port = Port::new();
    port.send(&[0x02, 0x01]);
    let transfer = port.send(&[0x05, 0, 3, 0x02, 0x0F, 0x0F]);
    let fault = ProbeError::TransferFault("FAULT".into());
    let reply = port.answer(
        &transfer[0],
        sequence(vec![OpOutput::Word(0x2BA0_1477)], Some(fault)),
    );
    assert_eq!(reply, [0x05, 1, 0x04, 0x77, 0x14, 0xA0, 0x2B]);
}

#[test]
fn match_reads_compare_under_the_mask_and_report_a_mismatch() {
    let mut port = Port::new();
    port.send(&[0x02, 0x01]);
    // Match mask 0xFF, then a DP read of 0x4 that must match 0x40.
    let transfer = port.send(&[0x05, 0, 2, 0x20, 0xFF, 0, 0, 0, 0x16, 0x40, 0, 0, 0]);
    assert_eq!(
        arbitrated(&transfer[0]),
        &Request::Sequence(vec![Op::ReadDp(0x4)])
    );
    let matching = port.answer(
        &transfer[0],
        sequence(vec![OpOutput::Word(0xF000_0040)], None),
    );
    assert_eq!(matching, [0x05, 2, 0x01]);
    let transfer = port.send(&[0x05, 0, 1, 0x16, 0x40, 0, 0, 0]);
    let mismatch = port.answer(&transfer[0], sequence(vec![OpOutput::Word(0x41)], None));
    assert_eq!(mismatch, [0x05, 0, 0x11]);
}

#[test]
fn block_reads_become_one_multiple_read_and_fit_the_packet_size() {
    let mut port = Port::new();
    port.send(&[0x02, 0x01]);
    let block = port.send(&[0x06, 0, 2, 0, 0x0F]);
    assert_eq!(
        arbitrated(&block[0]),
        &Request::Sequence(vec![Op::ReadApMultiple {
            addr: 0xC,
            count: 2
        }])
    );
    let reply = port.answer(&block[0], sequence(vec![OpOutput::Words(vec![1, 2])], None));
    assert_eq!(reply, [0x06, 2, 0, 0x01, 1, 0, 0, 0, 2, 0, 0, 0]);
    let too_big = port.send(&[0x06, 0, 0x00, 0x01, 0x0F]);
    assert_eq!(local_reply(&too_big[0]), [0x06, 0xFF]);
}

#[test]
fn unknown_and_malformed_commands_get_firmware_replies() {
    let mut port = Port::new();
    assert_eq!(local_reply(&port.send(&[0x7F, 0])[0]), [0xFF]);
    assert_eq!(local_reply(&port.send(&[0x11, 1])[0]), [0x11, 0xFF]);
}

#[test]
fn a_broken_header_ends_the_stream_as_if_the_peer_had_closed_it() {
    let mut client = DapClient::new();
    let mut scratch = vec![0u8; 64];
    let garbage = [0u8; 16];
    let (n, short) = client.read_from(&mut &garbage[..], &mut scratch).unwrap();
    assert_eq!((n, short), (16, false), "read again: the stream is over");
    let mut arbiter = Arbiter::new(ArbiterConfig::default());
    let info = info();
    let mut view = ProbeView::new(ClientId(1), &info, &mut arbiter);
    assert!(client.next_request(&mut view).is_none());
    let end = client.read_from(&mut &garbage[..], &mut scratch).unwrap();
    assert_eq!(end.0, 0, "EOF");
}
