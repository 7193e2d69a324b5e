//! The probe farm's configuration file (docs/configuration.md): which
//! probe gets which port, who may connect, and the server limits. `load`
//! reads and validates it into a [`Config`]; every error names the file,
//! the key and the offending value. [`ports`] remembers the ports handed
//! to probes the file does not list.
//!
//! Each probe has its pyOCD port and, if the file asks for it, a DAP port
//! (CMSIS-DAP over TCP, for OpenOCD): a listed probe's `dap_port`, an
//! unlisted probe's from `dap_port_range`. Neither is on by default, so a
//! file that says nothing of DAP ports opens no port it does not name.

mod cidr;
mod file;
pub mod ports;
mod render;
mod token;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

pub use cidr::Cidr;
pub use token::{BearerToken, MIN_TOKEN_LENGTH};

use crate::limits::Limits;

/// Where probes are served when the file says nothing.
pub const DEFAULT_LISTEN: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
/// Where the management interface listens when the file says nothing.
pub const DEFAULT_MANAGEMENT_LISTEN: &str = "127.0.0.1:5580";
/// Ports for probes the file does not list, when it says nothing.
pub const DEFAULT_PORT_RANGE: PortRange = PortRange {
    first: 5600,
    last: 5699,
};
/// Where the ports of unlisted probes are remembered by default.
pub const DEFAULT_STATE_FILE: &str = "/var/lib/probeshare/ports.toml";

/// A validated configuration with every default filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Address every probe port listens on.
    pub listen: IpAddr,
    /// Whether `listen` and `management.listen` may be reachable from
    /// other machines.
    pub allow_remote: bool,
    /// Client networks allowed to connect; empty allows every client that
    /// can reach `listen`.
    pub allow: Vec<Cidr>,
    /// Limits for every probe without its own.
    pub limits: Limits,
    pub management: Management,
    /// Ports for probes not listed in `probes`.
    pub port_range: PortRange,
    /// DAP ports (CMSIS-DAP over TCP, for OpenOCD) for probes not listed
    /// in `probes`; none when not set, and then they get no DAP port.
    pub dap_port_range: Option<PortRange>,
    /// Where the ports given to unlisted probes are remembered.
    pub state_file: PathBuf,
    /// The `[[probe]]` entries, in file order.
    pub probes: Vec<ProbeEntry>,
}

impl Config {
    /// Whether a client at `address` may connect.
    pub fn allows(&self, address: IpAddr) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|net| net.contains(address))
    }

    /// The ports of listed probes, their DAP ports included, which the
    /// unlisted ones must not take.
    pub fn listed_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.probes
            .iter()
            .flat_map(|probe| std::iter::once(probe.port).chain(probe.dap_port))
    }

    /// The configuration as TOML with every default written out; it parses
    /// back to the same `Config`.
    pub fn to_toml(&self) -> String {
        render::to_toml(self)
    }
}

/// The management interface's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Management {
    pub enabled: bool,
    pub listen: SocketAddr,
    /// What requests that change anything must carry as
    /// `Authorization: Bearer TOKEN` (`token`, or read from `token_file`);
    /// `None`: no token is asked for.
    pub token: Option<BearerToken>,
    /// Where `token` was read from, if from a file.
    pub token_file: Option<PathBuf>,
    /// Lets the interface listen where other machines reach it without a
    /// token, so that anyone who reaches it can change the farm.
    pub allow_unauthenticated: bool,
}

/// One `[[probe]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeEntry {
    pub probe: ProbeSelector,
    pub port: u16,
    /// The port serving CMSIS-DAP over TCP for OpenOCD, if the entry asks
    /// for one (`dap_port`).
    pub dap_port: Option<u16>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// The global limits with this probe's overrides applied.
    pub limits: Limits,
    /// Whether the entry had a `[probe.limits]` table (the effective
    /// configuration shows only those overrides).
    pub(crate) limit_overrides: bool,
}

/// Which probe an entry means.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProbeSelector {
    /// A USB probe by its exact serial number.
    Serial(String),
    /// A virtual target (`sim:NAME`), named so several can coexist.
    Sim(String),
}

impl fmt::Display for ProbeSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeSelector::Serial(serial) => f.write_str(serial),
            ProbeSelector::Sim(name) => write!(f, "sim:{name}"),
        }
    }
}

/// An inclusive range of TCP ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }

    pub fn ports(&self) -> std::ops::RangeInclusive<u16> {
        self.first..=self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// A configuration file that cannot be used. Displays as
/// `FILE: KEY: PROBLEM`, the problem quoting the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// The key path (`probe[2].port`), or the line and its text for errors
    /// found while decoding the TOML.
    pub key: String,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.key, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        key: "(file)".into(),
        problem: format!("cannot read: {e}"),
    })?;
    parse(&text, &file)
}

/// Validates configuration `text`; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
    let raw: file::ConfigFile = toml::from_str(text).map_err(|e| decode_error(&e, text, file))?;
    validate::validate(raw, file)
}

/// Turns a TOML decoding error into one naming the line and quoting it,
/// which shows the key and value (the decoder's message names an unknown
/// key itself).
fn decode_error(error: &toml::de::Error, text: &str, file: &str) -> ConfigError {
    let problem = error.message().trim().to_string();
    let key = match error.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let line_number = text
                .get(..start)
                .map_or(0, |before| before.matches('\n').count())
                + 1;
            let line_text = text.lines().nth(line_number - 1).unwrap_or("").trim();
            format!("line {line_number} `{line_text}`")
        }
        None => "(file)".into(),
    };
    ConfigError {
        file: file.to_string(),
        key,
        problem,
    }
}
