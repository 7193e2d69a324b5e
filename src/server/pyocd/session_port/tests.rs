//! Which lines are session commands, and the answers made without the
//! probe; the commands' steps are pinned end to end in `tests/sessions`.

use super::*;

fn command(line: &str) -> Option<(Value, Option<Value>)> {
    parse_command(line.as_bytes()).map(|c| (c.name, c.args))
}

fn answer_of(incoming: Incoming) -> Value {
    match incoming.route {
        Route::Answer(encoded) | Route::EndSession(encoded) => {
            serde_json::from_slice(&encoded.bytes).expect("a JSON line")
        }
        other => panic!("not answered here: {other:?}"),
    }
}

#[test]
fn an_object_with_name_and_no_request_is_a_command() {
    assert_eq!(
        command(r#"{"name": "connect"}"#),
        Some((json!("connect"), None))
    );
    assert_eq!(
        command(r#"{"args": {"protocol": "JTAG"}, "name": "connect"}"#),
        Some((json!("connect"), Some(json!({"protocol": "JTAG"}))))
    );
}

#[test]
fn pyocd_requests_and_other_lines_are_not_commands() {
    assert!(command(r#"{"id": 1, "request": "hello", "arguments": [1]}"#).is_none());
    // A pyOCD request that happens to carry a name key is still one.
    assert!(command(r#"{"id": 1, "request": "readprop", "name": "x"}"#).is_none());
    assert!(command(r#"["name"]"#).is_none());
    assert!(command("not json \"name\"").is_none());
}

#[test]
fn bad_names_args_and_unknown_commands_are_status_1_naming_the_problem() {
    let info = crate::probe::ProbeInfo {
        unique_id: "t".into(),
        vendor_name: "v".into(),
        product_name: "p".into(),
        description: "d".into(),
        supported_wire_protocols: Vec::new(),
        capabilities: Vec::new(),
        firmware_version: None,
    };
    let mut arbiter = crate::arbiter::Arbiter::new(Default::default());
    let mut view = ProbeView::new(crate::ids::ClientId(9), &info, &mut arbiter);
    let format = SessionPort::new(&ServerConfig::default());
    let mut lines = SessionLines {
        lines: format.pyocd.json_lines(),
        origins: HashMap::new(),
        next_key: 0,
        queued: VecDeque::new(),
        opened: false,
        connected: false,
        runs: HashMap::new(),
        next_run: 0,
    };
    let mut ask = |line: &str| {
        let command = parse_command(line.as_bytes()).expect("a command");
        answer_of(lines.command(command, &mut view))
    };
    let unknown = ask(r#"{"name": "flash"}"#);
    assert_eq!(unknown["name"], "flash");
    assert_eq!(unknown["status"], 1);
    assert_eq!(
        unknown["error"],
        "unknown session command 'flash' (connect, disconnect, erase, stop)"
    );
    assert_eq!(ask(r#"{"name": 7}"#)["status"], 1);
    assert_eq!(ask(r#"{"name": "connect", "args": [1]}"#)["status"], 1);
    let protocol = ask(r#"{"name": "connect", "args": {"protocol": "CAN"}}"#);
    assert!(
        protocol["error"].as_str().unwrap().contains("\"CAN\""),
        "{protocol}"
    );
    let erase = ask(r#"{"name": "erase"}"#);
    assert_eq!(erase["status"], 3);
    assert_eq!(erase["error"], "target not connected: send connect first");
    let disconnect = ask(r#"{"name": "disconnect"}"#);
    assert_eq!(disconnect["status"], 1);
    assert_eq!(
        ask(r#"{"name": "stop"}"#),
        json!({"name": "stop", "status": 0})
    );
}
