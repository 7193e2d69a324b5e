//! The System Control Space of the virtual Cortex-M4 apart from halting
//! debug: identification, SCB registers, NVIC, SysTick and access sizes.

use super::support::{core_register, halted_target, scs, set_core_register, Words};
use crate::sim::bus::AccessSize;
use crate::sim::cortex::core::regsel;
use crate::sim::cortex::cortex_m4_bus;
use crate::sim::cortex::id::{CIDR0, PIDR0, PIDR4};
use crate::sim::cortex::nvic::{ICER0, ICPR0, ICTR, IPR0, ISER0, ISPR0, STIR};
use crate::sim::cortex::scb::*;
use crate::sim::cortex::scs::*;
use crate::sim::cortex::systick::{SYST_CALIB, SYST_CSR, SYST_CVR, SYST_RVR};

#[test]
fn cpuid_identifies_a_cortex_m4_r0p1() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(scs(CPUID)), 0x410F_C241);
}

#[test]
fn media_and_fp_feature_registers_describe_an_fpv4_sp_fpu() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(scs(MVFR0)), 0x1011_0021);
    assert_eq!(bus.word(scs(MVFR1)), 0x1100_0011);
    assert_eq!(bus.word(scs(MVFR2)), 0);
}

#[test]
fn feature_registers_describe_armv7m_without_mpu_or_cache() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(scs(ID_PFR0)), 0x30);
    assert_eq!(bus.word(scs(ID_ISAR4)), 0x0131_0102);
    assert_eq!(bus.word(scs(MPU_TYPE)), 0);
    // CLIDR: no cache.
    assert_eq!(bus.word(scs(0xD78)), 0);
}

#[test]
fn scs_identifies_as_arm_part_00c_generic_ip() {
    let mut bus = cortex_m4_bus();
    let pidr: Vec<u32> = (0..4).map(|i| bus.word(scs(PIDR0 + 4 * i))).collect();
    assert_eq!(pidr, [0x0C, 0xB0, 0x0B, 0x00]);
    assert_eq!(bus.word(scs(PIDR4)), 0x04);
    let cidr: Vec<u32> = (0..4).map(|i| bus.word(scs(CIDR0 + 4 * i))).collect();
    assert_eq!(cidr, [0x0D, 0xE0, 0x05, 0xB1]);
}

#[test]
fn aircr_reads_vectkeystat_and_keeps_prigroup_written_with_the_key() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(scs(AIRCR)), 0xFA05_0000);
    bus.set_word(scs(AIRCR), VECTKEY | 0x500);
    assert_eq!(bus.word(scs(AIRCR)), 0xFA05_0500);
    bus.set_word(scs(AIRCR), 0x300);
    assert_eq!(bus.word(scs(AIRCR)), 0xFA05_0500);
}

#[test]
fn vectclractive_clears_ipsr_in_debug_state() {
    let mut bus = halted_target();
    set_core_register(&mut bus, regsel::XPSR, 0x0100_0003);
    bus.set_word(scs(SHCSR), 0x0001_0001);
    bus.set_word(scs(AIRCR), VECTKEY | AIRCR_VECTCLRACTIVE);
    assert_eq!(core_register(&mut bus, regsel::XPSR), 0x0100_0000);
    assert_eq!(bus.word(scs(SHCSR)), 0x0001_0000);
}

#[test]
fn vtor_keeps_tbloff_only() {
    let mut bus = cortex_m4_bus();
    bus.set_word(scs(VTOR), 0x2000_04FF);
    assert_eq!(bus.word(scs(VTOR)), 0x2000_0480);
}

#[test]
fn icsr_shows_the_active_exception_from_ipsr() {
    let mut bus = halted_target();
    assert_eq!(bus.word(scs(ICSR)), 0);
    set_core_register(&mut bus, regsel::XPSR, 0x0100_000B);
    assert_eq!(bus.word(scs(ICSR)), 0xB | ICSR_RETTOBASE);
}

#[test]
fn icsr_pends_and_unpends_pendsv_and_systick() {
    let mut bus = cortex_m4_bus();
    bus.set_word(scs(ICSR), ICSR_PENDSVSET | ICSR_PENDSTSET);
    let icsr = bus.word(scs(ICSR));
    assert_eq!(
        icsr & (ICSR_PENDSVSET | ICSR_PENDSTSET),
        ICSR_PENDSVSET | ICSR_PENDSTSET
    );
    // Equal priorities: the lower exception number, PendSV (14), is first.
    assert_eq!((icsr >> 12) & 0x1FF, 14);

    bus.set_word(scs(ICSR), ICSR_PENDSVCLR);
    let icsr = bus.word(scs(ICSR));
    assert_eq!(icsr & (ICSR_PENDSVSET | ICSR_PENDSTSET), ICSR_PENDSTSET);
    assert_eq!((icsr >> 12) & 0x1FF, 15);
}

#[test]
fn vectpending_follows_priority_then_number() {
    let mut bus = cortex_m4_bus();
    bus.set_word(scs(SHPR3), 0x8000_0000); // SysTick priority 0x80
    bus.set_word(scs(IPR0), 0x0000_4000); // IRQ1 priority 0x40
    bus.set_word(scs(ISER0), 0b11);
    bus.set_word(scs(ISPR0), 0b11);
    bus.set_word(scs(ICSR), ICSR_PENDSTSET);
    let icsr = bus.word(scs(ICSR));
    // IRQ0 has priority 0, ahead of IRQ1 (0x40) and SysTick (0x80).
    assert_eq!((icsr >> 12) & 0x1FF, 16, "{icsr:#x}");
    assert_ne!(icsr & ICSR_ISRPENDING, 0);
    bus.set_word(scs(ICPR0), 0b01);
    assert_eq!((bus.word(scs(ICSR)) >> 12) & 0x1FF, 17);

    bus.set_word(scs(ICSR), ICSR_NMIPENDSET);
    assert_eq!((bus.word(scs(ICSR)) >> 12) & 0x1FF, 2);
}

#[test]
fn cpacr_implements_cp10_and_cp11_only() {
    let mut bus = cortex_m4_bus();
    bus.set_word(scs(CPACR), 0xFFFF_FFFF);
    assert_eq!(bus.word(scs(CPACR)), 0x00F0_0000);
}

#[test]
fn fault_status_registers_read_zero() {
    let mut bus = cortex_m4_bus();
    bus.set_word(scs(CFSR), 0xFFFF_FFFF);
    bus.set_word(scs(HFSR), 0xFFFF_FFFF);
    assert_eq!(bus.word(scs(CFSR)), 0);
    assert_eq!(bus.word(scs(HFSR)), 0);
}

#[test]
fn system_handler_priorities_keep_four_bits_of_implemented_handlers() {
    let mut bus = cortex_m4_bus();
    bus.set_word(scs(SHPR1), 0xFFFF_FFFF);
    bus.set_word(scs(SHPR2), 0xFFFF_FFFF);
    bus.set_word(scs(SHPR3), 0xFFFF_FFFF);
    assert_eq!(bus.word(scs(SHPR1)), 0x00F0_F0F0);
    assert_eq!(bus.word(scs(SHPR2)), 0xF000_0000);
    assert_eq!(bus.word(scs(SHPR3)), 0xF0F0_00F0);
}

#[test]
fn priority_registers_take_byte_writes() {
    let mut bus = cortex_m4_bus();
    bus.write(scs(SHPR3 + 3), AccessSize::Byte, 0xA5).unwrap();
    assert_eq!(bus.word(scs(SHPR3)), 0xA000_0000);
    bus.write(scs(IPR0 + 2), AccessSize::Halfword, 0x3070)
        .unwrap();
    assert_eq!(bus.word(scs(IPR0)), 0x3070_0000);
}

#[test]
fn narrow_writes_to_word_registers_are_ignored() {
    let mut bus = cortex_m4_bus();
    bus.write(scs(VTOR), AccessSize::Halfword, 0xFF80).unwrap();
    assert_eq!(bus.word(scs(VTOR)), 0);
}

#[test]
fn narrow_reads_see_their_part_of_the_word() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.read(scs(CPUID + 2), AccessSize::Halfword), Ok(0x410F));
    assert_eq!(bus.read(scs(CPUID + 1), AccessSize::Byte), Ok(0xC2));
}

#[test]
fn nvic_has_32_lines_with_set_and_clear_registers() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(scs(ICTR)), 0);
    bus.set_word(scs(ISER0), 0x8000_0001);
    bus.set_word(scs(ICER0), 0x0000_0001);
    assert_eq!(bus.word(scs(ISER0)), 0x8000_0000);
    assert_eq!(bus.word(scs(ICER0)), 0x8000_0000);
    bus.set_word(scs(ISER0 + 4), 1);
    assert_eq!(bus.word(scs(ISER0 + 4)), 0);
}

#[test]
fn stir_pends_an_interrupt() {
    let mut bus = cortex_m4_bus();
    bus.set_word(scs(STIR), 5);
    assert_eq!(bus.word(scs(ISPR0)), 1 << 5);
    assert_eq!(bus.word(scs(STIR)), 0);
}

#[test]
fn systick_never_counts_and_has_no_reference_clock() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(scs(SYST_CSR)), 0b100);
    bus.set_word(scs(SYST_CSR), 0b011);
    bus.set_word(scs(SYST_RVR), 0xFFFF_FFFF);
    assert_eq!(bus.word(scs(SYST_CSR)), 0b111);
    assert_eq!(bus.word(scs(SYST_RVR)), 0x00FF_FFFF);
    assert_eq!(bus.word(scs(SYST_CVR)), 0);
    assert_eq!(bus.word(scs(SYST_CALIB)), 0xC000_0000);
}

#[test]
fn floating_point_context_registers_reset_and_keep_their_fields() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(scs(FPCCR)), 0xC000_0000);
    bus.set_word(scs(FPCCR), 0xFFFF_FFFF);
    bus.set_word(scs(FPCAR), 0xFFFF_FFFF);
    bus.set_word(scs(FPDSCR), 0xFFFF_FFFF);
    assert_eq!(bus.word(scs(FPCCR)), 0xC000_017B);
    assert_eq!(bus.word(scs(FPCAR)), 0xFFFF_FFF8);
    assert_eq!(bus.word(scs(FPDSCR)), 0x07C0_0000);
}

#[test]
fn unimplemented_scs_addresses_read_zero_and_ignore_writes() {
    let mut bus = cortex_m4_bus();
    for offset in [0x000, 0xD74, 0xD94, 0xEF0, 0xF50] {
        bus.set_word(scs(offset), 0xFFFF_FFFF);
        assert_eq!(bus.word(scs(offset)), 0, "{offset:#x}");
    }
}

#[test]
fn ccr_resets_with_stkalign() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(scs(CCR)), 0x200);
}
