//! A virtual target for running probeshare without hardware, faithful to
//! ADIv5.2 so that the real pyOCD client can debug it.
//!
//! Layers, from the wire inwards:
//! - [`SimProbe`] (`probe`): the [`DebugProbe`](crate::probe::DebugProbe)
//!   adapter. It turns full APv1 register addresses into SELECT writes plus
//!   A\[3:2\] transactions, and acknowledges into probe errors
//!   (FAULT → `TransferFault`, WAIT → `TransferTimeout`, none → `Transfer`).
//! - [`SwdTarget`] (`target`): one SWD transaction per call, answered OK or
//!   with an [`Ack`]. Emulated probe firmware drives the target here.
//! - `dap_firmware`: that emulated CMSIS-DAP firmware, a packet transport
//!   for the CMSIS-DAP driver, with a USB latency model.
//! - `dp`: the SW-DP registers (DPIDR, CTRL/STAT with power-up handshake
//!   and sticky flags, ABORT, SELECT, RDBUFF, RESEND, DLCR).
//! - `mem_ap`: the Cortex-M3/M4 AHB-AP (CSW, TAR, DRW, BD0-BD3, CFG, BASE,
//!   IDR) with byte-lane placement and TAR auto-increment.
//! - [`MemoryBus`] (`bus`): the address space behind the AP, a set of
//!   [`BusDevice`] regions; unmapped addresses are bus errors.
//! - `cortex`: what the bus holds, a Cortex-M4 with FPU: code memory, RAM, the
//!   ROM table and the debug components (SCS with halting debug and the
//!   core's registers, DWT, FPB, ITM, TPIU).
//!
//! The module docs of `target` and `mem_ap` list every choice made where
//! ADIv5 leaves room, and every simplification of the SWD protocol.
//!
//! The target defines its own register addresses and fields (`dp`,
//! `mem_ap`, `cortex`) rather than taking them from `dap::registers`,
//! which the server and the driver share: it is an independent reading of
//! the specification, so a wrong constant there shows up as a target that
//! disagrees with the driver instead of two that agree on the mistake.

pub mod bus;
pub mod cortex;
pub mod dap_firmware;
pub mod dp;
pub mod mem_ap;
pub mod probe;
pub mod target;

#[cfg(test)]
mod bus_tests;
#[cfg(test)]
mod dp_tests;
#[cfg(test)]
mod mem_ap_tests;
#[cfg(test)]
mod probe_tests;

pub use bus::{AccessSize, BusDevice, BusFault, MapError, MemoryBus, Ram, WordReader};
pub use probe::SimProbe;
pub use target::{Ack, SwdTarget, RAM_BASE, RAM_SIZE};

/// What a virtual target calls itself when nobody names it otherwise.
pub const VIRTUAL_DESCRIPTION: &str = "probeshare virtual target";

/// The virtual target as `--probe sim` serves it: the Cortex-M4 model
/// behind emulated CMSIS-DAP firmware, driven by the real CMSIS-DAP driver,
/// so everything that tests the virtual target also tests the driver.
pub fn virtual_probe(
    unique_id: &str,
    usb: dap_firmware::UsbModel,
) -> crate::probe::ProbeResult<Box<dyn crate::probe::DebugProbe>> {
    virtual_probe_with(
        unique_id,
        VIRTUAL_DESCRIPTION,
        dap_firmware::FirmwareConfig::for_model(usb),
    )
}

/// A virtual target with its own description and firmware settings (a
/// slow one, say); the firmware's serial becomes `unique_id`.
pub fn virtual_probe_with(
    unique_id: &str,
    description: &str,
    config: dap_firmware::FirmwareConfig,
) -> crate::probe::ProbeResult<Box<dyn crate::probe::DebugProbe>> {
    virtual_probe_with_stats(unique_id, description, config).map(|(probe, _)| probe)
}

/// [`virtual_probe_with`], also returning a live view of the emulated
/// firmware's counters ([`dap_firmware::FirmwareStats`]), which stays
/// readable while a server owns the probe: the bench counts the DAP
/// transfers a server runs this way.
pub fn virtual_probe_with_stats(
    unique_id: &str,
    description: &str,
    mut config: dap_firmware::FirmwareConfig,
) -> crate::probe::ProbeResult<(Box<dyn crate::probe::DebugProbe>, dap_firmware::StatsHandle)> {
    config.serial = unique_id.to_owned();
    let firmware = dap_firmware::SimDapFirmware::new(SwdTarget::cortex_m(), config);
    let stats = firmware.stats();
    let identity = crate::cmsis_dap::ProbeIdentity {
        unique_id: unique_id.to_owned(),
        vendor_name: dap_firmware::VENDOR_NAME.to_owned(),
        product_name: dap_firmware::PRODUCT_NAME.to_owned(),
        description: description.to_owned(),
    };
    let probe = crate::cmsis_dap::CmsisDapProbe::new(firmware, identity)?;
    Ok((Box::new(probe), stats))
}
