//! Rule 4: a client's references die with it.

use super::*;

#[test]
fn dead_client_refs_are_released() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    bench.lock(A);
    bench.settle();

    bench.arbiter.remove_client(A);
    bench.settle();
    assert_eq!(bench.arbiter.open_count(), 1);
    assert_eq!(bench.arbiter.connect_count(), 1);
    assert_eq!(bench.arbiter.lock_holder(), None);
    assert_eq!(bench.sent_count(&Op::Disconnect), 0);
    assert_eq!(bench.sent_count(&Op::Close), 0);

    bench.arbiter.remove_client(B);
    bench.settle();
    assert_eq!(
        bench.sent[bench.sent.len() - 2..],
        [Op::Disconnect, Op::Close]
    );
    assert_eq!(bench.arbiter.open_count(), 0);
    assert_eq!(bench.arbiter.connect_count(), 0);
    assert!(!bench.arbiter.is_open());
    assert_eq!(bench.arbiter.wire_protocol(), None);
    assert!(bench.arbiter.is_idle());
}

#[test]
fn dead_client_in_flight_open_is_closed_after_completion() {
    let mut bench = Bench::with_clients(&[A]);
    let open = bench.op(A, Op::Open);
    assert_eq!(bench.poll(), 1);
    bench.arbiter.remove_client(A);
    assert!(!bench.arbiter.is_idle());

    assert_eq!(bench.finish_one(), Some(Task::Probe(Op::Open)));
    assert_eq!(bench.poll(), 1);
    assert_eq!(bench.sent, [Op::Open, Op::Close]);
    bench.settle();
    assert_eq!(bench.reply(A, open), None, "a dead client gets no reply");
    assert!(!bench.arbiter.is_open());
    assert!(bench.arbiter.is_idle());
}

#[test]
fn dead_client_in_flight_connect_is_disconnected_after_completion() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.op(B, Op::Open);
    bench.settle();
    bench.op(A, Op::Connect(ProtocolRequest::Default));
    assert_eq!(bench.poll(), 1);
    bench.arbiter.remove_client(A);
    bench.settle();
    assert_eq!(bench.sent.last(), Some(&Op::Disconnect));
    assert_eq!(bench.arbiter.wire_protocol(), None);
    assert!(bench.arbiter.is_open(), "B still holds its open");
}

#[test]
fn dead_clients_queued_requests_are_dropped_unanswered() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.lock(B);
    bench.settle();
    let queued = [bench.op(A, Op::Open), bench.op(A, read(1))];
    bench.arbiter.remove_client(A);
    assert_eq!(bench.arbiter.queued(), 0);
    bench.unlock(B);
    bench.settle();
    assert!(bench.sent.is_empty());
    for ticket in queued {
        assert_eq!(bench.reply(A, ticket), None);
    }
}

#[test]
fn reused_client_id_gets_nothing_meant_for_the_old_connection() {
    let mut bench = Bench::with_clients(&[A]);
    let old = bench.op(A, read(1));
    bench.poll();
    bench.arbiter.remove_client(A);
    bench.arbiter.add_client(A);
    let new = bench.op(A, read(2));
    bench.settle();
    assert_eq!(bench.reply(A, old), None);
    assert_eq!(bench.reply(A, new), word(2));
}

#[test]
fn completed_but_unpolled_reply_of_dead_client_is_dropped() {
    let mut bench = Bench::with_clients(&[A]);
    let ticket = bench.op(A, read(1));
    bench.poll();
    bench.finish_one();
    bench.arbiter.remove_client(A);
    bench.settle();
    assert_eq!(bench.reply(A, ticket), None);
}

#[test]
fn release_all_disconnects_and_closes_then_is_idle() {
    let mut bench = Bench::with_clients(&[A, B, C]);
    bench.open_and_connect(&[A, B, C]);
    bench.lock(A);
    bench.op(B, read(1));
    bench.poll();
    assert!(!bench.arbiter.is_idle());

    bench.arbiter.release_all();
    bench.settle();
    assert_eq!(bench.arbiter.clients(), 0);
    assert_eq!(bench.sent_count(&Op::Disconnect), 1);
    assert_eq!(bench.sent.last(), Some(&Op::Close));
    assert!(bench.arbiter.is_idle());
}

#[test]
fn failed_cleanup_is_reported_and_the_probe_taken_as_closed() {
    let mut bench = Bench::with_clients(&[A]);
    bench.op(A, Op::Open);
    bench.settle();
    bench.fail_next(Op::Close, ProbeError::Disconnected("unplugged".into()));
    bench.arbiter.remove_client(A);
    bench.settle();
    assert_eq!(bench.internal_failures, ["close"]);
    assert!(!bench.arbiter.is_open());
    assert!(bench.arbiter.is_idle());
}
