//! From the file as written to a [`Config`]: defaults filled in, every
//! value checked, and the entries checked against each other. Stops at
//! the first problem; its message names the key and quotes the value.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::file::{ConfigFile, LimitsTable, ProbeTable};
use super::{
    BearerToken, Cidr, Config, ConfigError, Management, PortRange, ProbeEntry, ProbeSelector,
    DEFAULT_LISTEN, DEFAULT_MANAGEMENT_LISTEN, DEFAULT_PORT_RANGE, DEFAULT_STATE_FILE,
};
use crate::limits::{Limits, MIN_TARGET_POLL};

pub(super) fn validate(raw: ConfigFile, file: &str) -> Result<Config, ConfigError> {
    let fail = |key: &str, problem: String| ConfigError {
        file: file.to_string(),
        key: key.to_string(),
        problem,
    };
    let allow_remote = raw.allow_remote.unwrap_or(false);
    let listen = match &raw.listen {
        None => DEFAULT_LISTEN,
        Some(text) => text
            .parse::<IpAddr>()
            .map_err(|_| fail("listen", format!("'{text}' is not an IP address")))?,
    };
    if !listen.is_loopback() && !allow_remote {
        return Err(fail("listen", remote_refusal(&listen.to_string())));
    }
    let allow = raw
        .allow
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, text)| {
            Cidr::parse(text)
                .map_err(|problem| fail(&format!("allow[{i}]"), format!("'{text}': {problem}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let limits = apply_limits(Limits::default(), raw.limits.as_ref(), "limits")
        .map_err(|(key, problem)| fail(&key, problem))?;
    let management =
        management(&raw, allow_remote).map_err(|(key, problem)| fail(&key, problem))?;
    let port_range = match &raw.port_range {
        None => DEFAULT_PORT_RANGE,
        Some(text) => parse_port_range(text).map_err(|problem| fail("port_range", problem))?,
    };
    let dap_port_range = match &raw.dap_port_range {
        None => None,
        Some(text) => {
            let range =
                parse_port_range(text).map_err(|problem| fail("dap_port_range", problem))?;
            if range.first <= port_range.last && port_range.first <= range.last {
                return Err(fail(
                    "dap_port_range",
                    format!("'{text}' overlaps port_range {port_range}"),
                ));
            }
            Some(range)
        }
    };
    let state_file = match raw.state_file.as_deref() {
        None => PathBuf::from(DEFAULT_STATE_FILE),
        Some("") => return Err(fail("state_file", "'' is not a file path".into())),
        Some(path) => PathBuf::from(path),
    };
    let probes = raw
        .probes
        .iter()
        .enumerate()
        .map(|(i, probe)| probe_entry(probe, i, &limits))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|(key, problem)| fail(&key, problem))?;
    check_collisions(&probes, &management, listen).map_err(|(key, problem)| fail(&key, problem))?;
    let ranges = [
        ("port_range", Some(port_range)),
        ("dap_port_range", dap_port_range),
    ];
    for (key, range) in ranges {
        let Some(range) = range else {
            continue;
        };
        if management.enabled
            && ports_overlap(management.listen.ip(), listen)
            && range.contains(management.listen.port())
        {
            return Err(fail(
                "management.listen",
                format!(
                    "'{}': port {} is inside {key} {range}, which probes use",
                    management.listen,
                    management.listen.port()
                ),
            ));
        }
    }
    Ok(Config {
        listen,
        allow_remote,
        allow,
        limits,
        management,
        port_range,
        dap_port_range,
        state_file,
        probes,
    })
}

/// A problem before the file name is added: the key and the message.
type Problem = (String, String);

fn remote_refusal(address: &str) -> String {
    format!("'{address}' is reachable from other machines; set allow_remote = true to allow that")
}

fn management(raw: &ConfigFile, allow_remote: bool) -> Result<Management, Problem> {
    let table = raw.management.as_ref();
    let enabled = table.and_then(|t| t.enabled).unwrap_or(true);
    let text = table
        .and_then(|t| t.listen.as_deref())
        .unwrap_or(DEFAULT_MANAGEMENT_LISTEN);
    let key = "management.listen".to_string();
    let listen: SocketAddr = text.parse().map_err(|_| {
        (
            key.clone(),
            format!("'{text}' is not an address with a port (like 127.0.0.1:5580)"),
        )
    })?;
    if listen.port() == 0 {
        return Err((key, format!("'{text}': port 0 is not a port (1-65535)")));
    }
    if enabled && !listen.ip().is_loopback() && !allow_remote {
        return Err((key, remote_refusal(text)));
    }
    let token_text = table.and_then(|t| t.token.as_deref());
    let token_file = table.and_then(|t| t.token_file.as_deref());
    let token = match (token_text, token_file) {
        (Some(_), Some(_)) => {
            return Err((
                "management.token_file".into(),
                "give token or token_file, not both".into(),
            ))
        }
        (Some(text), None) => Some(BearerToken::parse(text).map_err(|problem| {
            (
                "management.token".to_string(),
                format!("the token {problem}"),
            )
        })?),
        (None, Some("")) => {
            return Err((
                "management.token_file".into(),
                "'' is not a file path".into(),
            ))
        }
        (None, Some(path)) => Some(BearerToken::read(Path::new(path)).map_err(|problem| {
            (
                "management.token_file".to_string(),
                format!("'{path}' {problem}"),
            )
        })?),
        (None, None) => None,
    };
    let allow_unauthenticated = table.and_then(|t| t.allow_unauthenticated).unwrap_or(false);
    if enabled && !listen.ip().is_loopback() && token.is_none() && !allow_unauthenticated {
        return Err((
            key,
            format!(
                "'{text}' is reachable from other machines and [management] has no token: \
                 set token or token_file, or allow_unauthenticated = true to let anyone \
                 who reaches it kick, disable and unplug probes"
            ),
        ));
    }
    Ok(Management {
        enabled,
        listen,
        token,
        token_file: token_file.map(PathBuf::from),
        allow_unauthenticated,
    })
}

fn probe_entry(raw: &ProbeTable, index: usize, global: &Limits) -> Result<ProbeEntry, Problem> {
    let key = |field: &str| format!("probe[{index}].{field}");
    let probe = match raw.serial.strip_prefix("sim:") {
        Some("") => return Err((key("serial"), "'sim:' needs a name after the colon".into())),
        Some(name) => ProbeSelector::Sim(name.to_string()),
        None if raw.serial.trim().is_empty() => {
            return Err((
                key("serial"),
                format!("'{}' is not a serial number", raw.serial),
            ))
        }
        None => ProbeSelector::Serial(raw.serial.clone()),
    };
    let port = port_number(raw.port).map_err(|problem| (key("port"), problem))?;
    let dap_port = raw
        .dap_port
        .map(port_number)
        .transpose()
        .map_err(|problem| (key("dap_port"), problem))?;
    let limits = apply_limits(global.clone(), raw.limits.as_ref(), &key("limits"))?;
    Ok(ProbeEntry {
        probe,
        port,
        dap_port,
        name: raw.name.clone(),
        description: raw.description.clone(),
        limits,
        limit_overrides: raw.limits.as_ref().is_some_and(|t| !t.is_empty()),
    })
}

/// Duplicate probes and ports: no port of the file (a pyOCD port or a
/// DAP port) may be another's. A listed port may lie inside `port_range`
/// or `dap_port_range`: the allocator skips it, so no separate range is
/// needed for listed probes.
fn check_collisions(
    probes: &[ProbeEntry],
    management: &Management,
    listen: IpAddr,
) -> Result<(), Problem> {
    let mut serials = HashMap::new();
    // Each port taken so far: by which entry, and as which of its ports.
    let mut ports: HashMap<u16, (usize, &str)> = HashMap::new();
    for (i, probe) in probes.iter().enumerate() {
        if let Some(first) = serials.insert(&probe.probe, i) {
            return Err((
                format!("probe[{i}].serial"),
                format!("'{}' is already listed as probe[{first}]", probe.probe),
            ));
        }
        let own = [("port", Some(probe.port)), ("dap_port", probe.dap_port)];
        for (field, port) in own {
            let Some(port) = port else {
                continue;
            };
            let kind = if field == "port" { "port" } else { "DAP port" };
            if let Some((first, first_kind)) = ports.insert(port, (i, kind)) {
                return Err((
                    format!("probe[{i}].{field}"),
                    format!("{port} is already the {first_kind} of probe[{first}]"),
                ));
            }
            if management.enabled
                && management.listen.port() == port
                && ports_overlap(management.listen.ip(), listen)
            {
                return Err((
                    format!("probe[{i}].{field}"),
                    format!("{port} is already the port of management.listen"),
                ));
            }
        }
    }
    Ok(())
}

/// Whether listening on both addresses with one port would clash.
fn ports_overlap(a: IpAddr, b: IpAddr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}

fn port_number(value: i64) -> Result<u16, String> {
    u16::try_from(value)
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| format!("{value} is not a port (1-65535)"))
}

pub(super) fn parse_port_range(text: &str) -> Result<PortRange, String> {
    let (first, last) = text
        .split_once('-')
        .ok_or_else(|| format!("'{text}' is not a range like \"5600-5699\""))?;
    let port = |part: &str| {
        part.trim()
            .parse::<i64>()
            .map_err(|_| format!("'{text}': '{part}' is not a port (1-65535)"))
            .and_then(|n| port_number(n).map_err(|problem| format!("'{text}': {problem}")))
    };
    let range = PortRange {
        first: port(first)?,
        last: port(last)?,
    };
    if range.first > range.last {
        return Err(format!("'{text}': the first port is above the last"));
    }
    Ok(range)
}

/// `base` with the values of `table` (at `prefix`) applied.
fn apply_limits(
    base: Limits,
    table: Option<&LimitsTable>,
    prefix: &str,
) -> Result<Limits, Problem> {
    let Some(table) = table else {
        return Ok(base);
    };
    let at_least_one =
        |value: Option<i64>, field: &str, current: usize| -> Result<usize, Problem> {
            match value {
                None => Ok(current),
                Some(n) => usize::try_from(n).ok().filter(|n| *n >= 1).ok_or_else(|| {
                    (
                        format!("{prefix}.{field}"),
                        format!("{n} is not a whole number of at least 1"),
                    )
                }),
            }
        };
    let idle_timeout = match table.idle_timeout_secs {
        None => base.idle_timeout,
        Some(0) => None,
        Some(secs) => Some(Duration::from_secs(u64::try_from(secs).map_err(|_| {
            (
                format!("{prefix}.idle_timeout_secs"),
                format!("{secs} is not a number of seconds (0 = never)"),
            )
        })?)),
    };
    Ok(Limits {
        max_line_bytes: at_least_one(table.max_line_bytes, "max_line_bytes", base.max_line_bytes)?,
        max_block_elements: at_least_one(
            table.max_block_elements,
            "max_block_elements",
            base.max_block_elements,
        )?,
        max_connections: at_least_one(
            table.max_connections,
            "max_connections",
            base.max_connections,
        )?,
        max_connections_per_peer: at_least_one(
            table.max_connections_per_peer,
            "max_connections_per_peer",
            base.max_connections_per_peer,
        )?,
        max_unsent_bytes: at_least_one(
            table.max_unsent_bytes,
            "max_unsent_bytes",
            base.max_unsent_bytes,
        )?,
        max_pending_requests: at_least_one(
            table.max_pending_requests,
            "max_pending_requests",
            base.max_pending_requests,
        )?,
        idle_timeout,
        register_window: match table.register_window_ms {
            None => base.register_window,
            Some(ms) => {
                Duration::from_millis(u64::try_from(ms).ok().filter(|ms| *ms >= 1).ok_or_else(
                    || {
                        (
                            format!("{prefix}.register_window_ms"),
                            format!("{ms} is not a number of milliseconds of at least 1"),
                        )
                    },
                )?)
            }
        },
        target_poll: match table.target_poll_ms {
            None => base.target_poll,
            Some(ms) => {
                let least = MIN_TARGET_POLL.as_millis();
                Duration::from_millis(
                    u64::try_from(ms)
                        .ok()
                        .filter(|ms| u128::from(*ms) >= least)
                        .ok_or_else(|| {
                            (
                                format!("{prefix}.target_poll_ms"),
                                format!("{ms} is not a number of milliseconds of at least {least}"),
                            )
                        })?,
                )
            }
        },
    })
}
