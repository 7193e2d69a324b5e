//! Plain values for what USB descriptors, sysfs and hidapi say about a
//! device: what `discovery` judges and `enumerate` fills, and what tests
//! construct by hand.

/// Whether the device node could be opened read-write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    Granted,
    /// EACCES: needs a udev rule.
    Denied,
    /// Any other failure to open, as text.
    Failed(String),
}

/// A USB endpoint's transfer type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferKind {
    Control,
    Isochronous,
    Bulk,
    Interrupt,
}

/// One endpoint of an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointInfo {
    /// bEndpointAddress: bit 7 set for IN.
    pub address: u8,
    pub transfer: TransferKind,
    pub max_packet_size: u16,
}

impl EndpointInfo {
    pub fn is_bulk_in(&self) -> bool {
        self.transfer == TransferKind::Bulk && self.address & 0x80 != 0
    }

    pub fn is_bulk_out(&self) -> bool {
        self.transfer == TransferKind::Bulk && self.address & 0x80 == 0
    }
}

/// One interface (alternate setting 0) of the active configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub number: u8,
    pub class: u8,
    pub subclass: u8,
    /// The interface string; `None` when absent or unreadable.
    pub string: Option<String>,
    pub endpoints: Vec<EndpointInfo>,
}

/// What the USB descriptors (and sysfs) tell about one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceDescriptorInfo {
    pub vid: u16,
    pub pid: u16,
    /// bDeviceClass.
    pub class: u8,
    pub serial: Option<String>,
    pub product: Option<String>,
    pub manufacturer: Option<String>,
    pub bus: u8,
    /// Hub port numbers from the root hub down.
    pub port_path: Vec<u8>,
    pub interfaces: Vec<InterfaceInfo>,
    /// Whether the usbfs node (`/dev/bus/usb/BBB/DDD`) opens.
    pub access: Access,
}

impl DeviceDescriptorInfo {
    /// The kernel's name for the device's place, e.g. `1-2.3`.
    pub fn usb_path(&self) -> String {
        usb_path(self.bus, &self.port_path)
    }
}

/// The kernel's name for a USB port path, e.g. bus 1, ports [2, 3] → `1-2.3`.
pub fn usb_path(bus: u8, ports: &[u8]) -> String {
    let ports: Vec<String> = ports.iter().map(u8::to_string).collect();
    format!("{bus}-{}", ports.join("."))
}

/// One hidapi entry: a hidraw node and one top-level collection of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HidDeviceInfo {
    /// The node, e.g. `/dev/hidraw3`.
    pub path: String,
    pub vid: u16,
    pub pid: u16,
    pub serial: Option<String>,
    pub product: Option<String>,
    pub manufacturer: Option<String>,
    pub usage_page: u16,
    pub interface_number: Option<u8>,
    /// The USB device's place (`1-2.3`) when the node sits on USB.
    pub usb_path: Option<String>,
    /// Whether the hidraw node opens read-write.
    pub access: Access,
}
