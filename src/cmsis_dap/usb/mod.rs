//! CMSIS-DAP probes on USB: finding them ([`discover`]), choosing one
//! ([`select_probe`]) and opening it as a [`Transport`] ([`open`]): v2
//! through a bulk interface with rusb ([`BulkTransport`]), v1 through
//! hidraw with hidapi ([`HidTransport`]).
//!
//! Nothing here touches rusb's global context, which panics on a machine
//! without USB: each call makes its own `rusb::Context`, and a failure to
//! make one means "USB unavailable", reported as a problem, never a panic.
//!
//! Linux permissions: probes need the udev rules in
//! `config/69-probeshare.rules`; a probe that exists but cannot be opened is
//! listed with that hint rather than skipped.

mod bulk;
mod descriptors;
mod discovery;
mod enumerate;
mod hid;
mod info;
mod known;
mod report_descriptor;
mod select;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use bulk::{needs_zero_length_packet, BulkTransport};
pub use descriptors::{
    usb_path, Access, DeviceDescriptorInfo, EndpointInfo, HidDeviceInfo, InterfaceInfo,
    TransferKind,
};
pub use discovery::{assemble, bulk_interface, generated_id, match_usb_device, UsbMatch};
pub use hid::HidTransport;
pub use info::{read_dap_info, DapInfo};
pub use known::{is_known_probe, names_cmsis_dap, KNOWN_PROBE_IDS};
pub use report_descriptor::{parse_report_sizes, DescriptorError, ReportSizes};
pub use select::{select_probe, SelectError};

use super::{Transport, TransportError};

/// Where the udev rules are and how to install them; quoted wherever a
/// probe cannot be opened for lack of permission.
pub const UDEV_HINT: &str = "install config/69-probeshare.rules into /etc/udev/rules.d/, \
     run `udevadm control --reload && udevadm trigger`, replug the probe, \
     and add the user running probeshare to group plugdev";

/// What [`discover`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovery {
    pub probes: Vec<FoundProbe>,
    /// Why probes may be missing or unusable, one sentence each, e.g.
    /// "USB unavailable: …" or a permission hint.
    pub problems: Vec<String>,
}

/// A CMSIS-DAP probe on USB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundProbe {
    /// The unique id: the USB serial number, or [`generated_id`] when the
    /// probe has none.
    pub serial: String,
    /// True when `serial` was made from the USB port path.
    pub serial_is_generated: bool,
    pub vid: u16,
    pub pid: u16,
    /// The USB manufacturer string.
    pub vendor: Option<String>,
    /// The USB product string.
    pub product: Option<String>,
    pub interface: ProbeInterface,
    /// The device's USB place, e.g. `1-2.3`, when known.
    pub usb_path: Option<String>,
    /// Why opening it will fail, when that is known already (e.g.
    /// permission denied, with the udev fix).
    pub open_problem: Option<String>,
}

impl FoundProbe {
    /// "v1 (HID)" or "v2 (bulk)".
    #[cfg(test)]
    pub fn protocol_label(&self) -> &'static str {
        match self.interface {
            ProbeInterface::V1Hid { .. } => "v1 (HID)",
            ProbeInterface::V2Bulk { .. } => "v2 (bulk)",
        }
    }
}

#[cfg(test)]
impl FoundProbe {
    /// A DAPLink on CMSIS-DAP v1 (HID) with serial number `serial`, at USB
    /// place `usb_path`: the one fixture of a found probe for tests.
    pub(crate) fn daplink(serial: &str, usb_path: &str) -> FoundProbe {
        FoundProbe {
            serial: serial.to_owned(),
            serial_is_generated: false,
            vid: 0x0d28,
            pid: 0x0204,
            vendor: Some("ARM".into()),
            product: Some("DAPLink CMSIS-DAP".into()),
            interface: ProbeInterface::V1Hid {
                path: "/dev/hidraw0".into(),
                interface_number: Some(3),
            },
            usb_path: Some(usb_path.to_owned()),
            open_problem: None,
        }
    }
}

/// The interface a probe is driven through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeInterface {
    /// CMSIS-DAP v1: HID reports through a hidraw node.
    V1Hid {
        /// e.g. `/dev/hidraw3`.
        path: String,
        interface_number: Option<u8>,
    },
    /// CMSIS-DAP v2: a vendor interface with bulk endpoints.
    V2Bulk {
        bus: u8,
        /// Hub port numbers from the root hub down.
        port_path: Vec<u8>,
        interface: BulkInterface,
    },
}

/// The endpoints of a CMSIS-DAP v2 interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkInterface {
    pub number: u8,
    pub out_endpoint: u8,
    pub in_endpoint: u8,
    /// The SWO streaming endpoint, if the firmware has one.
    pub swo_endpoint: Option<u8>,
    pub out_max_packet: u16,
    pub in_max_packet: u16,
}

/// Where Linux keeps the USB device nodes libusb opens.
pub const USB_ROOT: &str = "/dev/bus/usb";
/// Names another directory to take for [`USB_ROOT`]: one that does not
/// exist makes USB unavailable whatever the machine has (what the tests
/// of a machine without USB set, so they pass on any machine).
pub const USB_ROOT_ENV: &str = "PROBESHARE_USB_ROOT";

/// Lists the CMSIS-DAP probes on USB. Never panics: USB or hidraw being
/// unavailable is one of the `problems`. USB is looked for under
/// [`USB_ROOT`], or where [`USB_ROOT_ENV`] says.
pub fn discover() -> Discovery {
    let root = std::env::var_os(USB_ROOT_ENV)
        .map_or_else(|| std::path::PathBuf::from(USB_ROOT), Into::into);
    discover_under(&root)
}

/// [`discover`] with the USB device nodes under `usb_root`: on Linux,
/// when it does not exist, USB is unavailable and libusb is not asked.
pub fn discover_under(usb_root: &std::path::Path) -> Discovery {
    let mut problems = Vec::new();
    let usb = if cfg!(target_os = "linux") && !usb_root.exists() {
        problems.push(format!(
            "USB unavailable: {} does not exist (no USB on this machine, or a \
             container without it)",
            usb_root.display()
        ));
        Vec::new()
    } else {
        list_usb(&mut problems)
    };
    let hid = enumerate::hid_devices().unwrap_or_else(|error| {
        problems.push(format!("HID unavailable: {error}"));
        Vec::new()
    });
    let mut discovery = assemble(&usb, &hid);
    problems.append(&mut discovery.problems);
    discovery.problems = problems;
    discovery
}

/// The USB devices libusb lists; why not, among `problems`.
fn list_usb(problems: &mut Vec<String>) -> Vec<DeviceDescriptorInfo> {
    match rusb::Context::new() {
        Ok(context) => enumerate::usb_devices(&context).unwrap_or_else(|error| {
            problems.push(format!("USB unavailable: cannot list devices: {error}"));
            Vec::new()
        }),
        Err(error) => {
            problems.push(format!("USB unavailable: libusb cannot start ({error})"));
            Vec::new()
        }
    }
}

/// How long a USB transfer or hidraw read may take before it is a timeout.
pub const USB_TIMEOUT: Duration = Duration::from_secs(1);

/// Opens `found` as a packet transport.
pub fn open(found: &FoundProbe) -> Result<Box<dyn Transport>, TransportError> {
    match &found.interface {
        ProbeInterface::V1Hid { path, .. } => Ok(Box::new(HidTransport::open(path)?)),
        ProbeInterface::V2Bulk {
            bus,
            port_path,
            interface,
        } => Ok(Box::new(BulkTransport::open(*bus, port_path, interface)?)),
    }
}
