//! The identification registers every CoreSight component has at the top
//! of its 4 KiB block (ADIv5.2 appendix D1, CoreSight architecture B2):
//! PIDR4-7 at 0xFD0-0xFDC, PIDR0-3 at 0xFE0-0xFEC, CIDR0-3 at 0xFF0-0xFFC,
//! each holding one byte in bits 7:0.
//!
//! Every component here is designed by Arm: JEP106 identity code 0x3B in
//! bank 5 (continuation code 4), which pyOCD shows as designer 0x43b.
//! Each occupies one 4 KiB block (PIDR4.SIZE 0) and has no customer
//! modification or revision (PIDR3 0).

pub const PIDR4: u32 = 0xFD0;
pub const PIDR0: u32 = 0xFE0;
pub const CIDR0: u32 = 0xFF0;
pub const CIDR3: u32 = 0xFFC;

const ARM_JEP106_IDENTITY: u32 = 0x3B;
const ARM_JEP106_CONTINUATION: u32 = 4;
/// PIDR2.JEDEC: the designer is a JEP106 code.
const PIDR2_JEDEC: u32 = 1 << 3;
/// The fixed bytes of CIDR0, CIDR2 and CIDR3 (the preamble).
const CIDR_PREAMBLE: [u32; 3] = [0x0D, 0x05, 0xB1];

/// CIDR1.CLASS: what kind of component this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentClass {
    RomTable = 0x1,
    CoreSight = 0x9,
    /// Generic IP: the ARMv7-M SCS, DWT, FPB and ITM.
    GenericIp = 0xE,
}

/// Who made a component and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComponentId {
    pub part: u16,
    pub revision: u8,
    pub class: ComponentClass,
}

impl ComponentId {
    /// The identification register at `offset` in the component's block,
    /// or `None` if `offset` is not one.
    pub fn register(&self, offset: u32) -> Option<u32> {
        let part = u32::from(self.part);
        let peripheral = [
            part & 0xFF,
            (part >> 8) & 0xF | (ARM_JEP106_IDENTITY & 0xF) << 4,
            (ARM_JEP106_IDENTITY >> 4) & 0x7 | PIDR2_JEDEC | u32::from(self.revision & 0xF) << 4,
            0,
            ARM_JEP106_CONTINUATION,
            0,
            0,
            0,
        ];
        let [cidr0, cidr2, cidr3] = CIDR_PREAMBLE;
        let component = [cidr0, (self.class as u32) << 4, cidr2, cidr3];
        let index = |base: u32| ((offset - base) / 4) as usize;
        match offset {
            PIDR4..=0xFDC => peripheral.get(4 + index(PIDR4)).copied(),
            PIDR0..=0xFEC => peripheral.get(index(PIDR0)).copied(),
            CIDR0..=CIDR3 => component.get(index(CIDR0)).copied(),
            _ => None,
        }
    }
}
