//! Resets of the virtual Cortex-M4: AIRCR.SYSRESETREQ and VECTRESET, the
//! nRESET line through the target and the probe, reset vector catch, and
//! what the debug reset domain keeps.

use super::support::{core_register, halted_target, scs, set_core_register, Words};
use crate::cmsis_dap::CmsisDapProbe;
use crate::probe::DebugProbe;
use crate::sim::bus::{MemoryBus, Ram};
use crate::sim::cortex::core::{regsel, XPSR_THUMB};
use crate::sim::cortex::debug::*;
use crate::sim::cortex::dwt::{DWT_BASE, DWT_COMP0, DWT_CTRL};
use crate::sim::cortex::flash::{Flash, WritePolicy, RESET_HANDLER};
use crate::sim::cortex::fpb::{FPB_BASE, FP_COMP0, FP_CTRL, FP_CTRL_ENABLE, FP_CTRL_KEY};
use crate::sim::cortex::scb::{CPACR, VTOR};
use crate::sim::cortex::scs::{
    Scs, AIRCR, AIRCR_SYSRESETREQ, AIRCR_VECTRESET, DEMCR, DFSR, DHCSR, SCS_BASE, VECTKEY,
};
use crate::sim::cortex::{cortex_m4_bus, COMPONENT_SIZE, INITIAL_SP, RAM_BASE};
use crate::sim::dap_firmware::{FirmwareConfig, SimDapFirmware, UsbModel};
use crate::sim::{virtual_driver, SwdTarget, VIRTUAL_DESCRIPTION};

const RESUME: u32 = DBGKEY | C_DEBUGEN;

fn request_system_reset(bus: &mut MemoryBus) {
    bus.set_word(scs(AIRCR), VECTKEY | AIRCR_SYSRESETREQ);
}

/// A halted core whose registers no longer hold their reset values.
fn disturbed_target() -> MemoryBus {
    let mut bus = halted_target();
    set_core_register(&mut bus, regsel::MSP, 0x2000_0800);
    set_core_register(&mut bus, regsel::DEBUG_RETURN_ADDRESS, 0x200);
    set_core_register(&mut bus, regsel::XPSR, 0);
    set_core_register(
        &mut bus,
        regsel::CONTROL_FAULTMASK_BASEPRI_PRIMASK,
        0x0001_0001,
    );
    bus
}

#[test]
fn sysresetreq_reloads_sp_and_pc_from_vtor() {
    let mut bus = disturbed_target();
    bus.set_word(scs(DEMCR), DEMCR_VC_CORERESET);
    request_system_reset(&mut bus);

    assert_eq!(core_register(&mut bus, regsel::MSP), INITIAL_SP);
    assert_eq!(
        core_register(&mut bus, regsel::DEBUG_RETURN_ADDRESS),
        RESET_HANDLER
    );
    assert_eq!(core_register(&mut bus, regsel::XPSR), XPSR_THUMB);
    assert_eq!(core_register(&mut bus, regsel::LR), 0xFFFF_FFFF);
    let packed = regsel::CONTROL_FAULTMASK_BASEPRI_PRIMASK;
    assert_eq!(core_register(&mut bus, packed), 0);
}

#[test]
fn reset_fetches_the_vector_table_at_vtor_after_resetting_vtor_to_zero() {
    let mut bus = disturbed_target();
    let table = RAM_BASE + 0x400;
    bus.set_word(table, 0x2000_4000);
    bus.set_word(table + 4, 0x0000_0201);
    bus.set_word(scs(VTOR), table);
    bus.set_word(scs(DEMCR), DEMCR_VC_CORERESET);
    request_system_reset(&mut bus);

    assert_eq!(bus.word(scs(VTOR)), 0);
    assert_eq!(core_register(&mut bus, regsel::MSP), INITIAL_SP);
}

#[test]
fn sysresetreq_needs_the_vectkey() {
    let mut bus = disturbed_target();
    bus.set_word(scs(DEMCR), DEMCR_VC_CORERESET);
    bus.set_word(scs(AIRCR), AIRCR_SYSRESETREQ);
    assert_eq!(core_register(&mut bus, regsel::MSP), 0x2000_0800);
}

#[test]
fn reset_sets_s_reset_st() {
    let mut bus = halted_target();
    bus.word(scs(DHCSR));
    request_system_reset(&mut bus);
    assert_ne!(bus.word(scs(DHCSR)) & S_RESET_ST, 0);
}

#[test]
fn vc_corereset_halts_at_reset_vector() {
    let mut bus = disturbed_target();
    bus.set_word(scs(DEMCR), DEMCR_VC_CORERESET);
    bus.set_word(scs(DFSR), DFSR_HALTED);
    request_system_reset(&mut bus);

    let dhcsr = bus.word(scs(DHCSR));
    assert_eq!(
        dhcsr & (S_HALT | S_RESET_ST | S_RETIRE_ST),
        S_HALT | S_RESET_ST,
        "{dhcsr:#x}"
    );
    assert_eq!(bus.word(scs(DFSR)), DFSR_VCATCH);
    assert_eq!(
        core_register(&mut bus, regsel::DEBUG_RETURN_ADDRESS),
        RESET_HANDLER
    );
}

#[test]
fn without_vector_catch_the_core_runs_after_reset() {
    let mut bus = halted_target();
    request_system_reset(&mut bus);
    let dhcsr = bus.word(scs(DHCSR));
    assert_eq!(dhcsr & (S_HALT | C_HALT), 0, "{dhcsr:#x}");
    assert_ne!(dhcsr & S_RETIRE_ST, 0);
}

#[test]
fn vector_catch_needs_c_debugen() {
    let mut bus = cortex_m4_bus();
    bus.set_word(scs(DEMCR), DEMCR_VC_CORERESET);
    request_system_reset(&mut bus);
    assert_eq!(bus.word(scs(DHCSR)) & S_HALT, 0);
}

#[test]
fn vectreset_resets_the_core_too() {
    let mut bus = disturbed_target();
    bus.set_word(scs(DEMCR), DEMCR_VC_CORERESET);
    bus.set_word(scs(AIRCR), VECTKEY | AIRCR_VECTRESET);
    assert_eq!(core_register(&mut bus, regsel::MSP), INITIAL_SP);
}

#[test]
fn system_reset_keeps_the_debug_domain() {
    let mut bus = halted_target();
    let demcr = DEMCR_TRCENA | DEMCR_VC_CORERESET | DEMCR_VC_FAULTS;
    bus.set_word(scs(DEMCR), demcr | DEMCR_MONITOR);
    bus.set_word(FPB_BASE + FP_CTRL, FP_CTRL_KEY | FP_CTRL_ENABLE);
    bus.set_word(FPB_BASE + FP_COMP0, 0x4000_0201);
    bus.set_word(DWT_BASE + DWT_COMP0, 0x2000_0010);
    bus.set_word(DWT_BASE + DWT_CTRL, 1);
    request_system_reset(&mut bus);

    assert_ne!(bus.word(scs(DHCSR)) & C_DEBUGEN, 0);
    // The DebugMonitor bits are the only ones a local reset clears.
    assert_eq!(bus.word(scs(DEMCR)), demcr);
    assert_eq!(
        bus.word(FPB_BASE + FP_CTRL) & FP_CTRL_ENABLE,
        FP_CTRL_ENABLE
    );
    assert_eq!(bus.word(FPB_BASE + FP_COMP0), 0x4000_0201);
    assert_eq!(bus.word(DWT_BASE + DWT_COMP0), 0x2000_0010);
    assert_eq!(bus.word(DWT_BASE + DWT_CTRL) & 1, 1);
}

#[test]
fn system_reset_restores_the_system_control_registers() {
    let mut bus = halted_target();
    bus.set_word(scs(CPACR), 0x00F0_0000);
    bus.set_word(scs(VTOR), 0x2000_0000);
    request_system_reset(&mut bus);
    assert_eq!(bus.word(scs(CPACR)), 0);
    assert_eq!(bus.word(scs(VTOR)), 0);
}

#[test]
fn nreset_holds_the_core_in_reset_until_released() {
    let mut target = SwdTarget::cortex_m();
    target.bus_mut().set_word(scs(DHCSR), RESUME);
    target.bus_mut().set_word(scs(DEMCR), DEMCR_VC_CORERESET);
    target.set_nreset(true);
    for _ in 0..2 {
        let dhcsr = target.bus_mut().word(scs(DHCSR));
        assert_eq!(dhcsr & (S_RESET_ST | S_HALT), S_RESET_ST, "{dhcsr:#x}");
    }

    target.set_nreset(false);
    let dhcsr = target.bus_mut().word(scs(DHCSR));
    assert_eq!(dhcsr & (S_RESET_ST | S_HALT), S_RESET_ST | S_HALT);
    assert_eq!(target.bus_mut().word(scs(DHCSR)) & S_RESET_ST, 0);
}

#[test]
fn halt_requested_during_reset_halts_at_the_reset_vector() {
    let mut target = SwdTarget::cortex_m();
    target.bus_mut().set_word(scs(DHCSR), RESUME);
    target.set_nreset(true);
    target.bus_mut().set_word(scs(DHCSR), RESUME | C_HALT);
    assert_eq!(target.bus_mut().word(scs(DHCSR)) & S_HALT, 0);

    target.set_nreset(false);
    assert_ne!(target.bus_mut().word(scs(DHCSR)) & S_HALT, 0);
    assert_eq!(target.bus_mut().word(scs(DFSR)) & DFSR_HALTED, DFSR_HALTED);
}

/// The virtual target as `--probe sim` serves it, open, with resets that
/// do not pause.
fn open_virtual_probe() -> CmsisDapProbe<SimDapFirmware> {
    let firmware = FirmwareConfig::for_model(UsbModel::None);
    let mut probe = virtual_driver("sim", VIRTUAL_DESCRIPTION, firmware).unwrap();
    probe.set_reset_timing(Default::default(), Default::default());
    probe.open().unwrap();
    probe
}

#[test]
fn probe_reset_pulses_nreset() {
    let mut probe = open_virtual_probe();
    let target = probe.transport().target();
    let mut target = target.lock();
    let bus = target.bus_mut();
    bus.set_word(scs(DHCSR), RESUME);
    bus.set_word(scs(DEMCR), DEMCR_VC_CORERESET);
    set_core_register(bus, regsel::MSP, 0);
    drop(target);

    probe.reset().unwrap();
    let target = probe.transport().target();
    let mut target = target.lock();
    let bus = target.bus_mut();
    assert_ne!(bus.word(scs(DHCSR)) & S_HALT, 0);
    assert_eq!(core_register(bus, regsel::MSP), INITIAL_SP);
}

#[test]
fn probe_assert_reset_holds_the_system_in_reset() {
    let mut probe = open_virtual_probe();
    let target = probe.transport().target();
    probe.assert_reset(true).unwrap();
    let mut locked = target.lock();
    let bus = locked.bus_mut();
    bus.word(scs(DHCSR));
    assert_ne!(bus.word(scs(DHCSR)) & S_RESET_ST, 0);
    drop(locked);

    probe.assert_reset(false).unwrap();
    let mut locked = target.lock();
    let bus = locked.bus_mut();
    bus.word(scs(DHCSR));
    assert_eq!(bus.word(scs(DHCSR)) & S_RESET_ST, 0);
}

#[test]
fn unreadable_vector_table_locks_the_core_up_until_halted() {
    let mut bus = MemoryBus::new();
    bus.map(SCS_BASE, COMPONENT_SIZE, Box::new(Scs::new()))
        .unwrap();
    bus.set_word(scs(DHCSR), RESUME);
    bus.system_reset();
    let dhcsr = bus.word(scs(DHCSR));
    assert_eq!(dhcsr & (S_LOCKUP | S_HALT), S_LOCKUP, "{dhcsr:#x}");

    bus.set_word(scs(DHCSR), RESUME | C_HALT);
    let dhcsr = bus.word(scs(DHCSR));
    assert_eq!(dhcsr & (S_LOCKUP | S_HALT), S_HALT, "{dhcsr:#x}");
}

#[test]
fn reset_vector_without_thumb_bit_clears_xpsr_t() {
    let mut bus = MemoryBus::new();
    let image = [0x00, 0x10, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00];
    let code = Flash::with_image(0x1000, &image, WritePolicy::Fault);
    bus.map(0, 0x1000, Box::new(code)).unwrap();
    bus.map(RAM_BASE, 0x1000, Box::new(Ram::new(0x1000)))
        .unwrap();
    bus.map(SCS_BASE, COMPONENT_SIZE, Box::new(Scs::new()))
        .unwrap();
    bus.set_word(scs(DHCSR), RESUME);
    bus.set_word(scs(DEMCR), DEMCR_VC_CORERESET);
    bus.system_reset();

    assert_eq!(core_register(&mut bus, regsel::MSP), 0x2000_1000);
    assert_eq!(core_register(&mut bus, regsel::DEBUG_RETURN_ADDRESS), 0x100);
    assert_eq!(core_register(&mut bus, regsel::XPSR), 0);
}
