//! A virtual target for running probeshare without hardware, faithful to
//! ADIv5.2 so that the real pyOCD client can debug it.
//!
//! Layers, from the wire inwards:
//! - [`VirtualProbe`] / [`virtual_driver`]: the real CMSIS-DAP driver
//!   ([`CmsisDapProbe`]) on the emulated firmware, the
//!   [`DebugProbe`] that `--probe sim` serves.
//! - `dap_firmware`: that emulated CMSIS-DAP firmware, a packet transport
//!   for the CMSIS-DAP driver, with a USB latency model.
//! - [`SwdTarget`] (`target`): one SWD transaction per call, answered OK or
//!   with an [`Ack`], and raw SWDIO cycles between them. The emulated
//!   firmware drives the target here.
//! - `line`: the SWD line between transactions: line resets and the reset
//!   state they leave the SW-DP in (what ADIv5.2 says, with sections).
//! - `dp`: the SW-DP registers (DPIDR, CTRL/STAT with power-up handshake
//!   and sticky flags, ABORT, SELECT, RDBUFF, RESEND, DLCR).
//! - `mem_ap`: the Cortex-M3/M4 AHB-AP (CSW, TAR, DRW, BD0-BD3, CFG, BASE,
//!   IDR) with byte-lane placement and TAR auto-increment.
//! - `ctrl_ap`: a Nordic-style CTRL-AP at APSEL 1 (mass erase of the code
//!   memory, a system reset hold), as nRF52 parts have.
//! - [`MemoryBus`] (`bus`): the address space behind the AP, a set of
//!   [`BusDevice`] regions; unmapped addresses are bus errors.
//! - `cortex`: what the bus holds, a Cortex-M4 with FPU: code memory, RAM, the
//!   ROM table and the debug components (SCS with halting debug and the
//!   core's registers, DWT, FPB, ITM, TPIU).
//!
//! The module docs of `target`, `line` and `mem_ap` list every choice made
//! where ADIv5 leaves room, and every simplification of the SWD protocol.
//!
//! The target defines its own register addresses and fields (`dp`,
//! `mem_ap`, `cortex`) rather than taking them from `dap::registers`,
//! which the server and the driver share: it is an independent reading of
//! the specification, so a wrong constant there shows up as a target that
//! disagrees with the driver instead of two that agree on the mistake.

pub mod bus;
pub mod cortex;
pub mod ctrl_ap;
pub mod dap_firmware;
pub mod dp;
pub mod line;
pub mod mem_ap;
pub mod target;

#[cfg(test)]
mod tests;

pub use bus::{AccessSize, BusDevice, BusFault, MapError, MemoryBus, Ram, WordReader};
pub use target::{Ack, SwdTarget, RAM_BASE, RAM_SIZE};

use crate::cmsis_dap::{CmsisDapProbe, ProbeIdentity};
use crate::probe::{DebugProbe, ProbeResult};

/// What a virtual target calls itself when nobody names it otherwise.
pub const VIRTUAL_DESCRIPTION: &str = "probeshare virtual target";

/// The virtual target as `--probe sim` serves it: the Cortex-M4 model
/// behind emulated CMSIS-DAP firmware, driven by the real CMSIS-DAP driver,
/// so everything that tests the virtual target also tests the driver.
pub fn virtual_probe(
    unique_id: &str,
    usb: dap_firmware::UsbModel,
) -> ProbeResult<Box<dyn DebugProbe>> {
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
) -> ProbeResult<Box<dyn DebugProbe>> {
    VirtualProbe::new(unique_id, description, config).map(|virtual_probe| virtual_probe.probe)
}

/// A virtual target behind the CMSIS-DAP driver, with what reaches past
/// the driver: the emulated firmware's counters, its virtual cable and the
/// target itself. Each stays usable while a server owns the probe.
pub struct VirtualProbe {
    /// The driver, as a server takes it.
    pub probe: Box<dyn DebugProbe>,
    /// The firmware's counters ([`dap_firmware::FirmwareStats`]): the bench
    /// counts the DAP transfers a server runs this way.
    pub stats: dap_firmware::StatsHandle,
    /// The virtual USB cable.
    pub plug: dap_firmware::PlugHandle,
    /// The target, for looking at or changing it directly (tests).
    pub target: dap_firmware::SharedTarget,
}

impl VirtualProbe {
    /// [`virtual_driver`], boxed as a server takes it, with its handles.
    pub fn new(
        unique_id: &str,
        description: &str,
        config: dap_firmware::FirmwareConfig,
    ) -> ProbeResult<VirtualProbe> {
        let driver = virtual_driver(unique_id, description, config)?;
        let firmware = driver.transport();
        Ok(VirtualProbe {
            stats: firmware.stats(),
            plug: firmware.plug_handle(),
            target: firmware.target(),
            probe: Box::new(driver),
        })
    }
}

/// The one way a virtual target is put behind the CMSIS-DAP driver: a
/// fresh Cortex-M ([`SwdTarget::cortex_m`]) on emulated firmware configured
/// by `config`, whose serial becomes `unique_id`. The driver has read
/// DAP_Info and is not open yet.
pub fn virtual_driver(
    unique_id: &str,
    description: &str,
    mut config: dap_firmware::FirmwareConfig,
) -> ProbeResult<CmsisDapProbe<dap_firmware::SimDapFirmware>> {
    config.serial = unique_id.to_owned();
    let firmware = dap_firmware::SimDapFirmware::new(SwdTarget::cortex_m(), config);
    let identity = ProbeIdentity {
        unique_id: unique_id.to_owned(),
        vendor_name: dap_firmware::VENDOR_NAME.to_owned(),
        product_name: dap_firmware::PRODUCT_NAME.to_owned(),
        description: description.to_owned(),
    };
    CmsisDapProbe::new(firmware, identity)
}
