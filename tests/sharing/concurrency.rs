//! All of it at once: five clients on five threads, each doing different
//! work through the one shared DAP, the way real debuggers do, and checking
//! every result. Each sets up its own context once and relies on it: one
//! moves bytes and one halfwords (CSW written once, never again), one
//! streams words with TAR auto-increment while its DP bank is DLCR, and two
//! read and write core registers through DCRSR/DCRDR. Only the byte client
//! takes the `lock`, around each of its cycles, as pyOCD does, and without
//! rewriting CSW inside it (pyOCD caches CSW). Any cross-client corruption
//! of CSW, TAR, SELECT or DCRDR (rules 9 and 10) shows up as a wrong value;
//! any lost, duplicated or misrouted response as a wrong id or value.

use std::net::SocketAddr;

use serde_json::{json, Value};

use crate::common::{start_server, Client};
use crate::core_debug::*;
use crate::support::*;

const CYCLES: u32 = 40;

#[derive(Clone, Copy, Debug)]
enum Work {
    Bytes,
    Halfwords,
    WordsInDlcrBank,
    Registers(u32),
}

/// Where each client's data lives.
fn region(client_index: u32) -> u32 {
    RAM_BASE + 0x400 * client_index
}

/// Sends `requests` in one pipeline and returns their results in order.
fn run(client: &mut Client, requests: &[(&str, Value)]) -> Vec<Value> {
    let ids = client.pipeline(requests);
    ids.iter().map(|&id| client.recv_ok(id)).collect()
}

/// Writes, then reads back, `count` elements of `bytes` bytes each with TAR
/// written before every access; CSW was set once, before the first cycle.
fn sized_cycle(client: &mut Client, base: u32, bytes: u32, cycle: u32, locked: bool) {
    const COUNT: u32 = 4;
    let address = |k: u32| base + bytes * k;
    // Never zero, different for every element and cycle; in its lanes.
    let value = |k: u32| {
        let element = match bytes {
            1 => (0x11 * (k + 1) + cycle) & 0xFF,
            _ => 0xC000 | cycle << 4 | k,
        };
        element << (8 * (address(k) & 3))
    };
    let mut requests = Vec::new();
    if locked {
        requests.push(("lock", json!([])));
    }
    for k in 0..COUNT {
        requests.extend(write_word_requests(address(k), value(k)));
    }
    for k in 0..COUNT {
        requests.extend(read_word_requests(address(k)));
    }
    if locked {
        requests.push(("unlock", json!([])));
    }
    let results = run(client, &requests);
    let first_read = usize::from(locked) + 2 * COUNT as usize;
    for k in 0..COUNT {
        let read = as_u32(&results[first_read + 2 * k as usize + 1]);
        assert_eq!(
            read,
            value(k),
            "{bytes}-byte element {k} at {:#x}, cycle {cycle}: read {read:#x}",
            address(k)
        );
    }
}

fn words_cycle(client: &mut Client, base: u32, cycle: u32) {
    let words: Vec<u32> = (0..8).map(|k| 0x5700_0000 | cycle << 8 | k).collect();
    let results = run(
        client,
        &[
            ("write_ap", json!([AP_TAR, base])),
            ("write_ap_multiple", json!([AP_DRW, words])),
            ("write_ap", json!([AP_TAR, base])),
            ("read_ap_multiple", json!([AP_DRW, 8])),
            ("read_ap", json!([AP_TAR])),
            ("read_dp", json!([DP_DLCR])),
        ],
    );
    assert_eq!(results[3], json!(words), "words, cycle {cycle}");
    assert_eq!(as_u32(&results[4]), base + 32, "TAR, cycle {cycle}");
    assert_eq!(as_u32(&results[5]), DLCR_RESET, "DLCR, cycle {cycle}");
}

fn registers_cycle(client: &mut Client, regsel: u32, cycle: u32) {
    let value = 0x0E00_0000 | regsel << 16 | cycle;
    let mut requests = register_write_requests(regsel, value);
    let first_read = requests.len();
    requests.extend(register_read_requests(regsel));
    let results = run(client, &requests);
    let dhcsr = as_u32(&results[first_read + REGISTER_READ_DHCSR]);
    assert_ne!(
        dhcsr & S_REGRDY,
        0,
        "DHCSR {dhcsr:#x}, r{regsel}, cycle {cycle}"
    );
    let read = as_u32(&results[first_read + REGISTER_READ_VALUE]);
    assert_eq!(read, value, "r{regsel}, cycle {cycle}: read {read:#x}");
}

fn run_cycles(addr: SocketAddr, client_index: u32, work: Work) {
    let mut client = powered_session(addr);
    let base = region(client_index);
    match work {
        Work::Bytes => write_ap(&mut client, AP_CSW, CSW_BYTE),
        Work::Halfwords => write_ap(&mut client, AP_CSW, CSW_HALFWORD),
        Work::WordsInDlcrBank => {
            write_ap(&mut client, AP_CSW, CSW_WORD_INCREMENT);
            client.ok("write_dp", json!([DP_SELECT, SELECT_DLCR_BANK]));
        }
        Work::Registers(_) => write_ap(&mut client, AP_CSW, CSW_WORD),
    }
    for cycle in 0..CYCLES {
        match work {
            Work::Bytes => sized_cycle(&mut client, base, 1, cycle, true),
            Work::Halfwords => sized_cycle(&mut client, base, 2, cycle, false),
            Work::WordsInDlcrBank => words_cycle(&mut client, base, cycle),
            Work::Registers(regsel) => registers_cycle(&mut client, regsel, cycle),
        }
        assert_eq!(read_dp(&mut client, DP_IDR), DPIDR_VALUE, "{work:?}");
    }
    client.ok("disconnect", json!([]));
    client.ok("close", json!([]));
}

#[test]
fn clients_doing_different_work_concurrently_each_see_only_their_own_data() {
    let server = start_server();
    let addr = server.local_addr();
    // The register clients need a halted core; this session stays until the
    // end so the probe stays open.
    let mut setup = powered_session(addr);
    write_ap(&mut setup, AP_CSW, CSW_WORD);
    halt_core(&mut setup);

    let works = [
        Work::Bytes,
        Work::Halfwords,
        Work::WordsInDlcrBank,
        Work::Registers(4),
        Work::Registers(5),
    ];
    let threads: Vec<_> = (0..)
        .zip(works)
        .map(|(index, work)| std::thread::spawn(move || run_cycles(addr, index, work)))
        .collect();
    for thread in threads {
        thread.join().expect("client thread");
    }
    setup.ok("disconnect", json!([]));
    setup.ok("close", json!([]));
    wait_until_probe_closed(addr);
}
