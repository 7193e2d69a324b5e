//! Rules 6 and 8, barriers and batching: who runs when, and whose result
//! goes where.

use super::*;
use crate::ids::JobId;

#[test]
fn round_robin_between_pipelining_clients() {
    let mut bench = Bench::with_clients(&[A, B, C]);
    for i in 1..=3 {
        bench.op(A, read(0xA0 + i));
    }
    for i in 1..=3 {
        bench.op(B, read(0xB0 + i));
    }
    for i in 1..=2 {
        bench.op(C, read(0xC0 + i));
    }
    bench.poll();
    let expected = [0xA1, 0xB1, 0xC1, 0xA2, 0xB2, 0xC2, 0xA3, 0xB3].map(read);
    assert_eq!(bench.sent, expected);
}

#[test]
fn client_requests_stay_in_order() {
    let mut bench = Bench::with_max_in_flight(2);
    let mut expected = Vec::new();
    for i in 0..6 {
        expected.push((A, bench.op(A, read(0x100 + i)), 0x100 + i));
        expected.push((B, bench.op(B, read(0x200 + i)), 0x200 + i));
        if i == 2 {
            // A barrier in the middle of both pipelines.
            bench.op(C, Op::Open);
        }
    }
    // One job at a time, so every poll has a chance to reorder.
    loop {
        bench.poll();
        if bench.finish_one().is_none() {
            break;
        }
    }
    let of_client = |base: u32| -> Vec<Op> {
        let mut ops = bench.sent.clone();
        ops.retain(|op| matches!(op, Op::ReadAp(addr) if addr & !0xFF == base));
        ops
    };
    assert_eq!(
        of_client(0x100),
        (0..6).map(|i| read(0x100 + i)).collect::<Vec<_>>()
    );
    assert_eq!(
        of_client(0x200),
        (0..6).map(|i| read(0x200 + i)).collect::<Vec<_>>()
    );
    // Each reply carries the result of its own request.
    for (client, ticket, addr) in expected {
        assert_eq!(bench.reply(client, ticket), word(addr));
    }
}

#[test]
fn barrier_op_waits_for_in_flight_jobs() {
    let mut bench = Bench::with_clients(&[A, B, C]);
    bench.op(A, Op::Open);
    bench.settle();
    for i in 0..3 {
        bench.op(A, read(i));
    }
    assert_eq!(bench.poll(), 3);

    let connect = bench.op(B, Op::Connect(ProtocolRequest::Default));
    let behind = bench.op(C, read(0xC0));
    assert_eq!(bench.poll(), 0);
    bench.finish_one();
    assert_eq!(bench.poll(), 0, "two reads still in flight");
    bench.finish_all();
    assert_eq!(bench.poll(), 1, "the connect, alone");
    assert_eq!(
        bench.sent.last(),
        Some(&Op::Connect(ProtocolRequest::Default))
    );
    assert_eq!(bench.poll(), 0, "nothing passes a barrier in flight");
    assert_eq!(bench.reply(C, behind), None);

    bench.finish_all();
    assert_eq!(bench.poll(), 1);
    assert_eq!(bench.sent.last(), Some(&read(0xC0)));
    bench.assert_ok(B, connect);
}

#[test]
fn pipelined_ops_are_batched_up_to_max_in_flight() {
    let mut bench = Bench::with_max_in_flight(4);
    let tickets: Vec<Ticket> = (0..10).map(|i| bench.op(A, read(i))).collect();
    assert_eq!(bench.poll(), 4);
    assert_eq!(bench.poll(), 0, "the pipeline is full");
    bench.finish_one();
    bench.finish_one();
    assert_eq!(bench.poll(), 2);
    assert_eq!(bench.running(), 4);
    bench.settle();
    assert_eq!(bench.batches, [4, 2, 4]);
    for (i, ticket) in (0..).zip(tickets) {
        assert_eq!(bench.reply(A, ticket), word(i));
    }
    assert!(bench.arbiter.is_idle());
}

#[test]
fn answers_without_hardware_do_not_wait_for_the_pipeline() {
    let mut bench = Bench::with_max_in_flight(1);
    bench.op(A, Op::Open);
    bench.settle();
    bench.op(A, read(1));
    let open = bench.op(C, Op::Open);
    let lock = bench.lock(B);
    bench.poll();
    assert_eq!(bench.running(), 1);
    assert_eq!(bench.reply(B, lock), done());
    assert_eq!(bench.reply(C, open), done());
}

#[test]
fn error_goes_only_to_submitting_client() {
    let mut bench = Bench::with_clients(&[A, B]);
    let fault = ProbeError::TransferFault("FAULT ack".into());
    bench.fail_next(read(0xA1), fault.clone());
    let failing = bench.op(A, read(0xA1));
    let others = bench.op(B, read(0xB1));
    let after = bench.op(A, read(0xA2));
    let others_after = bench.op(B, read(0xB2));
    bench.poll();
    assert_eq!(
        bench.batches,
        [4],
        "the failure is in the middle of a batch"
    );
    bench.settle();
    assert_eq!(bench.reply(A, failing), Some(Outcome::Probe(fault)));
    assert_eq!(bench.reply(B, others), word(0xB1));
    assert_eq!(bench.reply(A, after), word(0xA2));
    assert_eq!(bench.reply(B, others_after), word(0xB2));
}

#[test]
fn unknown_completion_is_ignored() {
    let mut bench = Bench::with_clients(&[A]);
    let pending = bench.op(A, read(1));
    bench.poll();
    bench.arbiter.complete(Completion {
        id: JobId(0xDEAD),
        result: Ok(OpOutput::Done),
    });
    bench.poll();
    assert_eq!(bench.reply(A, pending), None);
    bench.settle();
    assert_eq!(bench.reply(A, pending), word(1));
}

#[test]
fn lost_worker_fails_every_job_in_flight() {
    let mut bench = Bench::with_clients(&[A, B]);
    let a = bench.op(A, read(1));
    let b = bench.op(B, read(2));
    bench.poll();
    let gone = ProbeError::Disconnected("worker gone".into());
    bench.arbiter.fail_in_flight(gone.clone());
    bench.poll();
    assert_eq!(bench.reply(A, a), Some(Outcome::Probe(gone.clone())));
    assert_eq!(bench.reply(B, b), Some(Outcome::Probe(gone)));
    assert_eq!(bench.arbiter.in_flight(), 0);
}

#[test]
fn a_dead_worker_fails_the_jobs_in_flight_and_every_queued_request() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    bench.lock(A);
    bench.poll();
    let running = bench.op(A, read(1));
    bench.poll();
    // Behind A's lock: queued, never sent.
    let queued = bench.op(B, read(2));
    let unlock = bench.unlock(B);
    bench.poll();
    assert_eq!(bench.arbiter.in_flight(), 1);
    assert_eq!(bench.arbiter.queued(), 2);
    let gone = ProbeError::Disconnected("internal error".into());
    bench.arbiter.fail_everything(gone.clone());
    bench.poll();
    for (client, ticket) in [(A, running), (B, queued), (B, unlock)] {
        assert_eq!(
            bench.reply(client, ticket),
            Some(Outcome::Probe(gone.clone()))
        );
    }
    assert_eq!(bench.arbiter.in_flight(), 0);
    assert_eq!(bench.arbiter.queued(), 0);
    assert_eq!(bench.sent_count(&read(2)), 0, "a queued request never ran");
}

/// The `flush_after` marks of the next batch.
fn flush_marks(bench: &mut Bench) -> Vec<bool> {
    let mut out = Vec::new();
    bench.arbiter.poll(&mut out);
    out.iter()
        .filter_map(|a| match a {
            Action::Execute(batch) => Some(batch.jobs.iter().map(|j| j.flush_after)),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn each_clients_run_in_a_batch_ends_with_a_flush() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    for _ in 0..3 {
        bench.op(A, Op::WriteAp { addr: 0, value: 1 });
    }
    // One client's run: its deferred writes are settled once, at its end.
    assert_eq!(flush_marks(&mut bench), [false, false, true]);
    bench.settle();
    bench.op(A, Op::WriteAp { addr: 0, value: 1 });
    bench.op(A, Op::WriteAp { addr: 0, value: 1 });
    bench.op(B, read(0));
    // Interleaved A, B, A: every switch settles the previous client's
    // writes, so an error is charged to the client that wrote.
    assert_eq!(flush_marks(&mut bench), [true, true, true]);
}
