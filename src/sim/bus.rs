//! The target's memory system as the MEM-AP sees it: a 32-bit address space
//! of mapped devices, where an access to an unmapped address is a bus error.
//!
//! A [`MemoryBus`] holds regions, each a [`BusDevice`] at a base address.
//! Devices see offsets into their own region and right-aligned values; the
//! MEM-AP does the byte-lane placement. Today the bus holds RAM; flash, the
//! ROM table and the Cortex-M debug components (SCS, DWT, FPB, ITM) plug in
//! as further devices.

use std::fmt;

/// The width of one bus access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessSize {
    Byte,
    Halfword,
    Word,
}

impl AccessSize {
    /// Number of bytes moved by one access of this size.
    pub const fn bytes(self) -> u32 {
        match self {
            AccessSize::Byte => 1,
            AccessSize::Halfword => 2,
            AccessSize::Word => 4,
        }
    }

    /// The mask selecting the value bits of an access of this size.
    pub const fn value_mask(self) -> u32 {
        match self {
            AccessSize::Byte => 0xFF,
            AccessSize::Halfword => 0xFFFF,
            AccessSize::Word => 0xFFFF_FFFF,
        }
    }
}

/// The bus answered an access with an error response (AHB HRESP ERROR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusFault;

impl fmt::Display for BusFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bus error")
    }
}

impl std::error::Error for BusFault {}

/// Something mapped on the bus. `offset` is relative to the device's base
/// and aligned to `size`; values are right-aligned (bits `8*size-1:0`).
/// Reads take `&mut self` because debug registers may change on read.
pub trait BusDevice: Send {
    fn read(&mut self, offset: u32, size: AccessSize) -> Result<u32, BusFault>;
    fn write(&mut self, offset: u32, size: AccessSize, value: u32) -> Result<(), BusFault>;

    /// The system reset (nRESET or a reset request) reached this device.
    /// The debug domain is not reset, so devices that belong to it ignore it;
    /// so does memory, whose contents survive a reset.
    fn system_reset(&mut self) {}
}

/// Plain little-endian read/write memory.
pub struct Ram {
    bytes: Vec<u8>,
}

impl Ram {
    /// Zero-filled RAM of `len` bytes.
    pub fn new(len: usize) -> Ram {
        Ram {
            bytes: vec![0; len],
        }
    }

    fn span(&mut self, offset: u32, size: AccessSize) -> Result<&mut [u8], BusFault> {
        let start = usize::try_from(offset).map_err(|_| BusFault)?;
        let end = start.checked_add(size.bytes() as usize).ok_or(BusFault)?;
        self.bytes.get_mut(start..end).ok_or(BusFault)
    }
}

impl BusDevice for Ram {
    fn read(&mut self, offset: u32, size: AccessSize) -> Result<u32, BusFault> {
        let span = self.span(offset, size)?;
        Ok(span
            .iter()
            .rev()
            .fold(0, |value, &byte| (value << 8) | u32::from(byte)))
    }

    fn write(&mut self, offset: u32, size: AccessSize, value: u32) -> Result<(), BusFault> {
        let span = self.span(offset, size)?;
        for (byte, shift) in span.iter_mut().zip((0..32).step_by(8)) {
            *byte = (value >> shift) as u8;
        }
        Ok(())
    }
}

/// Why a region could not be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("a bus region cannot be empty")]
    Empty,
    #[error("region at {base:#010x} of {size:#x} bytes runs past the 4 GiB address space")]
    BeyondAddressSpace { base: u32, size: u32 },
    #[error("region at {base:#010x} overlaps the region at {existing:#010x}")]
    Overlap { base: u32, existing: u32 },
}

struct Region {
    base: u32,
    /// One past the last byte, widened so a region may end at 4 GiB.
    end: u64,
    device: Box<dyn BusDevice>,
}

impl Region {
    fn contains(&self, addr: u32, size: AccessSize) -> bool {
        addr >= self.base && u64::from(addr) + u64::from(size.bytes()) <= self.end
    }
}

/// The address space: non-overlapping regions, anything else unmapped.
#[derive(Default)]
pub struct MemoryBus {
    regions: Vec<Region>,
}

impl MemoryBus {
    /// A bus with nothing mapped: every access is a bus error.
    pub fn new() -> MemoryBus {
        MemoryBus::default()
    }

    /// Maps `device` at `base..base + size`.
    pub fn map(
        &mut self,
        base: u32,
        size: u32,
        device: Box<dyn BusDevice>,
    ) -> Result<(), MapError> {
        if size == 0 {
            return Err(MapError::Empty);
        }
        let end = u64::from(base) + u64::from(size);
        if end > 1 << 32 {
            return Err(MapError::BeyondAddressSpace { base, size });
        }
        if let Some(existing) = self
            .regions
            .iter()
            .find(|r| u64::from(base) < r.end && u64::from(r.base) < end)
        {
            return Err(MapError::Overlap {
                base,
                existing: existing.base,
            });
        }
        self.regions.push(Region { base, end, device });
        Ok(())
    }

    /// Reads `size` bytes at `addr` (aligned to `size`), right-aligned.
    pub fn read(&mut self, addr: u32, size: AccessSize) -> Result<u32, BusFault> {
        let region = self.region(addr, size)?;
        region.device.read(addr - region.base, size)
    }

    /// Writes the low `size` bytes of `value` at `addr` (aligned to `size`).
    pub fn write(&mut self, addr: u32, size: AccessSize, value: u32) -> Result<(), BusFault> {
        let region = self.region(addr, size)?;
        region
            .device
            .write(addr - region.base, size, value & size.value_mask())
    }

    /// Passes a system reset to every device.
    pub fn system_reset(&mut self) {
        for region in &mut self.regions {
            region.device.system_reset();
        }
    }

    fn region(&mut self, addr: u32, size: AccessSize) -> Result<&mut Region, BusFault> {
        self.regions
            .iter_mut()
            .find(|r| r.contains(addr, size))
            .ok_or(BusFault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn system_reset_keeps_ram_contents() {
        let mut bus = bus_with_ram();
        bus.write(0x2000_0000, AccessSize::Word, 0xCAFE_F00D)
            .unwrap();
        bus.system_reset();
        assert_eq!(bus.read(0x2000_0000, AccessSize::Word), Ok(0xCAFE_F00D));
    }
}
