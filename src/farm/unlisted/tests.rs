//! Planning which unlisted probes are served, with constructed listings.

use std::path::PathBuf;

use super::*;
use crate::config;

fn found(serial: &str) -> FoundProbe {
    FoundProbe::daplink(serial, "1-2")
}

fn listing(serials: &[&str]) -> Discovery {
    Discovery {
        probes: serials.iter().map(|s| found(s)).collect(),
        problems: Vec::new(),
    }
}

fn state_file(test: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("probeshare-unlisted-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("ports.toml")
}

/// A configuration with the range 7000-7002 and `listed` entries.
fn config_with(state: &std::path::Path, listed: &str) -> Config {
    let text = format!(
        "port_range = \"7000-7002\"\nstate_file = \"{}\"\n{listed}",
        state.display()
    );
    config::parse(&text, "test.toml").expect("valid configuration")
}

fn ports_of(plan: &[UnlistedProbe]) -> Vec<(&str, u16)> {
    plan.iter()
        .map(|p| (p.found.serial.as_str(), p.port))
        .collect()
}

#[test]
fn a_new_probe_gets_the_lowest_free_port_and_keeps_it_after_a_restart() {
    let state = state_file("restart");
    let config = config_with(&state, "");
    let mut ports = load_ports(&config).unwrap();
    let plan = plan_unlisted(&config, &listing(&["A", "B"]), |_| false, &mut ports);
    assert_eq!(ports_of(&plan), [("A", 7000), ("B", 7001)]);

    // A restart: the state file is all that is left; B is plugged first.
    let mut reloaded = load_ports(&config).unwrap();
    let plan = plan_unlisted(
        &config,
        &listing(&["C", "B", "A"]),
        |_| false,
        &mut reloaded,
    );
    assert_eq!(ports_of(&plan), [("C", 7002), ("B", 7001), ("A", 7000)]);
}

#[test]
fn listed_probes_and_their_ports_are_never_taken() {
    let state = state_file("listed");
    let config = config_with(&state, "[[probe]]\nserial = \"L\"\nport = 7000\n");
    let mut ports = load_ports(&config).unwrap();
    let plan = plan_unlisted(&config, &listing(&["L", "U"]), |_| false, &mut ports);
    assert_eq!(ports_of(&plan), [("U", 7001)]);
}

#[test]
fn an_exhausted_range_leaves_out_only_the_probes_without_a_port() {
    let state = state_file("exhausted");
    let config = config_with(&state, "");
    let mut ports = load_ports(&config).unwrap();
    let plan = plan_unlisted(
        &config,
        &listing(&["A", "B", "C", "D", "E"]),
        |_| false,
        &mut ports,
    );
    assert_eq!(ports_of(&plan), [("A", 7000), ("B", 7001), ("C", 7002)]);
    // Once B's line is removed, its port goes to the first probe waiting.
    std::fs::write(&state, "[ports]\nA = 7000\nC = 7002\n").unwrap();
    let mut reloaded = load_ports(&config).unwrap();
    let plan = plan_unlisted(&config, &listing(&["D", "E"]), |_| false, &mut reloaded);
    assert_eq!(ports_of(&plan), [("D", 7001)]);
}

#[test]
fn served_and_unopenable_probes_are_not_planned_again() {
    let state = state_file("served");
    let config = config_with(&state, "");
    let mut ports = load_ports(&config).unwrap();
    let mut discovery = listing(&["A", "B", "C"]);
    discovery.probes[2].open_problem = Some("permission denied".into());
    let plan = plan_unlisted(&config, &discovery, |serial| serial == "A", &mut ports);
    assert_eq!(ports_of(&plan), [("B", 7000)]);
}

#[test]
fn the_entry_of_an_unlisted_probe_names_its_serial_and_port() {
    let state = state_file("entry");
    let config = config_with(&state, "");
    let probe = UnlistedProbe {
        found: found("S1"),
        port: 7001,
        dap_port: None,
    };
    let entry = probe.entry(&config);
    assert_eq!(entry.probe, ProbeSelector::Serial("S1".into()));
    assert_eq!(entry.port, 7001);
    assert_eq!(entry.limits, config.limits);
}

/// Ports and DAP ports of a plan.
fn dap_ports_of(plan: &[UnlistedProbe]) -> Vec<(&str, u16, Option<u16>)> {
    plan.iter()
        .map(|p| (p.found.serial.as_str(), p.port, p.dap_port))
        .collect()
}

#[test]
fn without_dap_port_range_unlisted_probes_get_no_dap_port() {
    let state = state_file("no-dap");
    let config = config_with(&state, "");
    let mut ports = load_ports(&config).unwrap();
    let plan = plan_unlisted(&config, &listing(&["A"]), |_| false, &mut ports);
    assert_eq!(dap_ports_of(&plan), [("A", 7000, None)]);
    assert_eq!(plan[0].entry(&config).dap_port, None);
}

#[test]
fn with_dap_port_range_each_gets_a_dap_port_remembered_beside_its_port() {
    let state = state_file("dap");
    let listed =
        "dap_port_range = \"7100-7101\"\n[[probe]]\nserial = \"L\"\nport = 7050\ndap_port = 7100\n";
    let config = config_with(&state, listed);
    let mut ports = load_ports(&config).unwrap();
    let plan = plan_unlisted(&config, &listing(&["A", "B"]), |_| false, &mut ports);
    // 7100 is the listed probe's DAP port; B finds the range full and is
    // served without one.
    assert_eq!(
        dap_ports_of(&plan),
        [("A", 7000, Some(7101)), ("B", 7001, None)]
    );
    assert_eq!(plan[0].entry(&config).dap_port, Some(7101));
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(
        text.contains("[ports]\nA = 7000\nB = 7001\n") && text.contains("[dap_ports]\nA = 7101\n"),
        "{text}"
    );

    // A restart: B comes first now, A keeps its DAP port.
    let mut reloaded = load_ports(&config).unwrap();
    let plan = plan_unlisted(&config, &listing(&["B", "A"]), |_| false, &mut reloaded);
    assert_eq!(
        dap_ports_of(&plan),
        [("B", 7001, None), ("A", 7000, Some(7101))]
    );
}
