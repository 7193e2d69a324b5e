//! Where a MEM-AP's registers are (ADIv5.2 chapter C2; ADIv6 for APv2),
//! at the addresses the probe layer takes: APSEL << 24 | register for an
//! APv1, base address + offset for an APv2, whose MEM-AP registers start
//! at offset 0xD00; and how CSW and IDR are read. The register facts are
//! `dap::registers`'.

use crate::dap::registers::{
    APV2_IDR, APV2_MEM_AP_REGISTERS, AP_IDR, CSW_ADDRINC_MASK, CSW_ADDRINC_SINGLE, CSW_SIZE_16,
    CSW_SIZE_32, CSW_SIZE_8, CSW_SIZE_MASK, IDR_CLASS_MASK, IDR_CLASS_MEM_AP, IDR_CLASS_SHIFT,
    IDR_DESIGNER_ARM, IDR_DESIGNER_MASK, IDR_DESIGNER_SHIFT, IDR_TYPE_AHB, IDR_TYPE_MASK,
    IDR_VARIANT_MASK, IDR_VARIANT_SHIFT, MEM_AP_CSW, MEM_AP_DRW, MEM_AP_TAR, TAR_INCREMENT_PAGE,
};
use crate::probe::ApAddress;

/// The increment of the ARM Cortex-M3/M4 AHB-AP covers bits 11:0.
const CORTEX_M_AHB_AP_INCREMENT_PAGE: u32 = 0x1000;

/// Where each register of a MEM-AP is.
pub(super) fn csw(ap: ApAddress) -> u32 {
    mem_ap_register(ap, MEM_AP_CSW)
}

pub(super) fn tar(ap: ApAddress) -> u32 {
    mem_ap_register(ap, MEM_AP_TAR)
}

pub(super) fn drw(ap: ApAddress) -> u32 {
    mem_ap_register(ap, MEM_AP_DRW)
}

/// The identification register, present in every kind of AP.
pub(super) fn idr(ap: ApAddress) -> u32 {
    match ap {
        ApAddress::V1(apsel) => apv1_base(apsel) | u32::from(AP_IDR),
        ApAddress::V2(base) => base | APV2_IDR,
    }
}

fn mem_ap_register(ap: ApAddress, offset: u8) -> u32 {
    let offset = u32::from(offset);
    match ap {
        ApAddress::V1(apsel) => apv1_base(apsel) | offset,
        // The base is 4 KiB aligned (the server refuses others), so OR is
        // addition here and cannot overflow.
        ApAddress::V2(base) => base | APV2_MEM_AP_REGISTERS | offset,
    }
}

fn apv1_base(apsel: u8) -> u32 {
    u32::from(apsel) << 24
}

/// A transfer size: CSW.Size and the width of each DRW access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Size {
    Byte,
    Halfword,
    Word,
}

impl Size {
    /// From a request's `xfer_size` in bits.
    pub(super) fn from_bits(bits: u8) -> Option<Size> {
        match bits {
            8 => Some(Size::Byte),
            16 => Some(Size::Halfword),
            32 => Some(Size::Word),
            _ => None,
        }
    }

    pub(super) fn bytes(self) -> u32 {
        match self {
            Size::Byte => 1,
            Size::Halfword => 2,
            Size::Word => 4,
        }
    }

    pub(super) fn bits(self) -> u32 {
        8 * self.bytes()
    }

    /// The CSW.Size encoding.
    pub(super) fn csw_field(self) -> u32 {
        match self {
            Size::Byte => CSW_SIZE_8,
            Size::Halfword => CSW_SIZE_16,
            Size::Word => CSW_SIZE_32,
        }
    }

    /// How far up the 32-bit data bus an access at `addr` sits: ADIv5 puts
    /// a byte or halfword in the lanes that TAR[1:0] selects.
    pub(super) fn lane_shift(self, addr: u32) -> u32 {
        8 * (addr & 0b11 & !(self.bytes() - 1))
    }

    /// The access's value, taken from its lanes of a DRW word.
    pub(super) fn take_from_lanes(self, addr: u32, word: u32) -> u32 {
        let value = word >> self.lane_shift(addr);
        match self {
            Size::Byte => value & 0xFF,
            Size::Halfword => value & 0xFFFF,
            Size::Word => value,
        }
    }

    /// The access's value, placed in its lanes of a DRW word.
    pub(super) fn place_in_lanes(self, addr: u32, value: u32) -> u32 {
        value << self.lane_shift(addr)
    }
}

/// The CSW for transfers of `size` with single auto-increment, keeping
/// every other bit of `found` (HPROT, HNONSEC, MasterType, DbgSwEnable and
/// the rest are the client's or the AP's, never the server's to change).
pub(super) fn csw_for(found: u32, size: Size) -> u32 {
    found & !(CSW_SIZE_MASK | CSW_ADDRINC_MASK) | size.csw_field() | CSW_ADDRINC_SINGLE
}

/// An AP identification register value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Idr(pub(super) u32);

impl Idr {
    /// The variant of ARM's AHB-AP in the Cortex-M3/M4.
    const VARIANT_CORTEX_M: u32 = 1;

    /// IDR[16:13]; 0b1000 is a MEM-AP whoever designed it, since its
    /// CSW/TAR/DRW layout is architected.
    fn class(self) -> u32 {
        (self.0 >> IDR_CLASS_SHIFT) & IDR_CLASS_MASK
    }

    /// The JEP106 continuation code and identity, IDR[27:17].
    fn designer(self) -> u32 {
        (self.0 >> IDR_DESIGNER_SHIFT) & IDR_DESIGNER_MASK
    }

    fn variant(self) -> u32 {
        (self.0 >> IDR_VARIANT_SHIFT) & IDR_VARIANT_MASK
    }

    fn ap_type(self) -> u32 {
        self.0 & IDR_TYPE_MASK
    }

    /// Zero means no AP answers at this address.
    pub(super) fn is_mem_ap(self) -> bool {
        self.0 != 0 && self.class() == IDR_CLASS_MEM_AP
    }

    /// How many bytes one TAR write may stream through. Only the AP known
    /// to do better gets more than ADIv5's promise: ARM's AHB-AP of the
    /// Cortex-M3/M4 (variant 1), as pyOCD also knows it.
    pub(super) fn increment_page(self) -> u32 {
        let cortex_m_ahb_ap = self.designer() == IDR_DESIGNER_ARM
            && self.variant() == Self::VARIANT_CORTEX_M
            && self.ap_type() == IDR_TYPE_AHB;
        if self.is_mem_ap() && cortex_m_ahb_ap {
            CORTEX_M_AHB_AP_INCREMENT_PAGE
        } else {
            TAR_INCREMENT_PAGE
        }
    }
}
