//! Rule 9, TAR: each client's transfer address is its own, including the
//! auto-increments of its own DRW accesses. A client that set TAR once and
//! streams through DRW continues where its last access left off, however
//! many other clients moved TAR in between, and reads back its own TAR.

use serde_json::json;

use crate::steps::*;
use crate::support::*;

const A_BASE: u32 = RAM_BASE + 0x400;
const B_BASE: u32 = RAM_BASE + 0x800;

fn a_word(index: u32) -> u32 {
    0x7A00_0000 | index
}

fn b_word(index: u32) -> u32 {
    0x7B00_0000 | index
}

#[test]
fn each_client_continues_at_its_own_tar() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let mut a = powered_session(addr);
    let mut b = powered_session(addr);
    let mut setup = powered_session(addr);
    write_ap(&mut setup, AP_CSW, CSW_WORD_INCREMENT);
    for (base, word) in [(A_BASE, a_word as fn(u32) -> u32), (B_BASE, b_word)] {
        write_ap(&mut setup, AP_TAR, base);
        let words: Vec<u32> = (0..16).map(word).collect();
        setup.ok("write_ap_multiple", json!([AP_DRW, words]));
    }

    // Both stream words; each sets CSW and TAR once.
    write_ap(&mut a, AP_CSW, CSW_WORD_INCREMENT);
    write_ap(&mut a, AP_TAR, A_BASE);
    assert_word(read_ap(&mut a, AP_DRW), a_word(0), "A's first word");
    write_ap(&mut b, AP_CSW, CSW_WORD_INCREMENT);
    write_ap(&mut b, AP_TAR, B_BASE);
    assert_word(read_ap(&mut b, AP_DRW), b_word(0), "B's first word");
    write_ap(&mut b, AP_DRW, 0x5EED_0001);

    assert_word(
        read_ap(&mut a, AP_DRW),
        a_word(1),
        "A's DRW read after B moved TAR (should continue at A's TAR + 4)",
    );
    assert_word(read_ap(&mut a, AP_TAR), A_BASE + 8, "A's TAR");
    // BD1 is the second word of the 16-byte block TAR points into.
    assert_word(read_ap(&mut a, AP_BD1), a_word(1), "A's BD1");
    assert_word(read_ap(&mut b, AP_TAR), B_BASE + 8, "B's TAR");

    // Interleaved streaming, a write of A's among it.
    write_ap(&mut a, AP_DRW, 0xA11E_0002);
    for index in 3..8 {
        let a_read = read_ap(&mut a, AP_DRW);
        assert_word(a_read, a_word(index), &format!("A, word {index}"));
        let b_read = read_ap(&mut b, AP_DRW);
        assert_word(b_read, b_word(index - 1), &format!("B, word {}", index - 1));
    }
    assert_word(read_ap(&mut a, AP_TAR), A_BASE + 32, "A's TAR at the end");
    assert_word(read_ap(&mut b, AP_TAR), B_BASE + 28, "B's TAR at the end");

    // The writes went where their writers' TARs pointed.
    assert_eq!(
        words_at(addr, A_BASE, 3),
        [a_word(0), a_word(1), 0xA11E_0002]
    );
    assert_eq!(
        words_at(addr, B_BASE, 3),
        [b_word(0), 0x5EED_0001, b_word(2)]
    );
}
