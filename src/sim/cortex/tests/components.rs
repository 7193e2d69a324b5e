//! The memory map, ROM table and CoreSight components of the virtual
//! Cortex-M4, as discovery and pyOCD's component drivers see them.

use super::support::Words;
use crate::sim::bus::{AccessSize, BusDevice, BusFault, MemoryBus};
use crate::sim::cortex::dwt::*;
use crate::sim::cortex::flash::{self, Flash, WritePolicy, BRANCH_TO_SELF, RESET_HANDLER};
use crate::sim::cortex::fpb::*;
use crate::sim::cortex::id::{ComponentId, CIDR0, PIDR0, PIDR4};
use crate::sim::cortex::itm::*;
use crate::sim::cortex::rom_table::{MEMTYPE, MEMTYPE_SYSMEM, ROM_TABLE_BASE, ROM_TABLE_ID};
use crate::sim::cortex::scs::{SCS_BASE, SCS_ID};
use crate::sim::cortex::tpiu::*;
use crate::sim::cortex::{cortex_m4_bus, FLASH_SIZE, INITIAL_SP, RAM_BASE, RAM_SIZE};
use crate::sim::mem_ap::CORTEX_M_ROM_BASE;

/// The component base a class 0x1 ROM table entry points at.
fn entry_target(entry: u32) -> u32 {
    ROM_TABLE_BASE.wrapping_add(entry & 0xFFFF_F000)
}

/// PIDR0-4 and CIDR0-3 as discovery assembles them: (pidr, cidr).
fn identification(bus: &mut MemoryBus, base: u32) -> (u64, u32) {
    let byte = |bus: &mut MemoryBus, offset: u32| bus.word(base + offset) & 0xFF;
    let low = (0..4).fold(0, |v, i| v | byte(bus, PIDR0 + 4 * i) << (8 * i));
    let pidr = u64::from(byte(bus, PIDR4)) << 32 | u64::from(low);
    let cidr = (0..4).fold(0, |v, i| v | byte(bus, CIDR0 + 4 * i) << (8 * i));
    (pidr, cidr)
}

/// What discovery takes from an identification: part, designer, class.
fn identity(pidr: u64, cidr: u32) -> (u64, u64, u32) {
    let designer = (pidr >> 12) & 0x7F | ((pidr >> 32) & 0xF) << 8;
    (pidr & 0xFFF, designer, (cidr >> 12) & 0xF)
}

fn expected(id: ComponentId) -> (u64, u64, u32) {
    (u64::from(id.part), 0x43B, id.class as u32)
}

#[test]
fn rom_table_lists_scs_dwt_fpb_itm() {
    let mut bus = cortex_m4_bus();
    assert_eq!(CORTEX_M_ROM_BASE & !0xFFF, ROM_TABLE_BASE);
    let entries: Vec<u32> = (0..7).map(|i| bus.word(ROM_TABLE_BASE + 4 * i)).collect();
    let present: Vec<u32> = entries
        .iter()
        .take_while(|&&e| e != 0)
        .filter(|&&e| e & 0b11 == 0b11)
        .map(|&e| entry_target(e))
        .collect();
    assert_eq!(present, [SCS_BASE, DWT_BASE, FPB_BASE, ITM_BASE, TPIU_BASE]);
    assert_eq!(entries[5], 0xFFF4_2002, "ETM entry, not present");
    assert_eq!(entries[6], 0, "end marker");
    assert_eq!(bus.word(ROM_TABLE_BASE + MEMTYPE), MEMTYPE_SYSMEM);
}

#[test]
fn rom_table_is_an_arm_class_1_table() {
    let mut bus = cortex_m4_bus();
    let (pidr, cidr) = identification(&mut bus, ROM_TABLE_BASE);
    assert_eq!(cidr, 0xB105_100D);
    assert_eq!(pidr, 0x04_000B_B4C4);
    assert_eq!(identity(pidr, cidr), expected(ROM_TABLE_ID));
}

#[test]
fn each_component_identifies_with_its_cortex_m4_part_number() {
    let mut bus = cortex_m4_bus();
    let components = [
        (SCS_BASE, SCS_ID, 0x0C, 0xE),
        (DWT_BASE, DWT_ID, 0x02, 0xE),
        (FPB_BASE, FPB_ID, 0x03, 0xE),
        (ITM_BASE, ITM_ID, 0x01, 0xE),
        (TPIU_BASE, TPIU_ID, 0x9A1, 0x9),
    ];
    for (base, id, part, class) in components {
        let (pidr, cidr) = identification(&mut bus, base);
        assert_eq!(cidr & 0xFFFF_0FFF, 0xB105_000D, "{base:#x}");
        assert_eq!(identity(pidr, cidr), (part, 0x43B, class), "{base:#x}");
        assert_eq!(identity(pidr, cidr), expected(id));
    }
}

#[test]
fn component_revisions_are_those_of_the_cortex_m4() {
    let mut bus = cortex_m4_bus();
    let pidr2 = |bus: &mut MemoryBus, base: u32| bus.word(base + PIDR0 + 8);
    assert_eq!(pidr2(&mut bus, SCS_BASE), 0x0B);
    assert_eq!(pidr2(&mut bus, ITM_BASE), 0x3B);
    assert_eq!(pidr2(&mut bus, DWT_BASE), 0x3B);
    assert_eq!(pidr2(&mut bus, FPB_BASE), 0x2B);
    assert_eq!(pidr2(&mut bus, TPIU_BASE), 0x0B);
}

#[test]
fn tpiu_reports_a_trace_port_sink_with_swo_uart() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(TPIU_BASE + TPIU_DEVTYPE), 0x11);
    assert_eq!(bus.word(TPIU_BASE + TPIU_DEVARCH), 0);
    assert_ne!(bus.word(TPIU_BASE + TPIU_DEVID) & (1 << 11), 0);
    bus.set_word(TPIU_BASE + TPIU_SPPR, 2);
    bus.set_word(TPIU_BASE + TPIU_ACPR, 0xFFFF);
    assert_eq!(bus.word(TPIU_BASE + TPIU_SPPR), 2);
    assert_eq!(bus.word(TPIU_BASE + TPIU_ACPR), 0x1FFF);
    bus.set_word(TPIU_BASE + TPIU_CSPSR, 0b11);
    assert_eq!(
        bus.word(TPIU_BASE + TPIU_CSPSR),
        1,
        "not a single port size"
    );
}

#[test]
fn fpb_reports_six_code_and_two_literal_comparators_revision_0() {
    let mut bus = cortex_m4_bus();
    let control = bus.word(FPB_BASE + FP_CTRL);
    let code = (control >> 8) & 0x70 | (control >> 4) & 0xF;
    assert_eq!((code, (control >> 8) & 0xF, control >> 28), (6, 2, 0));
    assert_eq!(control & FP_CTRL_ENABLE, 0);
}

#[test]
fn fpb_ctrl_write_needs_the_key() {
    let mut bus = cortex_m4_bus();
    bus.set_word(FPB_BASE + FP_CTRL, FP_CTRL_ENABLE);
    assert_eq!(bus.word(FPB_BASE + FP_CTRL) & FP_CTRL_ENABLE, 0);
    bus.set_word(FPB_BASE + FP_CTRL, FP_CTRL_KEY | FP_CTRL_ENABLE);
    let control = bus.word(FPB_BASE + FP_CTRL);
    assert_eq!(control & (FP_CTRL_KEY | FP_CTRL_ENABLE), FP_CTRL_ENABLE);
}

#[test]
fn fpb_comparators_read_back() {
    let mut bus = cortex_m4_bus();
    for index in 0..8 {
        let value = 0x4000_0001 | (0x100 + 8 * index);
        bus.set_word(FPB_BASE + FP_COMP0 + 4 * index, value);
    }
    for index in 0..8 {
        let value = 0x4000_0001 | (0x100 + 8 * index);
        assert_eq!(bus.word(FPB_BASE + FP_COMP0 + 4 * index), value);
    }
    bus.set_word(FPB_BASE + FP_COMP0, 0xFFFF_FFFF);
    assert_eq!(bus.word(FPB_BASE + FP_COMP0), 0xDFFF_FFFD);
    // Past the last comparator.
    bus.set_word(FPB_BASE + FP_COMP0 + 32, 1);
    assert_eq!(bus.word(FPB_BASE + FP_COMP0 + 32), 0);
}

#[test]
fn fpb_remap_is_supported_and_keeps_its_address() {
    let mut bus = cortex_m4_bus();
    bus.set_word(FPB_BASE + FP_REMAP, 0xFFFF_FFFF);
    assert_eq!(bus.word(FPB_BASE + FP_REMAP), 0x3FFF_FFE0);
}

#[test]
fn dwt_reports_four_comparators_and_every_counter() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(DWT_BASE + DWT_CTRL), 0x4000_0000);
    bus.set_word(DWT_BASE + DWT_CTRL, 0xFFFF_FFFF);
    assert_eq!(bus.word(DWT_BASE + DWT_CTRL), 0x407F_1FFF);
}

#[test]
fn dwt_counters_keep_what_is_written() {
    let mut bus = cortex_m4_bus();
    bus.set_word(DWT_BASE + DWT_CYCCNT, 0x1234_5678);
    bus.set_word(DWT_BASE + DWT_CPICNT, 0x1FF);
    assert_eq!(bus.word(DWT_BASE + DWT_CYCCNT), 0x1234_5678);
    assert_eq!(bus.word(DWT_BASE + DWT_CPICNT), 0xFF);
    assert_eq!(bus.word(DWT_BASE + DWT_PCSR), 0xFFFF_FFFF);
}

#[test]
fn dwt_comparators_are_stored() {
    let mut bus = cortex_m4_bus();
    for index in 0..4 {
        let block = DWT_BASE + DWT_COMP0 + COMPARATOR_STRIDE * index;
        bus.set_word(block, RAM_BASE + index);
        bus.set_word(block + 4, 0xFF);
        bus.set_word(block + 8, 0xFFFF_FFFF);
    }
    let function = |bus: &mut MemoryBus, index: u32| {
        bus.word(DWT_BASE + DWT_FUNCTION0 + COMPARATOR_STRIDE * index)
    };
    assert_eq!(
        bus.word(DWT_BASE + DWT_COMP0 + COMPARATOR_STRIDE * 3),
        RAM_BASE + 3
    );
    assert_eq!(bus.word(DWT_BASE + DWT_MASK0), 0x1F);
    assert_eq!(
        function(&mut bus, 0),
        0x0000_0CAF,
        "CYCMATCH on comparator 0"
    );
    assert_eq!(
        function(&mut bus, 1),
        0x000F_FF2F,
        "data matching on comparator 1"
    );
    assert_eq!(function(&mut bus, 2), 0x0000_0C2F);
    assert_eq!(function(&mut bus, 1) & FUNCTION_LNK1ENA, FUNCTION_LNK1ENA);
}

#[test]
fn itm_lock_access_needs_the_key() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(ITM_BASE + ITM_LSR), LSR_SLI | LSR_SLK);
    bus.set_word(ITM_BASE + ITM_TCR, TCR_ITMENA);
    assert_eq!(bus.word(ITM_BASE + ITM_TCR), 0, "locked");

    bus.set_word(ITM_BASE + ITM_LAR, 0xC5AC_CE54);
    assert_eq!(bus.word(ITM_BASE + ITM_LSR), LSR_SLI | LSR_SLK);
    bus.set_word(ITM_BASE + ITM_LAR, LAR_KEY);
    assert_eq!(bus.word(ITM_BASE + ITM_LSR), LSR_SLI);
    bus.set_word(ITM_BASE + ITM_TCR, TCR_ITMENA);
    assert_eq!(bus.word(ITM_BASE + ITM_TCR), TCR_ITMENA);

    bus.set_word(ITM_BASE + ITM_LAR, 0);
    bus.set_word(ITM_BASE + ITM_TCR, 0);
    assert_eq!(bus.word(ITM_BASE + ITM_TCR), TCR_ITMENA, "locked again");
}

#[test]
fn itm_control_registers_keep_their_fields() {
    let mut bus = cortex_m4_bus();
    bus.set_word(ITM_BASE + ITM_LAR, LAR_KEY);
    bus.set_word(ITM_BASE + ITM_TER, 0xFFFF_FFFF);
    bus.set_word(ITM_BASE + ITM_TPR, 0xFFFF_FFFF);
    bus.set_word(ITM_BASE + ITM_TCR, 0xFFFF_FFFF);
    assert_eq!(bus.word(ITM_BASE + ITM_TER), 0xFFFF_FFFF);
    assert_eq!(bus.word(ITM_BASE + ITM_TPR), 0xF);
    assert_eq!(bus.word(ITM_BASE + ITM_TCR), 0x007F_0F1F);
}

#[test]
fn itm_stimulus_ports_are_ready_while_enabled() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(ITM_BASE + ITM_STIM0), 0);
    bus.set_word(ITM_BASE + ITM_LAR, LAR_KEY);
    bus.set_word(ITM_BASE + ITM_TCR, TCR_ITMENA);
    assert_eq!(bus.word(ITM_BASE + ITM_STIM31), 1);
    bus.write(ITM_BASE + ITM_STIM0, AccessSize::Byte, 0x41)
        .unwrap();
}

#[test]
fn code_memory_holds_the_boot_vector_table_and_a_branch_to_self() {
    let mut bus = cortex_m4_bus();
    assert_eq!(bus.word(0), INITIAL_SP);
    assert_eq!(bus.word(4), RESET_HANDLER | 1);
    assert_eq!(bus.word(8) & 1, 1, "NMI handler is Thumb");
    assert_eq!(bus.word(7 * 4), 0, "reserved vector");
    assert_eq!(
        bus.read(RESET_HANDLER, AccessSize::Halfword),
        Ok(u32::from(BRANCH_TO_SELF))
    );
    assert_eq!(bus.word(FLASH_SIZE - 4), 0xFFFF_FFFF, "erased");
}

#[test]
fn code_memory_accepts_writes_as_pyocd_generic_map_expects() {
    let mut bus = cortex_m4_bus();
    bus.write(RESET_HANDLER, AccessSize::Halfword, 0xBE00)
        .unwrap();
    assert_eq!(bus.read(RESET_HANDLER, AccessSize::Halfword), Ok(0xBE00));
}

#[test]
fn read_only_flash_faults_writes_and_keeps_its_image() {
    let image = flash::boot_image(INITIAL_SP);
    let mut flash = Flash::with_image(0x1000, &image, WritePolicy::Fault);
    assert_eq!(flash.write(0, AccessSize::Word, 0), Err(BusFault));
    assert_eq!(flash.read(0, AccessSize::Word), Ok(INITIAL_SP));
    assert_eq!(flash.read(0x1000, AccessSize::Byte), Err(BusFault));
}

#[test]
fn addresses_outside_memory_and_components_are_bus_errors() {
    let mut bus = cortex_m4_bus();
    let holes = [
        FLASH_SIZE,
        RAM_BASE - 4,
        RAM_BASE + RAM_SIZE,
        0x4000_0000,
        0xE000_3000,
        0xE000_D000,
        0xE004_1000,
        0xE00F_E000,
        0xE010_0000,
    ];
    for addr in holes {
        assert_eq!(bus.read(addr, AccessSize::Word), Err(BusFault), "{addr:#x}");
    }
    assert_eq!(bus.word(RAM_BASE + RAM_SIZE - 4), 0);
}
