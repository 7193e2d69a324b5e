//! Rule 1: `hello` first. Anything before a successful `hello` is refused
//! with status 1 `hello required` and touches nothing; a failed `hello`
//! leaves the connection usable.

use serde_json::{json, Value};

use crate::common::{start_server, Client};
use crate::support::*;

const HELLO_REQUIRED: &str = "hello required";

#[test]
fn requests_before_hello_are_refused_and_change_nothing() {
    let server = start_server();
    let mut early = Client::connect(server.local_addr());
    for (request, arguments) in [
        ("open", json!([])),
        ("connect", json!(["SWD"])),
        ("lock", json!([])),
        ("read_dp", json!([DP_IDR])),
        ("readprop", json!(["wire_protocol"])),
    ] {
        assert_eq!(
            early.err(request, arguments, 1),
            HELLO_REQUIRED,
            "{request}"
        );
    }

    // Another client sees an unopened, unconnected, unlocked probe: its read
    // is answered at once, by a probe that was never opened.
    let mut other = Client::hello(server.local_addr());
    assert_eq!(wire_protocol(&mut other), Value::Null);
    assert_eq!(other.err("read_dp", json!([DP_IDR]), 3), NOT_OPEN);

    // And the early client holds nothing that its refused requests named.
    early.ok("hello", json!([1]));
    early.err("close", json!([]), 1);
    early.err("unlock", json!([]), 1);
}

#[test]
fn failed_hello_leaves_the_connection_usable() {
    let server = start_server();
    let mut client = Client::connect(server.local_addr());
    assert_eq!(
        client.err("hello", json!([2]), 1),
        "client requested unsupported protocol version 2 (expected 1)"
    );
    // A failed hello is not a hello.
    assert_eq!(
        client.err("readprop", json!(["vendor_name"]), 1),
        HELLO_REQUIRED
    );

    client.ok("hello", json!([1]));
    client.ok("open", json!([]));
    client.ok("connect", json!(["SWD"]));
    assert_eq!(read_dp(&mut client, DP_IDR), DPIDR_VALUE);
}
