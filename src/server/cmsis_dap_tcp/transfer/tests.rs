//! How DAP_Transfer and DAP_TransferBlock packets become operations: runs
//! to one register become one operation, and a packet ending with a write
//! confirms it.

use super::*;

fn request(request: u8, data: Option<u32>) -> TransferRequest {
    TransferRequest { request, data }
}

#[test]
fn runs_of_reads_of_one_ap_register_become_one_multiple_read() {
    let mut registers = ClientRegisters::default();
    let plan = plan_transfers(
        &mut registers,
        &[
            request(0x05, Some(0x2000_0000)), // AP write TAR
            request(0x0F, None),              // AP read DRW ×3
            request(0x0F, None),
            request(0x0F, None),
            request(0x03, None), // AP read CSW
            request(0x0F, None), // AP read DRW
        ],
    );
    assert_eq!(
        plan.ops,
        [
            Op::WriteAp {
                addr: 0x4,
                value: 0x2000_0000
            },
            Op::ReadApMultiple {
                addr: 0xC,
                count: 3
            },
            Op::ReadAp(0x0),
            Op::ReadAp(0xC),
        ]
    );
}

#[test]
fn runs_of_writes_of_a_data_register_become_one_multiple_write() {
    let mut registers = ClientRegisters::default();
    let plan = plan_transfers(
        &mut registers,
        &[
            request(0x05, Some(0x2000_0000)), // AP write TAR
            request(0x05, Some(0x2000_0100)), // and again: not memory
            request(0x0D, Some(1)),           // AP write DRW ×3
            request(0x0D, Some(2)),
            request(0x0D, Some(3)),
            request(0x01, Some(0x23)), // AP write CSW
            request(0x0D, Some(4)),    // AP write DRW
        ],
    );
    assert_eq!(
        plan.ops,
        [
            Op::WriteAp {
                addr: 0x4,
                value: 0x2000_0000
            },
            Op::WriteAp {
                addr: 0x4,
                value: 0x2000_0100
            },
            Op::WriteApMultiple {
                addr: 0xC,
                values: vec![1, 2, 3]
            },
            Op::WriteAp {
                addr: 0x0,
                value: 0x23
            },
            Op::WriteAp {
                addr: 0xC,
                value: 4
            },
            Op::ReadDp(DP_RDBUFF),
        ]
    );
}

#[test]
fn a_packet_ending_with_a_write_confirms_it_with_rdbuff() {
    let mut registers = ClientRegisters::default();
    let plan = plan_transfers(
        &mut registers,
        &[request(0x02, None), request(0x05, Some(1))],
    );
    assert_eq!(plan.ops.last(), Some(&Op::ReadDp(DP_RDBUFF)));
    let plan = plan_transfers(
        &mut registers,
        &[request(0x05, Some(1)), request(0x02, None)],
    );
    assert_eq!(plan.ops.len(), 2, "a read confirms it already");
    assert_eq!(
        plan_block(&mut registers, 0x0D, 2, vec![1, 2]).last(),
        Some(&Op::ReadDp(DP_RDBUFF))
    );
}
