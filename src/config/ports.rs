//! The state file remembering which port each unlisted probe was given,
//! so a probe keeps its port across restarts and re-plugs. A port stays
//! with its serial until the line is removed from the file (or the port
//! leaves `port_range` or becomes a listed probe's); that keeps client
//! scripts valid for probes that come and go.
//!
//! The file is TOML: `[ports]` then `"SERIAL" = PORT` lines.

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
    /// Ports of listed probes, never handed out.
    reserved: BTreeSet<u16>,
    by_serial: BTreeMap<String, u16>,
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
    #[error("no free port left in port_range {range} for probe {serial}; remove entries of probes gone for good from {path}")]
    Exhausted {
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
}

impl PortAllocations {
    /// Reads the state file at `path`; a missing file is an empty state.
    /// `reserved` are the ports of listed probes.
    pub fn load(
        path: &Path,
        range: PortRange,
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
        let mut by_serial = BTreeMap::new();
        let mut owners: BTreeMap<u16, &str> = BTreeMap::new();
        for (serial, &port) in &state.ports {
            let port = u16::try_from(port)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| {
                    corrupt(format!(
                        "ports.\"{serial}\": {port} is not a port (1-65535)"
                    ))
                })?;
            if let Some(other) = owners.insert(port, serial) {
                return Err(corrupt(format!(
                    "ports.\"{serial}\": {port} is also the port of \"{other}\""
                )));
            }
            by_serial.insert(serial.clone(), port);
        }
        Ok(PortAllocations {
            path: path.to_path_buf(),
            range,
            reserved: reserved.into_iter().collect(),
            by_serial,
        })
    }

    /// The port remembered for `serial`, if still usable.
    pub fn port_of(&self, serial: &str) -> Option<u16> {
        self.by_serial
            .get(serial)
            .copied()
            .filter(|port| self.usable(*port))
    }

    /// The port of `serial`: the remembered one, or else the lowest free
    /// port of the range, remembered from now on (call [`save`](Self::save)
    /// to keep it across restarts).
    pub fn allocate(&mut self, serial: &str) -> Result<u16, PortStateError> {
        if let Some(port) = self.port_of(serial) {
            return Ok(port);
        }
        // A remembered port that left the range or went to a listed probe
        // is given up; the probe gets a fresh one.
        self.by_serial.remove(serial);
        let taken: BTreeSet<u16> = self.by_serial.values().copied().collect();
        let port = self
            .range
            .ports()
            .find(|port| !taken.contains(port) && !self.reserved.contains(port))
            .ok_or_else(|| PortStateError::Exhausted {
                range: self.range,
                serial: serial.to_string(),
                path: self.path.display().to_string(),
            })?;
        self.by_serial.insert(serial.to_string(), port);
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
        let state = StateFile {
            ports: self
                .by_serial
                .iter()
                .map(|(serial, port)| (serial.clone(), i64::from(*port)))
                .collect(),
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

    fn usable(&self, port: u16) -> bool {
        self.range.contains(port) && !self.reserved.contains(&port)
    }
}

#[cfg(test)]
mod tests;
