//! Where the memory-handle requests find a MEM-AP's registers: APSEL in
//! the top byte for an APv1 (any AP, not only AP 0, whose CSW is at 0),
//! the base plus 0xD00 for an APv2's MEM-AP registers and 0xDFC for its
//! IDR; and which AP's IDR earns the larger TAR increment page.

use crate::memap::registers::{csw, drw, idr, tar, Idr};
use crate::probe::ApAddress;

#[test]
fn apv1_registers_carry_the_apsel_in_the_top_byte() {
    let ap = ApAddress::V1(1);
    assert_eq!(
        [csw(ap), tar(ap), drw(ap), idr(ap)],
        [0x0100_0000, 0x0100_0004, 0x0100_000C, 0x0100_00FC]
    );
}

#[test]
fn apv2_registers_sit_at_the_base_plus_their_offset() {
    let ap = ApAddress::V2(0x0008_2000);
    assert_eq!(
        [csw(ap), tar(ap), drw(ap), idr(ap)],
        [0x0008_2D00, 0x0008_2D04, 0x0008_2D0C, 0x0008_2DFC]
    );
}

/// Only the Cortex-M3/M4's AHB-AP (ARM, variant 1, type AHB) streams a
/// TAR write over 4 KiB; an APB-AP of the same variant gets ADIv5's 1 KiB.
#[test]
fn only_the_cortex_m_ahb_ap_gets_the_larger_increment_page() {
    let arm_variant_1 = 0x23B << 17 | 0x8 << 13 | 1 << 4;
    assert_eq!(Idr(arm_variant_1 | 1).increment_page(), 0x1000, "AHB-AP");
    assert_eq!(Idr(arm_variant_1 | 2).increment_page(), 0x400, "APB-AP");
    assert_eq!(Idr(0x2477_0011).increment_page(), 0x1000, "the sim's");
}
