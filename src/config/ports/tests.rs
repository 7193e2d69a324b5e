//! Port allocation and its state file.

use super::*;

const RANGE: PortRange = PortRange {
    first: 6000,
    last: 6003,
};

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("probeshare-ports-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn missing_state_file_is_empty_and_allocates_from_the_bottom() {
    let dir = temp_dir("missing");
    let mut ports = PortAllocations::load(&dir.join("ports.toml"), RANGE, []).unwrap();
    assert_eq!(ports.port_of("A"), None);
    assert_eq!(ports.allocate("A").unwrap(), 6000);
    assert_eq!(ports.allocate("B").unwrap(), 6001);
    assert_eq!(ports.allocate("A").unwrap(), 6000, "same serial, same port");
}

#[test]
fn ports_of_listed_probes_are_skipped() {
    let dir = temp_dir("reserved");
    let mut ports = PortAllocations::load(&dir.join("ports.toml"), RANGE, [6000, 6002]).unwrap();
    assert_eq!(ports.allocate("A").unwrap(), 6001);
    assert_eq!(ports.allocate("B").unwrap(), 6003);
}

#[test]
fn saved_ports_survive_a_restart() {
    let dir = temp_dir("restart");
    let path = dir.join("state/ports.toml");
    let mut ports = PortAllocations::load(&path, RANGE, []).unwrap();
    ports.allocate("A").unwrap();
    ports.allocate("serial with \"quotes\" and spaces").unwrap();
    ports.save().unwrap();

    let mut reloaded = PortAllocations::load(&path, RANGE, []).unwrap();
    assert_eq!(reloaded.port_of("A"), Some(6000));
    assert_eq!(
        reloaded
            .allocate("serial with \"quotes\" and spaces")
            .unwrap(),
        6001
    );
    assert_eq!(reloaded.allocate("C").unwrap(), 6002);
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["ports.toml"], "no temporary file left behind");
}

#[test]
fn a_probe_that_comes_back_keeps_its_port_while_others_are_allocated() {
    let dir = temp_dir("replug");
    let path = dir.join("ports.toml");
    std::fs::write(&path, "[ports]\nGONE = 6000\n").unwrap();
    let mut ports = PortAllocations::load(&path, RANGE, []).unwrap();
    assert_eq!(ports.allocate("NEW").unwrap(), 6001);
    assert_eq!(ports.allocate("GONE").unwrap(), 6000);
}

#[test]
fn remembered_port_that_became_unusable_is_replaced() {
    let dir = temp_dir("stale");
    let path = dir.join("ports.toml");
    std::fs::write(&path, "[ports]\nOUTSIDE = 7000\nLISTED = 6000\n").unwrap();
    let mut ports = PortAllocations::load(&path, RANGE, [6000]).unwrap();
    assert_eq!(ports.port_of("OUTSIDE"), None);
    assert_eq!(ports.allocate("OUTSIDE").unwrap(), 6001);
    assert_eq!(ports.allocate("LISTED").unwrap(), 6002);
}

#[test]
fn full_range_is_an_error_naming_range_and_serial() {
    let dir = temp_dir("full");
    let mut ports = PortAllocations::load(&dir.join("ports.toml"), RANGE, []).unwrap();
    for serial in ["A", "B", "C", "D"] {
        ports.allocate(serial).unwrap();
    }
    let message = ports.allocate("E").unwrap_err().to_string();
    assert!(
        message.contains("6000-6003") && message.contains("probe E"),
        "{message}"
    );
}

#[test]
fn corrupt_state_file_is_an_error_naming_the_file() {
    let dir = temp_dir("corrupt");
    let path = dir.join("ports.toml");
    for (text, expected) in [
        ("[ports\n", ""),
        ("[ports]\nA = \"x\"\n", ""),
        ("[ports]\nA = 70000\n", "70000 is not a port"),
        ("[ports]\nA = 6000\nB = 6000\n", "also the port of"),
        ("other = 1\n", "other"),
    ] {
        std::fs::write(&path, text).unwrap();
        let message = PortAllocations::load(&path, RANGE, [])
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        assert!(message.contains(expected), "{text:?}: {message}");
    }
}

#[test]
fn state_file_lists_one_serial_per_line_under_ports() {
    let dir = temp_dir("format");
    let path = dir.join("ports.toml");
    let mut ports = PortAllocations::load(&path, RANGE, []).unwrap();
    ports.allocate("E6614103E72B2D2F").unwrap();
    ports.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("[ports]\nE6614103E72B2D2F = 6000\n"),
        "{text}"
    );
}

const DAP_RANGE: PortRange = PortRange {
    first: 6100,
    last: 6101,
};

#[test]
fn dap_ports_come_from_their_own_range_and_survive_a_restart_beside_the_ports() {
    let dir = temp_dir("dap-restart");
    let path = dir.join("ports.toml");
    let mut ports = PortAllocations::load_with_dap(&path, RANGE, Some(DAP_RANGE), []).unwrap();
    assert_eq!(ports.allocate("A").unwrap(), 6000);
    assert_eq!(ports.allocate_dap("A").unwrap().unwrap(), 6100);
    assert_eq!(ports.allocate_dap("B").unwrap().unwrap(), 6101);
    assert_eq!(ports.allocate_dap("A").unwrap().unwrap(), 6100, "kept");
    ports.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("[ports]\nA = 6000\n") && text.contains("[dap_ports]\nA = 6100\nB = 6101\n"),
        "{text}"
    );

    let mut reloaded = PortAllocations::load_with_dap(&path, RANGE, Some(DAP_RANGE), []).unwrap();
    assert_eq!(reloaded.dap_port_of("B"), Some(6101));
    assert_eq!(reloaded.port_of("A"), Some(6000));
    let message = reloaded.allocate_dap("C").unwrap().unwrap_err().to_string();
    assert!(
        message.contains("dap_port_range 6100-6101") && message.contains("probe C"),
        "{message}"
    );
}

#[test]
fn a_state_file_from_before_dap_ports_is_read_and_written_as_it_was() {
    let dir = temp_dir("dap-old");
    let path = dir.join("ports.toml");
    std::fs::write(&path, "[ports]\nOLD = 6002\n").unwrap();
    let mut ports = PortAllocations::load_with_dap(&path, RANGE, Some(DAP_RANGE), []).unwrap();
    assert_eq!(ports.port_of("OLD"), Some(6002));
    assert_eq!(ports.dap_port_of("OLD"), None);
    assert_eq!(ports.allocate_dap("OLD").unwrap().unwrap(), 6100);

    // Without a DAP range nothing is handed out, and a file without DAP
    // ports is written without the table.
    let mut plain = PortAllocations::load(&dir.join("plain.toml"), RANGE, []).unwrap();
    assert!(plain.allocate_dap("A").is_none());
    plain.allocate("A").unwrap();
    plain.save().unwrap();
    let text = std::fs::read_to_string(dir.join("plain.toml")).unwrap();
    assert!(!text.contains("dap_ports"), "{text}");
}

#[test]
fn remembered_dap_ports_are_kept_while_no_dap_range_is_set() {
    let dir = temp_dir("dap-kept");
    let path = dir.join("ports.toml");
    std::fs::write(&path, "[ports]\nA = 6000\n[dap_ports]\nA = 6100\n").unwrap();
    let mut ports = PortAllocations::load(&path, RANGE, []).unwrap();
    assert_eq!(ports.dap_port_of("A"), None, "no DAP range, no DAP port");
    ports.allocate("B").unwrap();
    ports.save().unwrap();
    let again = PortAllocations::load_with_dap(&path, RANGE, Some(DAP_RANGE), []).unwrap();
    assert_eq!(again.dap_port_of("A"), Some(6100), "back with the range");
}

#[test]
fn no_port_is_handed_out_twice_across_both_tables() {
    let dir = temp_dir("dap-shared");
    let path = dir.join("ports.toml");
    // The ranges overlapped once: a DAP port inside today's port_range.
    std::fs::write(&path, "[dap_ports]\nA = 6000\n").unwrap();
    let mut ports = PortAllocations::load_with_dap(&path, RANGE, Some(DAP_RANGE), [6001]).unwrap();
    assert_eq!(ports.allocate("B").unwrap(), 6002);
    assert_eq!(
        ports.allocate_dap("A").unwrap().unwrap(),
        6100,
        "a remembered DAP port outside the DAP range is given up"
    );
    assert_eq!(ports.allocate("C").unwrap(), 6000, "and free again");
}

#[test]
fn corrupt_dap_ports_are_errors_naming_the_file() {
    let dir = temp_dir("dap-corrupt");
    let path = dir.join("ports.toml");
    for (text, expected) in [
        ("[dap_ports]\nA = 0\n", "dap_ports.\"A\": 0 is not a port"),
        ("[dap_ports]\nA = 6100\nB = 6100\n", "also the port of"),
        (
            "[ports]\nA = 6000\n[dap_ports]\nB = 6000\n",
            "also the port of ports.\"A\"",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let message = PortAllocations::load_with_dap(&path, RANGE, Some(DAP_RANGE), [])
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        assert!(message.contains(expected), "{text:?}: {message}");
    }
}
