//! Rule 7: one client cannot power down the others' debug port.

use super::*;

const CTRL_STAT: u32 = 0x4;
/// What pyOCD writes first when powering down: system power off.
const SYSTEM_OFF: u32 = 0x1000_0F00;
/// What pyOCD writes next: debug power off too.
const ALL_OFF: u32 = 0x0000_0F00;
const ALL_ON: u32 = 0x5000_0F00;

fn write_ctrl_stat(value: u32) -> Op {
    Op::WriteDp {
        addr: CTRL_STAT,
        value,
    }
}

#[test]
fn power_down_write_is_masked_while_others_connected() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    let first = bench.op(A, write_ctrl_stat(SYSTEM_OFF));
    let second = bench.op(A, write_ctrl_stat(ALL_OFF));
    // DP bank 1 at address 0x4 (DLCR) is not CTRL/STAT.
    let dlcr = Op::WriteDp {
        addr: 0x14,
        value: 0,
    };
    bench.op(A, dlcr.clone());
    bench.op(A, Op::ReadDp(CTRL_STAT));
    bench.settle();
    assert_eq!(
        bench.sent[bench.sent.len() - 4..],
        [
            write_ctrl_stat(ALL_ON),
            write_ctrl_stat(ALL_ON),
            dlcr,
            Op::ReadDp(CTRL_STAT)
        ]
    );
    assert_eq!(bench.reply(A, first), done());
    assert_eq!(bench.reply(A, second), done());
}

#[test]
fn power_down_by_the_only_connected_client_is_not_masked() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A]);
    // B is open but not connected: nobody else needs the port.
    bench.op(B, Op::Open);
    bench.op(A, write_ctrl_stat(ALL_OFF));
    bench.settle();
    assert_eq!(bench.sent.last(), Some(&write_ctrl_stat(ALL_OFF)));
    bench.op(A, Op::Disconnect);
    bench.settle();
    // Nothing was deferred, so nothing is replayed.
    assert_eq!(bench.sent_count(&write_ctrl_stat(ALL_OFF)), 1);
}

#[test]
fn last_client_leaving_applies_masked_power_down() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    bench.op(A, write_ctrl_stat(SYSTEM_OFF));
    bench.op(A, write_ctrl_stat(ALL_OFF));
    bench.op(A, Op::Disconnect);
    bench.settle();
    assert_eq!(bench.sent_count(&Op::Disconnect), 0);
    let before = bench.sent.len();

    // B dies without powering down: A's request is carried out now. A
    // still holds its open, so the probe stays open.
    bench.arbiter.remove_client(B);
    bench.settle();
    assert_eq!(
        bench.sent[before..],
        [
            write_ctrl_stat(SYSTEM_OFF),
            write_ctrl_stat(ALL_OFF),
            Op::Disconnect
        ]
    );
    assert!(bench.arbiter.is_open());
}

#[test]
fn last_disconnect_applies_masked_power_down_before_the_hardware_disconnect() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    bench.op(B, write_ctrl_stat(ALL_OFF));
    bench.op(B, Op::Disconnect);
    bench.settle();
    let before = bench.sent.len();
    let last = bench.op(A, Op::Disconnect);
    bench.settle();
    assert_eq!(
        bench.sent[before..],
        [
            write_ctrl_stat(SYSTEM_OFF),
            write_ctrl_stat(ALL_OFF),
            Op::Disconnect
        ]
    );
    assert_eq!(bench.reply(A, last), done());
}

#[test]
fn later_unmasked_ctrl_stat_write_replaces_the_deferred_power_down() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    bench.op(A, write_ctrl_stat(ALL_OFF));
    // B powers the port up again: the latest request is "powered".
    bench.op(B, write_ctrl_stat(ALL_ON));
    bench.settle();
    let before = bench.sent.len();
    bench.arbiter.release_all();
    bench.settle();
    assert_eq!(bench.sent[before..], [Op::Disconnect, Op::Close]);
}

#[test]
fn masked_client_reads_ctrl_stat_as_powered_down_while_others_see_it_powered() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    bench.op(A, write_ctrl_stat(ALL_ON));
    bench.op(A, write_ctrl_stat(SYSTEM_OFF));
    let after_first = bench.op(A, Op::ReadDp(CTRL_STAT));
    bench.op(A, write_ctrl_stat(ALL_OFF));
    let a_reads = bench.op(A, Op::ReadDp(CTRL_STAT));
    let b_reads = bench.op(B, Op::ReadDp(CTRL_STAT));
    bench.settle();
    let actual = bench.reply(B, b_reads);
    // pyOCD polls until the acknowledge of each cleared request clears.
    let Some(Outcome::Ok(OpOutput::Word(actual))) = actual else {
        panic!("B's read failed: {actual:?}");
    };
    assert_eq!(
        actual & 0xF000_0000,
        0xF000_0000,
        "B keeps the port powered"
    );
    assert_eq!(
        bench.reply(A, after_first),
        word((actual & !0xF000_0000) | 0x3000_0000)
    );
    assert_eq!(bench.reply(A, a_reads), word(actual & !0xF000_0000));
}

#[test]
fn power_up_write_ends_the_masked_view() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    bench.op(A, write_ctrl_stat(ALL_OFF));
    bench.op(A, write_ctrl_stat(ALL_ON));
    let read = bench.op(A, Op::ReadDp(CTRL_STAT));
    bench.settle();
    let Some(Outcome::Ok(OpOutput::Word(value))) = bench.reply(A, read) else {
        panic!("read failed");
    };
    assert_eq!(value & 0xF000_0000, 0xF000_0000);
}

/// The DAP port sends a client's operations as one sequence; a power-down
/// inside it is masked as the same write alone would be.
#[test]
fn power_down_inside_a_sequence_is_masked_while_others_connected() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    bench.answer_next(Op::ReadDp(CTRL_STAT), OpOutput::Word(0xF000_0000));
    let sequence = bench.submit(
        A,
        Request::Sequence(vec![write_ctrl_stat(ALL_OFF), Op::ReadDp(CTRL_STAT)]),
    );
    bench.settle();
    assert_eq!(
        bench.sent[bench.sent.len() - 2..],
        [write_ctrl_stat(ALL_ON), Op::ReadDp(CTRL_STAT)]
    );
    assert_eq!(bench.sent_count(&write_ctrl_stat(ALL_OFF)), 0);
    // Its CTRL/STAT read inside the sequence shows its power-down done.
    let Some(Outcome::Ok(OpOutput::Sequence(sequence))) = bench.reply(A, sequence) else {
        panic!("the sequence failed");
    };
    assert_eq!(sequence.failure, None);
    let Some(OpOutput::Word(seen)) = sequence.outputs.get(1) else {
        panic!("no CTRL/STAT word: {sequence:?}");
    };
    assert_eq!(seen & 0xF000_0000, 0, "{seen:#x}");
}

/// The masked client's own view covers CTRL/STAT only: its other DP
/// reads come back as the hardware answered them.
#[test]
fn a_masked_clients_other_dp_reads_are_untouched() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    bench.op(A, write_ctrl_stat(ALL_OFF));
    bench.settle();
    const DPIDR: u32 = 0x2BA0_1477;
    bench.answer_next(Op::ReadDp(0x0), OpOutput::Word(DPIDR));
    let dpidr = bench.op(A, Op::ReadDp(0x0));
    bench.settle();
    assert_eq!(
        bench.reply(A, dpidr),
        Some(Outcome::Ok(OpOutput::Word(DPIDR)))
    );
}

/// A power-up write inside a sequence ends the masked view, as alone.
#[test]
fn power_up_inside_a_sequence_ends_the_masked_view() {
    let mut bench = Bench::with_clients(&[A, B]);
    bench.open_and_connect(&[A, B]);
    bench.op(A, write_ctrl_stat(ALL_OFF));
    bench.settle();
    bench.answer_next(Op::ReadDp(CTRL_STAT), OpOutput::Word(0xF000_0000));
    let sequence = bench.submit(
        A,
        Request::Sequence(vec![write_ctrl_stat(ALL_ON), Op::ReadDp(CTRL_STAT)]),
    );
    bench.settle();
    let Some(Outcome::Ok(OpOutput::Sequence(sequence))) = bench.reply(A, sequence) else {
        panic!("the sequence failed");
    };
    assert_eq!(sequence.outputs.get(1), Some(&OpOutput::Word(0xF000_0000)));
}
