//! The code memory at 0x00000000, preloaded with a program that boots and
//! then makes no progress.
//!
//! Writes: real flash ignores plain bus writes or answers them with a bus
//! error; [`WritePolicy::Fault`] models the latter. The virtual target
//! maps its code memory with [`WritePolicy::Accept`] instead, like the
//! code SRAM at 0 of Arm's MPS2 Cortex-M4 FPGA images, because that is
//! what pyOCD's generic `cortex_m` target believes: its memory map calls
//! 0x00000000-0x1FFFFFFF RAM, so gdb's breakpoints there (Z0) become BKPT
//! writes. Against read-only code, pyOCD drops them silently and gdb's
//! first `stepi`, a software single step onto the `b .` at the reset
//! handler, never returns. There is no flash controller either way.
//!
//! The boot image ([`boot_image`]): a vector table whose initial SP is the
//! top of RAM and whose reset vector is 0x101 (code at 0x100, Thumb), NMI
//! and HardFault handlers of their own, and every other handler (the
//! configurable faults, SVCall, DebugMonitor, PendSV, SysTick and the 32
//! interrupts) at a shared default. Each is a branch to itself (`b .`).
//! The rest of the flash is erased (0xFF).
//!
//! A mass erase ([`BusDevice::erase`], from the CTRL-AP's ERASEALL) sets
//! every byte to 0xFF, boot image included.

use crate::sim::bus::{AccessSize, BusDevice, BusFault};

pub const FLASH_BASE: u32 = 0x0000_0000;
pub const FLASH_SIZE: u32 = 512 * 1024;

/// Where the reset handler starts.
pub const RESET_HANDLER: u32 = 0x100;
pub const NMI_HANDLER: u32 = 0x104;
pub const HARD_FAULT_HANDLER: u32 = 0x108;
pub const DEFAULT_HANDLER: u32 = 0x10C;
/// Thumb `b .`: an unconditional branch to itself.
pub const BRANCH_TO_SELF: u16 = 0xE7FE;
const THUMB_NOP: u16 = 0xBF00;
const ERASED: u8 = 0xFF;
/// Vector table entries: SP, 15 system exceptions, 32 interrupts.
const VECTORS: usize = 48;
/// Exceptions 7-10 and 13 are reserved; their entries are zero.
const RESERVED_VECTORS: [usize; 5] = [7, 8, 9, 10, 13];

/// The flash contents a fresh target boots from (only its used part;
/// the rest is erased). `initial_sp` is the top of RAM.
pub fn boot_image(initial_sp: u32) -> Vec<u8> {
    let thumb = |handler: u32| handler | 1;
    let vectors = (0..VECTORS).map(|index| match index {
        0 => initial_sp,
        1 => thumb(RESET_HANDLER),
        2 => thumb(NMI_HANDLER),
        3 => thumb(HARD_FAULT_HANDLER),
        _ if RESERVED_VECTORS.contains(&index) => 0,
        _ => thumb(DEFAULT_HANDLER),
    });
    let mut image: Vec<u8> = vectors.flat_map(u32::to_le_bytes).collect();
    for handler in [
        RESET_HANDLER,
        NMI_HANDLER,
        HARD_FAULT_HANDLER,
        DEFAULT_HANDLER,
    ] {
        image.resize(handler as usize, ERASED);
        image.extend(BRANCH_TO_SELF.to_le_bytes());
        // Pads to a word, so a disassembly stays in step.
        image.extend(THUMB_NOP.to_le_bytes());
    }
    image
}

/// What a plain bus write to the code memory does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritePolicy {
    /// Stored, as in RAM.
    Accept,
    /// Answered with a bus error, as by read-only flash.
    Fault,
}

pub struct Flash {
    bytes: Vec<u8>,
    writes: WritePolicy,
}

impl Flash {
    /// `size` bytes holding `image` from their start, the rest erased; an
    /// image longer than the memory is cut to fit.
    pub fn with_image(size: usize, image: &[u8], writes: WritePolicy) -> Flash {
        let mut bytes = vec![ERASED; size];
        let used = image.len().min(size);
        if let (Some(start), Some(content)) = (bytes.get_mut(..used), image.get(..used)) {
            start.copy_from_slice(content);
        }
        Flash { bytes, writes }
    }

    fn span(&mut self, offset: u32, size: AccessSize) -> Result<&mut [u8], BusFault> {
        let start = usize::try_from(offset).map_err(|_| BusFault)?;
        let end = start.checked_add(size.bytes() as usize).ok_or(BusFault)?;
        self.bytes.get_mut(start..end).ok_or(BusFault)
    }
}

impl BusDevice for Flash {
    fn read(&mut self, offset: u32, size: AccessSize) -> Result<u32, BusFault> {
        Ok(self
            .span(offset, size)?
            .iter()
            .rev()
            .fold(0, |value, &byte| (value << 8) | u32::from(byte)))
    }

    fn write(&mut self, offset: u32, size: AccessSize, value: u32) -> Result<(), BusFault> {
        if self.writes == WritePolicy::Fault {
            return Err(BusFault);
        }
        let span = self.span(offset, size)?;
        for (byte, shift) in span.iter_mut().zip((0..32).step_by(8)) {
            *byte = (value >> shift) as u8;
        }
        Ok(())
    }

    fn erase(&mut self) {
        self.bytes.fill(ERASED);
    }
}
