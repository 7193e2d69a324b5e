//! Halting debug of the virtual Cortex-M4: DHCSR, DCRSR/DCRDR, DFSR and
//! DEMCR, halting, stepping and resuming a core that makes no progress.

use super::support::{core_register, halted_target, scs, set_core_register, Words};
use crate::sim::cortex::core::regsel;
use crate::sim::cortex::cortex_m4_bus;
use crate::sim::cortex::debug::*;
use crate::sim::cortex::flash::RESET_HANDLER;
use crate::sim::cortex::fpb::{FPB_BASE, FP_COMP0, FP_CTRL, FP_CTRL_ENABLE, FP_CTRL_KEY};
use crate::sim::cortex::scs::{DCRDR, DCRSR, DEMCR, DFSR, DHCSR};
use crate::sim::cortex::{INITIAL_SP, RAM_BASE};

const RESUME: u32 = DBGKEY | C_DEBUGEN;
const STEP: u32 = DBGKEY | C_DEBUGEN | C_STEP;

#[test]
fn dhcsr_write_without_dbgkey_is_ignored() {
    let mut bus = cortex_m4_bus();
    bus.set_word(scs(DHCSR), C_DEBUGEN | C_HALT);
    let dhcsr = bus.word(scs(DHCSR));
    assert_eq!(dhcsr & (C_DEBUGEN | C_HALT | S_HALT), 0, "{dhcsr:#x}");

    bus.set_word(scs(DHCSR), 0xA05E_0000 | C_DEBUGEN | C_HALT);
    assert_eq!(bus.word(scs(DHCSR)) & S_HALT, 0);
}

#[test]
fn halt_request_halts_with_dfsr_halted_and_registers_ready() {
    let mut bus = halted_target();
    let dhcsr = bus.word(scs(DHCSR));
    assert_eq!(
        dhcsr & (C_DEBUGEN | C_HALT | S_HALT | S_REGRDY),
        C_DEBUGEN | C_HALT | S_HALT | S_REGRDY
    );
    assert_eq!(bus.word(scs(DFSR)), DFSR_HALTED);
}

#[test]
fn halt_without_c_debugen_is_ignored() {
    let mut bus = cortex_m4_bus();
    bus.set_word(scs(DHCSR), DBGKEY | C_HALT);
    assert_eq!(bus.word(scs(DHCSR)) & (S_HALT | C_HALT), 0);
}

#[test]
fn s_reset_st_clears_on_read() {
    let mut bus = cortex_m4_bus();
    // A fresh target has been through its power-on reset.
    assert_ne!(bus.word(scs(DHCSR)) & S_RESET_ST, 0);
    assert_eq!(bus.word(scs(DHCSR)) & S_RESET_ST, 0);
}

#[test]
fn running_core_reports_retired_instructions_on_every_read() {
    let mut bus = cortex_m4_bus();
    for _ in 0..2 {
        let dhcsr = bus.word(scs(DHCSR));
        assert_ne!(dhcsr & S_RETIRE_ST, 0, "{dhcsr:#x}");
        assert_eq!(dhcsr & (S_HALT | S_REGRDY | S_LOCKUP | S_SLEEP), 0);
    }
}

#[test]
fn s_retire_st_of_a_halted_core_clears_on_read() {
    let mut bus = halted_target();
    bus.word(scs(DHCSR));
    assert_eq!(bus.word(scs(DHCSR)) & S_RETIRE_ST, 0);
}

#[test]
fn resume_runs_the_core_without_moving_the_pc() {
    let mut bus = halted_target();
    bus.set_word(scs(DHCSR), RESUME);
    let dhcsr = bus.word(scs(DHCSR));
    assert_eq!(dhcsr & (S_HALT | C_HALT), 0, "{dhcsr:#x}");
    assert_ne!(dhcsr & S_RETIRE_ST, 0);

    bus.set_word(scs(DHCSR), RESUME | C_HALT);
    assert_eq!(
        core_register(&mut bus, regsel::DEBUG_RETURN_ADDRESS),
        RESET_HANDLER
    );
}

#[test]
fn step_retires_one_instruction_and_halts_again_at_the_same_pc() {
    let mut bus = halted_target();
    bus.word(scs(DHCSR));
    bus.set_word(scs(DFSR), DFSR_HALTED);

    bus.set_word(scs(DHCSR), STEP);
    let dhcsr = bus.word(scs(DHCSR));
    assert_eq!(
        dhcsr & (S_HALT | C_HALT | S_RETIRE_ST),
        S_HALT | C_HALT | S_RETIRE_ST,
        "{dhcsr:#x}"
    );
    assert_eq!(bus.word(scs(DFSR)), DFSR_HALTED);
    assert_eq!(
        core_register(&mut bus, regsel::DEBUG_RETURN_ADDRESS),
        RESET_HANDLER
    );
}

#[test]
fn dcrsr_write_then_dcrdr_read_returns_register() {
    let mut bus = halted_target();
    assert_eq!(core_register(&mut bus, regsel::MSP), INITIAL_SP);
    assert_eq!(
        core_register(&mut bus, regsel::XPSR),
        crate::sim::cortex::core::XPSR_THUMB
    );
    assert_eq!(core_register(&mut bus, regsel::LR), 0xFFFF_FFFF);
}

#[test]
fn dcrsr_write_with_regwnr_stores_dcrdr_in_the_register() {
    let mut bus = halted_target();
    for (regsel, value) in [
        (0, 0x1234),
        (regsel::R12, 0xCAFE),
        (regsel::LR, 0x0800_0001),
    ] {
        set_core_register(&mut bus, regsel, value);
        assert_ne!(bus.word(scs(DHCSR)) & S_REGRDY, 0);
        assert_eq!(core_register(&mut bus, regsel), value);
    }
}

#[test]
fn sp_is_msp_or_psp_as_control_spsel_says() {
    let mut bus = halted_target();
    set_core_register(&mut bus, regsel::PSP, 0x2000_1000);
    assert_eq!(core_register(&mut bus, regsel::SP), INITIAL_SP);

    let spsel = 1 << 25;
    set_core_register(&mut bus, regsel::CONTROL_FAULTMASK_BASEPRI_PRIMASK, spsel);
    assert_eq!(core_register(&mut bus, regsel::SP), 0x2000_1000);
    set_core_register(&mut bus, regsel::SP, 0x2000_2003);
    assert_eq!(core_register(&mut bus, regsel::PSP), 0x2000_2000);
    assert_eq!(core_register(&mut bus, regsel::MSP), INITIAL_SP);
}

#[test]
fn special_registers_are_packed_and_keep_only_implemented_bits() {
    let mut bus = halted_target();
    let packed = regsel::CONTROL_FAULTMASK_BASEPRI_PRIMASK;
    set_core_register(&mut bus, packed, 0xFFFF_FFFF);
    // CONTROL nPRIV/SPSEL/FPCA, FAULTMASK, four BASEPRI bits, PRIMASK.
    assert_eq!(core_register(&mut bus, packed), 0x0701_F001);
}

#[test]
fn pc_and_xpsr_keep_only_their_defined_bits() {
    let mut bus = halted_target();
    set_core_register(&mut bus, regsel::DEBUG_RETURN_ADDRESS, 0x0000_0203);
    assert_eq!(core_register(&mut bus, regsel::DEBUG_RETURN_ADDRESS), 0x202);
    set_core_register(&mut bus, regsel::XPSR, 0xFFFF_FFFF);
    assert_eq!(core_register(&mut bus, regsel::XPSR), 0xFF0F_FDFF);
}

#[test]
fn fpscr_and_single_precision_registers_are_reachable() {
    let mut bus = halted_target();
    set_core_register(&mut bus, regsel::FPSCR, 0xFFFF_FFFF);
    assert_eq!(core_register(&mut bus, regsel::FPSCR), 0xF7C0_009F);
    set_core_register(&mut bus, regsel::S0, 0x3FC0_0000);
    set_core_register(&mut bus, regsel::S31, 0x4020_0000);
    assert_eq!(core_register(&mut bus, regsel::S0), 0x3FC0_0000);
    assert_eq!(core_register(&mut bus, regsel::S31), 0x4020_0000);
}

#[test]
fn reserved_regsel_leaves_dcrdr_alone() {
    let mut bus = halted_target();
    bus.set_word(scs(DCRDR), 0x5555_AAAA);
    bus.set_word(scs(DCRSR), 0x13);
    assert_eq!(bus.word(scs(DCRDR)), 0x5555_AAAA);
}

#[test]
fn register_transfer_while_running_does_not_happen() {
    let mut bus = halted_target();
    set_core_register(&mut bus, 0, 0x1111);
    bus.set_word(scs(DHCSR), RESUME);

    bus.set_word(scs(DCRDR), 0x2222);
    bus.set_word(scs(DCRSR), DCRSR_REGWNR);
    assert_eq!(bus.word(scs(DHCSR)) & S_REGRDY, 0);
    bus.set_word(scs(DCRSR), 0);
    assert_eq!(bus.word(scs(DCRDR)), 0x2222);

    bus.set_word(scs(DHCSR), RESUME | C_HALT);
    assert_eq!(core_register(&mut bus, 0), 0x1111);
}

#[test]
fn dfsr_is_sticky_and_write_one_to_clear() {
    let mut bus = halted_target();
    bus.set_word(scs(DHCSR), RESUME);
    bus.set_word(scs(DHCSR), RESUME | C_HALT);
    assert_eq!(bus.word(scs(DFSR)), DFSR_HALTED);
    bus.set_word(scs(DFSR), DFSR_VCATCH);
    assert_eq!(bus.word(scs(DFSR)), DFSR_HALTED);
    bus.set_word(scs(DFSR), DFSR_HALTED);
    assert_eq!(bus.word(scs(DFSR)), 0);
}

#[test]
fn demcr_stores_vector_catch_monitor_and_trace_bits() {
    let mut bus = cortex_m4_bus();
    bus.set_word(scs(DEMCR), 0xFFFF_FFFF);
    assert_eq!(bus.word(scs(DEMCR)), 0x010F_07F1);
    bus.set_word(scs(DEMCR), DEMCR_TRCENA | DEMCR_VC_CORERESET);
    assert_eq!(bus.word(scs(DEMCR)), DEMCR_TRCENA | DEMCR_VC_CORERESET);
}

#[test]
fn clearing_c_debugen_resumes_a_halted_core() {
    let mut bus = halted_target();
    bus.set_word(scs(DHCSR), DBGKEY);
    let dhcsr = bus.word(scs(DHCSR));
    assert_eq!(dhcsr & (S_HALT | C_HALT | C_DEBUGEN), 0, "{dhcsr:#x}");
}

#[test]
fn fpb_breakpoint_at_the_pc_halts_the_running_core() {
    let mut bus = halted_target();
    bus.set_word(FPB_BASE + FP_CTRL, FP_CTRL_KEY | FP_CTRL_ENABLE);
    bus.set_word(FPB_BASE + FP_COMP0, 1 << 30 | RESET_HANDLER | 1);
    bus.set_word(scs(DFSR), DFSR_HALTED);

    bus.set_word(scs(DHCSR), RESUME);
    assert_ne!(bus.word(scs(DHCSR)) & S_HALT, 0);
    assert_eq!(bus.word(scs(DFSR)), DFSR_BKPT);
}

#[test]
fn fpb_breakpoint_set_while_running_halts_the_core() {
    let mut bus = halted_target();
    bus.set_word(scs(DHCSR), RESUME);
    bus.set_word(FPB_BASE + FP_COMP0, 1 << 30 | RESET_HANDLER | 1);
    assert_eq!(bus.word(scs(DHCSR)) & S_HALT, 0, "FPB still disabled");

    bus.set_word(FPB_BASE + FP_CTRL, FP_CTRL_KEY | FP_CTRL_ENABLE);
    assert_ne!(bus.word(scs(DHCSR)) & S_HALT, 0);
}

#[test]
fn fpb_breakpoint_on_the_other_halfword_does_not_halt() {
    let mut bus = halted_target();
    bus.set_word(FPB_BASE + FP_CTRL, FP_CTRL_KEY | FP_CTRL_ENABLE);
    // REPLACE 0b10: the upper halfword, 0x102.
    bus.set_word(FPB_BASE + FP_COMP0, 2 << 30 | RESET_HANDLER | 1);
    bus.set_word(scs(DHCSR), RESUME);
    assert_eq!(bus.word(scs(DHCSR)) & S_HALT, 0);
}

#[test]
fn bkpt_instruction_at_the_pc_halts_the_running_core() {
    let mut bus = halted_target();
    let code = RAM_BASE + 0x40;
    bus.set_word(code, 0xBE00_E7FE);
    set_core_register(&mut bus, regsel::DEBUG_RETURN_ADDRESS, code + 2);
    bus.set_word(scs(DFSR), DFSR_HALTED);

    bus.set_word(scs(DHCSR), RESUME);
    assert_ne!(bus.word(scs(DHCSR)) & S_HALT, 0);
    assert_eq!(bus.word(scs(DFSR)), DFSR_BKPT);
}

#[test]
fn step_onto_a_breakpoint_halts_on_it_without_retiring() {
    let mut bus = halted_target();
    bus.set_word(FPB_BASE + FP_CTRL, FP_CTRL_KEY | FP_CTRL_ENABLE);
    bus.set_word(FPB_BASE + FP_COMP0, 1 << 30 | RESET_HANDLER | 1);
    bus.word(scs(DHCSR));
    bus.set_word(scs(DFSR), DFSR_HALTED);

    bus.set_word(scs(DHCSR), STEP);
    let dhcsr = bus.word(scs(DHCSR));
    assert_eq!(dhcsr & (S_HALT | S_RETIRE_ST), S_HALT, "{dhcsr:#x}");
    assert_eq!(bus.word(scs(DFSR)), DFSR_BKPT);
}

#[test]
fn breakpoints_do_not_halt_a_core_with_debug_disabled() {
    let mut bus = halted_target();
    bus.set_word(FPB_BASE + FP_CTRL, FP_CTRL_KEY | FP_CTRL_ENABLE);
    bus.set_word(FPB_BASE + FP_COMP0, 1 << 30 | RESET_HANDLER | 1);
    bus.set_word(scs(DHCSR), DBGKEY);
    assert_eq!(bus.word(scs(DHCSR)) & S_HALT, 0);
}
