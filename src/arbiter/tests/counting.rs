//! Rules 2 and 3: open/close and connect/disconnect are counted.

use super::*;
use crate::arbiter::SharingError;

const SWD: WireProtocol = WireProtocol::Swd;
const JTAG: WireProtocol = WireProtocol::Jtag;

fn connect(protocol: Option<WireProtocol>) -> Op {
    Op::Connect(protocol.map_or(ProtocolRequest::Default, ProtocolRequest::Specific))
}

#[test]
fn open_is_counted_and_hardware_opened_once() {
    let mut bench = Bench::with_clients(&[A, B, C]);
    let tickets = [A, B, C].map(|client| (client, bench.op(client, Op::Open)));
    bench.settle();
    for (client, ticket) in tickets {
        assert_eq!(bench.reply(client, ticket), done());
    }
    assert_eq!(bench.sent, [Op::Open]);
    assert_eq!(bench.arbiter.open_count(), 3);
    assert!(bench.arbiter.is_open());
}

#[test]
fn close_without_open_is_refused_and_changes_nothing() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.op(A, Op::Open);
    bench.settle();
    let refused = bench.op(B, Op::Close);
    bench.settle();
    assert_eq!(
        bench.reply(B, refused),
        Some(Outcome::Sharing(SharingError::CloseWithoutOpen))
    );
    assert!(!SharingError::CloseWithoutOpen.is_probe_error());
    assert_eq!(bench.arbiter.open_count(), 1);
    assert!(bench.arbiter.is_open());
    assert_eq!(bench.sent, [Op::Open]);
}

#[test]
fn last_close_closes_hardware() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.op(A, Op::Open);
    bench.op(B, Op::Open);
    bench.settle();
    let first = bench.op(A, Op::Close);
    bench.settle();
    assert_eq!(bench.reply(A, first), done());
    assert_eq!(bench.sent_count(&Op::Close), 0);
    assert!(bench.arbiter.is_open());

    let last = bench.op(B, Op::Close);
    bench.settle();
    assert_eq!(bench.reply(B, last), done());
    assert_eq!(bench.sent, [Op::Open, Op::Close]);
    assert!(!bench.arbiter.is_open());
    assert_eq!(bench.arbiter.open_count(), 0);

    // A released its reference already; the next open opens again.
    let again = bench.op(A, Op::Close);
    let reopen = bench.op(A, Op::Open);
    bench.settle();
    assert_eq!(
        bench.reply(A, again),
        Some(Outcome::Sharing(SharingError::CloseWithoutOpen))
    );
    assert_eq!(bench.reply(A, reopen), done());
    assert_eq!(bench.sent_count(&Op::Open), 2);
}

/// Releasing one kind of reference keeps the other: a client that
/// disconnects still holds its `open`, and its `close` is accepted.
#[test]
fn disconnect_keeps_the_clients_open() {
    let mut bench = Bench::with_clients(&[A]);
    bench.open_and_connect(&[A]);
    let disconnect = bench.op(A, Op::Disconnect);
    bench.settle();
    assert_eq!(bench.reply(A, disconnect), done());
    assert_eq!(bench.arbiter.open_count(), 1);
    let close = bench.op(A, Op::Close);
    bench.settle();
    assert_eq!(bench.reply(A, close), done());
    assert_eq!(bench.arbiter.open_count(), 0);
}

/// Each client's own references, as `/probes/{id}/clients` shows them.
#[test]
fn references_are_counted_per_client() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A]);
    bench.op(A, Op::Open);
    bench.settle();
    assert_eq!(bench.arbiter.references_of(A), (2, 1));
    assert_eq!(bench.arbiter.references_of(B), (0, 0));
}

#[test]
fn failed_hardware_open_changes_no_count() {
    let mut bench = Bench::with_clients(&[A, B]);
    let gone = ProbeError::Disconnected("usb gone".into());
    bench.fail_next(Op::Open, gone.clone());
    let failed = bench.op(A, Op::Open);
    bench.settle();
    assert_eq!(bench.reply(A, failed), Some(Outcome::Probe(gone)));
    assert_eq!(bench.arbiter.open_count(), 0);
    assert!(!bench.arbiter.is_open());

    let close = bench.op(A, Op::Close);
    let retry = bench.op(B, Op::Open);
    bench.settle();
    assert_eq!(
        bench.reply(A, close),
        Some(Outcome::Sharing(SharingError::CloseWithoutOpen))
    );
    assert_eq!(bench.reply(B, retry), done());
    assert_eq!(bench.sent, [Op::Open, Op::Open]);
    assert_eq!(bench.arbiter.open_count(), 1);
}

#[test]
fn second_connect_with_other_protocol_is_probe_error() {
    let mut bench = Bench::with_clients(&[A, B, C, D]);
    bench.open_and_connect(&[A]);
    assert_eq!(bench.arbiter.wire_protocol(), Some(SWD));

    let conflicting = bench.op(B, connect(Some(JTAG)));
    let same = bench.op(C, connect(Some(SWD)));
    let default = bench.op(D, connect(None));
    bench.settle();
    let conflict = SharingError::ProtocolConflict(SWD);
    assert_eq!(
        bench.reply(B, conflicting),
        Some(Outcome::Sharing(conflict.clone()))
    );
    assert!(conflict.is_probe_error());
    assert_eq!(
        conflict.to_string(),
        "probe already connected using SWD protocol"
    );
    let connected = Some(Outcome::Ok(OpOutput::Connected(SWD)));
    assert_eq!(bench.reply(C, same), connected);
    assert_eq!(bench.reply(D, default), connected);
    assert_eq!(bench.arbiter.connect_count(), 3);
    assert_eq!(bench.sent_count(&connect(None)), 1);
    assert_eq!(
        bench.sent.len(),
        2,
        "open and one connect: {:?}",
        bench.sent
    );
}

#[test]
fn first_connect_chooses_the_protocol() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.op(A, Op::Open);
    bench.settle();
    let first = bench.op(A, connect(Some(JTAG)));
    let default = bench.op(B, connect(None));
    bench.settle();
    assert_eq!(
        bench.reply(A, first),
        Some(Outcome::Ok(OpOutput::Connected(JTAG)))
    );
    assert_eq!(
        bench.reply(B, default),
        Some(Outcome::Ok(OpOutput::Connected(JTAG)))
    );
    assert_eq!(bench.arbiter.wire_protocol(), Some(JTAG));
}

#[test]
fn failed_hardware_connect_changes_no_count() {
    let mut bench = Bench::with_clients(&[A]);
    bench.op(A, Op::Open);
    let refused = ProbeError::Probe("no target".into());
    bench.fail_next(connect(None), refused.clone());
    let failed = bench.op(A, connect(None));
    let retry = bench.op(A, connect(None));
    bench.settle();
    assert_eq!(bench.reply(A, failed), Some(Outcome::Probe(refused)));
    assert_eq!(
        bench.reply(A, retry),
        Some(Outcome::Ok(OpOutput::Connected(SWD)))
    );
    assert_eq!(bench.sent_count(&connect(None)), 2);
    assert_eq!(bench.arbiter.connect_count(), 1);
}

#[test]
fn last_disconnect_disconnects_hardware() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    let first = bench.op(A, Op::Disconnect);
    bench.settle();
    assert_eq!(bench.reply(A, first), done());
    assert_eq!(bench.sent_count(&Op::Disconnect), 0);

    let refused = bench.op(A, Op::Disconnect);
    let last = bench.op(B, Op::Disconnect);
    bench.settle();
    assert_eq!(
        bench.reply(A, refused),
        Some(Outcome::Sharing(SharingError::DisconnectWithoutConnect))
    );
    assert_eq!(bench.reply(B, last), done());
    assert_eq!(bench.sent_count(&Op::Disconnect), 1);
    assert_eq!(bench.arbiter.wire_protocol(), None);
    assert_eq!(bench.arbiter.connect_count(), 0);
}

#[test]
fn failed_hardware_disconnect_still_releases_the_reference() {
    let mut bench = Bench::with_clients(&[A]);
    bench.open_and_connect(&[A]);
    let error = ProbeError::Transfer("no ack".into());
    bench.fail_next(Op::Disconnect, error.clone());
    let last = bench.op(A, Op::Disconnect);
    bench.settle();
    assert_eq!(bench.reply(A, last), Some(Outcome::Probe(error)));
    assert_eq!(bench.arbiter.connect_count(), 0);
    assert_eq!(bench.arbiter.wire_protocol(), None);
}

/// The last `close` is the client's own hardware close: its failure is
/// that client's answer, and the reference is released all the same.
#[test]
fn failed_hardware_close_is_the_last_closers_error() {
    let mut bench = Bench::with_clients(&[A]);
    bench.op(A, Op::Open);
    bench.settle();
    let error = ProbeError::Disconnected("usb gone".into());
    bench.fail_next(Op::Close, error.clone());
    let last = bench.op(A, Op::Close);
    bench.settle();
    assert_eq!(bench.reply(A, last), Some(Outcome::Probe(error)));
    assert_eq!(bench.arbiter.open_count(), 0);
    assert!(!bench.arbiter.is_open());
}

/// The reverse order: a client that closes before it disconnects still
/// holds its `connect`, and its `disconnect` is accepted.
#[test]
fn close_keeps_the_clients_connect() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    let close = bench.op(A, Op::Close);
    bench.settle();
    assert_eq!(bench.reply(A, close), done());
    assert_eq!(bench.arbiter.references_of(A), (0, 1));
    let disconnect = bench.op(A, Op::Disconnect);
    bench.settle();
    assert_eq!(bench.reply(A, disconnect), done());
    assert_eq!(bench.arbiter.references_of(A), (0, 0));
    assert_eq!(bench.arbiter.connect_count(), 1, "B's");
}

/// Counted operations never run inside a sequence: refused whole, with
/// nothing counted or sent.
#[test]
fn a_sequence_with_a_counted_operation_is_refused() {
    let mut bench = Bench::with_clients(&[A]);
    bench.op(A, Op::Open);
    bench.settle();
    for counted in [Op::Open, Op::Close, connect(None), Op::Disconnect] {
        let sent = bench.sent.len();
        let refused = bench.submit(A, Request::Sequence(vec![Op::ReadDp(0), counted.clone()]));
        bench.settle();
        assert!(
            matches!(
                bench.reply(A, refused),
                Some(Outcome::Probe(ProbeError::InvalidArgument(_)))
            ),
            "{counted:?}"
        );
        assert_eq!(bench.sent.len(), sent, "{counted:?} sent something");
    }
    assert_eq!(bench.arbiter.references_of(A), (1, 0));
}

#[test]
fn closing_the_probe_takes_the_wire_down() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A]);
    // A closes without disconnecting; the probe closes under its connect.
    bench.op(A, Op::Close);
    bench.settle();
    assert_eq!(bench.arbiter.wire_protocol(), None);

    bench.op(B, Op::Open);
    let connect_again = bench.op(B, connect(None));
    bench.settle();
    assert_eq!(
        bench.reply(B, connect_again),
        Some(Outcome::Ok(OpOutput::Connected(SWD)))
    );
    assert_eq!(bench.sent_count(&connect(None)), 2);
    assert_eq!(bench.arbiter.connect_count(), 2);
}

#[test]
fn open_client_that_saw_the_wire_up_keeps_it_after_the_connecting_client_dies() {
    // pyOCD's second client reads `wire_protocol`, sees it up, and never
    // sends `connect`.
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A]);
    bench.op(B, Op::Open);
    bench.settle();
    assert_eq!(bench.arbiter.observe_wire(B), Some(SWD));

    bench.arbiter.remove_client(A);
    bench.settle();
    assert_eq!(bench.sent_count(&Op::Disconnect), 0);
    assert_eq!(bench.arbiter.wire_protocol(), Some(SWD));

    let disconnect = bench.op(B, Op::Disconnect);
    bench.settle();
    assert_eq!(bench.reply(B, disconnect), done());
    assert_eq!(bench.sent_count(&Op::Disconnect), 1);
    assert_eq!(bench.arbiter.wire_protocol(), None);
}

#[test]
fn seeing_the_wire_up_counts_once_and_only_for_clients_with_the_probe_open() {
    let mut bench = Bench::with_clients(&[A, B, C]);
    bench.open_and_connect(&[A]);
    bench.op(B, Op::Open);
    bench.settle();

    assert_eq!(bench.arbiter.observe_wire(C), Some(SWD));
    assert_eq!(bench.arbiter.connect_count(), 1, "C has not opened");
    assert_eq!(bench.arbiter.observe_wire(B), Some(SWD));
    assert_eq!(bench.arbiter.observe_wire(B), Some(SWD));
    assert_eq!(bench.arbiter.connect_count(), 2, "B counted once");
    assert_eq!(bench.arbiter.observe_wire(A), Some(SWD));
    assert_eq!(bench.arbiter.connect_count(), 2, "A already connected");
}

#[test]
fn wire_going_down_reads_as_down_and_counts_nobody() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A]);
    bench.op(B, Op::Open);
    bench.settle();
    bench.op(A, Op::Disconnect);
    assert_eq!(bench.poll(), 1, "the hardware disconnect is in flight");

    assert_eq!(bench.arbiter.observe_wire(B), None);
    bench.settle();
    assert_eq!(bench.arbiter.connect_count(), 0);
    assert_eq!(bench.arbiter.wire_protocol(), None);
}

#[test]
fn seeing_the_wire_adopts_nothing_for_a_client_that_asked_for_it_itself() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    bench.op(B, Op::Disconnect);
    bench.settle();

    assert_eq!(bench.arbiter.observe_wire(B), Some(SWD));
    assert_eq!(bench.arbiter.connect_count(), 1, "B let go of the wire");
}
