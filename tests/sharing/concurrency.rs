//! All of it at once: four clients on four threads run lock / write /
//! read-back / unlock cycles on their own RAM words through the one shared
//! AP, with unlocked DP reads in between. The AP's TAR is shared state, so
//! any lapse of exclusivity shows up as a wrong word read back; any lost,
//! duplicated or misrouted response shows up as a wrong id or value.

use std::net::SocketAddr;

use serde_json::json;

use crate::common::start_server;
use crate::support::*;

const CLIENTS: u32 = 4;
const CYCLES: u32 = 100;

fn run_cycles(addr: SocketAddr, client_index: u32) {
    let mut client = powered_session(addr);
    for cycle in 0..CYCLES {
        let word = RAM_BASE + 0x400 * client_index + 4 * (cycle % 32);
        let value = (client_index << 24) | cycle;
        let ids = client.pipeline(&[
            ("lock", json!([])),
            ("write_ap", json!([AP_CSW, CSW_WORD])),
            ("write_ap", json!([AP_TAR, word])),
            ("write_ap", json!([AP_DRW, value])),
            ("read_ap", json!([AP_TAR])),
            ("read_ap", json!([AP_DRW])),
            ("unlock", json!([])),
            ("read_dp", json!([DP_IDR])),
        ]);
        let results: Vec<_> = ids.iter().map(|&id| client.recv_ok(id)).collect();
        let context = format!("client {client_index}, cycle {cycle}");
        assert_eq!(as_u32(&results[4]), word, "TAR, {context}");
        assert_eq!(as_u32(&results[5]), value, "DRW, {context}");
        assert_eq!(as_u32(&results[7]), DPIDR_VALUE, "DPIDR, {context}");
    }
    client.ok("disconnect", json!([]));
    client.ok("close", json!([]));
}

#[test]
fn four_clients_locking_concurrently_each_see_only_their_own_data() {
    let server = start_server();
    let addr = server.local_addr();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|index| std::thread::spawn(move || run_cycles(addr, index)))
        .collect();
    for thread in threads {
        thread.join().expect("client thread");
    }
    wait_until_probe_closed(addr);
}
