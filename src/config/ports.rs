//! The state file remembering which port each unlisted probe was given,
//! so a probe keeps its port across restarts and re-plugs. A port stays
//! with its serial until the line is removed from the file (or the port
//! leaves its range or becomes a listed probe's); that keeps client
//! scripts valid for probes that come and go.
//!
//! The file is TOML: `[ports]` then `"SERIAL" = PORT` lines, the pyOCD
//! ports from `port_range`; then, once a probe got a DAP port from
//! `dap_port_range`, `[dap_ports]` with the same lines for those. A file
//! without `[dap_ports]` (every file before DAP ports, and every file of a
//! farm without `dap_port_range`) is read as having none, and is written
//! without the table while it stays empty.
//!
//! No port is handed out twice: a new pyOCD or DAP port is one that no
//! serial holds in either table, whatever its range.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::PortRange;

/// Port allocations of unlisted probes, backed by a state file.
#[derive(Debug)]
pub struct PortAllocations {
    path: PathBuf,
    range: PortRange,
    /// Where DAP ports come from; none: no DAP ports are handed out (those
    /// remembered are kept in the file all the same).
    dap_range: Option<PortRange>,
    /// Ports of listed probes (DAP ports included), never handed out.
    reserved: BTreeSet<u16>,
    by_serial: BTreeMap<String, u16>,
    dap_by_serial: BTreeMap<String, u16>,
}

#[derive(Debug, thiserror::Error)]
pub enum PortStateError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a probeshare port state file: {problem}")]
    Corrupt { path: String, problem: String },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("no free port left in {key} {range} for probe {serial}; remove entries of probes gone for good from {path}")]
    Exhausted {
        /// `port_range` or `dap_port_range`.
        key: &'static str,
        range: PortRange,
        serial: String,
        path: String,
    },
}

#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    #[serde(default)]
    ports: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    dap_ports: BTreeMap<String, i64>,
}

/// Which of a probe's ports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Pyocd,
    Dap,
}

impl PortAllocations {
    /// Reads the state file at `path`; a missing file is an empty state.
    /// `reserved` are the ports of listed probes. No DAP ports are handed
    /// out (see [`PortAllocations::load_with_dap`]).
    pub fn load(
        path: &Path,
        range: PortRange,
        reserved: impl IntoIterator<Item = u16>,
    ) -> Result<PortAllocations, PortStateError> {
        PortAllocations::load_with_dap(path, range, None, reserved)
    }

    /// [`PortAllocations::load`], handing out DAP ports from `dap_range`
    /// if given. `reserved` are every port of the listed probes.
    pub fn load_with_dap(
        path: &Path,
        range: PortRange,
        dap_range: Option<PortRange>,
        reserved: impl IntoIterator<Item = u16>,
    ) -> Result<PortAllocations, PortStateError> {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(PortStateError::Read { path: name, source }),
        };
        let corrupt = |problem: String| PortStateError::Corrupt {
            path: name.clone(),
            problem,
        };
        let state: StateFile =
            toml::from_str(&text).map_err(|e| corrupt(e.message().to_string()))?;
        // Who holds each port, across both tables.
        let mut owners: BTreeMap<u16, String> = BTreeMap::new();
        let mut read_table = |table: &str, entries: &BTreeMap<String, i64>| {
            let mut by_serial = BTreeMap::new();
            for (serial, &port) in entries {
                let port = u16::try_from(port)
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| {
                        corrupt(format!(
                            "{table}.\"{serial}\": {port} is not a port (1-65535)"
                        ))
                    })?;
                let owner = format!("{table}.\"{serial}\"");
                if let Some(other) = owners.insert(port, owner) {
                    return Err(corrupt(format!(
                        "{table}.\"{serial}\": {port} is also the port of {other}"
                    )));
                }
                by_serial.insert(serial.clone(), port);
            }
            Ok(by_serial)
        };
        let by_serial = read_table("ports", &state.ports)?;
        let dap_by_serial = read_table("dap_ports", &state.dap_ports)?;
        Ok(PortAllocations {
            path: path.to_path_buf(),
            range,
            dap_range,
            reserved: reserved.into_iter().collect(),
            by_serial,
            dap_by_serial,
        })
    }

    /// The port remembered for `serial`, if still usable.
    pub fn port_of(&self, serial: &str) -> Option<u16> {
        self.remembered(Kind::Pyocd, serial)
    }

    /// The DAP port remembered for `serial`, if still usable (never
    /// without a DAP range).
    pub fn dap_port_of(&self, serial: &str) -> Option<u16> {
        self.remembered(Kind::Dap, serial)
    }

    /// The port of `serial`: the remembered one, or else the lowest free
    /// port of the range, remembered from now on (call [`save`](Self::save)
    /// to keep it across restarts).
    pub fn allocate(&mut self, serial: &str) -> Result<u16, PortStateError> {
        self.allocate_kind(Kind::Pyocd, serial)
    }

    /// The DAP port of `serial`, as [`allocate`](Self::allocate) gives its
    /// port, from the DAP range; `None` when there is no DAP range.
    pub fn allocate_dap(&mut self, serial: &str) -> Option<Result<u16, PortStateError>> {
        self.dap_range?;
        Some(self.allocate_kind(Kind::Dap, serial))
    }

    fn range_of(&self, kind: Kind) -> Option<PortRange> {
        match kind {
            Kind::Pyocd => Some(self.range),
            Kind::Dap => self.dap_range,
        }
    }

    fn table(&mut self, kind: Kind) -> &mut BTreeMap<String, u16> {
        match kind {
            Kind::Pyocd => &mut self.by_serial,
            Kind::Dap => &mut self.dap_by_serial,
        }
    }

    fn remembered(&self, kind: Kind, serial: &str) -> Option<u16> {
        let table = match kind {
            Kind::Pyocd => &self.by_serial,
            Kind::Dap => &self.dap_by_serial,
        };
        let range = self.range_of(kind)?;
        table
            .get(serial)
            .copied()
            .filter(|port| range.contains(*port) && !self.reserved.contains(port))
    }

    fn allocate_kind(&mut self, kind: Kind, serial: &str) -> Result<u16, PortStateError> {
        if let Some(port) = self.remembered(kind, serial) {
            return Ok(port);
        }
        // Only called with a range (the DAP one checked by the caller).
        let range = self.range_of(kind).unwrap_or(self.range);
        // A remembered port that left the range or went to a listed probe
        // is given up; the probe gets a fresh one.
        self.table(kind).remove(serial);
        let taken: BTreeSet<u16> = self
            .by_serial
            .values()
            .chain(self.dap_by_serial.values())
            .copied()
            .collect();
        let port = range
            .ports()
            .find(|port| !taken.contains(port) && !self.reserved.contains(port))
            .ok_or_else(|| PortStateError::Exhausted {
                key: match kind {
                    Kind::Pyocd => "port_range",
                    Kind::Dap => "dap_port_range",
                },
                range,
                serial: serial.to_string(),
                path: self.path.display().to_string(),
            })?;
        self.table(kind).insert(serial.to_string(), port);
        Ok(port)
    }

    /// Writes the state file atomically: a temporary file in the same
    /// directory, flushed to disk, then renamed over the old one, so a
    /// crash leaves either the old or the new state, never half of one.
    pub fn save(&self) -> Result<(), PortStateError> {
        let name = self.path.display().to_string();
        let write_error = |source| PortStateError::Write {
            path: name.clone(),
            source,
        };
        let numbers = |table: &BTreeMap<String, u16>| {
            table
                .iter()
                .map(|(serial, port)| (serial.clone(), i64::from(*port)))
                .collect()
        };
        let state = StateFile {
            ports: numbers(&self.by_serial),
            dap_ports: numbers(&self.dap_by_serial),
        };
        let body = toml::to_string(&state).map_err(|e| write_error(std::io::Error::other(e)))?;
        let text = format!("# Ports probeshare gave to probes not listed in its configuration.\n# Remove a line to free its port.\n{body}");
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write_error)?;
        }
        let mut temp_name = self.path.file_name().unwrap_or_default().to_os_string();
        temp_name.push(format!(".tmp.{}", std::process::id()));
        let temp = self.path.with_file_name(temp_name);
        let written = std::fs::File::create(&temp).and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&temp, &self.path)) {
            let _ = std::fs::remove_file(&temp);
            return Err(write_error(e));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
