//! `probeshare export labgrid`: the drop-in lists every configured probe at
//! the host clients reach, with the management address where clients can
//! reach it, and hosts pyOCD cannot address are refused.

use std::path::PathBuf;
use std::process::{Command, Output};

fn export_labgrid(file: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_probeshare"))
        .args(["export", "labgrid", "--config"])
        .arg(file)
        .args(extra)
        .output()
        .expect("run probeshare")
}

fn scratch_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("probeshare-export-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const TWO_PROBES: &str = r#"
[[probe]]
serial = "0240000032044e45"
port = 5601
name = "nrf52"
description = "bench 3"

[[probe]]
serial = "sim:ci"
port = 5602
"#;

#[test]
fn every_configured_probe_is_exported_at_the_given_host() {
    let file = scratch_file("two.toml", TWO_PROBES);
    let text = stdout(&export_labgrid(&file, &["--host", "lab1.example"]));
    for expected in [
        "\"probeshare-nrf52\":\n## description: \"bench 3\"\n\
         ## pyOCD: --uid probeshare:lab1.example:5601 (plugin) or --uid remote:lab1.example:5601\n\
         \x20 ProbeshareProbe:\n    host: \"lab1.example\"\n    port: 5601\n\
         \x20   serial: \"0240000032044e45\"\n",
        "\"probeshare-sim:ci\":\n\
         ## pyOCD: --uid probeshare:lab1.example:5602 (plugin) or --uid remote:lab1.example:5602\n\
         \x20 ProbeshareProbe:\n    host: \"lab1.example\"\n    port: 5602\n\
         \x20   serial: \"sim:ci\"\n",
    ] {
        assert!(text.contains(expected), "missing\n{expected}\nin\n{text}");
    }
}

#[test]
fn a_management_interface_other_machines_reach_is_named_in_each_resource() {
    let file = scratch_file(
        "managed.toml",
        &format!(
            "listen = \"0.0.0.0\"\nallow_remote = true\n\
             [management]\nlisten = \"0.0.0.0:5590\"\n\
             token = \"a-test-token-of-enough-length\"\n{TWO_PROBES}"
        ),
    );
    let output = export_labgrid(&file, &["--host", "lab1"]);
    let text = stdout(&output);
    assert_eq!(
        text.matches("\n    management: \"lab1:5590\"\n").count(),
        2,
        "{text}"
    );
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_loopback_management_interface_is_left_out_with_a_warning() {
    let file = scratch_file(
        "loopback-management.toml",
        &format!("listen = \"0.0.0.0\"\nallow_remote = true\n{TWO_PROBES}"),
    );
    let output = export_labgrid(&file, &["--host", "lab1"]);
    let text = stdout(&output);
    assert!(!text.contains("management:"), "{text}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("127.0.0.1:5580") && stderr.contains("will not open probeshare sessions"),
        "{stderr}"
    );
}

#[test]
fn a_reachable_listen_address_is_the_host_when_none_is_given() {
    let file = scratch_file(
        "listen.toml",
        &format!("listen = \"192.0.2.7\"\nallow_remote = true\n{TWO_PROBES}"),
    );
    let text = stdout(&export_labgrid(&file, &[]));
    assert!(text.contains("or --uid remote:192.0.2.7:5601\n"), "{text}");
    assert!(text.contains("    host: \"192.0.2.7\"\n"), "{text}");
}

#[test]
fn a_loopback_only_farm_still_exports_but_warns() {
    let file = scratch_file("loopback.toml", TWO_PROBES);
    let output = export_labgrid(&file, &["--host", "lab1"]);
    stdout(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("127.0.0.1") && stderr.contains("cannot reach"),
        "{stderr}"
    );
}

#[test]
fn an_ipv6_host_is_refused_because_pyocd_cannot_parse_it() {
    let file = scratch_file("v6.toml", TWO_PROBES);
    let output = export_labgrid(&file, &["--host", "fd00::1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("fd00::1") && stderr.contains("IPv6"),
        "{stderr}"
    );
}

#[test]
fn an_invalid_configuration_fails_naming_the_file_and_key() {
    let file = scratch_file("broken.toml", "[[probe]]\nserial = \"x\"\nport = 70000\n");
    let output = export_labgrid(&file, &["--host", "lab1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.toml") && stderr.contains("port"),
        "{stderr}"
    );
}
