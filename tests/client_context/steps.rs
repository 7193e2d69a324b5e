//! Steps the client-context tests share, on top of `sharing/support.rs`
//! (facts about the virtual target) and `sharing/core_debug.rs`.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{Client, DEADLINE};
use crate::support::*;

/// Banked data register 1: the word at (TAR & !0xF) + 4; TAR unchanged.
pub const AP_BD1: u32 = 0x14;
/// What a CSW read shows on top of what was written (DeviceEn reads one).
pub const CSW_READ_EXTRA: u32 = 1 << 6;

/// How soon a request that needs no hardware must be answered while
/// another client holds the lock. Generous for a loaded machine; a request
/// that waits for the lock is never answered within it, because the holder
/// unlocks only after the check.
pub const PROMPTLY: Duration = Duration::from_secs(15);

/// A powered session with the AP set to 32-bit transfers, TAR fixed.
pub fn memory_session(addr: SocketAddr) -> Client {
    let mut client = powered_session(addr);
    write_ap(&mut client, AP_CSW, CSW_WORD);
    client
}

/// Fills `words` words from `base` with `value`, through a client of its
/// own (which writes its own CSW, so it changes every client's hardware
/// context, as any other debugger would).
pub fn fill(addr: SocketAddr, base: u32, words: usize, value: u32) {
    let mut filler = powered_session(addr);
    write_ap(&mut filler, AP_CSW, CSW_WORD_INCREMENT);
    write_ap(&mut filler, AP_TAR, base);
    filler.ok("write_ap_multiple", json!([AP_DRW, vec![value; words]]));
}

/// Reads `words` words from `base` with a fresh client of its own.
pub fn words_at(addr: SocketAddr, base: u32, words: u32) -> Vec<u32> {
    let mut reader = powered_session(addr);
    write_ap(&mut reader, AP_CSW, CSW_WORD_INCREMENT);
    write_ap(&mut reader, AP_TAR, base);
    let values = reader.ok("read_ap_multiple", json!([AP_DRW, words]));
    values
        .as_array()
        .expect("a list of words")
        .iter()
        .map(as_u32)
        .collect()
}

/// Reads the response to `id`, which must come within [`PROMPTLY`] and
/// succeed; `what` names the request in the failure message.
pub fn recv_promptly(client: &mut Client, id: i64, what: &str) -> Value {
    client.stream.set_read_timeout(Some(PROMPTLY)).unwrap();
    let response = client.try_recv();
    client.stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let response = response.unwrap_or_else(|| {
        panic!("{what} was not answered within {PROMPTLY:?} while another client held the lock")
    });
    assert_eq!(response["id"], id, "responses out of order: {response}");
    assert_eq!(response["status"], 0, "{what} failed: {response}");
    response.get("result").cloned().unwrap_or(Value::Null)
}

/// Asserts that a 32-bit value read is the one expected, in hex.
#[track_caller]
pub fn assert_word(actual: u32, expected: u32, what: &str) {
    assert!(
        actual == expected,
        "{what}: got {actual:#010x}, expected {expected:#010x}"
    );
}
