//! The management interface's bearer token (`[management] token`,
//! `token_file`): every request that changes the farm needs it, on
//! loopback too, while reading stays open to the allow-list; and the
//! server will not listen where other machines reach it without a token
//! unless told `allow_unauthenticated`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use parking_lot::Mutex;

use common::farm::sim_entries;
use common::{free_port, DEADLINE};
use probeshare::config::{self, Config};
use probeshare::farm::{self, Farm};
use probeshare::management::{Access, ManagementServer, ProbeBoard};

const TOKEN: &str = "a-long-enough-token-0123456789";

/// A status code, the response head (headers) and the body.
struct Response {
    status: u16,
    head: String,
    body: String,
}

/// One HTTP/1.1 request, with `Authorization: <authorization>` if given.
fn http(addr: SocketAddr, method: &str, path: &str, authorization: Option<&str>) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let authorization = authorization
        .map(|value| format!("Authorization: {value}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\n{authorization}Content-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status code");
    Response {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// A farm of `sim:alpha` whose management interface is configured by
/// `management` (lines of the `[management]` table) and `extra` (top-level
/// keys), started as `serve --config` starts it.
fn managed(management: &str, extra: &str) -> (ManagementServer, Arc<Mutex<Farm>>, Config) {
    let text = format!(
        "{extra}[management]\nlisten = \"127.0.0.1:{}\"\n{management}\n{}",
        free_port(),
        sim_entries(&["alpha"])
    );
    let config = config::parse(&text, "test.toml").expect("valid configuration");
    let farm = Arc::new(Mutex::new(Farm::start(&config).expect("farm starts")));
    let board = ProbeBoard::new();
    board.publish(&farm.lock(), &config);
    let server = ManagementServer::start_with_access(
        config.management.listen,
        farm::client_filter(&config),
        Access::from_config(&config.management),
        board,
        Some(farm.clone()),
    )
    .expect("management starts");
    (server, farm, config)
}

fn assert_unauthorized(response: &Response, challenge: &str) {
    assert_eq!(response.status, 401, "{}", response.body);
    let challenge_line = format!("www-authenticate: {challenge}");
    assert!(
        response
            .head
            .to_ascii_lowercase()
            .contains(&challenge_line.to_ascii_lowercase()),
        "{}",
        response.head
    );
}

fn scratch_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("probeshare-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn with_a_token_changes_need_it_on_loopback_and_reading_does_not() {
    let (server, farm, _config) = managed(&format!("token = \"{TOKEN}\""), "");
    let addr = server.local_addr();
    let bearer = format!("Bearer {TOKEN}");

    for path in [
        "/probes",
        "/metrics",
        "/healthz",
        "/probes/sim:alpha/clients",
    ] {
        assert_eq!(http(addr, "GET", path, None).status, 200, "{path}");
    }
    for path in [
        "/probes/sim:alpha/kick",
        "/probes/sim:alpha/disable",
        "/probes/sim:alpha/enable",
        "/probes/sim:alpha/unplug",
        "/probes/sim:alpha/replug",
        // Unknown paths too: the token is checked before any route.
        "/probes/sim:alpha/sessions",
    ] {
        assert_unauthorized(
            &http(addr, "POST", path, None),
            "Bearer realm=\"probeshare\"",
        );
        assert_unauthorized(
            &http(addr, "POST", path, Some(&format!("Bearer {TOKEN}x"))),
            "Bearer realm=\"probeshare\", error=\"invalid_token\"",
        );
        assert_unauthorized(
            &http(addr, "DELETE", path, Some("Basic dXNlcjpwYXNz")),
            "Bearer realm=\"probeshare\"",
        );
    }
    let alpha = config::ProbeSelector::Sim("alpha".into());
    assert!(farm.lock().server(&alpha).is_some(), "nothing was changed");

    let disabled = http(addr, "POST", "/probes/sim:alpha/disable", Some(&bearer));
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert!(farm.lock().is_disabled(&alpha));
    let enabled = http(addr, "POST", "/probes/sim:alpha/enable", Some(&bearer));
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert!(farm.lock().server(&alpha).is_some());
}

#[test]
fn a_token_file_is_read_and_the_allow_list_still_comes_first() {
    let file = scratch_file("token", &format!("{TOKEN}\n"));
    let management = format!("token_file = \"{}\"", file.display());
    let (server, _farm, _config) = managed(&management, "");
    let addr = server.local_addr();
    assert_unauthorized(
        &http(addr, "POST", "/probes/sim:alpha/kick", None),
        "Bearer realm=\"probeshare\"",
    );
    let bearer = format!("Bearer {TOKEN}");
    let kicked = http(addr, "POST", "/probes/sim:alpha/kick", Some(&bearer));
    assert_eq!(kicked.status, 200, "{}", kicked.body);

    // A peer outside the allow-list gets 403 whatever it sends.
    let (outside, _farm, _config) = managed(
        &format!("token = \"{TOKEN}\""),
        "allow = [\"10.0.0.0/8\"]\n",
    );
    let refused = http(
        outside.local_addr(),
        "POST",
        "/probes/sim:alpha/kick",
        Some(&bearer),
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(
        http(outside.local_addr(), "GET", "/probes", None).status,
        403
    );
}

#[test]
fn without_a_token_loopback_changes_stay_open() {
    let (server, _farm, _config) = managed("", "");
    let kicked = http(server.local_addr(), "POST", "/probes/sim:alpha/kick", None);
    assert_eq!(kicked.status, 200, "{}", kicked.body);
}

#[test]
fn a_reachable_address_without_a_token_is_refused_unless_allowed() {
    let anywhere: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let refused = ManagementServer::start_with_access(
        anywhere,
        None,
        Access::default(),
        ProbeBoard::new(),
        None,
    )
    .err()
    .expect("refused");
    assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
    let allowed = ManagementServer::start_with_access(
        anywhere,
        None,
        Access::unauthenticated(),
        ProbeBoard::new(),
        None,
    )
    .expect("allowed explicitly");
    allowed.shutdown();

    // The configuration file says so before anything starts.
    let text = format!(
        "allow_remote = true\n[management]\nlisten = \"0.0.0.0:{}\"\n{}",
        free_port(),
        sim_entries(&["alpha"])
    );
    let file = scratch_file("open.toml", &text);
    let output = Command::new(env!("CARGO_BIN_EXE_probeshare"))
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .expect("run probeshare");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("management.listen"), "{stderr}");
    assert!(stderr.contains("has no token"), "{stderr}");
    let allowed = text.replace(
        "[management]\n",
        "[management]\nallow_unauthenticated = true\n",
    );
    let checked = Command::new(env!("CARGO_BIN_EXE_probeshare"))
        .args(["config", "check"])
        .arg(scratch_file("allowed.toml", &allowed))
        .output()
        .expect("run probeshare");
    assert!(checked.status.success(), "{checked:?}");
}
