//! Session commands on a session's port (docs/protocol.md, "Session
//! ports"): `connect` and `disconnect` counted for their connection,
//! `erase` through the virtual target's CTRL-AP, confirmed by a real
//! pyOCD reading the code memory through the session's port.

use serde_json::{json, Value};

use crate::common::{wait_until, Client, SIM_DPIDR};
use crate::e2e::commander::CommanderScript;
use crate::e2e::remote_uid;
use crate::e2e::scratch::ScratchDir;
use crate::e2e::venv::venv;
use crate::support::{command, Bench, PROBE};

/// AHB-AP registers, and CSW for word transfers with pyOCD's attributes.
const CSW: u32 = 0x00;
const TAR: u32 = 0x04;
const DRW: u32 = 0x0C;
const CSW_WORD: u32 = 0x2300_0002;
const ERASED: u32 = 0xFFFF_FFFF;

/// The word at `addr`, read with pyOCD requests through the AHB-AP.
fn read_word(client: &mut Client, addr: u32) -> u32 {
    client.ok("write_ap", json!([CSW, CSW_WORD]));
    client.ok("write_ap", json!([TAR, addr]));
    client.ok("read_ap", json!([DRW])).as_u64().expect("a word") as u32
}

/// The management interface's entry for the client at `local`.
fn listed(bench: &Bench, client: &Client) -> Value {
    let peer = client.stream.local_addr().unwrap().to_string();
    let (_, clients) = bench.call("GET", &format!("/probes/{PROBE}/clients"), None);
    let entry = clients
        .as_array()
        .and_then(|list| list.iter().find(|c| c["peer"] == peer.as_str()).cloned());
    entry.unwrap_or(Value::Null)
}

#[test]
fn connect_answers_dpidr_and_disconnect_drops_this_connections_references() {
    let bench = Bench::start();
    let session = bench.opened("ci", 60);
    let mut c = Client::connect(session.addr());
    let answer = command(&mut c, json!({"name": "connect"}));
    assert_eq!(
        answer,
        json!({"name": "connect", "status": 0, "dpidr": SIM_DPIDR, "protocol": "SWD"})
    );
    wait_until("the connect to be counted", || {
        let entry = listed(&bench, &c);
        entry["connect_count"] == 1 && entry["open_count"] == 1
    });
    assert_eq!(listed(&bench, &c)["session"], session.id());
    // Connecting again only reads DPIDR: no second reference.
    let again = command(
        &mut c,
        json!({"name": "connect", "args": {"protocol": "SWD"}}),
    );
    assert_eq!(again["dpidr"], SIM_DPIDR);
    let jtag = command(
        &mut c,
        json!({"name": "connect", "args": {"protocol": "JTAG"}}),
    );
    assert_eq!(
        jtag["dpidr"], SIM_DPIDR,
        "this connection is connected already: {jtag}"
    );

    let answer = command(&mut c, json!({"name": "disconnect"}));
    assert_eq!(answer, json!({"name": "disconnect", "status": 0}));
    wait_until("the references to go", || {
        let entry = listed(&bench, &c);
        entry["connect_count"] == 0 && entry["open_count"] == 0
    });
    let answer = command(&mut c, json!({"name": "disconnect"}));
    assert_eq!(answer["status"], 1, "{answer}");
}

#[test]
fn a_failing_connect_reports_the_probes_error_with_its_status() {
    let bench = Bench::start();
    let session = bench.opened("ci", 60);
    let mut other = Client::session(session.addr());
    other.ok("read_dp", json!([0]));
    let mut c = Client::connect(session.addr());
    let answer = command(
        &mut c,
        json!({"name": "connect", "args": {"protocol": "JTAG"}}),
    );
    assert_eq!(answer["name"], "connect");
    assert_eq!(answer["status"], 3, "{answer}");
    assert_eq!(
        answer["error"],
        "probe already connected using SWD protocol"
    );
}

#[test]
fn erase_empties_the_code_memory_through_the_ctrl_ap_as_pyocd_then_reads_it() {
    let bench = Bench::start();
    let session = bench.opened("flasher", 60);
    let mut c = Client::connect(session.addr());
    let early = command(&mut c, json!({"name": "erase"}));
    assert_eq!(early["status"], 3, "{early}");
    assert_eq!(early["error"], "target not connected: send connect first");

    assert_eq!(command(&mut c, json!({"name": "connect"}))["status"], 0);
    // pyOCD requests on the same connection as the commands.
    c.ok("hello", json!([1]));
    let vectors = [read_word(&mut c, 0), read_word(&mut c, 4)];
    assert!(
        vectors.iter().all(|&w| w != ERASED),
        "the boot image: {vectors:x?}"
    );

    let answer = command(&mut c, json!({"name": "erase"}));
    assert_eq!(
        answer,
        json!({"name": "erase", "status": 0, "method": "nordic-ctrl-ap"})
    );
    assert_eq!(read_word(&mut c, 0), ERASED);
    assert_eq!(read_word(&mut c, 0x100), ERASED);

    // The real pyOCD, through the session's port beside this client.
    let scratch = ScratchDir::new("session-erase");
    let mut script = CommanderScript::new();
    let dump = script.step("read32 0 16");
    let transcript = script.run("erase", venv(), &scratch, &remote_uid(session.addr()));
    for index in 0..4 {
        assert_eq!(transcript.dumped_word(dump, index), ERASED, "word {index}");
    }
}
