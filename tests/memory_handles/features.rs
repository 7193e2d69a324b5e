//! The `probeshare_features` extension (docs/protocol.md, "Extensions"): a
//! client that declares `memory_handles` gets handles from a server with its
//! defaults, while stock clients of the same server keep AP-level access.

use serde_json::json;

use super::support::{as_bytes, pattern, RAM_BASE};
use crate::common::{assert_failure, powered_session, start_server, Client};

fn declare(client: &mut Client, features: serde_json::Value) -> serde_json::Value {
    client.ok("probeshare_features", json!([features]))
}

#[test]
fn a_client_declaring_memory_handles_gets_them_where_a_stock_client_gets_null() {
    let server = start_server();
    let mut stock = powered_session(server.local_addr());
    let mut declaring = powered_session(server.local_addr());

    assert_eq!(
        declaring.ok("get_memory_interface_for_ap", json!([1, 0])),
        json!(null),
        "no handle before the declaration"
    );
    assert_eq!(
        declare(&mut declaring, json!(["memory_handles"])),
        json!(["memory_handles"])
    );
    let handle = declaring
        .ok("get_memory_interface_for_ap", json!([1, 0]))
        .as_u64()
        .expect("a handle after declaring memory_handles");
    let data = pattern(1000, 3);
    declaring.ok("write_block8", json!([handle, RAM_BASE + 1, data]));
    let read = declaring.ok("read_block8", json!([handle, RAM_BASE + 1, data.len()]));
    assert_eq!(as_bytes(&read), data);

    // The declaration is the connection's own.
    assert_eq!(
        stock.ok("get_memory_interface_for_ap", json!([1, 0])),
        json!(null)
    );
    let refused = stock.call("read_block8", json!([handle, RAM_BASE, 4]));
    assert_failure(
        &refused,
        1,
        "invalid handle received from remote memory access",
    );
}

#[test]
fn unknown_features_are_granted_nothing_and_change_nothing() {
    let server = start_server();
    let mut client = powered_session(server.local_addr());
    assert_eq!(declare(&mut client, json!(["later", "x"])), json!([]));
    assert_eq!(declare(&mut client, json!([])), json!([]));
    assert_eq!(
        client.ok("get_memory_interface_for_ap", json!([1, 0])),
        json!(null)
    );
    // Known among unknown: only the known one is granted, once.
    assert_eq!(
        declare(
            &mut client,
            json!(["x", "memory_handles", "memory_handles"])
        ),
        json!(["memory_handles"])
    );
    assert!(client
        .ok("get_memory_interface_for_ap", json!([1, 0]))
        .is_u64());
}

#[test]
fn the_extension_needs_hello_and_a_list_of_names() {
    let server = start_server();
    let mut client = Client::connect(server.local_addr());
    let before_hello = client.call("probeshare_features", json!([["memory_handles"]]));
    assert_failure(&before_hello, 1, "hello required");
    client.ok("hello", json!([1]));
    let not_a_list = client.call("probeshare_features", json!(["memory_handles"]));
    assert_failure(
        &not_a_list,
        1,
        "invalid argument 'features' of probeshare_features: expected a list",
    );
    let not_names = client.call("probeshare_features", json!([[1]]));
    assert_failure(&not_names, 1, "element 0: expected a string, got 1");
    // A refused declaration declared nothing; a good one still works.
    client.ok("open", json!([]));
    client.ok("connect", json!(["SWD"]));
    assert_eq!(
        declare(&mut client, json!(["memory_handles"])),
        json!(["memory_handles"])
    );
}
