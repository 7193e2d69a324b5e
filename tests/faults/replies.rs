//! Faults in the firmware's replies: cut short, to the wrong command, never
//! sent, and a firmware that stops answering altogether. The failing client
//! holds the lock while another's requests wait behind it, so the faulted
//! reply is certainly the failing client's and the other's work is queued
//! through the failure and the recovery.

use probeshare::sim::dap_firmware::ReplyFault;
use serde_json::json;

use crate::common::faulty::{memory_session, read_word, write_word, FaultyServer, RAM};
use crate::common::Client;

const DAP_TRANSFER: u8 = 0x05;
const DAP_TRANSFER_BLOCK: u8 = 0x06;
const FAULTED: u32 = RAM + 0x40;
const BYSTANDER_BASE: u32 = RAM + 0x1000;
const TAR: u32 = 0x04;
const DRW: u32 = 0x0C;

/// The bystander's requests: 20 write/read-back pairs of its own words.
fn pipeline_bystander(other: &mut Client) -> Vec<(i64, Option<u32>)> {
    let mut expected = Vec::new();
    for round in 0..20u32 {
        let (address, value) = (BYSTANDER_BASE + 4 * round, 0xC000_0000 | round);
        let ids = other.pipeline(&[
            ("write_ap", json!([TAR, address])),
            ("write_ap", json!([DRW, value])),
            ("write_ap", json!([TAR, address])),
            ("read_ap", json!([DRW])),
        ]);
        expected.extend([(ids[0], None), (ids[1], None), (ids[2], None)]);
        expected.push((ids[3], Some(value)));
    }
    expected
}

/// `arm` makes the victim's next read fail; its response must be `status`
/// with `message`, the bystander's queued work all correct, the victim's
/// next read right, and nothing left behind.
fn reply_fault_stays_with_its_client(
    arm: impl FnOnce(&FaultyServer),
    after_failure: impl FnOnce(&FaultyServer),
    status: i64,
    message: &str,
) {
    let server = FaultyServer::start();
    let mut victim = memory_session(server.addr());
    write_word(&mut victim, FAULTED, 0x600D_F00D);
    let mut other = memory_session(server.addr());
    victim.ok("lock", json!([]));
    let expected = pipeline_bystander(&mut other);
    other.wait_until_server_has_read();

    victim.ok("write_ap", json!([TAR, FAULTED]));
    let injected = server.faults.injected();
    arm(&server);
    let failed = victim.call("read_ap", json!([DRW]));
    assert_eq!(failed["status"], status, "{failed}");
    assert!(failed.get("result").is_none(), "{failed}");
    assert_eq!(failed["error"], message, "{failed}");
    after_failure(&server);
    assert!(server.faults.injected() > injected, "no fault was injected");
    victim.ok("unlock", json!([]));

    for (id, value) in expected {
        let result = other.recv_ok(id);
        if let Some(value) = value {
            assert_eq!(result, value, "bystander read {id}");
        }
    }
    let read = read_word(&mut victim, FAULTED);
    assert_eq!(read["status"], 0, "after recovery: {read}");
    assert_eq!(read["result"], 0x600D_F00Du32);
    drop((victim, other));
    server.assert_nothing_leaked();
}

#[test]
fn a_short_reply_is_status_3_for_its_client_only() {
    reply_fault_stays_with_its_client(
        |server| {
            server
                .faults
                .fault_reply(DAP_TRANSFER, 0, ReplyFault::Truncate(2))
        },
        |_| {},
        3,
        "reply to DAP_Transfer is 2 bytes long, 3 needed",
    );
}

#[test]
fn a_reply_to_another_command_is_status_3_for_its_client_only() {
    reply_fault_stays_with_its_client(
        |server| {
            server.faults.fault_reply(
                DAP_TRANSFER,
                0,
                ReplyFault::WrongCommand(DAP_TRANSFER_BLOCK),
            )
        },
        |_| {},
        3,
        "reply to DAP_Transfer starts with 0x06",
    );
}

#[test]
fn a_lost_reply_times_out_as_status_3_for_its_client_only() {
    reply_fault_stays_with_its_client(
        |server| {
            server
                .faults
                .fault_reply(DAP_TRANSFER, 0, ReplyFault::Swallow)
        },
        |_| {},
        3,
        "no reply from the probe to DAP_Transfer within 300ms",
    );
}

/// A firmware that hangs fails the request it hangs on; once it answers
/// again, the work queued meanwhile is done and the probe is usable.
#[test]
fn a_firmware_that_stops_answering_times_out_and_recovers() {
    reply_fault_stays_with_its_client(
        |server| server.faults.stop_answering(),
        |server| server.faults.resume_answering(),
        3,
        "no reply from the probe to DAP_Transfer within 300ms",
    );
}
