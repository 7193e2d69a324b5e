//! Fills the plain descriptor values `discovery` judges, from rusb and
//! hidapi. Strings come from sysfs first, where the kernel caches them for
//! everyone, so a probe the user may not open is still recognised (and
//! reported with the udev fix); the device is only opened to read strings
//! sysfs lacks and to learn whether it can be opened at all.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use rusb::{Context, Device, DeviceHandle, UsbContext};

use super::descriptors::{
    usb_path, Access, DeviceDescriptorInfo, EndpointInfo, HidDeviceInfo, InterfaceInfo,
    TransferKind,
};
use super::known;

const SYSFS_USB_DEVICES: &str = "/sys/bus/usb/devices";

/// Every USB device but root hubs.
pub fn usb_devices(context: &Context) -> rusb::Result<Vec<DeviceDescriptorInfo>> {
    let list = context.devices()?;
    Ok(list.iter().filter_map(|device| describe(&device)).collect())
}

/// One device, or `None` for a root hub or a device whose descriptors
/// cannot be read.
fn describe(device: &Device<Context>) -> Option<DeviceDescriptorInfo> {
    let descriptor = device.device_descriptor().ok()?;
    let (vid, pid) = (descriptor.vendor_id(), descriptor.product_id());
    let port_path = device.port_numbers().ok()?;
    if port_path.is_empty() {
        return None; // a root hub
    }
    let sysfs = Path::new(SYSFS_USB_DEVICES).join(usb_path(device.bus_number(), &port_path));
    // Devices of classes no probe uses are described (so their hidraw
    // nodes are known to be theirs) but not opened.
    let (handle, access) = if !known::device_class_allowed(vid, pid, descriptor.class_code()) {
        (
            None,
            Access::Failed("not opened: not a probe's device class".to_owned()),
        )
    } else {
        match device.open() {
            Ok(handle) => (Some(handle), Access::Granted),
            Err(rusb::Error::Access) => (None, Access::Denied),
            Err(error) => (None, Access::Failed(error.to_string())),
        }
    };
    let string = |attribute: &str, index: Option<u8>| {
        sysfs_string(&sysfs.join(attribute)).or_else(|| read_string(handle.as_ref(), index))
    };
    let config = device.active_config_descriptor().ok()?;
    let interfaces = config
        .interfaces()
        .filter_map(|interface| {
            let setting = interface.descriptors().next()?;
            let number = setting.interface_number();
            let directory = format!(
                "{}:{}.{number}",
                sysfs.file_name()?.to_string_lossy(),
                config.number()
            );
            let sysfs_interface: PathBuf = Path::new(SYSFS_USB_DEVICES).join(directory);
            Some(InterfaceInfo {
                number,
                class: setting.class_code(),
                subclass: setting.sub_class_code(),
                string: sysfs_string(&sysfs_interface.join("interface"))
                    .or_else(|| read_string(handle.as_ref(), setting.description_string_index())),
                endpoints: setting
                    .endpoint_descriptors()
                    .map(|endpoint| EndpointInfo {
                        address: endpoint.address(),
                        transfer: match endpoint.transfer_type() {
                            rusb::TransferType::Control => TransferKind::Control,
                            rusb::TransferType::Isochronous => TransferKind::Isochronous,
                            rusb::TransferType::Bulk => TransferKind::Bulk,
                            rusb::TransferType::Interrupt => TransferKind::Interrupt,
                        },
                        max_packet_size: endpoint.max_packet_size(),
                    })
                    .collect(),
            })
        })
        .collect();
    Some(DeviceDescriptorInfo {
        vid,
        pid,
        class: descriptor.class_code(),
        serial: string("serial", descriptor.serial_number_string_index()),
        product: string("product", descriptor.product_string_index()),
        manufacturer: string("manufacturer", descriptor.manufacturer_string_index()),
        bus: device.bus_number(),
        port_path,
        interfaces,
        access,
    })
}

fn sysfs_string(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim_end_matches('\n');
    (!text.is_empty()).then(|| text.to_owned())
}

/// A string descriptor through an open handle; corrupt or missing strings
/// (seen on some ST-Links) read as absent.
fn read_string(handle: Option<&DeviceHandle<Context>>, index: Option<u8>) -> Option<String> {
    let text = handle?.read_string_descriptor_ascii(index?).ok()?;
    (!text.is_empty()).then_some(text)
}

/// Every hidapi entry (one per hidraw node and top-level collection).
pub fn hid_devices() -> hidapi::HidResult<Vec<HidDeviceInfo>> {
    let api = hidapi::HidApi::new()?;
    Ok(api
        .device_list()
        .map(|entry| {
            let path = entry.path().to_string_lossy().into_owned();
            let text = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
            HidDeviceInfo {
                usb_path: hidraw_usb_path(&path),
                access: node_access(&path),
                vid: entry.vendor_id(),
                pid: entry.product_id(),
                serial: text(entry.serial_number()),
                product: text(entry.product_string()),
                manufacturer: text(entry.manufacturer_string()),
                usage_page: entry.usage_page(),
                interface_number: u8::try_from(entry.interface_number()).ok(),
                path,
            }
        })
        .collect())
}

fn node_access(path: &str) -> Access {
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(_) => Access::Granted,
        Err(error) if error.kind() == ErrorKind::PermissionDenied => Access::Denied,
        Err(error) => Access::Failed(error.to_string()),
    }
}

/// The USB place (`1-2.3`) of a hidraw node, from its sysfs device link
/// (`…/1-2.3/1-2.3:1.0/0003:…/hidraw/hidraw3`).
fn hidraw_usb_path(node: &str) -> Option<String> {
    let name = Path::new(node).file_name()?;
    let device = std::fs::canonicalize(Path::new("/sys/class/hidraw").join(name)).ok()?;
    device
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .find_map(|component| {
            let (place, configuration) = component.split_once(':')?;
            let is_usb_interface = configuration.split('.').count() == 2
                && place.split_once('-').is_some_and(|(bus, ports)| {
                    bus.bytes().all(|b| b.is_ascii_digit())
                        && ports.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                });
            is_usb_interface.then(|| place.to_owned())
        })
}

/// Finds the device at `bus` / `port_path` again, for opening it.
pub fn find_device(context: &Context, bus: u8, port_path: &[u8]) -> rusb::Result<Device<Context>> {
    context
        .devices()?
        .iter()
        .find(|device| {
            device.bus_number() == bus && device.port_numbers().is_ok_and(|p| p == port_path)
        })
        .ok_or(rusb::Error::NoDevice)
}
