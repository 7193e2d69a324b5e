//! Defaults and every validation error of the configuration file.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::*;

mod management;

fn ok(text: &str) -> Config {
    parse(text, "probeshare.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// The whole message, which is what the user sees.
fn error(text: &str) -> String {
    parse(text, "probeshare.toml")
        .expect_err("configuration accepted")
        .to_string()
}

#[test]
fn empty_file_gives_the_documented_defaults() {
    let config = ok("");
    assert_eq!(config.listen, "127.0.0.1".parse::<IpAddr>().unwrap());
    assert!(!config.allow_remote);
    assert!(config.allow.is_empty());
    assert_eq!(config.limits, Limits::default());
    assert!(config.management.enabled);
    assert_eq!(config.management.listen, "127.0.0.1:5580".parse().unwrap());
    assert_eq!(
        config.port_range,
        PortRange {
            first: 5600,
            last: 5699
        }
    );
    assert_eq!(
        config.state_file,
        PathBuf::from("/var/lib/probeshare/ports.toml")
    );
    assert!(config.probes.is_empty());
}

#[test]
fn probe_entries_are_read_in_file_order() {
    let config = ok(r#"
        [[probe]]
        serial = "0240000032044e45"
        port = 5601
        name = "nrf52"
        description = "bench 3"

        [[probe]]
        serial = "sim:ci"
        port = 5602
    "#);
    let first = &config.probes[0];
    assert_eq!(
        first.probe,
        ProbeSelector::Serial("0240000032044e45".into())
    );
    assert_eq!(first.port, 5601);
    assert_eq!(first.name.as_deref(), Some("nrf52"));
    assert_eq!(first.description.as_deref(), Some("bench 3"));
    assert_eq!(config.probes[1].probe, ProbeSelector::Sim("ci".into()));
    assert_eq!(config.listed_ports().collect::<Vec<_>>(), [5601, 5602]);
}

#[test]
fn probe_limits_override_global_limits_which_override_defaults() {
    let config = ok(r#"
        [limits]
        max_connections = 8
        idle_timeout_secs = 60

        [[probe]]
        serial = "A"
        port = 5000
        [probe.limits]
        max_connections = 2
        idle_timeout_secs = 0

        [[probe]]
        serial = "B"
        port = 5001
    "#);
    assert_eq!(config.limits.max_connections, 8);
    assert_eq!(config.limits.idle_timeout, Some(Duration::from_secs(60)));
    assert_eq!(
        config.limits.max_line_bytes,
        Limits::default().max_line_bytes
    );
    assert_eq!(config.probes[0].limits.max_connections, 2);
    assert_eq!(config.probes[0].limits.idle_timeout, None, "0 means never");
    assert_eq!(config.probes[1].limits, config.limits);
}

#[test]
fn remote_listen_is_accepted_with_allow_remote() {
    let config = ok(r#"
        listen = "0.0.0.0"
        allow_remote = true
        allow = ["192.168.0.0/16", "fd00::/8"]
        [management]
        listen = "[::]:6000"
        token = "0123456789abcdef0123456789abcdef"
    "#);
    assert!(config.allows("192.168.4.5".parse().unwrap()));
    assert!(!config.allows("10.0.0.1".parse().unwrap()));
    assert!(
        ok("").allows("203.0.113.1".parse().unwrap()),
        "empty allow list allows all"
    );
}

#[test]
fn listed_port_may_lie_inside_port_range() {
    let config = ok("port_range = \"5600-5699\"\n[[probe]]\nserial = \"A\"\nport = 5650\n");
    assert!(config.port_range.contains(config.probes[0].port));
}

#[test]
fn effective_configuration_parses_back_to_the_same() {
    let config = ok(r#"
        allow = ["10.0.0.0/8"]
        port_range = "7000-7010"
        state_file = "/tmp/p.toml"
        [limits]
        max_line_bytes = 1000
        [management]
        enabled = false
        [[probe]]
        serial = "sim:x"
        port = 7005
        name = "x"
        [probe.limits]
        max_pending_requests = 3
    "#);
    let text = config.to_toml();
    assert!(
        text.contains("max_connections = 4096"),
        "defaults written out:\n{text}"
    );
    assert_eq!(ok(&text), config, "{text}");
}

/// Asserts the message names the file, the key and the value.
fn assert_names(message: &str, key: &str, value: &str) {
    assert!(
        message.starts_with(&format!("probeshare.toml: {key}: ")),
        "{message}"
    );
    assert!(message.contains(value), "{message} lacks {value}");
}

#[test]
fn port_out_of_range_is_named_with_file_key_and_value() {
    let message = error("[[probe]]\nserial=\"A\"\nport=1\n[[probe]]\nserial=\"B\"\nport=2\n[[probe]]\nserial=\"C\"\nport=70000\n");
    assert_eq!(
        message,
        "probeshare.toml: probe[2].port: 70000 is not a port (1-65535)"
    );
    assert_names(
        &error("[[probe]]\nserial=\"A\"\nport=0\n"),
        "probe[0].port",
        "0 is not a port",
    );
    assert_names(
        &error("[[probe]]\nserial=\"A\"\nport=-5\n"),
        "probe[0].port",
        "-5",
    );
}

#[test]
fn duplicate_port_is_an_error() {
    let message = error("[[probe]]\nserial=\"A\"\nport=5000\n[[probe]]\nserial=\"B\"\nport=5000\n");
    assert_names(
        &message,
        "probe[1].port",
        "5000 is already the port of probe[0]",
    );
}

#[test]
fn duplicate_serial_is_an_error() {
    let message = error("[[probe]]\nserial=\"A\"\nport=5000\n[[probe]]\nserial=\"A\"\nport=5001\n");
    assert_names(
        &message,
        "probe[1].serial",
        "'A' is already listed as probe[0]",
    );
    let message =
        error("[[probe]]\nserial=\"sim:x\"\nport=5000\n[[probe]]\nserial=\"sim:x\"\nport=5001\n");
    assert_names(&message, "probe[1].serial", "sim:x");
}

#[test]
fn empty_serial_or_sim_name_is_an_error() {
    assert_names(
        &error("[[probe]]\nserial=\"\"\nport=5000\n"),
        "probe[0].serial",
        "''",
    );
    assert_names(
        &error("[[probe]]\nserial=\"sim:\"\nport=5000\n"),
        "probe[0].serial",
        "'sim:'",
    );
}

#[test]
fn probe_port_clashing_with_management_is_an_error() {
    let message = error("[[probe]]\nserial=\"A\"\nport=5580\n");
    assert_names(
        &message,
        "probe[0].port",
        "5580 is already the port of management.listen",
    );
    ok("[management]\nenabled = false\n[[probe]]\nserial=\"A\"\nport=5580\n");
}

#[test]
fn management_port_inside_port_range_is_an_error() {
    let message = error("port_range = \"5500-5599\"\n");
    assert_names(
        &message,
        "management.listen",
        "5580 is inside port_range 5500-5599",
    );
}

#[test]
fn unknown_keys_are_named() {
    for (text, key) in [
        ("listn = \"127.0.0.1\"\n", "listn"),
        ("[limits]\nmax_lines = 3\n", "max_lines"),
        ("[management]\nport = 3\n", "port"),
        ("[[probe]]\nserial=\"A\"\nport=5000\nnmae=\"x\"\n", "nmae"),
        (
            "[[probe]]\nserial=\"A\"\nport=5000\n[probe.limits]\nfoo=1\n",
            "foo",
        ),
    ] {
        let message = error(text);
        assert!(message.starts_with("probeshare.toml: line "), "{message}");
        assert!(
            message.contains(&format!("unknown field `{key}`")),
            "{message}"
        );
    }
}

#[test]
fn wrong_types_and_syntax_name_the_line_and_its_text() {
    let message = error("allow_remote = \"yes\"\n");
    assert!(
        message.starts_with("probeshare.toml: line 1 `allow_remote = \"yes\"`: "),
        "{message}"
    );
    let message = error("listen = \"127.0.0.1\"\nport_range = 5600\n");
    assert!(message.contains("line 2 `port_range = 5600`"), "{message}");
    assert!(error("[[probe]]\nport = 5000\n").contains("missing field `serial`"));
    assert!(error("listen = \n").starts_with("probeshare.toml: line 1"));
}

#[test]
fn non_loopback_listen_needs_allow_remote() {
    assert_names(
        &error("listen = \"0.0.0.0\"\n"),
        "listen",
        "'0.0.0.0' is reachable from other machines; set allow_remote",
    );
    assert_names(
        &error("[management]\nlisten = \"192.168.1.2:5580\"\n"),
        "management.listen",
        "'192.168.1.2:5580' is reachable",
    );
    ok("[management]\nenabled = false\nlisten = \"0.0.0.0:5580\"\n");
}

#[test]
fn malformed_addresses_are_named() {
    assert_names(
        &error("listen = \"localhost\"\n"),
        "listen",
        "'localhost' is not an IP address",
    );
    assert_names(
        &error("listen = \"127.0.0.1:80\"\n"),
        "listen",
        "'127.0.0.1:80'",
    );
    assert_names(
        &error("[management]\nlisten = \"127.0.0.1\"\n"),
        "management.listen",
        "'127.0.0.1' is not an address with a port",
    );
    assert_names(
        &error("[management]\nlisten = \"127.0.0.1:0\"\n"),
        "management.listen",
        "port 0",
    );
    assert_names(
        &error("allow = [\"10.0.0.0/8\", \"10.0.0.0/40\"]\n"),
        "allow[1]",
        "'10.0.0.0/40'",
    );
}

#[test]
fn malformed_port_ranges_are_named() {
    for (range, problem) in [
        ("5600", "not a range"),
        ("5699-5600", "first port is above the last"),
        ("0-10", "0 is not a port"),
        ("5600-70000", "70000 is not a port"),
        ("a-b", "'a' is not a port"),
    ] {
        assert_names(
            &error(&format!("port_range = \"{range}\"\n")),
            "port_range",
            problem,
        );
    }
}

#[test]
fn limits_below_one_are_named_with_their_table() {
    assert_names(
        &error("[limits]\nmax_connections = 0\n"),
        "limits.max_connections",
        "0 is not a whole number of at least 1",
    );
    assert_names(
        &error("[limits]\nmax_line_bytes = -1\n"),
        "limits.max_line_bytes",
        "-1",
    );
    assert_names(
        &error("[limits]\nidle_timeout_secs = -3\n"),
        "limits.idle_timeout_secs",
        "-3",
    );
    assert_names(
        &error("[[probe]]\nserial=\"A\"\nport=5000\n[probe.limits]\nmax_unsent_bytes = 0\n"),
        "probe[0].limits.max_unsent_bytes",
        "0 is not",
    );
}

#[test]
fn empty_state_file_path_is_an_error() {
    assert_names(&error("state_file = \"\"\n"), "state_file", "''");
}

#[test]
fn unreadable_file_is_named() {
    let message = load(std::path::Path::new("/nonexistent/probeshare.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("/nonexistent/probeshare.toml: "),
        "{message}"
    );
}

#[test]
fn dap_ports_are_off_unless_the_file_asks_for_them() {
    let config = ok("[[probe]]\nserial = \"A\"\nport = 5601\n");
    assert_eq!(config.dap_port_range, None);
    assert_eq!(config.probes[0].dap_port, None);
    let config = ok(r#"
        dap_port_range = "5700-5799"
        [[probe]]
        serial = "A"
        port = 5601
        dap_port = 5701
    "#);
    assert_eq!(
        config.dap_port_range,
        Some(PortRange {
            first: 5700,
            last: 5799
        })
    );
    assert_eq!(config.probes[0].dap_port, Some(5701));
    assert_eq!(
        config.listed_ports().collect::<Vec<_>>(),
        [5601, 5701],
        "unlisted probes take neither"
    );
}

#[test]
fn dap_port_out_of_range_is_named_with_file_key_and_value() {
    assert_eq!(
        error("[[probe]]\nserial=\"A\"\nport=5000\ndap_port=70000\n"),
        "probeshare.toml: probe[0].dap_port: 70000 is not a port (1-65535)"
    );
    assert_names(
        &error("[[probe]]\nserial=\"A\"\nport=5000\ndap_port=0\n"),
        "probe[0].dap_port",
        "0 is not a port",
    );
    assert_names(
        &error("[[probe]]\nserial=\"A\"\nport=5000\ndap_port=-1\n"),
        "probe[0].dap_port",
        "-1",
    );
}

#[test]
fn a_dap_port_may_clash_with_no_other_port_of_the_file() {
    assert_names(
        &error("[[probe]]\nserial=\"A\"\nport=5000\ndap_port=5000\n"),
        "probe[0].dap_port",
        "5000 is already the port of probe[0]",
    );
    assert_names(
        &error("[[probe]]\nserial=\"A\"\nport=5000\n[[probe]]\nserial=\"B\"\nport=5001\ndap_port=5000\n"),
        "probe[1].dap_port",
        "5000 is already the port of probe[0]",
    );
    assert_names(
        &error("[[probe]]\nserial=\"A\"\nport=5000\ndap_port=5100\n[[probe]]\nserial=\"B\"\nport=5100\n"),
        "probe[1].port",
        "5100 is already the DAP port of probe[0]",
    );
    assert_names(
        &error("[[probe]]\nserial=\"A\"\nport=5000\ndap_port=5100\n[[probe]]\nserial=\"B\"\nport=5001\ndap_port=5100\n"),
        "probe[1].dap_port",
        "5100 is already the DAP port of probe[0]",
    );
    assert_names(
        &error("[[probe]]\nserial=\"A\"\nport=5000\ndap_port=5580\n"),
        "probe[0].dap_port",
        "5580 is already the port of management.listen",
    );
    ok("[management]\nenabled = false\n[[probe]]\nserial=\"A\"\nport=5000\ndap_port=5580\n");
}

#[test]
fn listed_dap_ports_may_lie_inside_either_range() {
    let config = ok(r#"
        port_range = "5600-5699"
        dap_port_range = "5700-5799"
        [[probe]]
        serial = "A"
        port = 5750
        dap_port = 5650
    "#);
    assert_eq!(config.probes[0].dap_port, Some(5650));
}

#[test]
fn malformed_or_overlapping_dap_port_ranges_are_named() {
    for (range, problem) in [
        ("5700", "not a range"),
        ("5799-5700", "first port is above the last"),
        ("0-10", "0 is not a port"),
        ("5700-70000", "70000 is not a port"),
        ("5650-5750", "'5650-5750' overlaps port_range 5600-5699"),
        ("5699-5699", "overlaps port_range"),
    ] {
        assert_names(
            &error(&format!("dap_port_range = \"{range}\"\n")),
            "dap_port_range",
            problem,
        );
    }
    assert_names(
        &error("dap_port_range = \"5500-5599\"\n"),
        "management.listen",
        "5580 is inside dap_port_range 5500-5599",
    );
    ok("dap_port_range = \"5500-5599\"\n[management]\nenabled = false\n");
}

#[test]
fn effective_configuration_shows_the_dap_ports_and_parses_back() {
    let config = ok(r#"
        dap_port_range = "7100-7110"
        [[probe]]
        serial = "sim:x"
        port = 7005
        dap_port = 7105
        [[probe]]
        serial = "sim:y"
        port = 7006
    "#);
    let text = config.to_toml();
    assert!(text.contains("dap_port_range = \"7100-7110\"\n"), "{text}");
    assert!(text.contains("dap_port = 7105\n"), "{text}");
    assert_eq!(text.matches("dap_port =").count(), 1, "{text}");
    assert_eq!(ok(&text), config, "{text}");
}

#[test]
fn effective_configuration_says_when_dap_port_range_is_not_set() {
    let config = ok("");
    let text = config.to_toml();
    assert!(
        text.contains(
            "port_range = \"5600-5699\"\n# dap_port_range is not set: probes not listed get no DAP port\n"
        ),
        "{text}"
    );
    assert_eq!(ok(&text), config, "{text}");
}

#[test]
fn target_poll_is_at_least_100_ms_and_written_out() {
    assert_names(
        &error("[limits]\ntarget_poll_ms = 99\n"),
        "limits.target_poll_ms",
        "99 is not a number of milliseconds of at least 100",
    );
    let config = ok("[limits]\ntarget_poll_ms = 250\n");
    assert_eq!(
        config.limits.target_poll,
        std::time::Duration::from_millis(250)
    );
    let text = config.to_toml();
    assert!(text.contains("target_poll_ms = 250"), "{text}");
    assert_eq!(
        ok("").limits.target_poll,
        Limits::default().target_poll,
        "200 ms unless set"
    );
}
