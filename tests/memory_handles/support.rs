//! Facts about the virtual target and the reference path: memory reached
//! through AP register requests, as a client without handles would.

use std::net::SocketAddr;

use serde_json::{json, Value};

use crate::common::{powered_session, Client};

pub use probeshare::sim::dp::STICKY_FLAGS;
pub use probeshare::sim::{RAM_BASE, RAM_SIZE};

pub const RAM_END: u32 = RAM_BASE + RAM_SIZE;
/// Registers of the AHB-AP (APSEL 0).
pub const AP_CSW: u32 = 0x00;
pub const AP_TAR: u32 = 0x04;
pub const AP_DRW: u32 = 0x0C;
/// Word transfers, single auto-increment, HPROT as at reset.
pub const CSW_WORD_INCREMENT: u32 = 0x0300_0012;
pub const DP_CTRL_STAT: u32 = 0x4;
/// The increment page ADIv5 promises: the reference path never streams
/// across it.
const KIB: u32 = 0x400;

/// A powered-up session and its handle for the AHB-AP.
pub fn with_handle(addr: SocketAddr) -> (Client, u64) {
    let mut client = powered_session(addr);
    let handle = client
        .ok("get_memory_interface_for_ap", json!([1, 0]))
        .as_u64()
        .expect("a handle for the AHB-AP");
    (client, handle)
}

pub fn as_u32(value: &Value) -> u32 {
    value
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or_else(|| panic!("not a 32-bit value: {value}"))
}

pub fn as_words(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(as_u32)
        .collect()
}

pub fn as_bytes(value: &Value) -> Vec<u8> {
    as_words(value)
        .into_iter()
        .map(|w| u8::try_from(w).unwrap_or_else(|_| panic!("not a byte: {w}")))
        .collect()
}

/// Bytes that differ from their neighbours and from zero.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(29).wrapping_add(seed) | 1)
        .collect()
}

pub fn le_words(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect()
}

/// Words at `addr` (aligned) read through CSW/TAR/DRW requests.
pub fn ap_read_words(client: &mut Client, addr: u32, count: u32) -> Vec<u32> {
    client.ok("write_ap", json!([AP_CSW, CSW_WORD_INCREMENT]));
    let mut words = Vec::new();
    let mut at = addr;
    let end = addr + 4 * count;
    while at < end {
        let run = (KIB - at % KIB).min(end - at) / 4;
        client.ok("write_ap", json!([AP_TAR, at]));
        words.extend(as_words(
            &client.ok("read_ap_multiple", json!([AP_DRW, run])),
        ));
        at += 4 * run;
    }
    words
}

/// Bytes at any `addr`, read as the words that hold them.
pub fn ap_read_bytes(client: &mut Client, addr: u32, len: u32) -> Vec<u8> {
    let first = addr & !3;
    let words = (addr + len - first).div_ceil(4);
    let bytes: Vec<u8> = ap_read_words(client, first, words)
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let skip = (addr - first) as usize;
    bytes[skip..skip + len as usize].to_vec()
}

/// Words written at `addr` (aligned) through CSW/TAR/DRW requests.
pub fn ap_write_words(client: &mut Client, addr: u32, words: &[u32]) {
    client.ok("write_ap", json!([AP_CSW, CSW_WORD_INCREMENT]));
    let mut at = addr;
    let mut rest = words;
    while !rest.is_empty() {
        let run = (((KIB - at % KIB) / 4) as usize).min(rest.len());
        client.ok("write_ap", json!([AP_TAR, at]));
        client.ok("write_ap_multiple", json!([AP_DRW, rest[..run]]));
        rest = &rest[run..];
        at += 4 * run as u32;
    }
}

/// Fills memory (word-aligned, whole words) through the reference path.
pub fn ap_fill(client: &mut Client, addr: u32, bytes: &[u8]) {
    ap_write_words(client, addr, &le_words(bytes));
}

pub fn sticky_flags(client: &mut Client) -> u32 {
    as_u32(&client.ok("read_dp", json!([DP_CTRL_STAT]))) & STICKY_FLAGS
}

/// How long a "nothing answered yet" check listens.
pub const SILENCE: std::time::Duration = std::time::Duration::from_millis(150);
