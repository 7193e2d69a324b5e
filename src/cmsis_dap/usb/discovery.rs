//! Which USB devices and hidraw nodes are CMSIS-DAP probes, and through
//! which interface to drive each: pure functions over plain descriptor
//! values, so every rule is tested with constructed devices. Filling those
//! values from rusb and hidapi is `enumerate`'s job.
//!
//! The rules (`docs/reference/cmsis-dap.md` §1):
//! - device class 0x00 or 0xEF (or old DAPLink's 0x02), then the device must
//!   name CMSIS-DAP in its product or an interface string, be on the known
//!   VID:PID list, or be a WCH-Link;
//! - v2: a vendor interface (0xFF/0x00) whose string names CMSIS-DAP, with
//!   endpoints bulk OUT, bulk IN and an optional bulk IN for SWO, in that
//!   order (WCH-LinkE's interface has no string);
//! - v1: a HID interface; when a device has several, the interface string
//!   must name CMSIS-DAP, and for a few probes only the HID collection on
//!   the vendor usage page is;
//! - a probe offering both is driven through v2;
//! - the unique id is the USB serial, else one made from the USB port path.
//!
//! When rusb sees a device, its view decides; hidraw nodes of devices rusb
//! did not see (USB unavailable to libusb) are judged on their own.

use super::descriptors::{Access, DeviceDescriptorInfo, HidDeviceInfo, InterfaceInfo};
use super::known;
use super::{BulkInterface, Discovery, FoundProbe, ProbeInterface, UDEV_HINT};

/// How a USB device can be driven, if it is a probe at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsbMatch {
    /// The v2 interface, if any.
    pub v2: Option<BulkInterface>,
    /// Numbers of the HID interfaces that may carry CMSIS-DAP v1.
    pub v1_interfaces: Vec<u8>,
}

/// Whether `device` is a CMSIS-DAP probe and through which interfaces;
/// `None` for anything else. A probe whose interfaces could not be told
/// (strings unreadable) gives an empty match.
pub fn match_usb_device(device: &DeviceDescriptorInfo) -> Option<UsbMatch> {
    if (device.vid, device.pid) == known::WCH_LINK_RISCV
        || !known::device_class_allowed(device.vid, device.pid, device.class)
    {
        return None;
    }
    let v2 = device
        .interfaces
        .iter()
        .find_map(|interface| bulk_interface(device, interface));
    let device_named = device
        .product
        .as_deref()
        .is_some_and(known::product_names_probe)
        || device
            .interfaces
            .iter()
            .any(|i| i.string.as_deref().is_some_and(known::names_cmsis_dap))
        || known::is_known_probe(device.vid, device.pid);
    if v2.is_none() && !device_named {
        return None;
    }
    Some(UsbMatch {
        v2,
        v1_interfaces: hid_interfaces(device),
    })
}

/// The v2 endpoints of `interface`, if it is a CMSIS-DAP v2 interface.
pub fn bulk_interface(
    device: &DeviceDescriptorInfo,
    interface: &InterfaceInfo,
) -> Option<BulkInterface> {
    let named = match interface.string.as_deref() {
        Some(string) => known::names_cmsis_dap(string),
        None => (device.vid, device.pid) == known::WCH_LINK_E_DAP,
    };
    if !named || (interface.class, interface.subclass) != (0xff, 0x00) {
        return None;
    }
    let (out, input, swo) = match interface.endpoints.as_slice() {
        [out, input] => (out, input, None),
        [out, input, swo] => (out, input, Some(swo)),
        _ => return None,
    };
    if !out.is_bulk_out() || !input.is_bulk_in() || swo.is_some_and(|swo| !swo.is_bulk_in()) {
        return None;
    }
    Some(BulkInterface {
        number: interface.number,
        out_endpoint: out.address,
        in_endpoint: input.address,
        swo_endpoint: swo.map(|swo| swo.address),
        out_max_packet: out.max_packet_size,
        in_max_packet: input.max_packet_size,
    })
}

/// HID interfaces that may be CMSIS-DAP: all of them when there is one;
/// among several, those whose string names CMSIS-DAP, or whose string is
/// unreadable (the usage page then decides). WCH-Link interface strings
/// are known to be wrong, so they are not trusted.
fn hid_interfaces(device: &DeviceDescriptorInfo) -> Vec<u8> {
    let hid: Vec<&InterfaceInfo> = device
        .interfaces
        .iter()
        .filter(|i| (i.class, i.subclass) == (0x03, 0x00))
        .collect();
    let several = hid.len() > 1 && !known::is_wch_link_dap(device.vid, device.pid);
    hid.into_iter()
        .filter(|i| !several || i.string.as_deref().is_none_or(known::names_cmsis_dap))
        .map(|i| i.number)
        .collect()
}

/// Whether a hidraw entry is the CMSIS-DAP collection of its device (the
/// usage-page filter; other probes have one collection).
pub fn is_probe_collection(hid: &HidDeviceInfo) -> bool {
    !known::filters_by_usage_page(hid.vid, hid.pid) || hid.usage_page == known::VENDOR_USAGE_PAGE
}

/// Whether a hidraw entry no USB view covers names a probe by itself.
pub fn hid_names_probe(hid: &HidDeviceInfo) -> bool {
    (hid.vid, hid.pid) != known::WCH_LINK_RISCV
        && (hid
            .product
            .as_deref()
            .is_some_and(known::product_names_probe)
            || known::is_known_probe(hid.vid, hid.pid))
}

fn hid_on_device(hid: &HidDeviceInfo, device: &DeviceDescriptorInfo) -> bool {
    if (hid.vid, hid.pid) != (device.vid, device.pid) {
        return false;
    }
    match &hid.usb_path {
        Some(path) => *path == device.usb_path(),
        None => hid.serial.is_some() && hid.serial == device.serial,
    }
}

/// The probes among `usb` devices and `hid` entries, and what stands in
/// the way of using the others.
pub fn assemble(usb: &[DeviceDescriptorInfo], hid: &[HidDeviceInfo]) -> Discovery {
    let mut discovery = Discovery::default();
    for device in usb {
        let Some(usb_match) = match_usb_device(device) else {
            continue;
        };
        let usb_path = device.usb_path();
        let (serial, serial_is_generated) = unique_id(device.serial.as_deref(), || {
            generated_id(device.vid, device.pid, &usb_path)
        });
        let name = describe(device.vid, device.pid, device.product.as_deref(), &usb_path);
        let (interface, access) = match usb_interface(device, usb_match, hid) {
            Ok(chosen) => chosen,
            Err(Unusable::PermissionDenied) => {
                discovery.problems.push(format!(
                    "{name} may be a CMSIS-DAP probe but cannot be read: permission denied; {UDEV_HINT}"
                ));
                continue;
            }
            Err(Unusable::NoHidraw) => {
                discovery.problems.push(format!(
                    "{name} has a CMSIS-DAP HID interface but no hidraw node was found"
                ));
                continue;
            }
            Err(Unusable::NoInterface) => continue,
        };
        discovery.probes.push(FoundProbe {
            serial,
            serial_is_generated,
            vid: device.vid,
            pid: device.pid,
            vendor: device.manufacturer.clone(),
            product: device.product.clone(),
            interface,
            usb_path: Some(usb_path),
            open_problem: access_problem(access),
        });
    }
    add_hid_only_probes(&mut discovery, usb, hid);
    report_access_and_duplicates(&mut discovery);
    discovery
}

enum Unusable {
    PermissionDenied,
    NoHidraw,
    NoInterface,
}

/// The interface to drive a matched device through (v2 first) and the
/// access to its node.
fn usb_interface<'a>(
    device: &'a DeviceDescriptorInfo,
    usb_match: UsbMatch,
    hid: &'a [HidDeviceInfo],
) -> Result<(ProbeInterface, &'a Access), Unusable> {
    if let Some(bulk) = usb_match.v2 {
        let interface = ProbeInterface::V2Bulk {
            bus: device.bus,
            port_path: device.port_path.clone(),
            interface: bulk,
        };
        return Ok((interface, &device.access));
    }
    if usb_match.v1_interfaces.is_empty() {
        return Err(if device.access == Access::Denied {
            Unusable::PermissionDenied
        } else {
            Unusable::NoInterface
        });
    }
    let node = hid
        .iter()
        .find(|h| {
            hid_on_device(h, device)
                && h.interface_number
                    .is_none_or(|n| usb_match.v1_interfaces.contains(&n))
                && is_probe_collection(h)
        })
        .ok_or(Unusable::NoHidraw)?;
    let interface = ProbeInterface::V1Hid {
        path: node.path.clone(),
        interface_number: node.interface_number,
    };
    Ok((interface, &node.access))
}

/// v1 probes whose USB device rusb did not list.
fn add_hid_only_probes(
    discovery: &mut Discovery,
    usb: &[DeviceDescriptorInfo],
    hid: &[HidDeviceInfo],
) {
    let mut used_paths: Vec<&str> = Vec::new();
    for node in hid {
        if usb.iter().any(|device| hid_on_device(node, device))
            || used_paths.contains(&node.path.as_str())
            || !hid_names_probe(node)
            || !is_probe_collection(node)
        {
            continue;
        }
        used_paths.push(&node.path);
        let place = node.usb_path.as_deref().unwrap_or(&node.path);
        let (serial, serial_is_generated) = unique_id(node.serial.as_deref(), || {
            generated_id(node.vid, node.pid, place)
        });
        discovery.probes.push(FoundProbe {
            serial,
            serial_is_generated,
            vid: node.vid,
            pid: node.pid,
            vendor: node.manufacturer.clone(),
            product: node.product.clone(),
            interface: ProbeInterface::V1Hid {
                path: node.path.clone(),
                interface_number: node.interface_number,
            },
            usb_path: node.usb_path.clone(),
            open_problem: access_problem(&node.access),
        });
    }
}

fn report_access_and_duplicates(discovery: &mut Discovery) {
    for probe in &discovery.probes {
        if let Some(problem) = &probe.open_problem {
            discovery
                .problems
                .push(format!("probe {}: {problem}", probe.serial));
        }
    }
    let mut serials: Vec<&str> = discovery.probes.iter().map(|p| p.serial.as_str()).collect();
    serials.sort_unstable();
    serials.dedup();
    for serial in serials {
        let count = discovery
            .probes
            .iter()
            .filter(|p| p.serial == serial)
            .count();
        if count > 1 {
            discovery.problems.push(format!(
                "{count} probes report the same serial number {serial}: --probe cannot tell them apart"
            ));
        }
    }
}

/// The serial number, or (flagged) a made-up id when there is none.
fn unique_id(serial: Option<&str>, made_up: impl FnOnce() -> String) -> (String, bool) {
    match serial {
        Some(serial) if !serial.trim().is_empty() => (serial.to_owned(), false),
        _ => (made_up(), true),
    }
}

/// An id for a probe without a serial number: stable while it stays in
/// the same USB port.
pub fn generated_id(vid: u16, pid: u16, place: &str) -> String {
    format!("{vid:04x}:{pid:04x}@{place}")
}

fn describe(vid: u16, pid: u16, product: Option<&str>, usb_path: &str) -> String {
    match product {
        Some(product) => format!("USB device {vid:04x}:{pid:04x} \"{product}\" at {usb_path}"),
        None => format!("USB device {vid:04x}:{pid:04x} at {usb_path}"),
    }
}

fn access_problem(access: &Access) -> Option<String> {
    match access {
        Access::Granted => None,
        Access::Denied => Some(format!("permission denied; {UDEV_HINT}")),
        Access::Failed(error) => Some(format!("cannot be opened: {error}")),
    }
}
