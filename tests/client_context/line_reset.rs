//! Rule 9 and line resets: one client's line reset or JTAG-to-SWD switch
//! leaves the other clients' debug port working. After a line reset the
//! SW-DP answers nothing but a DPIDR read (ADIv5.2 B4.3.3, as the virtual
//! target models it); the client that sent it reads DPIDR when it likes,
//! and the others' transfers in between still work, with their SELECT
//! and their power-up as they left them.

use serde_json::json;

use crate::common::Client;
use crate::core_debug::*;
use crate::steps::*;
use crate::support::*;

use probeshare::sim::dp::DPIDR_VALUE;

/// pyOCD's `line_reset`: 51 cycles high (56 bits given, as pyOCD does).
const LINE_RESET: (u32, u64) = (51, 0x00FF_FFFF_FFFF_FFFF);
/// The JTAG-to-SWD select sequence, LSB first.
const JTAG_TO_SWD: (u32, u64) = (16, 0xE79E);
/// pyOCD's idle cycles after its switch.
const IDLE: (u32, u64) = (8, 0x00);

/// B's sequences: what pyOCD's `switch_to_swd` sends at connect (line
/// reset, JTAG-to-SWD, line reset, then idle cycles if `idle`). B does not
/// read DPIDR after them.
fn switch_to_swd(b: &mut Client, idle: bool) {
    let mut sequences = vec![LINE_RESET, JTAG_TO_SWD, LINE_RESET];
    if idle {
        sequences.push(IDLE);
    }
    for (length, bits) in sequences {
        b.ok("swj_sequence", json!([length, bits]));
    }
}

/// A word of RAM that A wrote, read back by A.
const WORD: u32 = RAM_BASE + 0x40;

fn others_port_survives(idle: bool) {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let mut a = memory_session(addr);
    write_word(&mut a, WORD, 0xC0FF_EE00);
    assert_word(read_word(&mut a, WORD), 0xC0FF_EE00, "A before B's switch");
    let mut b = Client::session(addr);

    switch_to_swd(&mut b, idle);

    // A reads and writes memory through its AP as before, its CSW kept.
    assert_word(read_word(&mut a, WORD), 0xC0FF_EE00, "A's first read after");
    write_word(&mut a, WORD, 0xC0FF_EE01);
    assert_word(
        read_word(&mut a, WORD),
        0xC0FF_EE01,
        "A's read of its write",
    );
    assert_word(
        read_ap(&mut a, AP_CSW),
        CSW_WORD | CSW_READ_EXTRA,
        "A's CSW",
    );
    let ctrl_stat = read_dp(&mut a, DP_CTRL_STAT);
    assert_eq!(
        ctrl_stat & POWER_UP_ACKS,
        POWER_UP_ACKS,
        "A's debug port is powered: {ctrl_stat:#x}"
    );
    assert_word(read_dp(&mut b, DP_IDR), DPIDR_VALUE, "B's own DPIDR read");
    assert_word(read_word(&mut a, WORD), 0xC0FF_EE01, "A after B's read");
}

#[test]
fn a_jtag_to_swd_switch_by_one_client_leaves_anothers_memory_access_working() {
    others_port_survives(true);
}

#[test]
fn a_switch_without_idle_cycles_after_it_leaves_anothers_access_working() {
    others_port_survives(false);
}

#[test]
fn the_switching_client_reads_dpidr_itself_first_as_pyocd_does() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let mut a = memory_session(addr);
    let mut b = Client::session(addr);
    switch_to_swd(&mut b, true);
    assert_word(read_dp(&mut b, DP_IDR), DPIDR_VALUE, "B's DPIDR read");
    power_up(&mut b);
    assert_word(read_ap(&mut b, AP_IDR), AHB_AP_IDR, "B's first AP read");
    assert_word(read_ap(&mut a, AP_IDR), AHB_AP_IDR, "A's AP read");
}

#[test]
fn a_line_reset_keeps_each_clients_dp_bank() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let mut a = powered_session(addr);
    a.ok("write_dp", json!([DP_SELECT, SELECT_DLCR_BANK]));
    assert_word(read_dp(&mut a, DP_DLCR), DLCR_RESET, "A's DLCR before");
    let mut b = Client::session(addr);

    for (length, bits) in [LINE_RESET, IDLE] {
        b.ok("swj_sequence", json!([length, bits]));
    }

    assert_word(read_dp(&mut a, DP_DLCR), DLCR_RESET, "A's DLCR after");
    assert_word(read_ap(&mut a, AP_IDR), AHB_AP_IDR, "A's AP read after");
    assert_word(read_dp(&mut b, DP_IDR), DPIDR_VALUE, "B's DPIDR read");
    let ctrl_stat = read_dp(&mut b, DP_CTRL_STAT);
    assert_eq!(
        ctrl_stat & POWER_UP_ACKS,
        POWER_UP_ACKS,
        "B reads CTRL/STAT in its bank 0, as A powered it: {ctrl_stat:#x}"
    );
    assert_word(read_dp(&mut a, DP_DLCR), DLCR_RESET, "A's DLCR at the end");
}

#[test]
fn a_line_reset_between_anothers_pipelined_requests_leaves_them_working() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let mut a = memory_session(addr);
    write_word(&mut a, WORD, 0x1234_5678);
    let mut b = Client::session(addr);

    // A's requests and B's sequences are queued together, so the server
    // takes turns between them.
    let mut ids = Vec::new();
    for _ in 0..4 {
        for (request, arguments) in read_word_requests(WORD) {
            ids.push(a.send(request, arguments));
        }
    }
    let b_ids: Vec<i64> = [LINE_RESET, JTAG_TO_SWD, LINE_RESET]
        .into_iter()
        .map(|(length, bits)| b.send("swj_sequence", json!([length, bits])))
        .collect();
    for _ in 0..4 {
        for (request, arguments) in read_word_requests(WORD) {
            ids.push(a.send(request, arguments));
        }
    }
    for id in b_ids {
        let response = b.recv();
        assert_eq!(response["id"], id);
        assert_eq!(response["status"], 0, "B's sequence: {response}");
    }
    for (index, id) in ids.into_iter().enumerate() {
        let response = a.recv();
        assert_eq!(response["id"], id);
        assert_eq!(response["status"], 0, "A's request {index}: {response}");
        if index % 2 == 1 {
            assert_word(as_u32(&response["result"]), 0x1234_5678, "A's read");
        }
    }
    assert_word(read_dp(&mut b, DP_IDR), DPIDR_VALUE, "B's DPIDR read");
}
