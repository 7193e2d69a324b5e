//! The effective configuration written back as TOML, defaults included,
//! through the same structs the file is read with. A key whose default is
//! "not set" (`dap_port_range`) has no TOML value to show it by, so it is
//! shown as a comment where the key would be. So is `[management] token`,
//! a secret: that configuration shown parses back without its token.

use super::file::{ConfigFile, LimitsTable, ManagementTable, ProbeTable};
use super::Config;
use crate::limits::Limits;

pub(super) fn to_toml(config: &Config) -> String {
    let file = ConfigFile {
        listen: Some(config.listen.to_string()),
        allow_remote: Some(config.allow_remote),
        allow: Some(config.allow.iter().map(ToString::to_string).collect()),
        port_range: Some(config.port_range.to_string()),
        dap_port_range: config.dap_port_range.map(|range| range.to_string()),
        state_file: Some(config.state_file.display().to_string()),
        limits: Some(limits_table(&config.limits)),
        management: Some(ManagementTable {
            enabled: Some(config.management.enabled),
            listen: Some(config.management.listen.to_string()),
            // A token written in the file is a secret: shown as a comment.
            token: None,
            token_file: config
                .management
                .token_file
                .as_ref()
                .map(|path| path.display().to_string()),
            allow_unauthenticated: Some(config.management.allow_unauthenticated),
        }),
        probes: config
            .probes
            .iter()
            .map(|probe| ProbeTable {
                serial: probe.probe.to_string(),
                port: i64::from(probe.port),
                dap_port: probe.dap_port.map(i64::from),
                name: probe.name.clone(),
                description: probe.description.clone(),
                limits: probe.limit_overrides.then(|| limits_table(&probe.limits)),
            })
            .collect(),
    };
    // Strings, numbers and tables of owned data always serialize.
    let mut text = toml::to_string(&file).unwrap_or_else(|e| format!("# cannot render: {e}\n"));
    if config.management.token.is_some() && config.management.token_file.is_none() {
        text = text.replacen(
            "[management]\n",
            &format!("[management]\n{HIDDEN_TOKEN}"),
            1,
        );
    }
    if config.dap_port_range.is_some() {
        return text;
    }
    // After `port_range`, which is always written.
    let mut out = String::with_capacity(text.len() + UNSET_DAP_PORT_RANGE.len());
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if line.starts_with("port_range = ") {
            out.push_str(UNSET_DAP_PORT_RANGE);
        }
    }
    out
}

/// How `config check` shows a token written in the file.
const HIDDEN_TOKEN: &str = "# token is set (not shown)\n";

/// How `config check` shows that `dap_port_range` is not set.
const UNSET_DAP_PORT_RANGE: &str =
    "# dap_port_range is not set: probes not listed get no DAP port\n";

fn limits_table(limits: &Limits) -> LimitsTable {
    let number = |n: usize| Some(i64::try_from(n).unwrap_or(i64::MAX));
    LimitsTable {
        max_line_bytes: number(limits.max_line_bytes),
        max_block_elements: number(limits.max_block_elements),
        max_connections: number(limits.max_connections),
        max_connections_per_peer: number(limits.max_connections_per_peer),
        max_unsent_bytes: number(limits.max_unsent_bytes),
        max_pending_requests: number(limits.max_pending_requests),
        idle_timeout_secs: Some(
            limits
                .idle_timeout
                .map_or(0, |t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX)),
        ),
        register_window_ms: Some(
            i64::try_from(limits.register_window.as_millis()).unwrap_or(i64::MAX),
        ),
        target_poll_ms: Some(i64::try_from(limits.target_poll.as_millis()).unwrap_or(i64::MAX)),
    }
}
