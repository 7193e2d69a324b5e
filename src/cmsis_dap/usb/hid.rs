//! CMSIS-DAP v1: command and response packets as HID reports through a
//! hidraw node, with hidapi's pure-Rust Linux backend.
//!
//! A command goes out as report ID 0 followed by the packet padded with
//! zeros to the full report size (the kernel drops the ID byte; some
//! probes ignore a report until all of it has arrived). The report size
//! comes from the report descriptor, else from DAP_Info, else 64.
//!
//! hidraw lets any number of processes open a node and hands each a copy
//! of every input report, so a second probeshare talking to the same probe
//! would steal and inject responses. The transport holds an exclusive
//! advisory lock on the node while open; a second probeshare (e.g.
//! `probeshare list` beside `serve`) is refused instead.

use std::ffi::CString;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::ErrorKind;
use std::time::Duration;

use hidapi::{HidApi, HidDevice, HidError};

use super::report_descriptor::parse_report_sizes;
use super::UDEV_HINT;
use crate::cmsis_dap::{Transport, TransportError};

/// The report size of full-speed CMSIS-DAP probes, used when neither the
/// descriptor nor DAP_Info has told otherwise.
const DEFAULT_REPORT_SIZE: usize = 64;

/// The kernel's cap on a HID report descriptor (HID_MAX_DESCRIPTOR_SIZE).
const MAX_DESCRIPTOR_SIZE: usize = 4096;

// errno values meaning the device is gone.
const ENODEV: i32 = 19;
const ESHUTDOWN: i32 = 108;

/// An open CMSIS-DAP v1 hidraw node.
pub struct HidTransport {
    device: HidDevice,
    /// Holds the exclusive lock on the node for as long as it is open.
    _lock: File,
    report_size: usize,
    /// True when `report_size` came from the descriptor, which then wins
    /// over DAP_Info (the kernel sizes reports by the descriptor).
    size_is_from_descriptor: bool,
    /// Report ID byte + one report.
    report: Vec<u8>,
}

impl HidTransport {
    /// Opens the hidraw node at `path` (e.g. `/dev/hidraw3`).
    pub fn open(path: &str) -> Result<HidTransport, TransportError> {
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|error| match error.kind() {
                ErrorKind::PermissionDenied => {
                    TransportError::Io(format!("{path}: permission denied; {UDEV_HINT}"))
                }
                ErrorKind::NotFound => {
                    TransportError::Disconnected(format!("{path} is gone (probe unplugged?)"))
                }
                _ => TransportError::Io(format!("{path}: {error}")),
            })?;
        lock.try_lock().map_err(|error| match error {
            TryLockError::WouldBlock => {
                TransportError::Io(format!("{path} is in use by another probeshare process"))
            }
            TryLockError::Error(error) => TransportError::Io(format!("{path}: {error}")),
        })?;
        let api = HidApi::new().map_err(hid_error)?;
        let c_path = CString::new(path)
            .map_err(|_| TransportError::Io(format!("{path:?} is not a device path")))?;
        let device = api.open_path(&c_path).map_err(hid_error)?;
        let mut descriptor = vec![0; MAX_DESCRIPTOR_SIZE];
        let from_descriptor = device
            .get_report_descriptor(&mut descriptor)
            .ok()
            .and_then(|length| parse_report_sizes(descriptor.get(..length)?).ok())
            .map(|sizes| {
                if sizes.output > 0 {
                    sizes.output
                } else {
                    sizes.input
                }
            })
            .filter(|&size| size > 0);
        let report_size = from_descriptor.unwrap_or(DEFAULT_REPORT_SIZE);
        Ok(HidTransport {
            device,
            _lock: lock,
            report_size,
            size_is_from_descriptor: from_descriptor.is_some(),
            report: Vec::with_capacity(report_size + 1),
        })
    }

    /// The size every report is padded to.
    pub fn report_size(&self) -> usize {
        self.report_size
    }
}

impl Transport for HidTransport {
    fn write_packet(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        if packet.len() > self.report_size {
            return Err(TransportError::Io(format!(
                "a {}-byte command does not fit a {}-byte HID report",
                packet.len(),
                self.report_size
            )));
        }
        self.report.clear();
        self.report.push(0); // report ID 0: the device uses no IDs
        self.report.extend_from_slice(packet);
        self.report.resize(self.report_size + 1, 0);
        let written = self.device.write(&self.report).map_err(hid_error)?;
        if written != self.report.len() {
            return Err(TransportError::Io(format!(
                "hidraw took {written} of {} bytes",
                self.report.len()
            )));
        }
        Ok(())
    }

    fn read_packet(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let millis = i32::try_from(timeout.as_millis())
            .unwrap_or(i32::MAX)
            .max(1);
        match self.device.read_timeout(buf, millis).map_err(hid_error)? {
            0 => Err(TransportError::Timeout(timeout)),
            length => Ok(length),
        }
    }

    fn initial_packet_size(&self) -> usize {
        self.report_size
    }

    fn set_packet_size(&mut self, size: usize) {
        if size > 0 && !self.size_is_from_descriptor {
            self.report_size = size;
        }
    }
}

fn hid_error(error: HidError) -> TransportError {
    let gone = match &error {
        HidError::IoError { error } => {
            matches!(error.raw_os_error(), Some(ENODEV | ESHUTDOWN))
                || error.kind() == ErrorKind::NotFound
        }
        HidError::HidApiError { message } => message.contains("disconnected"),
        _ => false,
    };
    if gone {
        TransportError::Disconnected(error.to_string())
    } else {
        TransportError::Io(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vanished_device_errors_mean_disconnected() {
        let unplugged = HidError::IoError {
            error: std::io::Error::from_raw_os_error(ENODEV),
        };
        assert!(matches!(
            hid_error(unplugged),
            TransportError::Disconnected(_)
        ));
        let hung_up = HidError::HidApiError {
            message: "unexpected poll error (device disconnected)".to_owned(),
        };
        assert!(matches!(
            hid_error(hung_up),
            TransportError::Disconnected(_)
        ));
        let other = HidError::IoError {
            error: std::io::Error::from_raw_os_error(5),
        };
        assert!(matches!(hid_error(other), TransportError::Io(_)));
    }

    #[test]
    fn node_held_by_another_transport_is_refused() {
        let path = std::env::temp_dir().join(format!("probeshare-hid-lock-{}", std::process::id()));
        let holder = File::create(&path).unwrap();
        holder.lock().unwrap();
        let error = HidTransport::open(path.to_str().unwrap()).err();
        drop(holder);
        std::fs::remove_file(&path).unwrap();
        match error {
            Some(TransportError::Io(message)) => {
                assert!(
                    message.contains("in use by another probeshare"),
                    "{message}"
                )
            }
            other => panic!("expected an in-use error, got {other:?}"),
        }
    }

    #[test]
    fn missing_node_is_reported_as_gone() {
        let error = HidTransport::open("/dev/probeshare-no-such-hidraw").err();
        assert!(
            matches!(error, Some(TransportError::Disconnected(_))),
            "{error:?}"
        );
    }
}
