//! The configuration file as written: serde structs mirroring the TOML
//! layout one to one. Numbers are read as `i64` and addresses as strings
//! so that validation, not the TOML decoder, judges them and can name the
//! key and value in its message. The same structs print the effective
//! configuration, so what `config check` shows parses back unchanged.

use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_remote: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dap_port_range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsTable>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub management: Option<ManagementTable>,
    #[serde(default, rename = "probe", skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeTable>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsTable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_line_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_block_elements: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections_per_peer: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unsent_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pending_requests: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout_secs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register_window_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_poll_ms: Option<i64>,
}

impl LimitsTable {
    pub fn is_empty(&self) -> bool {
        self.max_line_bytes.is_none()
            && self.max_block_elements.is_none()
            && self.max_connections.is_none()
            && self.max_connections_per_peer.is_none()
            && self.max_unsent_bytes.is_none()
            && self.max_pending_requests.is_none()
            && self.idle_timeout_secs.is_none()
            && self.register_window_ms.is_none()
            && self.target_poll_ms.is_none()
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ManagementTable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_unauthenticated: Option<bool>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProbeTable {
    pub serial: String,
    pub port: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dap_port: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsTable>,
}
