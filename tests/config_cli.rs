//! `probeshare config check`: the shipped example passes and prints the
//! effective configuration; a broken file fails naming file, key and value.

use std::path::PathBuf;
use std::process::{Command, Output};

fn config_check(file: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_probeshare"))
        .args(["config", "check"])
        .arg(file)
        .output()
        .expect("run probeshare")
}

fn scratch_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("probeshare-config-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn shipped_example_passes_and_prints_a_config_that_passes_again() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/probeshare.toml");
    let output = config_check(&example);
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("serial = \"sim:ci\""), "{printed}");
    assert!(printed.contains("max_connections = 16"), "{printed}");

    let reprinted = config_check(&scratch_file("effective.toml", &printed));
    assert!(reprinted.status.success());
    assert_eq!(String::from_utf8_lossy(&reprinted.stdout), printed);
}

#[test]
fn defaults_are_filled_in_for_an_empty_file() {
    let output = config_check(&scratch_file("empty.toml", ""));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    for line in [
        "listen = \"127.0.0.1\"",
        "port_range = \"5600-5699\"",
        "listen = \"127.0.0.1:5580\"",
        "max_connections = 4096",
    ] {
        assert!(printed.contains(line), "{line} missing from\n{printed}");
    }
}

#[test]
fn broken_file_fails_naming_file_key_and_value() {
    let path = scratch_file(
        "broken.toml",
        "[[probe]]\nserial = \"A\"\nport = 5000\n\n[[probe]]\nserial = \"B\"\nport = 70000\n",
    );
    let output = config_check(&path);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "{}: probe[1].port: 70000 is not a port (1-65535)",
        path.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn missing_file_fails_naming_it() {
    let output = config_check(std::path::Path::new("/nonexistent/probeshare.toml"));
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/probeshare.toml"));
}

#[test]
fn dap_ports_are_printed_and_an_unset_dap_port_range_is_said() {
    let path = scratch_file(
        "dap.toml",
        "[[probe]]\nserial = \"sim:a\"\nport = 5000\ndap_port = 5001\n",
    );
    let output = config_check(&path);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    for line in [
        "dap_port = 5001\n",
        "# dap_port_range is not set: probes not listed get no DAP port\n",
    ] {
        assert!(printed.contains(line), "{line} missing from\n{printed}");
    }
    let broken = scratch_file(
        "dap-broken.toml",
        "[[probe]]\nserial = \"sim:a\"\nport = 5000\ndap_port = 5000\n",
    );
    let output = config_check(&broken);
    assert_eq!(output.status.code(), Some(1));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message
            .contains("dap-broken.toml: probe[0].dap_port: 5000 is already the port of probe[0]"),
        "{message}"
    );
}
