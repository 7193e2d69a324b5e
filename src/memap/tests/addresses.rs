//! Where the memory-handle requests find a MEM-AP's registers: APSEL in
//! the top byte for an APv1 (any AP, not only AP 0, whose CSW is at 0),
//! the base plus 0xD00 for an APv2's MEM-AP registers and 0xDFC for its
//! IDR.

use crate::memap::registers::{csw, drw, idr, tar};
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
