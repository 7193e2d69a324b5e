//! A real pyOCD halts and resumes the virtual target while a raw
//! subscriber on the same port hears it (docs/protocol.md, "Events").

use serde_json::{json, Value};

use crate::common::{start_server, Client};
use crate::e2e::commander::CommanderScript;
use crate::e2e::remote_uid;
use crate::e2e::scratch::ScratchDir;
use crate::e2e::venv::venv;

#[test]
fn a_subscriber_hears_pyocd_halt_and_resume_the_target() {
    let venv = venv();
    let scratch = ScratchDir::new("events");
    let server = start_server();
    let addr = server.local_addr();
    let mut subscriber = Client::hello(addr);
    subscriber.ok("subscribe", json!([["target", "client"]]));

    let mut script = CommanderScript::new();
    let halt = script.step("halt");
    script.step("go");
    let transcript = script.run("events", venv, &scratch, &remote_uid(addr));
    assert!(
        transcript.of(halt).to_lowercase().contains("halt"),
        "{}",
        transcript.of(halt)
    );

    // pyOCD has come and gone: every event it caused is on the wire.
    let mut events: Vec<Value> = Vec::new();
    while !events
        .iter()
        .any(|e| e["event"] == "client" && e["what"] == "left")
    {
        events.push(subscriber.recv());
    }
    let target: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["event"] == "target")
        .map(|e| (e["what"].as_str().unwrap(), e["read_by"].as_str().unwrap()))
        .collect();
    let halted = target
        .iter()
        .position(|&what| what == ("halted", "client"))
        .unwrap_or_else(|| panic!("no halt read by pyOCD: {target:?}"));
    assert!(
        target[halted..].iter().any(|&(what, _)| what == "running"),
        "no resume after the halt: {target:?}"
    );
    assert_eq!(events[0]["what"], "joined", "{events:?}");
}
