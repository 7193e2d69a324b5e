//! Rule 5: the lock is exclusive, re-entrant, FIFO, and dies with its holder.

use super::*;
use crate::arbiter::SharingError;

#[test]
fn lock_holder_disconnect_releases_waiters() {
    let mut bench = Bench::with_clients(&[A, B, C]);
    let outer = bench.lock(A);
    let inner = bench.lock(A);
    bench.settle();
    assert_eq!(bench.reply(A, outer), done());
    assert_eq!(bench.reply(A, inner), done());

    let waiting_read = bench.op(B, read(0x10));
    let waiting_lock = bench.lock(C);
    bench.settle();
    assert_eq!(bench.reply(B, waiting_read), None);
    assert_eq!(bench.reply(C, waiting_lock), None);

    // A dies holding two nesting levels: all of them go.
    bench.arbiter.remove_client(A);
    bench.settle();
    assert_eq!(bench.reply(B, waiting_read), word(0x10));
    assert_eq!(bench.reply(C, waiting_lock), done());
    assert_eq!(bench.arbiter.lock_holder(), Some(C));
}

#[test]
fn waiting_locks_granted_fifo() {
    let mut bench = Bench::with_clients(&[A, B, C, D]);
    bench.lock(A);
    bench.settle();
    assert_eq!(bench.arbiter.lock_waits(), 0, "a free lock is no wait");
    // Waiting order C, B, D: not the order of the client ids.
    let c_lock = bench.lock(C);
    let b_lock = bench.lock(B);
    let d_lock = bench.lock(D);
    bench.settle();
    assert_eq!(bench.arbiter.lock_holder(), Some(A));
    assert_eq!(bench.arbiter.lock_waits(), 3, "the metric counts each wait");

    let mut holders = Vec::new();
    for releasing in [A, C, B] {
        bench.unlock(releasing);
        bench.settle();
        holders.push(bench.arbiter.lock_holder());
    }
    assert_eq!(holders, [Some(C), Some(B), Some(D)]);
    for (client, ticket) in [(C, c_lock), (B, b_lock), (D, d_lock)] {
        assert_eq!(bench.reply(client, ticket), done());
    }
}

#[test]
fn unlock_by_non_holder_is_refused() {
    let mut bench = Bench::with_clients(&[A, B]);
    let nobody_holds = bench.unlock(B);
    bench.settle();
    assert_eq!(
        bench.reply(B, nobody_holds),
        Some(Outcome::Sharing(SharingError::NotLockHolder))
    );

    bench.lock(A);
    bench.settle();
    let other_holds = bench.unlock(B);
    let holders_read = bench.op(A, read(0x20));
    bench.settle();
    // B's unlock waits its turn and takes nothing from A meanwhile.
    assert_eq!(bench.reply(A, holders_read), word(0x20));
    assert_eq!(bench.arbiter.lock_holder(), Some(A));

    bench.unlock(A);
    bench.settle();
    assert_eq!(
        bench.reply(B, other_holds),
        Some(Outcome::Sharing(SharingError::NotLockHolder))
    );
    assert_eq!(bench.arbiter.lock_holder(), None);
    assert!(!SharingError::NotLockHolder.is_probe_error());
}

#[test]
fn lock_is_reentrant_for_holder() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.lock(A);
    bench.lock(A);
    let inner_unlock = bench.unlock(A);
    let others_read = bench.op(B, read(0x30));
    let holders_read = bench.op(A, read(0x34));
    bench.settle();
    assert_eq!(bench.reply(A, inner_unlock), done());
    assert_eq!(bench.arbiter.lock_holder(), Some(A));
    assert_eq!(bench.reply(A, holders_read), word(0x34));
    assert_eq!(bench.reply(B, others_read), None);
    assert!(!bench.sent.contains(&read(0x30)));

    bench.unlock(A);
    bench.settle();
    assert_eq!(bench.arbiter.lock_holder(), None);
    assert_eq!(bench.reply(B, others_read), word(0x30));
}

#[test]
fn requests_of_others_wait_while_locked_then_run_in_arrival_order() {
    let mut bench = Bench::with_clients(&[A, B, C]);
    bench.lock(A);
    bench.settle();
    bench.op(B, read(0xB1));
    bench.op(C, read(0xC1));
    bench.op(B, read(0xB2));
    bench.op(A, read(0xA1));
    bench.settle();
    assert_eq!(bench.sent, [read(0xA1)]);

    bench.unlock(A);
    bench.settle();
    assert_eq!(bench.sent, [read(0xA1), read(0xB1), read(0xC1), read(0xB2)]);
}

#[test]
fn pipelined_lock_section_runs_before_waiters_without_interleaving() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.lock(A);
    bench.op(A, read(0xA1));
    bench.op(B, read(0xB1));
    bench.op(A, read(0xA2));
    bench.unlock(A);
    bench.op(B, read(0xB2));
    // Everything is decided in one poll; the worker runs it in this order.
    assert_eq!(bench.poll(), 4);
    assert_eq!(bench.sent, [read(0xA1), read(0xA2), read(0xB1), read(0xB2)]);
}

#[test]
fn the_lock_is_noticed_when_granted_waited_for_and_released_even_by_death() {
    use crate::arbiter::Notice;
    let mut bench = Bench::with_clients(&[A, B]);
    bench.lock(A);
    bench.lock(A);
    bench.settle();
    bench.lock(B);
    bench.settle();
    bench.unlock(A);
    bench.settle();
    let mut notices = Vec::new();
    bench.arbiter.take_notices(&mut notices);
    assert_eq!(
        notices,
        [
            Notice::LockGranted(A),
            Notice::LockWaiting {
                client: B,
                holder: A
            },
        ],
        "nesting is no new grant, and an inner unlock no release"
    );
    bench.unlock(A);
    bench.settle();
    bench.arbiter.remove_client(B);
    bench.arbiter.take_notices(&mut notices);
    assert_eq!(
        notices[2..],
        [
            Notice::LockReleased(A),
            Notice::LockGranted(B),
            Notice::LockReleased(B),
        ]
    );
}
