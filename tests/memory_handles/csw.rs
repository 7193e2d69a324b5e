//! The server sets CSW's Size and AddrInc for its transfers and nothing
//! else: the attribute bits a client put there stay, and CSW reads back as
//! the client left it.

use serde_json::json;

use crate::common::start_server_with_memory_handles;
use crate::support::{as_u32, with_handle, AP_CSW, RAM_BASE};

/// MasterType debugger, HPROT cacheable/privileged/data, halfword size, no
/// increment (DeviceEn reads as one).
const CLIENT_CSW: u32 = 0x2B00_0041;

#[test]
fn attribute_bits_a_client_wrote_survive_every_kind_of_handle_access() {
    let server = start_server_with_memory_handles();
    let (mut c, handle) = with_handle(server.local_addr());
    c.ok("write_ap", json!([AP_CSW, CLIENT_CSW]));
    let accesses = [
        ("write_mem", json!([handle, RAM_BASE, 0xAB, 8])),
        ("read_mem", json!([handle, RAM_BASE, 32])),
        ("write_block32", json!([handle, RAM_BASE, [1, 2, 3]])),
        ("read_block32", json!([handle, RAM_BASE, 3])),
        (
            "write_block8",
            json!([handle, RAM_BASE + 1, [4, 5, 6, 7, 8]]),
        ),
        ("read_block8", json!([handle, RAM_BASE + 3, 6])),
    ];
    for (request, arguments) in accesses {
        c.ok(request, arguments.clone());
        let csw = as_u32(&c.ok("read_ap", json!([AP_CSW])));
        assert_eq!(csw, CLIENT_CSW, "CSW after {request} {arguments}: {csw:#x}");
    }
}

#[test]
fn a_changed_csw_is_seen_by_the_next_handle_access() {
    let server = start_server_with_memory_handles();
    let (mut c, handle) = with_handle(server.local_addr());
    c.ok("read_mem", json!([handle, RAM_BASE, 32]));
    // A new CSW after the server has learnt the old one.
    c.ok("write_ap", json!([AP_CSW, CLIENT_CSW]));
    c.ok("write_block32", json!([handle, RAM_BASE, [9]]));
    assert_eq!(as_u32(&c.ok("read_ap", json!([AP_CSW]))), CLIENT_CSW);
}
