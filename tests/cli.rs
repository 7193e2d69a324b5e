//! The `probeshare serve` command line as users and tools see it: the
//! Serving line, the remote-bind guard, and clean exits on signals.

mod common;

use std::process::Command;

use common::{Client, ServerProcess};
use serde_json::json;

#[test]
fn serving_line_names_probe_and_real_port() {
    let server = ServerProcess::start(&[]);
    assert_ne!(server.addr.port(), 0);
    let log = server.log.lock().unwrap().clone();
    let line = log
        .lines()
        .find(|l| l.contains("Serving debug probe"))
        .expect("serving line");
    let expected = format!(
        "Serving debug probe sim (probeshare virtual target) on 127.0.0.1:{}",
        server.addr.port()
    );
    assert!(line.contains(&expected), "{line}");
    assert_eq!(log.matches("Serving debug probe").count(), 1);
    let mut client = Client::hello(server.addr);
    assert_eq!(client.ok("readprop", json!(["unique_id"])), json!("sim"));
}

#[test]
fn non_loopback_bind_without_allow_remote_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_probeshare"))
        .args([
            "serve", "--probe", "sim", "--port", "0", "--bind", "0.0.0.0",
        ])
        .output()
        .expect("run probeshare");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--allow-remote"), "{stderr}");
}

#[test]
fn unknown_probe_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_probeshare"))
        .args(["serve", "--probe", "nosuchprobe", "--port", "0"])
        .output()
        .expect("run probeshare");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nosuchprobe"));
}

fn exits_cleanly_on(signal: &str) {
    let mut server = ServerProcess::start(&[]);
    let mut client = Client::session(server.addr);
    client.ok("lock", json!([]));
    server.signal(signal);
    assert_eq!(server.wait_exit(), Some(0));
    assert!(client.is_closed_by_server());
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("stopped serving sim (probe closed)"), "{log}");
}

#[test]
fn sigterm_releases_clients_and_exits_zero() {
    exits_cleanly_on("TERM");
}

#[test]
fn sigint_releases_clients_and_exits_zero() {
    exits_cleanly_on("INT");
}

#[test]
fn serve_without_probe_or_config_reads_the_default_configuration_file() {
    // The default file is injected (PROBESHARE_DEFAULT_CONFIG), so the test
    // does not depend on what this machine has in /etc; the name of the
    // real default is checked in `--help`.
    let dir = std::env::temp_dir().join(format!("probeshare-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let missing = dir.join("probeshare.toml");
    let _ = std::fs::remove_file(&missing);
    let output = Command::new(env!("CARGO_BIN_EXE_probeshare"))
        .arg("serve")
        .env("PROBESHARE_DEFAULT_CONFIG", &missing)
        .output()
        .expect("run probeshare");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");

    // A file there is served: its probe answers on its port.
    let port = common::free_port();
    std::fs::write(
        &missing,
        format!("[management]\nenabled = false\n[[probe]]\nserial = \"sim:cli\"\nport = {port}\n"),
    )
    .expect("write the configuration");
    let mut server = ServerProcess::start_serving_with_env(
        &["serve"],
        1,
        &[("PROBESHARE_DEFAULT_CONFIG", missing.as_os_str())],
    )
    .0;
    assert_eq!(server.addr.port(), port);
    let mut client = Client::hello(server.addr);
    assert_eq!(
        client.ok("readprop", json!(["unique_id"])),
        json!("sim:cli")
    );
    server.signal("TERM");
    assert_eq!(server.wait_exit(), Some(0));
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn help_names_the_default_configuration_file() {
    let output = Command::new(env!("CARGO_BIN_EXE_probeshare"))
        .args(["serve", "--help"])
        .output()
        .expect("run probeshare");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("/etc/probeshare/probeshare.toml"),
        "{stdout}"
    );
}

#[test]
fn target_poll_ms_is_taken_from_100_up() {
    let output = Command::new(env!("CARGO_BIN_EXE_probeshare"))
        .args([
            "serve",
            "--probe",
            "sim",
            "--port",
            "0",
            "--target-poll-ms",
            "99",
        ])
        .output()
        .expect("run probeshare");
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--target-poll-ms") && stderr.contains("100"),
        "{stderr}"
    );
    let server = ServerProcess::start(&["--target-poll-ms", "100"]);
    let mut subscriber = Client::hello(server.addr);
    let subscribed = subscriber.ok("subscribe", json!([["target"]]));
    assert_eq!(subscribed["kinds"], json!(["target"]));
}
