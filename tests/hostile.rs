//! Hostile input: whatever a peer sends, the server answers it with status 1
//! (naming the argument when one is at fault), keeps serving that peer, and
//! leaves every other client alone.
//!
//! Each test runs in a [`Scene`]: the hostile client sends its lines while a
//! bystander, with an open, connected and powered-up session, has a RAM
//! round trip in flight. After every hostile line both must still be served
//! and the bystander's work must have come out right.

mod common;

use common::{assert_failure, powered_session, start_server, Client, SIM_DPIDR};
use probeshare::server::ServerHandle;
use serde_json::{json, Value};

const CSW: u32 = 0x00;
const TAR: u32 = 0x04;
const DRW: u32 = 0x0C;
/// Word transfers with single auto-increment.
const CSW_WORD_INCREMENT: u32 = 0x2300_0012;
const RAM: u32 = 0x2000_0000;

/// A server, a hostile client that has said hello, and a bystander mid-work.
struct Scene {
    hostile: Client,
    bystander: Client,
    /// Bumped for each hostile line, so each round trip writes a new word.
    round: u32,
    _server: ServerHandle,
}

impl Scene {
    fn new() -> Scene {
        let server = start_server();
        let mut bystander = powered_session(server.local_addr());
        bystander.ok("write_ap", json!([CSW, CSW_WORD_INCREMENT]));
        Scene {
            hostile: Client::hello(server.local_addr()),
            bystander,
            round: 0,
            _server: server,
        }
    }

    /// Sends one hostile line and returns the hostile client's response,
    /// once both clients are known to be served (see [`Scene::around`]).
    fn send(&mut self, line: &[u8]) -> Value {
        self.around(|hostile| hostile.raw(line))
    }

    /// Runs `hostile_action` while the bystander's RAM round trip is
    /// queued, then checks the bystander got every answer right and the
    /// hostile client is still answered.
    fn around<T>(&mut self, hostile_action: impl FnOnce(&mut Client) -> T) -> T {
        self.round += 1;
        let word = 0x5A00_0000 | self.round;
        let addr = RAM + 4 * (self.round % 256);
        let bystander_ids = [
            self.bystander.send("read_dp", json!([0])),
            self.bystander.send("write_ap", json!([TAR, addr])),
            self.bystander.send("write_ap", json!([DRW, word])),
            self.bystander.send("write_ap", json!([TAR, addr])),
            self.bystander.send("read_ap", json!([DRW])),
        ];
        let outcome = hostile_action(&mut self.hostile);

        let results: Vec<Value> = bystander_ids
            .iter()
            .map(|&id| {
                let r = self.bystander.recv();
                assert_eq!(r["id"], id, "bystander response out of order: {r}");
                assert_eq!(r["status"], 0, "bystander disturbed: {r}");
                r.get("result").cloned().unwrap_or(Value::Null)
            })
            .collect();
        assert_eq!(results[0], SIM_DPIDR);
        assert_eq!(results[4], word, "bystander's RAM round trip");
        assert_eq!(self.hostile.ok("readprop", json!(["unique_id"])), "sim");
        outcome
    }

    /// A line refused with status 1 under `id`, its message containing `needle`.
    fn refused(&mut self, line: &[u8], id: i64, needle: &str) {
        let response = self.send(line);
        assert_failure(&response, 1, needle);
        assert_eq!(response["id"], id, "{}", String::from_utf8_lossy(line));
    }

    /// `request` with the raw JSON `arguments` is refused naming `argument`.
    fn bad_argument(&mut self, request: &str, arguments: &str, argument: &str) {
        let line = format!(r#"{{"id":41,"request":"{request}","arguments":{arguments}}}"#);
        let needle = format!("invalid argument '{argument}' of {request}");
        self.refused(line.as_bytes(), 41, &needle);
    }
}

const INVALID_FORMAT: &str = "invalid request format";
const TWO_POW_32: &str = "4294967296";
const TWO_POW_64: &str = "18446744073709551616";
const TEN_POW_30: &str = "1000000000000000000000000000000";

#[test]
fn non_json_lines_are_invalid_request_format() {
    let mut scene = Scene::new();
    let lines: [&[u8]; 7] = [
        b"hello world",
        b"{",
        b"}",
        br#"{"id":1,"request":"read_dp","arguments":[0]"#,
        b"{'id': 1, 'request': 'open'}",
        b"{id:1,request:open}",
        br#"{"id":1,"request":"open"} {"id":2,"request":"open"}"#,
    ];
    for line in lines {
        scene.refused(line, -1, INVALID_FORMAT);
    }
}

#[test]
fn top_level_values_other_than_objects_are_invalid_request_format() {
    let mut scene = Scene::new();
    let lines: [&[u8]; 8] = [
        br#"[1,"read_dp",[0]]"#,
        b"[]",
        br#""read_dp""#,
        b"42",
        b"-1.5",
        b"null",
        b"true",
        br#"{"id":1,"request":"open"}]"#,
    ];
    for line in lines {
        scene.refused(line, -1, INVALID_FORMAT);
    }
}

#[test]
fn missing_or_misshapen_fields_get_their_status_table_message() {
    let mut scene = Scene::new();
    scene.refused(b"{}", -1, "missing request ID");
    scene.refused(br#"{"request":"open"}"#, -1, "missing request ID");
    scene.refused(br#"{"id":2}"#, 2, "missing request field");
    let wrong_count = "malformed request; invalid number of arguments";
    scene.refused(br#"{"id":3,"request":"read_dp"}"#, 3, wrong_count);
    scene.refused(
        br#"{"id":4,"request":"open","arguments":[1]}"#,
        4,
        wrong_count,
    );
    for arguments in ["null", "{}", r#"{"addr":0}"#, r#""[0]""#, "0", "true"] {
        let line = format!(r#"{{"id":5,"request":"read_dp","arguments":{arguments}}}"#);
        scene.refused(line.as_bytes(), 5, "invalid request arguments format");
    }
}

#[test]
fn unusable_ids_are_refused_under_id_minus_one() {
    let mut scene = Scene::new();
    for id in [
        r#""1""#, "1.5", "1e3", TWO_POW_64, "null", "[1]", "{}", "true",
    ] {
        let line = format!(r#"{{"id":{id},"request":"readprop","arguments":["unique_id"]}}"#);
        scene.refused(line.as_bytes(), -1, "invalid request field 'id'");
    }
}

#[test]
fn unknown_request_names_are_unknown_request_type() {
    let mut scene = Scene::new();
    let names = [
        r#""frobnicate""#,
        r#""""#,
        r#""READ_DP""#,
        r#""read_dp ""#,
        r#""read_dp\u0000""#,
        r#""__init__""#,
        "5",
        "null",
        r#"["read_dp"]"#,
        r#"{"name":"read_dp"}"#,
    ];
    for name in names {
        let line = format!(r#"{{"id":9,"request":{name},"arguments":[0]}}"#);
        scene.refused(line.as_bytes(), 9, "unknown request type");
    }
}

#[test]
fn arguments_of_the_wrong_type_name_the_argument() {
    let mut scene = Scene::new();
    let cases = [
        ("read_dp", r#"["0"]"#, "addr"),
        ("read_dp", "[true]", "addr"),
        ("read_dp", "[null]", "addr"),
        ("read_dp", "[{}]", "addr"),
        ("read_dp", "[[0]]", "addr"),
        ("write_dp", r#"[4,"x"]"#, "data"),
        ("write_ap", "[false,0]", "addr"),
        ("hello", r#"["1"]"#, "version"),
        ("readprop", "[5]", "name"),
        ("readprop", "[null]", "name"),
        ("connect", "[1]", "protocol"),
        ("assert_reset", "[2]", "asserted"),
        ("assert_reset", r#"["true"]"#, "asserted"),
        ("set_clock", "[null]", "freq"),
        ("read_ap_multiple", r#"[12,"4"]"#, "count"),
        ("write_ap_multiple", "[12,5]", "data"),
        ("write_ap_multiple", r#"[12,[1,"2"]]"#, "data"),
        ("swd_sequence", "[5]", "sequences"),
        ("swd_sequence", "[[[8,255,1]]]", "sequences"),
        ("jtag_sequence", "[8,0,null,0]", "read_tdo"),
        (
            "get_memory_interface_for_ap",
            r#"["1",0]"#,
            "ap_address_version",
        ),
        ("read_mem", r#"["1",536870912,32]"#, "handle"),
        ("read_mem", "[1,536870912,12]", "xfer_size"),
        ("write_mem", "[1,536870912,256,8]", "value"),
        ("read_block32", "[1,536870913,4]", "addr"),
        ("swo_start", "[{}]", "baudrate"),
    ];
    for (request, arguments, argument) in cases {
        scene.bad_argument(request, arguments, argument);
    }
}

#[test]
fn negative_and_oversized_integers_name_the_argument() {
    let mut scene = Scene::new();
    let cases = [
        ("read_dp", "[-1]".to_string(), "addr"),
        ("write_dp", "[-4,0]".to_string(), "addr"),
        ("write_dp", format!("[4,{TWO_POW_32}]"), "data"),
        ("read_ap", format!("[{TWO_POW_64}]"), "addr"),
        ("read_ap", format!("[{TEN_POW_30}]"), "addr"),
        ("set_clock", format!("[{TWO_POW_32}]"), "freq"),
        ("hello", format!("[{TWO_POW_64}]"), "version"),
        ("read_mem", format!("[{TWO_POW_64},0,32]"), "handle"),
        ("write_block8", "[1,0,[1,256]]".to_string(), "data"),
        (
            "write_ap_multiple",
            format!("[12,[0,{TWO_POW_32}]]"),
            "data",
        ),
        ("swj_sequence", "[8,-1]".to_string(), "bits"),
        ("swj_sequence", format!("[{TEN_POW_30},0]"), "length"),
    ];
    for (request, arguments, argument) in cases {
        scene.bad_argument(request, &arguments, argument);
    }
}

#[test]
fn floats_are_refused_where_integers_belong() {
    let mut scene = Scene::new();
    for float in ["1.0", "1e3", "1E3", "0.5", "-0.0", "4.294967295e9"] {
        scene.bad_argument("read_dp", &format!("[{float}]"), "addr");
    }
    scene.bad_argument("read_ap_multiple", "[12,2.0]", "count");
}

/// Refused while decoding, before anything is sized by the count.
#[test]
fn huge_counts_are_refused_naming_the_count() {
    let mut scene = Scene::new();
    scene.bad_argument("read_ap_multiple", "[12,1000000000]", "count");
    scene.bad_argument("read_ap_multiple", "[12,4294967295]", "count");
    scene.bad_argument("read_block32", "[1,536870912,1000000000]", "word_count");
    scene.bad_argument("read_block8", "[1,536870912,4294967295]", "byte_count");
}

#[test]
fn memory_requests_with_invalid_handles_are_refused() {
    let mut scene = Scene::new();
    let lines = [
        r#"{"id":3,"request":"read_mem","arguments":[0,536870912,32]}"#,
        r#"{"id":3,"request":"read_block32","arguments":[18446744073709551615,536870912,1]}"#,
        r#"{"id":3,"request":"write_block8","arguments":[99,536870912,[1,2,3]]}"#,
    ];
    for line in lines {
        scene.refused(line.as_bytes(), 3, "invalid handle");
    }
}

#[test]
fn invalid_utf8_is_invalid_request_format() {
    let mut scene = Scene::new();
    let lines: [&[u8]; 4] = [
        b"\xff\xfe\xfd",
        b"{\"id\":1,\"request\":\"readprop\",\"arguments\":[\"\xff\"]}",
        b"{\"id\":1,\"request\":\"read\xc0\xafdp\",\"arguments\":[0]}",
        b"{\"id\":1,\"request\":\"readprop\",\"arguments\":[\"\xed\xa0\x80\"]}",
    ];
    for line in lines {
        scene.refused(line, -1, INVALID_FORMAT);
    }
}

#[test]
fn nul_bytes_are_invalid_request_format() {
    let mut scene = Scene::new();
    let lines: [&[u8]; 4] = [
        b"\0",
        b"\0\0\0\0{\"id\":1,\"request\":\"open\"}",
        b"{\"id\":1,\"request\":\"open\"}\0",
        b"{\"id\":1,\"request\":\"readprop\",\"arguments\":[\"unique\0id\"]}",
    ];
    for line in lines {
        scene.refused(line, -1, INVALID_FORMAT);
    }
}

#[test]
fn crlf_line_endings_are_accepted() {
    let mut scene = Scene::new();
    let response =
        scene.send(b"{\"id\":8,\"request\":\"readprop\",\"arguments\":[\"vendor_name\"]}\r");
    assert_eq!(
        response,
        json!({"id": 8, "status": 0, "result": "probeshare"})
    );
}

#[test]
fn blank_lines_are_ignored() {
    let mut scene = Scene::new();
    // Only the request after the blank lines is answered.
    let response = scene.send(b"\n\n   \n\t\n\r\n{\"id\":6,\"request\":\"has_swo\"}");
    assert_eq!(response["id"], 6);
    assert_eq!(response["status"], 0);
}

#[test]
fn deep_nesting_never_crashes_the_server() {
    let mut scene = Scene::new();
    let depth = 100_000;
    scene.refused(&vec![b'['; depth], -1, INVALID_FORMAT);
    scene.refused(&vec![b'{'; depth], -1, INVALID_FORMAT);
    let balanced = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    scene.refused(balanced.as_bytes(), -1, INVALID_FORMAT);
    // An ignored key is skipped without recursion, however deep it nests.
    let objects = format!("{}0{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    scene.refused(objects.as_bytes(), -1, "missing request ID");
    let in_unknown_key =
        format!(r#"{{"id":1,"request":"readprop","arguments":["unique_id"],"x":{balanced}}}"#);
    let response = scene.send(in_unknown_key.as_bytes());
    assert_eq!(response, json!({"id": 1, "status": 0, "result": "sim"}));
    // Inside the arguments the nesting is well-formed JSON, but no address.
    scene.bad_argument("read_dp", &format!("[{balanced}]"), "addr");
    scene.bad_argument("write_ap_multiple", &format!("[12,[0,{balanced}]]"), "data");
}

#[test]
fn ten_megabyte_argument_lists_are_refused_by_count() {
    let mut scene = Scene::new();
    let zeros = |count: usize| format!("[{}0]", "0,".repeat(count - 1));
    let ten_megabytes = 5 << 20;
    let line = format!(
        r#"{{"id":10,"request":"read_dp","arguments":{}}}"#,
        zeros(ten_megabytes)
    );
    assert!(line.len() > 10 << 20 && line.len() < 16 << 20);
    let wrong_count = "malformed request; invalid number of arguments";
    scene.refused(line.as_bytes(), 10, wrong_count);
    let data = format!("[12,{}]", zeros(ten_megabytes));
    scene.bad_argument("write_ap_multiple", &data, "data");
}

#[test]
fn garbage_before_hello_leaves_the_hello_gate_working() {
    let server = start_server();
    let mut c = Client::connect(server.local_addr());
    assert_failure(&c.raw(b"\xff garbage"), 1, INVALID_FORMAT);
    assert_failure(
        &c.raw(br#"{"id":1,"request":"hello","arguments":["1"]}"#),
        1,
        "'version'",
    );
    assert_failure(&c.raw(br#"{"id":2,"request":"open"}"#), 1, "hello required");
    c.ok("hello", json!([1]));
    c.ok("open", json!([]));
}

#[test]
fn hostile_lines_pipelined_among_good_ones_are_answered_in_order() {
    let mut scene = Scene::new();
    let deep = "[".repeat(100_000);
    let burst = [
        r#"{"id":1,"request":"readprop","arguments":["unique_id"]}"#,
        "not json",
        r#"{"id":2,"request":"readprop","arguments":["vendor_name"]}"#,
        deep.as_str(),
        r#"{"id":3,"request":"read_dp","arguments":["0"]}"#,
        "",
        r#"{"id":4,"request":"readprop","arguments":["unique_id"]}"#,
    ]
    .join("\n");
    let responses: Vec<Value> = scene.around(|hostile| {
        hostile.send_line(burst.as_bytes());
        (0..6).map(|_| hostile.recv()).collect()
    });
    assert_eq!(responses[0], json!({"id": 1, "status": 0, "result": "sim"}));
    let rest = &responses[1..];
    assert_failure(&rest[0], 1, INVALID_FORMAT);
    assert_eq!(
        rest[1],
        json!({"id": 2, "status": 0, "result": "probeshare"})
    );
    assert_failure(&rest[2], 1, INVALID_FORMAT);
    assert_failure(&rest[3], 1, "invalid argument 'addr' of read_dp");
    assert_eq!(rest[3]["id"], 3);
    assert_eq!(rest[4], json!({"id": 4, "status": 0, "result": "sim"}));
}
