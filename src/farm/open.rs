//! Opening the probe a `[[probe]]` entry names: a virtual target for
//! `sim:NAME`, otherwise the USB probe with exactly that serial number.

use crate::cmsis_dap::usb::{self, Discovery, FoundProbe};
use crate::cmsis_dap::{CmsisDapProbe, ProbeIdentity};
use crate::config::{ProbeEntry, ProbeSelector};
use crate::probe::DebugProbe;
use crate::sim::dap_firmware::{FirmwareConfig, PlugHandle, SimDapFirmware, UsbModel};
use crate::sim::{self, SwdTarget};

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

/// Opens the probe `entry` names. `discovery` is the USB probes found at
/// start (listed once for every entry).
pub fn open_entry(
    entry: &ProbeEntry,
    discovery: &Discovery,
) -> Result<Box<dyn DebugProbe>, OpenError> {
    open_entry_with_plug(entry, discovery).map(|(probe, _)| probe)
}

/// [`open_entry`], with the virtual cable of a virtual target (none for a
/// USB probe, whose cable is real).
pub fn open_entry_with_plug(
    entry: &ProbeEntry,
    discovery: &Discovery,
) -> Result<(Box<dyn DebugProbe>, Option<PlugHandle>), OpenError> {
    match &entry.probe {
        ProbeSelector::Sim(_) => {
            let (probe, plug) = open_virtual(entry)?;
            Ok((probe, Some(plug)))
        }
        ProbeSelector::Serial(serial) => {
            // The file names a probe exactly: no partial matches, which
            // could hand one bench's probe to another's port.
            let found = discovery
                .probes
                .iter()
                .find(|probe| &probe.serial == serial)
                .ok_or_else(|| OpenError::Absent(serial.clone()))?;
            Ok((open_usb(found, entry.description.as_deref())?, None))
        }
    }
}

/// The virtual target as `sim::virtual_probe_with` builds it, keeping its
/// firmware's plug handle.
fn open_virtual(entry: &ProbeEntry) -> Result<(Box<dyn DebugProbe>, PlugHandle), OpenError> {
    let unique_id = entry.probe.to_string();
    let description = entry
        .description
        .as_deref()
        .unwrap_or(sim::VIRTUAL_DESCRIPTION);
    let mut config = FirmwareConfig::for_model(UsbModel::None);
    config.serial = unique_id.clone();
    let firmware = SimDapFirmware::new(SwdTarget::cortex_m(), config);
    let plug = firmware.plug_handle();
    let identity = ProbeIdentity {
        unique_id: unique_id.clone(),
        vendor_name: sim::dap_firmware::VENDOR_NAME.to_owned(),
        product_name: sim::dap_firmware::PRODUCT_NAME.to_owned(),
        description: description.to_owned(),
    };
    let probe = CmsisDapProbe::new(firmware, identity).map_err(|e| OpenError::Unusable {
        serial: unique_id,
        problem: e.to_string(),
    })?;
    Ok((Box::new(probe), plug))
}

/// Opens a discovered USB probe through the CMSIS-DAP driver; its
/// description is `description` if given, else the USB product string.
pub fn open_usb(
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
