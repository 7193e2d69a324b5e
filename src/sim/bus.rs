//! The target's memory system as the MEM-AP sees it: a 32-bit address space
//! of mapped devices, where an access to an unmapped address is a bus error.
//!
//! A [`MemoryBus`] holds regions, each a [`BusDevice`] at a base address.
//! Devices see offsets into their own region and right-aligned values; the
//! MEM-AP does the byte-lane placement. The virtual Cortex-M4 (`cortex`)
//! maps its code memory, RAM, ROM table and debug components here.
//!
//! Reset has two edges, as nRESET does: [`MemoryBus::enter_reset`] tells
//! every device the system went into reset, [`MemoryBus::leave_reset`] that
//! it came out; a device may then read the rest of the bus (the processor
//! fetches its vector table). A device may also ask for a system reset
//! (AIRCR.SYSRESETREQ): the bus takes it right after the write that asked.
//!
//! Time passes between the debugger's writes: after each write, and after
//! leaving reset, every device may [`run`](BusDevice::run) with a view of
//! the rest of the bus (the processor fetches the instruction at its PC and
//! looks for a breakpoint there). Reads change no state that running
//! depends on, so they do not give the devices a turn.

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

    /// The system came out of reset. `read_word` reads an aligned word
    /// anywhere on the bus except this device's own region.
    fn reset_released(&mut self, _read_word: &mut WordReader<'_>) {}

    /// Whether this device asked for a system reset since the last call
    /// (the request is consumed).
    fn take_reset_request(&mut self) -> bool {
        false
    }

    /// The system ran for a while; `read_word` reads the rest of the bus.
    fn run(&mut self, _read_word: &mut WordReader<'_>) {}

    /// A mass erase (a CTRL-AP's ERASEALL) reached this device: non-volatile
    /// memory goes to its erased state; everything else ignores it.
    fn erase(&mut self) {}
}

/// Reads one aligned word from the bus, as a device sees the rest of it.
pub type WordReader<'a> = dyn FnMut(u32) -> Result<u32, BusFault> + 'a;

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
    /// A write that asks for a system reset resets the system before
    /// this returns.
    pub fn write(&mut self, addr: u32, size: AccessSize, value: u32) -> Result<(), BusFault> {
        let region = self.region(addr, size)?;
        region
            .device
            .write(addr - region.base, size, value & size.value_mask())?;
        if region.device.take_reset_request() {
            self.system_reset();
        } else {
            self.run();
        }
        Ok(())
    }

    /// A whole system reset: into reset and out again.
    pub fn system_reset(&mut self) {
        self.enter_reset();
        self.leave_reset();
    }

    /// The system goes into reset (and stays there until `leave_reset`).
    pub fn enter_reset(&mut self) {
        for region in &mut self.regions {
            region.device.system_reset();
        }
    }

    /// Erases every non-volatile memory on the bus (a mass erase).
    pub fn erase_non_volatile(&mut self) {
        for region in &mut self.regions {
            region.device.erase();
        }
    }

    /// The system comes out of reset; each device may read the others,
    /// then the system runs.
    pub fn leave_reset(&mut self) {
        self.with_rest_of_bus(|device, read_word| device.reset_released(read_word));
        self.run();
    }

    /// Gives every device its turn to run.
    fn run(&mut self) {
        self.with_rest_of_bus(|device, read_word| device.run(read_word));
    }

    /// Calls `action` on each device in turn, with a reader of the other
    /// regions (a device never reads itself through it).
    fn with_rest_of_bus(
        &mut self,
        mut action: impl FnMut(&mut dyn BusDevice, &mut WordReader<'_>),
    ) {
        for index in 0..self.regions.len() {
            let (before, rest) = self.regions.split_at_mut(index);
            let Some((this, after)) = rest.split_first_mut() else {
                break;
            };
            let mut read_word = |addr: u32| {
                let addr = addr & !3;
                before
                    .iter_mut()
                    .chain(after.iter_mut())
                    .find(|r| r.contains(addr, AccessSize::Word))
                    .ok_or(BusFault)
                    .and_then(|r| r.device.read(addr - r.base, AccessSize::Word))
            };
            action(this.device.as_mut(), &mut read_word);
        }
    }

    fn region(&mut self, addr: u32, size: AccessSize) -> Result<&mut Region, BusFault> {
        self.regions
            .iter_mut()
            .find(|r| r.contains(addr, size))
            .ok_or(BusFault)
    }
}
