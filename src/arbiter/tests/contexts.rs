//! Rules 9–12 in the arbiter: DP addresses in each client's own bank, the
//! core register window, DHCSR's clear-on-read bits for every client, and
//! counts answered while another client holds the lock.

use super::*;
use crate::dap::registers::{DCRDR, DCRSR, DCRSR_REGWNR, DHCSR, S_RESET_ST};
use crate::memap::{MemoryOp, MemoryRequest};
use crate::probe::ApAddress;

const TAR: u32 = 0x04;
const DRW: u32 = 0x0C;
const WORDS: u32 = 0x2300_0002;

fn write_ap(addr: u32, value: u32) -> Op {
    Op::WriteAp { addr, value }
}

/// A and B connected, each with word-sized CSW of its own.
fn two_clients() -> Bench {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    for client in [A, B] {
        bench.op(client, write_ap(0x00, WORDS));
    }
    bench.settle();
    bench
}

/// `client` starts a read of core register `register`: DCRSR without REGWnR.
fn start_register_read(bench: &mut Bench, client: ClientId, register: u32) {
    bench.op(client, write_ap(TAR, DCRSR));
    bench.op(client, write_ap(DRW, register));
}

#[test]
fn a_banked_dp_register_is_sent_in_the_bank_of_its_clients_own_select() {
    let mut bench = two_clients();
    bench.op(
        A,
        Op::WriteDp {
            addr: 0x8,
            value: 1,
        },
    );
    bench.op(A, Op::ReadDp(0x4));
    bench.op(B, Op::ReadDp(0x4));
    bench.settle();
    assert_eq!(bench.sent_count(&Op::ReadDp(0x14)), 1, "A's DLCR");
    assert_eq!(bench.sent_count(&Op::ReadDp(0x4)), 1, "B's CTRL/STAT");
}

#[test]
fn a_register_read_holds_off_other_clients_until_its_dcrdr_read() {
    let mut bench = two_clients();
    start_register_read(&mut bench, A, 4);
    bench.settle();
    let other = bench.op(B, Op::ReadDp(0x0));
    bench.settle();
    assert_eq!(bench.reply(B, other), None, "B waits inside A's window");
    bench.op(A, write_ap(TAR, DHCSR));
    bench.op(A, Op::ReadAp(DRW));
    bench.op(A, write_ap(TAR, DCRDR));
    let data = bench.op(A, Op::ReadAp(DRW));
    bench.settle();
    bench.assert_ok(A, data);
    bench.assert_ok(B, other);
    assert_eq!(bench.arbiter.register_window(), None);
}

/// A DCRSR write that fails selected no register: it opens no window, and
/// the others are not held off for the window's time.
#[test]
fn a_failed_dcrsr_write_holds_nobody_off() {
    let mut bench = two_clients();
    bench.fail_next(
        write_ap(DRW, 4),
        ProbeError::TransferFault("FAULT response to AP write 0xc".into()),
    );
    start_register_read(&mut bench, A, 4);
    bench.settle();
    assert_eq!(bench.arbiter.register_window(), None);
    let other = bench.op(B, Op::ReadDp(0x0));
    bench.settle();
    bench.assert_ok(B, other);
}

/// Inside a window, a failure of another of its client's jobs leaves it
/// open: the register transfer under way is still the client's.
#[test]
fn a_failure_inside_a_window_keeps_it_open() {
    let mut bench = two_clients();
    start_register_read(&mut bench, A, 4);
    bench.settle();
    bench.fail_next(
        Op::ReadAp(DRW),
        ProbeError::TransferFault("FAULT response to AP read 0xc".into()),
    );
    bench.op(A, write_ap(TAR, DHCSR));
    bench.op(A, Op::ReadAp(DRW));
    bench.settle();
    assert_eq!(bench.arbiter.register_window().map(|w| w.client), Some(A));
    let other = bench.op(B, Op::ReadDp(0x0));
    bench.settle();
    assert_eq!(bench.reply(B, other), None, "B still waits");
}

/// A second DCRSR write inside its own window does not start a new one:
/// the window's time limit (rule 10) runs from the first.
#[test]
fn a_window_holders_next_dcrsr_write_keeps_its_window() {
    let mut bench = two_clients();
    start_register_read(&mut bench, A, 4);
    bench.settle();
    let first = bench.arbiter.register_window().expect("window open");
    bench.op(A, write_ap(DRW, 5));
    bench.settle();
    assert_eq!(bench.arbiter.register_window(), Some(first));
    assert!(bench.arbiter.expire_register_window(first.id));
    assert_eq!(bench.arbiter.register_window(), None);
}

/// Several writes to DCRSR in one request (no auto-increment): the last
/// one decides, here a register write, which closes the window.
#[test]
fn the_last_of_repeated_dcrsr_writes_decides_the_window() {
    let mut bench = two_clients();
    bench.op(A, write_ap(TAR, DCRSR));
    bench.op(
        A,
        Op::WriteApMultiple {
            addr: DRW,
            values: vec![4, 4 | DCRSR_REGWNR],
        },
    );
    bench.settle();
    assert_eq!(bench.arbiter.register_window(), None);
    let other = bench.op(B, Op::ReadDp(0x0));
    bench.settle();
    bench.assert_ok(B, other);
}

/// The last of repeated DCRSR writes asks for a register read: the
/// window opens.
#[test]
fn repeated_dcrsr_writes_ending_in_a_read_request_open_the_window() {
    let mut bench = two_clients();
    bench.op(A, write_ap(TAR, DCRSR));
    bench.op(
        A,
        Op::WriteApMultiple {
            addr: DRW,
            values: vec![4 | DCRSR_REGWNR, 4],
        },
    );
    bench.settle();
    assert_eq!(bench.arbiter.register_window().map(|w| w.client), Some(A));
}

/// A memory-handle block write that asks DCRSR for a register read
/// opens the window as a single write does.
#[test]
fn a_block_write_to_dcrsr_through_a_memory_handle_opens_the_window() {
    let mut bench = two_clients();
    bench.submit(
        A,
        Request::Memory(MemoryRequest::Access {
            ap: ApAddress::V1(0),
            op: MemoryOp::WriteBlock32 {
                addr: DCRSR,
                data: vec![4],
            },
        }),
    );
    bench.settle();
    assert_eq!(bench.arbiter.register_window().map(|w| w.client), Some(A));
}

/// Each window has an id of its own: an old window's time limit running
/// out does not close a newer one.
#[test]
fn an_old_windows_expiry_leaves_a_newer_window_open() {
    let mut bench = two_clients();
    start_register_read(&mut bench, A, 4);
    bench.settle();
    let old = bench.arbiter.register_window().expect("first window");
    bench.op(A, write_ap(TAR, DCRDR));
    bench.op(A, Op::ReadAp(DRW));
    bench.settle();
    assert_eq!(bench.arbiter.register_window(), None);
    start_register_read(&mut bench, A, 5);
    bench.settle();
    let new = bench.arbiter.register_window().expect("second window");
    assert_ne!(new.id, old.id);
    assert!(!bench.arbiter.expire_register_window(old.id));
    assert_eq!(bench.arbiter.register_window(), Some(new));
}

/// DCRSR and then DCRDR written in one auto-incrementing request: the
/// later access, a DCRDR write, decides, and holds the window open.
#[test]
fn the_later_of_dcrsr_and_dcrdr_in_one_request_decides_the_window() {
    let mut bench = two_clients();
    bench.op(A, write_ap(0x00, WORDS | 0x10));
    bench.op(A, write_ap(TAR, DCRSR));
    bench.op(
        A,
        Op::WriteApMultiple {
            addr: DRW,
            values: vec![4 | DCRSR_REGWNR, 0x1234],
        },
    );
    bench.settle();
    assert_eq!(bench.arbiter.register_window().map(|w| w.client), Some(A));
}

#[test]
fn a_register_write_holds_off_other_clients_until_its_dcrsr_write() {
    let mut bench = two_clients();
    bench.op(A, write_ap(TAR, DCRDR));
    bench.op(A, write_ap(DRW, 0x1234));
    bench.settle();
    let other = bench.op(B, Op::ReadDp(0x0));
    bench.settle();
    assert_eq!(bench.reply(B, other), None);
    bench.op(A, write_ap(TAR, DCRSR));
    bench.op(A, write_ap(DRW, DCRSR_REGWNR | 4));
    bench.settle();
    bench.assert_ok(B, other);
}

#[test]
fn a_window_ends_when_its_client_goes_or_its_time_is_up() {
    let mut bench = two_clients();
    start_register_read(&mut bench, A, 4);
    bench.settle();
    let window = bench.arbiter.register_window().expect("window open");
    assert_eq!(window.client, A);
    let waiting = bench.op(B, Op::ReadDp(0x0));
    bench.settle();
    assert!(bench.arbiter.expire_register_window(window.id));
    bench.settle();
    bench.assert_ok(B, waiting);
    assert!(
        !bench.arbiter.expire_register_window(window.id),
        "only once"
    );

    start_register_read(&mut bench, B, 5);
    bench.settle();
    let held = bench.op(A, Op::ReadDp(0x0));
    bench.settle();
    assert_eq!(bench.reply(A, held), None);
    bench.arbiter.remove_client(B);
    bench.settle();
    bench.assert_ok(A, held);
}

#[test]
fn a_register_transfer_through_a_memory_handle_opens_the_window_too() {
    let mut bench = two_clients();
    let handle_write = |addr, value| {
        Request::Memory(MemoryRequest::Access {
            ap: ApAddress::V1(0),
            op: MemoryOp::Write {
                addr,
                value,
                size: 32,
            },
        })
    };
    bench.submit(A, handle_write(DCRSR, 4));
    bench.settle();
    assert_eq!(bench.arbiter.register_window().map(|w| w.client), Some(A));
    bench.submit(
        A,
        Request::Memory(MemoryRequest::Access {
            ap: ApAddress::V1(0),
            op: MemoryOp::Read {
                addr: DCRDR,
                size: 32,
            },
        }),
    );
    bench.settle();
    assert_eq!(bench.arbiter.register_window(), None);
}

#[test]
fn a_reset_seen_in_one_clients_dhcsr_read_is_shown_to_every_other_client_once() {
    let mut bench = two_clients();
    for client in [A, B] {
        bench.op(client, write_ap(TAR, DHCSR));
    }
    bench.settle();
    bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(S_RESET_ST | 0x3));
    let a_first = bench.op(A, Op::ReadAp(DRW));
    bench.settle();
    assert_eq!(bench.reply(A, a_first), word(S_RESET_ST | 0x3));
    bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(0x3));
    let b_first = bench.op(B, Op::ReadAp(DRW));
    bench.settle();
    assert_eq!(bench.reply(B, b_first), word(S_RESET_ST | 0x3), "owed to B");
    for client in [A, B] {
        bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(0x3));
        let again = bench.op(client, Op::ReadAp(DRW));
        bench.settle();
        assert_eq!(bench.reply(client, again), word(0x3), "client {client}");
    }
}

/// Only a read of DHCSR carries its clear-on-read bits: a RAM word with
/// the same bit set is no reset, and a reset owed to a client is not
/// added to its RAM words.
#[test]
fn words_read_elsewhere_neither_show_nor_spread_dhcsr_events() {
    let mut bench = two_clients();
    const RAM: u32 = 0x2000_0000;
    bench.op(A, write_ap(TAR, RAM));
    bench.op(B, write_ap(TAR, RAM));
    bench.settle();
    bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(S_RESET_ST));
    let a_ram = bench.op(A, Op::ReadAp(DRW));
    bench.settle();
    assert_eq!(bench.reply(A, a_ram), word(S_RESET_ST));
    bench.op(B, write_ap(TAR, DHCSR));
    bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(0x3));
    let b_dhcsr = bench.op(B, Op::ReadAp(DRW));
    bench.settle();
    assert_eq!(bench.reply(B, b_dhcsr), word(0x3), "no reset was seen");

    // A reset that B sees is owed to A's next DHCSR read, not its RAM read.
    bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(S_RESET_ST | 0x3));
    let b_reset = bench.op(B, Op::ReadAp(DRW));
    bench.op(A, write_ap(TAR, RAM));
    bench.settle();
    assert_eq!(bench.reply(B, b_reset), word(S_RESET_ST | 0x3));
    bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(0x1234));
    let a_word = bench.op(A, Op::ReadAp(DRW));
    bench.settle();
    assert_eq!(bench.reply(A, a_word), word(0x1234));
}

/// A reset owed to a client whose own read shows a reset too: it sees one
/// (the bits are or-ed, never toggled away).
#[test]
fn an_owed_reset_and_a_reset_of_ones_own_read_both_show() {
    let mut bench = two_clients();
    for client in [A, B] {
        bench.op(client, write_ap(TAR, DHCSR));
    }
    bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(S_RESET_ST | 0x3));
    let a_read = bench.op(A, Op::ReadAp(DRW));
    bench.settle();
    assert_eq!(bench.reply(A, a_read), word(S_RESET_ST | 0x3));
    bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(S_RESET_ST | 0x3));
    let b_read = bench.op(B, Op::ReadAp(DRW));
    bench.settle();
    assert_eq!(bench.reply(B, b_read), word(S_RESET_ST | 0x3));
}

/// Two resets seen by one client before another reads DHCSR: the other
/// is owed a reset, not two that cancel out.
#[test]
fn resets_seen_twice_are_owed_once_not_cancelled() {
    let mut bench = two_clients();
    for client in [A, B] {
        bench.op(client, write_ap(TAR, DHCSR));
    }
    for _ in 0..2 {
        bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(S_RESET_ST | 0x3));
        bench.op(A, Op::ReadAp(DRW));
        bench.settle();
    }
    bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(0x3));
    let b_read = bench.op(B, Op::ReadAp(DRW));
    bench.settle();
    assert_eq!(bench.reply(B, b_read), word(S_RESET_ST | 0x3));
}

#[test]
fn counts_are_answered_while_another_client_holds_the_lock() {
    let mut bench = two_clients();
    let lock = bench.lock(A);
    bench.settle();
    bench.assert_ok(A, lock);
    let read = bench.op(B, Op::ReadDp(0x0));
    let open = bench.op(C, Op::Open);
    let connect = bench.op(C, Op::Connect(ProtocolRequest::Default));
    let close = bench.op(C, Op::Close);
    bench.settle();
    bench.assert_ok(C, open);
    bench.assert_ok(C, connect);
    bench.assert_ok(C, close);
    assert_eq!(bench.reply(B, read), None, "probe work still waits");
    bench.unlock(A);
    bench.settle();
    bench.assert_ok(B, read);
}

#[test]
fn a_dhcsr_read_is_noticed_as_the_hardware_answered_it() {
    use crate::arbiter::Notice;
    let mut bench = two_clients();
    for client in [A, B] {
        bench.op(client, write_ap(TAR, DHCSR));
    }
    bench.settle();
    bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(S_RESET_ST | 0x3));
    bench.op(A, Op::ReadAp(DRW));
    bench.settle();
    bench.answer_next(Op::ReadAp(DRW), OpOutput::Word(0x3));
    let owed = bench.op(B, Op::ReadAp(DRW));
    bench.settle();
    assert_eq!(bench.reply(B, owed), word(S_RESET_ST | 0x3), "B's view");
    let mut notices = Vec::new();
    bench.arbiter.take_notices(&mut notices);
    assert_eq!(
        notices,
        [
            Notice::Dhcsr {
                reader: Some(A),
                value: S_RESET_ST | 0x3
            },
            Notice::Dhcsr {
                reader: Some(B),
                value: 0x3
            },
        ],
        "one reset, noticed once"
    );
}
