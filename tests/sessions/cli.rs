//! `probeshare session`: `run` holds a session while COMMAND runs, gives
//! it the ports, exits with its status (128 + signal when killed) and
//! closes the session however it ends; `open`, `list` and `close`.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Instant;

use serde_json::{json, Value};

use crate::common::{wait_until, Client, DEADLINE};
use crate::e2e::scratch::ScratchDir;
use crate::support::{Bench, PROBE};

fn probeshare(bench: &Bench, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_probeshare"));
    command
        .arg("session")
        .arg(args[0])
        .args(["--management", &bench.mgmt().to_string()])
        .args(&args[1..]);
    command
}

/// `session run --probe sim:alpha --holder tester -- sh -c SCRIPT`, in
/// `dir`.
fn run_script(bench: &Bench, dir: &Path, script: &str) -> Child {
    probeshare(
        bench,
        &["run", "--probe", PROBE, "--holder", "tester", "--ttl", "30"],
    )
    .args(["--", "sh", "-c", script])
    .current_dir(dir)
    .stdout(Stdio::null())
    .spawn()
    .expect("start probeshare session run")
}

/// Waits for `child` to exit; its exit code.
fn exit_code(child: &mut Child) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code().expect("exited, not killed");
        }
        assert!(start.elapsed() < DEADLINE, "session run did not exit");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// What the script wrote to `name` once it is there (written to a
/// temporary name and moved, so it is whole when it appears).
fn written(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    wait_until(&format!("the command to write {name}"), || path.exists());
    std::fs::read_to_string(path).expect("read")
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

#[test]
fn run_gives_the_command_the_session_exits_with_its_status_and_closes_it() {
    let bench = Bench::start();
    let scratch = ScratchDir::new("session-run-status");
    mkfifo(&scratch.file("gate"));
    let mut child = run_script(
        &bench,
        scratch.path(),
        "echo \"$PROBESHARE_PORT $PROBESHARE_DAP_PORT $PROBESHARE_SESSION $PROBESHARE_URL\" \
         > env.tmp && mv env.tmp env; read line < gate; exit 7",
    );
    let env = written(scratch.path(), "env");
    let fields: Vec<&str> = env.split_whitespace().collect();
    let listed = bench.sessions();
    assert_eq!(listed[0]["port"].to_string(), fields[0], "{env}");
    assert_eq!(listed[0]["dap_port"].to_string(), fields[1]);
    assert_eq!(listed[0]["session"].to_string(), fields[2]);
    let url = format!(
        "http://{}/probes/{PROBE}/sessions/{}",
        bench.mgmt(),
        fields[2]
    );
    assert_eq!(fields[3], url);
    assert_eq!(listed[0]["holder"], "tester");
    let mut outsider = Client::hello(bench.probe_addr());
    let refused = outsider.err("open", json!([]), 3);
    assert!(
        refused.starts_with("probe reserved by tester until "),
        "{refused}"
    );

    std::fs::write(scratch.file("gate"), "go\n").expect("open the gate");
    assert_eq!(exit_code(&mut child), 7);
    assert_eq!(bench.sessions(), json!([]), "closed when the command ended");
    outsider.ok("open", json!([]));
}

#[test]
fn run_closes_the_session_when_the_command_is_killed_and_exits_128_plus_the_signal() {
    let bench = Bench::start();
    let scratch = ScratchDir::new("session-run-killed");
    let mut child = run_script(
        &bench,
        scratch.path(),
        "echo $$ > pid.tmp && mv pid.tmp pid; exec sleep 600",
    );
    let pid = written(scratch.path(), "pid");
    assert_eq!(bench.sessions().as_array().map(Vec::len), Some(1));
    let status = Command::new("kill")
        .args(["-KILL", pid.trim()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert_eq!(exit_code(&mut child), 128 + 9);
    assert_eq!(bench.sessions(), json!([]));
}

#[test]
fn sigterm_to_run_reaches_the_command_and_the_session_still_closes() {
    let bench = Bench::start();
    let scratch = ScratchDir::new("session-run-sigterm");
    let mut child = run_script(
        &bench,
        scratch.path(),
        "trap 'exit 3' TERM; echo ready > up.tmp && mv up.tmp up; \
         while :; do sleep 0.05; done",
    );
    written(scratch.path(), "up");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert_eq!(exit_code(&mut child), 3, "the command's trap ran");
    assert_eq!(bench.sessions(), json!([]));
}

fn output_json(output: &Output) -> Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[test]
fn open_list_and_close_from_the_command_line() {
    let bench = Bench::start();
    let open = probeshare(
        &bench,
        &["open", "--probe", PROBE, "--holder", "me", "--ttl", "60"],
    )
    .output()
    .expect("session open");
    let opened = output_json(&open);
    assert_eq!(opened["holder"], "me");
    let list = probeshare(&bench, &["list"])
        .output()
        .expect("session list");
    assert_eq!(output_json(&list), bench.sessions());

    // A second one is refused, naming the first.
    let refused = probeshare(&bench, &["open", "--probe", PROBE, "--holder", "you"])
        .output()
        .expect("session open");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("probe reserved by me until"), "{stderr}");

    let id = opened["session"].to_string();
    let close = probeshare(&bench, &["close", "--probe", PROBE, &id])
        .output()
        .expect("session close");
    assert_eq!(output_json(&close)["state"], "closed");
    assert_eq!(bench.sessions(), json!([]));
}

/// A `serve --config` whose management interface asks for a token.
struct ProtectedServer {
    child: Child,
    config: std::path::PathBuf,
    management: String,
}

impl Drop for ProtectedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TOKEN: &str = "a-session-cli-token-of-enough-length";

fn protected_server(scratch: &ScratchDir) -> ProtectedServer {
    let management = format!("127.0.0.1:{}", crate::common::free_port());
    let config = scratch.file("probeshare.toml");
    let text = format!(
        "[management]\nlisten = \"{management}\"\ntoken = \"{TOKEN}\"\n\
         [[probe]]\nserial = \"{PROBE}\"\nport = {}\n",
        crate::common::free_port()
    );
    std::fs::write(&config, text).expect("write the configuration");
    let child = Command::new(env!("CARGO_BIN_EXE_probeshare"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start probeshare serve");
    let addr = management.parse().expect("an address");
    wait_until("the management interface to answer", || {
        std::net::TcpStream::connect(addr).is_ok()
            && crate::common::farm::http(addr, "GET", "/probes").0 == 200
    });
    ProtectedServer {
        child,
        config,
        management,
    }
}

fn session_cli(args: &[&str], token: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_probeshare"));
    command.arg("session").args(args);
    match token {
        Some(token) => command.env("PROBESHARE_TOKEN", token),
        None => command.env_remove("PROBESHARE_TOKEN"),
    };
    command.output().expect("run probeshare session")
}

#[test]
fn the_cli_presents_the_token_of_its_configuration_or_environment() {
    let scratch = ScratchDir::new("session-cli-token");
    let server = protected_server(&scratch);
    let open = ["open", "--probe", PROBE, "--holder", "tokened"];

    let refused = session_cli(
        &[&open[..], &["--management", &server.management]].concat(),
        None,
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("Authorization: Bearer"), "{stderr}");

    let by_env = session_cli(
        &[&open[..], &["--management", &server.management]].concat(),
        Some(TOKEN),
    );
    assert!(
        by_env.status.success(),
        "{}",
        String::from_utf8_lossy(&by_env.stderr)
    );
    let session: Value = serde_json::from_slice(&by_env.stdout).expect("JSON");
    let id = session["session"].to_string();
    let config = server.config.to_str().expect("a UTF-8 path");
    let closed = session_cli(&["close", "--config", config, "--probe", PROBE, &id], None);
    assert!(
        closed.status.success(),
        "{}",
        String::from_utf8_lossy(&closed.stderr)
    );

    let token_file = scratch.file("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("write the token");
    let token_file = token_file.to_str().expect("a UTF-8 path");
    let by_file = session_cli(
        &[
            &open[..],
            &[
                "--management",
                &server.management,
                "--token-file",
                token_file,
            ],
        ]
        .concat(),
        None,
    );
    assert!(
        by_file.status.success(),
        "{}",
        String::from_utf8_lossy(&by_file.stderr)
    );
    let listed = session_cli(&["list", "--management", &server.management], None);
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    assert_eq!(listed[0]["holder"], "tokened", "{listed}");
}
