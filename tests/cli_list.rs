//! `probeshare list` as users and scripts see it: the virtual target is
//! always there, and a machine without USB says so instead of failing.
//! The machine without USB is made, not hoped for: PROBESHARE_USB_ROOT
//! points discovery at a directory that does not exist.

use std::process::{Command, Output};

const NO_USB_ROOT: &str = "/nonexistent/probeshare-test/usb";

fn run_list(extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_probeshare"))
        .arg("list")
        .args(extra)
        .env("RUST_LOG", "off")
        .env("PROBESHARE_USB_ROOT", NO_USB_ROOT)
        .output()
        .expect("run probeshare list")
}

#[test]
fn list_names_the_virtual_target_and_why_usb_probes_are_missing() {
    let output = run_list(&[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("sim: probeshare virtual Cortex-M target"),
        "{stdout}"
    );
    let unavailable = format!("USB unavailable: {NO_USB_ROOT} does not exist");
    assert!(stdout.contains(&unavailable), "{stdout}");
}

#[test]
fn list_json_is_an_array_of_flat_objects_with_the_sim_entry() {
    let output = run_list(&["--json"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let entries = value.as_array().expect("a JSON array");
    let sim = entries
        .iter()
        .find(|entry| entry["serial"] == "sim")
        .expect("a sim entry");
    assert_eq!(sim["kind"], "sim");
    assert_eq!(sim["description"], "probeshare virtual Cortex-M target");
    for entry in entries {
        let object = entry.as_object().expect("each entry an object");
        assert!(object.values().all(|v| !v.is_object() && !v.is_array()));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let unavailable = format!("USB unavailable: {NO_USB_ROOT} does not exist");
    assert!(stderr.contains(&unavailable), "{stderr}");
}
