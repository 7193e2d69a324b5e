//! The memory bus: regions, faults, and the reset and run hooks it gives
//! its devices.

use crate::sim::bus::*;

fn bus_with_ram() -> MemoryBus {
    let mut bus = MemoryBus::new();
    bus.map(0x2000_0000, 0x100, Box::new(Ram::new(0x100)))
        .unwrap();
    bus
}

#[test]
fn ram_is_little_endian_across_access_sizes() {
    let mut bus = bus_with_ram();
    bus.write(0x2000_0010, AccessSize::Word, 0x4433_2211)
        .unwrap();
    assert_eq!(bus.read(0x2000_0010, AccessSize::Byte), Ok(0x11));
    assert_eq!(bus.read(0x2000_0013, AccessSize::Byte), Ok(0x44));
    assert_eq!(bus.read(0x2000_0012, AccessSize::Halfword), Ok(0x4433));
    bus.write(0x2000_0011, AccessSize::Byte, 0xAB).unwrap();
    assert_eq!(bus.read(0x2000_0010, AccessSize::Word), Ok(0x4433_AB11));
}

#[test]
fn write_stores_only_the_bytes_of_its_size() {
    let mut bus = bus_with_ram();
    bus.write(0x2000_0000, AccessSize::Halfword, 0xFFFF_1234)
        .unwrap();
    assert_eq!(bus.read(0x2000_0000, AccessSize::Word), Ok(0x1234));
}

#[test]
fn unmapped_addresses_are_bus_errors() {
    let mut bus = bus_with_ram();
    assert_eq!(bus.read(0x1FFF_FFFC, AccessSize::Word), Err(BusFault));
    assert_eq!(bus.read(0x2000_0100, AccessSize::Byte), Err(BusFault));
    assert_eq!(bus.write(0x0, AccessSize::Word, 1), Err(BusFault));
}

#[test]
fn access_straddling_the_region_end_is_a_bus_error() {
    let mut bus = bus_with_ram();
    assert_eq!(bus.read(0x2000_00FE, AccessSize::Word), Err(BusFault));
    assert_eq!(bus.read(0x2000_00FC, AccessSize::Word), Ok(0));
}

#[test]
fn overlapping_regions_are_refused() {
    let mut bus = bus_with_ram();
    let overlap = bus.map(0x2000_00F0, 0x100, Box::new(Ram::new(0x100)));
    assert_eq!(
        overlap,
        Err(MapError::Overlap {
            base: 0x2000_00F0,
            existing: 0x2000_0000
        })
    );
    assert!(bus.map(0x2000_0100, 0x10, Box::new(Ram::new(0x10))).is_ok());
}

#[test]
fn region_may_end_at_the_top_of_the_address_space_but_not_past_it() {
    let mut bus = MemoryBus::new();
    assert!(bus
        .map(0xFFFF_FF00, 0x100, Box::new(Ram::new(0x100)))
        .is_ok());
    assert_eq!(bus.read(0xFFFF_FFFC, AccessSize::Word), Ok(0));
    assert_eq!(
        bus.map(0xFFFF_0000, 0x1_0000 + 0x10, Box::new(Ram::new(0x10))),
        Err(MapError::BeyondAddressSpace {
            base: 0xFFFF_0000,
            size: 0x1_0010
        })
    );
    assert_eq!(bus.map(0, 0, Box::new(Ram::new(0))), Err(MapError::Empty));
}

/// Tells through its registers what the bus did to it: word 0 counts
/// resets entered, word 1 holds what it read at 0x2000_0000 when the
/// reset was released, word 2 counts turns to run. Writing word 0
/// asks for a system reset.
#[derive(Default)]
struct Recorder {
    resets: u32,
    read_at_release: u32,
    runs: u32,
    reset_requested: bool,
}

impl BusDevice for Recorder {
    fn read(&mut self, offset: u32, _size: AccessSize) -> Result<u32, BusFault> {
        Ok([self.resets, self.read_at_release, self.runs][(offset / 4) as usize])
    }

    fn write(&mut self, offset: u32, _size: AccessSize, _value: u32) -> Result<(), BusFault> {
        self.reset_requested = offset == 0;
        Ok(())
    }

    fn system_reset(&mut self) {
        self.resets += 1;
    }

    fn reset_released(&mut self, read_word: &mut WordReader<'_>) {
        self.read_at_release = read_word(0x2000_0000).unwrap_or(0xDEAD);
    }

    fn take_reset_request(&mut self) -> bool {
        std::mem::take(&mut self.reset_requested)
    }

    fn run(&mut self, _read_word: &mut WordReader<'_>) {
        self.runs += 1;
    }
}

const RECORDER: u32 = 0x4000_0000;

fn bus_with_recorder() -> MemoryBus {
    let mut bus = bus_with_ram();
    bus.map(RECORDER, 12, Box::new(Recorder::default()))
        .unwrap();
    bus
}

#[test]
fn leaving_reset_lets_devices_read_the_rest_of_the_bus() {
    let mut bus = bus_with_recorder();
    bus.write(0x2000_0000, AccessSize::Word, 0x1234_5678)
        .unwrap();
    bus.enter_reset();
    assert_eq!(bus.read(RECORDER, AccessSize::Word), Ok(1));
    assert_eq!(bus.read(RECORDER + 4, AccessSize::Word), Ok(0));
    bus.leave_reset();
    assert_eq!(bus.read(RECORDER + 4, AccessSize::Word), Ok(0x1234_5678));
}

#[test]
fn a_write_that_requests_a_reset_resets_the_system() {
    let mut bus = bus_with_recorder();
    bus.write(RECORDER + 8, AccessSize::Word, 0).unwrap();
    assert_eq!(bus.read(RECORDER, AccessSize::Word), Ok(0));
    bus.write(RECORDER, AccessSize::Word, 0).unwrap();
    assert_eq!(bus.read(RECORDER, AccessSize::Word), Ok(1));
}

#[test]
fn devices_run_after_writes_and_reset_but_not_after_reads() {
    let mut bus = bus_with_recorder();
    bus.read(0x2000_0000, AccessSize::Word).unwrap();
    assert_eq!(bus.read(RECORDER + 8, AccessSize::Word), Ok(0));
    bus.write(0x2000_0000, AccessSize::Word, 1).unwrap();
    assert_eq!(bus.read(RECORDER + 8, AccessSize::Word), Ok(1));
    bus.system_reset();
    assert_eq!(bus.read(RECORDER + 8, AccessSize::Word), Ok(2));
    assert_eq!(bus.write(0x3000_0000, AccessSize::Word, 1), Err(BusFault));
    assert_eq!(bus.read(RECORDER + 8, AccessSize::Word), Ok(2));
}

#[test]
fn system_reset_keeps_ram_contents() {
    let mut bus = bus_with_ram();
    bus.write(0x2000_0000, AccessSize::Word, 0xCAFE_F00D)
        .unwrap();
    bus.system_reset();
    assert_eq!(bus.read(0x2000_0000, AccessSize::Word), Ok(0xCAFE_F00D));
}
