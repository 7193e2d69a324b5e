//! Rule 8 for real: requests of two clients decided into one worker batch.
//! CMSIS-DAP writes are deferred (answered before the probe confirms
//! them), so a write's FAULT surfaces at the next transfer that reads
//! replies. The worker flushes after each client's run in a batch, so the
//! FAULT is charged to the client that wrote, never to the other.
//!
//! Deterministic batching: a third client holds the lock while A and B
//! queue their pipelines (A's first), then unlocks; the arbiter decides
//! everything queued in one go, alternating between A and B (rule 6).
//!
//! This is a guard: it passes on the code it was written against, and fails
//! if the worker's flush after a client's run (`Job::flush_after`) goes.

use serde_json::json;

use crate::common::Client;
use crate::steps::*;
use crate::support::*;

const B_READS: usize = 8;

#[test]
fn a_deferred_fault_in_a_shared_batch_is_charged_to_the_writer() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let mut gate = Client::session(addr);
    let mut a = memory_session(addr);
    let mut b = Client::session(addr);
    gate.ok("lock", json!([]));

    let a_ids = a.pipeline(&[
        ("write_ap", json!([AP_TAR, UNMAPPED])),
        ("write_ap", json!([AP_DRW, 0xDEAD_BEEF_u32])),
        ("read_dp", json!([DP_IDR])),
        ("read_dp", json!([DP_IDR])),
    ]);
    a.wait_until_server_has_read();
    let b_ids = b.pipeline(&vec![("read_dp", json!([DP_IDR])); B_READS]);
    b.wait_until_server_has_read();
    gate.ok("unlock", json!([]));

    for id in b_ids {
        let response = b.recv();
        assert_eq!(response["id"], id, "responses out of order: {response}");
        assert_eq!(
            response["status"], 0,
            "B's read failed in A's batch: {response}"
        );
        assert_eq!(as_u32(&response["result"]), DPIDR_VALUE);
    }

    // A's fault comes back with its write, or at the latest with its next
    // request; everything else of A's succeeds.
    let a_statuses: Vec<i64> = a_ids
        .iter()
        .map(|&id| {
            let response = a.recv();
            assert_eq!(response["id"], id, "responses out of order: {response}");
            if response["status"] == 0 && response["result"].is_u64() {
                assert_eq!(as_u32(&response["result"]), DPIDR_VALUE);
            }
            response["status"].as_i64().expect("status")
        })
        .collect();
    let faults: Vec<usize> = (0..)
        .zip(&a_statuses)
        .filter(|(_, &s)| s != 0)
        .map(|(i, _)| i)
        .collect();
    assert!(
        faults == [1] || faults == [2],
        "A's statuses {a_statuses:?}: one FAULT, for its DRW write or the request after"
    );
    assert_eq!(a_statuses[faults[0]], 12, "A's statuses {a_statuses:?}");
}
