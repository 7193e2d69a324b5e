//! Rule 9, SELECT: each client's DP register bank is its own. On this DPv1,
//! DP address 0x4 is CTRL/STAT in DPBANKSEL bank 0 and DLCR in bank 1; a
//! client that selected bank 1 reads DLCR until it selects bank 0 again,
//! while a client that never wrote SELECT reads CTRL/STAT.

use serde_json::json;

use crate::common::Client;
use crate::steps::assert_word;
use crate::support::*;

const POWER: u32 = POWER_UP_REQUESTS | POWER_UP_ACKS;

fn assert_dlcr(client: &mut Client, when: &str) {
    let what = format!("A's read of DLCR (DP 0x4 in its bank 1) {when}");
    assert_word(read_dp(client, DP_DLCR), DLCR_RESET, &what);
}

fn assert_ctrl_stat(client: &mut Client, when: &str) {
    let value = read_dp(client, DP_CTRL_STAT);
    assert_eq!(
        value & POWER,
        POWER,
        "B read {value:#x}, not its CTRL/STAT with the power-up it asked for, {when}"
    );
}

#[test]
fn each_client_keeps_its_own_dp_bank() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let mut a = powered_session(addr);
    let mut b = powered_session(addr);

    a.ok("write_dp", json!([DP_SELECT, SELECT_DLCR_BANK]));
    assert_dlcr(&mut a, "right after selecting bank 1");
    for round in 0..4 {
        assert_ctrl_stat(&mut b, &format!("round {round}"));
        assert_dlcr(&mut a, &format!("round {round}"));
        // AP accesses write SELECT's AP fields; each client's bank stays.
        assert_eq!(read_ap(&mut b, AP_IDR), AHB_AP_IDR);
        assert_eq!(read_ap(&mut a, AP_IDR), AHB_AP_IDR);
    }
    // B writes CTRL/STAT again: that is CTRL/STAT in B's bank, and A's
    // DLCR is untouched.
    b.ok("write_dp", json!([DP_CTRL_STAT, POWER_UP_REQUESTS]));
    assert_dlcr(&mut a, "after B wrote CTRL/STAT");
    assert_ctrl_stat(&mut b, "after its own CTRL/STAT write");

    a.ok("write_dp", json!([DP_SELECT, 0]));
    let value = read_dp(&mut a, DP_CTRL_STAT);
    assert_eq!(value & POWER, POWER, "A back in bank 0 read {value:#x}");
    assert_ctrl_stat(&mut b, "at the end");
}
