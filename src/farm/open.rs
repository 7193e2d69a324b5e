//! Opening a probe: the one way both `serve --probe` and the farm's
//! `[[probe]]` entries get theirs ([`open_probe`]). A virtual target is
//! built by `sim::VirtualProbe`; a USB probe is opened through the
//! CMSIS-DAP driver. An entry names a USB probe by its exact serial number
//! ([`open_entry`]); `serve --probe` takes part of one (`select_probe`).

use crate::cmsis_dap::usb::{self, Discovery, FoundProbe};
use crate::cmsis_dap::{CmsisDapProbe, ProbeIdentity};
use crate::config::{ProbeEntry, ProbeSelector};
use crate::probe::DebugProbe;
use crate::sim::dap_firmware::{FaultHandle, FirmwareConfig, PlugHandle, UsbModel};
use crate::sim::{self, VirtualProbe};

/// Why an entry's probe is not served.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No USB probe has that serial number (it may be plugged in later).
    #[error("probe {0} is not connected")]
    Absent(String),
    /// It is there but cannot be used (permissions, claimed elsewhere...).
    #[error("cannot open probe {serial}: {problem}")]
    Unusable { serial: String, problem: String },
}

/// Which probe to open.
#[derive(Clone, Copy, Debug)]
pub enum ProbeSource<'a> {
    /// A virtual target served as `unique_id`, its emulated firmware on a
    /// USB link of timing `usb`.
    Virtual { unique_id: &'a str, usb: UsbModel },
    /// A CMSIS-DAP probe found on USB.
    Usb(&'a FoundProbe),
}

/// An opened probe, with the virtual cable of a virtual target (none for a
/// USB probe, whose cable is real).
pub type Opened = (Box<dyn DebugProbe>, Option<VirtualCable>);

/// What reaches past the driver of a virtual target the farm serves: its
/// cable, and its fault injection (for tests in process; nothing on the
/// network reaches it).
#[derive(Clone)]
pub struct VirtualCable {
    pub plug: PlugHandle,
    pub faults: FaultHandle,
}

/// Opens `source`. Clients are told the probe is `description` if given,
/// else the virtual target's description or the USB product string.
pub fn open_probe(source: ProbeSource<'_>, description: Option<&str>) -> Result<Opened, OpenError> {
    match source {
        ProbeSource::Virtual { unique_id, usb } => {
            let description = description.unwrap_or(sim::VIRTUAL_DESCRIPTION);
            let opened = VirtualProbe::new(unique_id, description, FirmwareConfig::for_model(usb))
                .map_err(|e| OpenError::Unusable {
                    serial: unique_id.to_owned(),
                    problem: e.to_string(),
                })?;
            let cable = VirtualCable {
                plug: opened.plug,
                faults: opened.faults,
            };
            Ok((opened.probe, Some(cable)))
        }
        ProbeSource::Usb(found) => Ok((open_usb(found, description)?, None)),
    }
}

/// Opens the probe `entry` names. `discovery` is the USB probes found at
/// start (listed once for every entry).
pub fn open_entry(entry: &ProbeEntry, discovery: &Discovery) -> Result<Opened, OpenError> {
    let unique_id = entry.probe.to_string();
    let source = match &entry.probe {
        ProbeSelector::Sim(_) => ProbeSource::Virtual {
            unique_id: &unique_id,
            usb: UsbModel::None,
        },
        ProbeSelector::Serial(serial) => {
            // The file names a probe exactly: no partial matches, which
            // could hand one bench's probe to another's port.
            let found = discovery
                .probes
                .iter()
                .find(|probe| &probe.serial == serial)
                .ok_or_else(|| OpenError::Absent(serial.clone()))?;
            ProbeSource::Usb(found)
        }
    };
    open_probe(source, entry.description.as_deref())
}

/// Opens a discovered USB probe through the CMSIS-DAP driver; its
/// description is `description` if given, else the USB product string.
fn open_usb(
    found: &FoundProbe,
    description: Option<&str>,
) -> Result<Box<dyn DebugProbe>, OpenError> {
    let unusable = |problem: String| OpenError::Unusable {
        serial: found.serial.clone(),
        problem,
    };
    if let Some(problem) = &found.open_problem {
        return Err(unusable(problem.clone()));
    }
    let transport = usb::open(found).map_err(|e| unusable(e.to_string()))?;
    let identity = ProbeIdentity {
        unique_id: found.serial.clone(),
        vendor_name: found.vendor.clone().unwrap_or_default(),
        product_name: found.product.clone().unwrap_or_default(),
        description: description
            .map(str::to_owned)
            .or_else(|| found.product.clone())
            .unwrap_or_else(|| "CMSIS-DAP probe".into()),
    };
    let probe = CmsisDapProbe::new(transport, identity).map_err(|e| unusable(e.to_string()))?;
    Ok(Box::new(probe))
}
