//! The register-level requests through a real socket, against the virtual
//! Cortex-M: DP reads and writes with the power-up handshake, the AHB-AP's
//! registers and RAM behind it, the `_multiple` forms, a FAULT and its
//! sticky flag, SWO (absent on the sim), and the memory-interface requests.

mod common;

use common::{
    powered_session, start_server, start_server_with_memory_handles, Client, POWER_UP_ACK,
    POWER_UP_REQUEST, SIM_DPIDR,
};
use serde_json::json;

// DP registers.
const DP_ABORT: u32 = 0x0;
const DP_CTRL_STAT: u32 = 0x4;
const STICKYERR: u32 = 1 << 5;
const STKERRCLR: u32 = 1 << 2;

// AHB-AP (APSEL 0) registers and values.
const CSW: u32 = 0x00;
const TAR: u32 = 0x04;
const DRW: u32 = 0x0C;
const IDR: u32 = 0xFC;
const AHB_AP_IDR: u32 = 0x2477_0011;
/// Word transfers, single auto-increment, pyOCD's HPROT/MasterType bits.
const CSW_WORD_INCREMENT: u32 = 0x2300_0012;
/// DeviceEn reads as one on this AP.
const CSW_DEVICE_ENABLED: u32 = 1 << 6;
/// The IDR of APSEL 2, where the sim has no AP (APSEL 1 is its CTRL-AP).
const ABSENT_AP_IDR: u32 = 0x0200_00FC;

const RAM: u32 = 0x2000_0000;
const UNMAPPED: u32 = 0x4000_0000;

fn word_increment_session(addr: std::net::SocketAddr) -> Client {
    let mut c = powered_session(addr);
    c.ok("write_ap", json!([CSW, CSW_WORD_INCREMENT]));
    c
}

// ---- DP ------------------------------------------------------------------

#[test]
fn read_dp_returns_the_cortex_m_dpidr() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    assert_eq!(c.ok("read_dp", json!([0])), SIM_DPIDR);
}

#[test]
fn power_up_request_in_ctrl_stat_reads_back_acknowledged() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    let before = c.ok("read_dp", json!([DP_CTRL_STAT])).as_u64().unwrap() as u32;
    assert_eq!(before & POWER_UP_ACK, 0, "{before:#x}");
    c.ok("write_dp", json!([DP_CTRL_STAT, POWER_UP_REQUEST]));
    let after = c.ok("read_dp", json!([DP_CTRL_STAT])).as_u64().unwrap() as u32;
    let both = POWER_UP_REQUEST | POWER_UP_ACK;
    assert_eq!(after & both, both, "{after:#x}");
}

#[test]
fn dp_address_outside_the_register_file_is_refused() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    // Bits 7:4 carry a DP bank (the client selects it); anything outside
    // A[3:2] and the bank is no DP register.
    for addr in [0x2, 0x100] {
        let message = c.err("read_dp", json!([addr]), 1);
        assert!(message.contains("invalid DP register address"), "{message}");
    }
}

// ---- AP registers and RAM -------------------------------------------------

#[test]
fn read_ap_returns_the_ahb_ap_idr() {
    let server = start_server();
    let mut c = powered_session(server.local_addr());
    assert_eq!(c.ok("read_ap", json!([IDR])), AHB_AP_IDR);
}

#[test]
fn absent_ap_reads_idr_zero() {
    let server = start_server();
    let mut c = powered_session(server.local_addr());
    assert_eq!(c.ok("read_ap", json!([ABSENT_AP_IDR])), 0);
    // The real AP is still reachable after SELECT moved away and back.
    assert_eq!(c.ok("read_ap", json!([IDR])), AHB_AP_IDR);
}

#[test]
fn csw_keeps_the_attribute_bits_the_client_wrote() {
    let server = start_server();
    let mut c = word_increment_session(server.local_addr());
    let csw = c.ok("read_ap", json!([CSW]));
    assert_eq!(csw, CSW_WORD_INCREMENT | CSW_DEVICE_ENABLED);
}

#[test]
fn ram_written_through_tar_and_drw_reads_back() {
    let server = start_server();
    let mut c = word_increment_session(server.local_addr());
    c.ok("write_ap", json!([TAR, RAM]));
    c.ok("write_ap", json!([DRW, 0xDEAD_BEEFu32]));
    assert_eq!(
        c.ok("read_ap", json!([TAR])),
        RAM + 4,
        "TAR auto-increments"
    );
    c.ok("write_ap", json!([TAR, RAM]));
    assert_eq!(c.ok("read_ap", json!([DRW])), 0xDEAD_BEEFu32);
}

#[test]
fn ap_access_without_power_up_faults() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    let message = c.err("read_ap", json!([IDR]), 12);
    assert!(message.contains("FAULT"), "{message}");
}

#[test]
fn ap_address_with_reserved_bits_is_refused() {
    let server = start_server();
    let mut c = powered_session(server.local_addr());
    let message = c.err("read_ap", json!([0x0000_1000]), 1);
    assert!(message.contains("invalid AP register address"), "{message}");
}

// ---- read_ap_multiple / write_ap_multiple ----------------------------------

#[test]
fn write_and_read_ap_multiple_stream_through_drw() {
    let server = start_server();
    let mut c = word_increment_session(server.local_addr());
    let words = json!([1, 0x2222_2222u32, 0x3333_3333u32, 0xFFFF_FFFFu32]);
    c.ok("write_ap", json!([TAR, RAM + 0x100]));
    let response = c.call("write_ap_multiple", json!([DRW, words]));
    assert!(response.get("result").is_none(), "{response}");
    assert_eq!(c.ok("read_ap", json!([TAR])), RAM + 0x110);
    c.ok("write_ap", json!([TAR, RAM + 0x100]));
    assert_eq!(c.ok("read_ap_multiple", json!([DRW, 4])), words);
}

#[test]
fn read_ap_multiple_of_zero_returns_an_empty_list() {
    let server = start_server();
    let mut c = powered_session(server.local_addr());
    assert_eq!(c.ok("read_ap_multiple", json!([IDR, 0])), json!([]));
}

#[test]
fn read_ap_multiple_of_a_register_repeats_it() {
    let server = start_server();
    let mut c = powered_session(server.local_addr());
    let idrs = c.ok("read_ap_multiple", json!([IDR, 3]));
    assert_eq!(idrs, json!([AHB_AP_IDR, AHB_AP_IDR, AHB_AP_IDR]));
}

// ---- FAULT and STICKYERR ----------------------------------------------------

#[test]
fn fault_at_unmapped_address_sets_stickyerr_until_abort_clears_it() {
    let server = start_server();
    let mut c = word_increment_session(server.local_addr());
    c.ok("write_ap", json!([TAR, UNMAPPED]));
    let message = c.err("read_ap", json!([DRW]), 12);
    assert!(message.contains("FAULT"), "{message}");

    let ctrl_stat = c.ok("read_dp", json!([DP_CTRL_STAT])).as_u64().unwrap() as u32;
    assert_ne!(ctrl_stat & STICKYERR, 0, "{ctrl_stat:#x}");
    // While the flag is set every AP access faults, a harmless one too.
    c.err("read_ap", json!([IDR]), 12);

    c.ok("write_dp", json!([DP_ABORT, STKERRCLR]));
    let cleared = c.ok("read_dp", json!([DP_CTRL_STAT])).as_u64().unwrap() as u32;
    assert_eq!(cleared & STICKYERR, 0, "{cleared:#x}");
    assert_eq!(c.ok("read_ap", json!([IDR])), AHB_AP_IDR);
}

#[test]
fn fault_in_write_ap_multiple_fails_it_and_keeps_responses_paired() {
    let server = start_server();
    let mut c = word_increment_session(server.local_addr());
    c.ok("write_ap", json!([TAR, UNMAPPED]));
    // CMSIS-DAP writes are deferred (as in pyOCD's own driver): the FAULT
    // reaches this client with the write or, at the latest, with its next
    // request; either way every response keeps its id.
    let failed = c.send("write_ap_multiple", json!([DRW, [1, 2, 3]]));
    let next = c.send("read_dp", json!([0]));
    let (first, second) = (c.recv(), c.recv());
    assert_eq!(
        (&first["id"], &second["id"]),
        (&json!(failed), &json!(next))
    );
    let faulted = [&first, &second]
        .iter()
        .filter(|r| r["status"] == 12)
        .count();
    assert_eq!(faulted, 1, "exactly one FAULT: {first} {second}");
    c.ok("write_dp", json!([0, 0x1E]));
    assert_eq!(c.ok("read_dp", json!([0])), SIM_DPIDR);
}

// ---- SWO ---------------------------------------------------------------------

#[test]
fn has_swo_is_false_on_the_sim() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    assert_eq!(c.ok("has_swo", json!([])), false);
}

#[test]
fn swo_requests_are_probe_errors_on_the_sim() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    for (request, arguments) in [
        ("swo_start", json!([115_200])),
        ("swo_stop", json!([])),
        ("swo_read", json!([])),
    ] {
        let message = c.err(request, arguments, 3);
        assert!(message.contains("not supported"), "{request}: {message}");
    }
}

// ---- memory interfaces and handles -----------------------------------------

#[test]
fn without_memory_handles_enabled_every_ap_gets_null_and_no_handle_works() {
    let server = start_server();
    let mut c = powered_session(server.local_addr());
    assert!(c.ok("get_memory_interface_for_ap", json!([1, 0])).is_null());
    assert!(c.ok("get_memory_interface_for_ap", json!([2, 0])).is_null());
    let message = c.err("read_mem", json!([1, RAM, 32]), 1);
    assert!(message.starts_with("invalid handle"), "{message}");
}

#[test]
fn memory_interface_for_the_ahb_ap_is_a_handle_and_for_absent_aps_null() {
    let server = start_server_with_memory_handles();
    let mut c = powered_session(server.local_addr());
    let handle = c.ok("get_memory_interface_for_ap", json!([1, 0]));
    assert!(handle.is_u64(), "a handle is an integer: {handle}");
    // Asking again for the same AP gives the same handle.
    assert_eq!(c.ok("get_memory_interface_for_ap", json!([1, 0])), handle);
    for apsel in [1, 2, 255] {
        assert!(
            c.ok("get_memory_interface_for_ap", json!([1, apsel]))
                .is_null(),
            "APSEL {apsel} has no MEM-AP on the sim (1 is its CTRL-AP)"
        );
    }
    // The sim's probe cannot address APv2s at all.
    assert!(c.ok("get_memory_interface_for_ap", json!([2, 0])).is_null());
}

#[test]
fn a_memory_handle_reads_and_writes_the_ram_behind_its_ap() {
    let server = start_server_with_memory_handles();
    let mut c = powered_session(server.local_addr());
    let handle = c.ok("get_memory_interface_for_ap", json!([1, 0]));
    c.ok(
        "write_block32",
        json!([handle, RAM, [0x1122_3344, 0x5566_7788]]),
    );
    assert_eq!(c.ok("read_mem", json!([handle, RAM + 4, 32])), 0x5566_7788);
    assert_eq!(
        c.ok("read_block8", json!([handle, RAM + 1, 2])),
        json!([0x33, 0x22])
    );
    // The same words through the AP's registers.
    c.ok("write_ap", json!([CSW, CSW_WORD_INCREMENT]));
    c.ok("write_ap", json!([TAR, RAM]));
    assert_eq!(c.ok("read_ap", json!([DRW])), 0x1122_3344);
}

#[test]
fn memory_interface_for_an_apsel_over_255_is_refused() {
    let server = start_server_with_memory_handles();
    let mut c = powered_session(server.local_addr());
    let message = c.err("get_memory_interface_for_ap", json!([1, 256]), 1);
    assert!(message.contains("APSEL 256"), "{message}");
}

#[test]
fn memory_interface_before_the_debug_port_is_powered_is_a_fault() {
    let server = start_server_with_memory_handles();
    let mut c = Client::session(server.local_addr());
    c.err("get_memory_interface_for_ap", json!([1, 0]), 12);
    // The server cleared the sticky flag its IDR read set.
    assert_eq!(
        c.ok("read_dp", json!([DP_CTRL_STAT])).as_u64().unwrap() as u32 & STICKYERR,
        0
    );
}

#[test]
fn memory_interface_for_an_unknown_ap_version_is_refused() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    let message = c.err("get_memory_interface_for_ap", json!([3, 0]), 1);
    assert!(message.contains("'ap_address_version'"), "{message}");
}

#[test]
fn every_memory_request_with_an_unissued_handle_is_refused() {
    let server = start_server_with_memory_handles();
    let mut c = powered_session(server.local_addr());
    let issued = c.ok("get_memory_interface_for_ap", json!([1, 0]));
    let unissued = issued.as_u64().unwrap() + 1000;
    // This connection holds exactly one handle: any other number is unknown.
    let requests = [
        ("read_mem", json!([unissued, RAM, 32])),
        ("read_mem", json!([0, RAM, 32])),
        ("write_mem", json!([unissued + 1, RAM, 0xAB, 8])),
        ("read_block32", json!([unissued + 2, RAM, 4])),
        ("write_block32", json!([u64::MAX, RAM, [1, 2]])),
        ("read_block8", json!([unissued + 3, RAM + 1, 3])),
        ("write_block8", json!([unissued + 4, RAM, [1, 2, 255]])),
    ];
    for (request, arguments) in requests {
        let message = c.err(request, arguments, 1);
        assert!(
            message.starts_with("invalid handle"),
            "{request}: {message}"
        );
    }
    // Nothing was written: RAM still reads as it did.
    c.ok("write_ap", json!([CSW, CSW_WORD_INCREMENT]));
    c.ok("write_ap", json!([TAR, RAM]));
    assert_eq!(c.ok("read_ap", json!([DRW])), 0);
}
