//! Faults in the target's acknowledges at one address: a WAIT storm past
//! the firmware's retries, FAULT, no acknowledge, and a read parity error.
//! Another client works at other addresses throughout.

use probeshare::sim::faults::InjectedAck;
use serde_json::json;

use crate::common::faulty::{
    bystander, clear_sticky, memory_session, read_word, write_word, FaultyServer, RAM,
};

/// The faulted word, and where the bystander works.
const FAULTED: u32 = RAM + 0x40;
const BYSTANDER_BASE: u32 = RAM + 0x1000;

/// Arms `ack` at [`FAULTED`], has a client read it while another works,
/// and checks the status and message, the bystander's work, the recovery
/// and that nothing leaked.
fn fault_stays_with_its_client(ack: InjectedAck, status: i64, message: &str) {
    let server = FaultyServer::start();
    let mut victim = memory_session(server.addr());
    write_word(&mut victim, FAULTED, 0x1234_5678);
    server.faults.fail_at(FAULTED..FAULTED + 4, ack);
    let other = bystander(server.addr(), BYSTANDER_BASE, 200);

    for _ in 0..3 {
        let failed = read_word(&mut victim, FAULTED);
        assert_eq!(failed["status"], status, "{ack:?}: {failed}");
        assert!(failed.get("result").is_none(), "{failed}");
        assert_eq!(failed["error"], message, "{ack:?}: {failed}");
        // As pyOCD does after any transfer error (a FAULT leaves this
        // client's STICKYERR set: docs/protocol.md, rule 11).
        clear_sticky(&mut victim);
    }
    assert!(server.faults.injected() >= 3, "the fault was not injected");
    assert_eq!(other.join().expect("bystander"), 200);

    // Disarmed, the same client reads the word it wrote: the probe and the
    // debug port are usable again.
    server.faults.clear();
    let read = read_word(&mut victim, FAULTED);
    assert_eq!(read["status"], 0, "after recovery: {read}");
    assert_eq!(read["result"], 0x1234_5678u32);
    victim.ok("disconnect", json!([]));
    victim.ok("close", json!([]));
    drop(victim);
    server.assert_nothing_leaked();
}

#[test]
fn a_wait_storm_past_the_retries_is_status_11_for_its_client_only() {
    fault_stays_with_its_client(
        InjectedAck::Wait,
        11,
        "transfer timeout: WAIT response to AP read 0xc after the probe's retries",
    );
}

#[test]
fn a_fault_at_an_address_is_status_12_for_its_client_only() {
    fault_stays_with_its_client(
        InjectedAck::Fault,
        12,
        "transfer fault: FAULT response to AP read 0xc",
    );
}

#[test]
fn no_acknowledge_is_status_10_for_its_client_only() {
    fault_stays_with_its_client(
        InjectedAck::NoAck,
        10,
        "transfer error: no ACK to AP read 0xc",
    );
}

#[test]
fn a_read_parity_error_is_status_10_for_its_client_only() {
    fault_stays_with_its_client(
        InjectedAck::ParityError,
        10,
        "transfer error: SWD protocol error (parity) on AP read 0xc",
    );
}

/// A FAULT on a deferred write reaches the client that wrote, with its
/// next request, and not the bystander whose transfers follow.
#[test]
fn a_faulting_write_is_reported_to_the_writer() {
    let server = FaultyServer::start();
    let mut victim = memory_session(server.addr());
    server
        .faults
        .fail_at(FAULTED..FAULTED + 4, InjectedAck::Fault);
    let other = bystander(server.addr(), BYSTANDER_BASE, 100);
    victim.ok("write_ap", json!([0x04, FAULTED]));
    let write = victim.call("write_ap", json!([0x0C, 0xDEAD_BEEFu32]));
    let failed = if write["status"] == 0 {
        // Deferred: answered before the probe confirmed it; the FAULT
        // comes with this client's next request.
        victim.call("read_dp", json!([0]))
    } else {
        write
    };
    assert_eq!(failed["status"], 12, "{failed}");
    let message = failed["error"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("transfer fault: FAULT response to AP write 0xc"),
        "{failed}"
    );
    assert_eq!(other.join().expect("bystander"), 100);
    server.faults.clear();
    clear_sticky(&mut victim);
    write_word(&mut victim, FAULTED, 7);
    assert_eq!(read_word(&mut victim, FAULTED)["result"], 7);
    drop(victim);
    server.assert_nothing_leaked();
}
