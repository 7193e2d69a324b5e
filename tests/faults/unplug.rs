//! A USB disconnect in the middle of a batch: the emulated firmware runs a
//! DAP_Transfer of a pipelining client's batch and then its cable comes
//! out. Served by a farm with its USB rescan, as `serve --config` serves,
//! so the vanished probe is retired and can be plugged back in.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use probeshare::config::ProbeSelector;
use probeshare::sim::dap_firmware::ReplyFault;
use serde_json::{json, Value};

use crate::common::farm::{http, managed_farm};
use crate::common::faulty::{memory_session, read_word, write_word, RAM};
use crate::common::{free_port, wait_until, Client, DEADLINE, SIM_DPIDR};

const DAP_TRANSFER: u8 = 0x05;
const TAR: u32 = 0x04;
const DRW: u32 = 0x0C;

fn probe_row(management: SocketAddr) -> Value {
    let (status, body) = http(management, "GET", "/probes");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).expect("JSON")[0].clone()
}

/// Reads responses until the server closes; each must be the next id, and
/// once one has failed with status 2 none may succeed. Returns the
/// statuses read.
fn drain_in_order(client: &mut Client, ids: &[i64]) -> Vec<i64> {
    let mut statuses = Vec::new();
    for &id in ids {
        let Some(response) = client.try_recv() else {
            break;
        };
        assert_eq!(response["id"], id, "out of order: {response}");
        let status = response["status"].as_i64().expect("status");
        if status != 0 {
            assert_eq!(status, 2, "{response}");
            assert_eq!(
                response["error"], "probe disconnected: unplugged",
                "{response}"
            );
        }
        assert!(
            !(status == 0 && statuses.contains(&2)),
            "a request succeeded after the probe had gone: {response}"
        );
        statuses.push(status);
    }
    statuses
}

#[test]
fn a_disconnect_mid_batch_fails_everyone_with_status_2_and_the_probe_is_retired() {
    let port = free_port();
    let probes = format!("[[probe]]\nserial = \"sim:alpha\"\nport = {port}\n");
    let (farm, management, _config) = managed_farm(&probes, true);
    let management = management.local_addr();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let selector = ProbeSelector::Sim("alpha".to_owned());
    let faults = farm
        .lock()
        .virtual_faults(&selector)
        .expect("a virtual probe");

    let mut victim = memory_session(addr);
    let mut bystander = memory_session(addr);
    write_word(&mut bystander, RAM + 0x1000, 5);
    // The fourth DAP_Transfer from now runs and is never answered: the
    // device is gone.
    faults.fault_reply(DAP_TRANSFER, 3, ReplyFault::Disconnect);
    let batch: Vec<(&str, Value)> = (0..32u32)
        .flat_map(|i| {
            [
                ("write_ap", json!([TAR, RAM + 4 * i])),
                ("write_ap", json!([DRW, i])),
                ("write_ap", json!([TAR, RAM + 4 * i])),
                ("read_ap", json!([DRW])),
            ]
        })
        .collect();
    let victim_ids = victim.pipeline(&batch);
    let bystander_ids = bystander.pipeline(&[
        ("read_dp", json!([0])),
        ("write_ap", json!([TAR, RAM + 0x1000])),
        ("read_ap", json!([DRW])),
    ]);

    let started = Instant::now();
    let victim_statuses = drain_in_order(&mut victim, &victim_ids);
    assert!(
        victim_statuses.contains(&2),
        "the victim saw no disconnect: {victim_statuses:?}"
    );
    assert!(
        victim_statuses.contains(&0),
        "the batch failed before the disconnect: {victim_statuses:?}"
    );
    drain_in_order(&mut bystander, &bystander_ids);
    assert!(started.elapsed() < DEADLINE, "requests hung");
    assert_eq!(faults.injected(), 1);

    // The rescan retires it: the port closes and its clients are closed.
    wait_until("the probe to be retired", || {
        probe_row(management)["state"] == "absent"
    });
    wait_until("the port to close", || TcpStream::connect(addr).is_err());
    assert!(victim.is_closed_by_server());
    assert!(bystander.is_closed_by_server());

    // Plugged back in, it is served anew and works.
    let (status, body) = http(management, "POST", "/probes/sim:alpha/replug");
    assert_eq!(status, 200, "{body}");
    let replugged = Instant::now();
    let mut again = loop {
        if TcpStream::connect(addr).is_ok() {
            break memory_session(addr);
        }
        assert!(replugged.elapsed() < DEADLINE, "not served again");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(again.ok("read_dp", json!([0])), SIM_DPIDR);
    write_word(&mut again, RAM, 0xFEED);
    assert_eq!(read_word(&mut again, RAM)["result"], 0xFEED);
    let row = probe_row(management);
    assert_eq!(
        (&row["clients"], &row["open_count"]),
        (&json!(1), &json!(1))
    );
    drop(again);
    wait_until("the new server to forget its client", || {
        let row = probe_row(management);
        row["clients"] == 0 && row["open_count"] == 0 && row["lock_holder"].is_null()
    });
}
