//! `Arbiter::is_using`: who a session must wait for or preempt.

use super::*;

#[test]
fn a_client_uses_the_probe_while_it_holds_or_waits_for_anything() {
    let mut bench = Bench::with_clients(&[A, B, C]);
    assert!(!bench.arbiter.is_using(A), "connected, nothing asked");

    let open = bench.op(A, Op::Open);
    assert!(bench.arbiter.is_using(A), "a request waiting");
    bench.poll();
    assert!(bench.arbiter.is_using(A), "a job running");
    bench.settle();
    bench.assert_ok(A, open);
    assert!(bench.arbiter.is_using(A), "an open held");

    bench.lock(B);
    bench.settle();
    assert!(bench.arbiter.is_using(B), "the lock held, nothing else");
    assert!(!bench.arbiter.is_using(C));

    bench.op(A, Op::Close);
    bench.unlock(B);
    bench.settle();
    assert!(!bench.arbiter.is_using(A), "closed again");
    assert!(!bench.arbiter.is_using(B), "unlocked");
}

#[test]
fn a_removed_client_uses_nothing_even_with_a_job_still_running() {
    let mut bench = Bench::with_clients(&[A]);
    bench.op(A, Op::Open);
    bench.poll();
    bench.arbiter.remove_client(A);
    assert!(!bench.arbiter.is_using(A));
    bench.settle();
    assert!(!bench.arbiter.is_using(A));
}
