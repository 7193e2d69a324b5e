//! The transfer pipeline at its edges: groups of every shape packed to the
//! last byte of a packet still answer as one by one, within the probe's
//! packet size (its firmware refuses a request and cuts a reply that do
//! not fit); and a link that fails with packets in flight stops every
//! unfinished group at its first operation not answered, leaves the groups
//! finished before it whole, and names the reply that went wrong; what a
//! stopped group had not sent yet is never sent, and SELECT is written
//! again after a failure that may have stopped its write.

use super::pipeline::{one_by_one, pipelined, Driver};
use super::with_firmware::{assert_kept_to_the_packet_limits, driver_on};
use crate::probe::{DebugProbe, Op, OpOutput, ProbeError};
use crate::sim::ctrl_ap::{CTRL_AP_IDR, NORDIC_CTRL_AP_IDR};
use crate::sim::dap_firmware::{ReplyFault, UsbModel};
use crate::sim::dp::{
    CDBGPWRUPREQ, CSYSPWRUPREQ, DPIDR_VALUE, DP_ABORT, DP_CTRL_STAT, DP_IDR, DP_SELECT, STKERRCLR,
};
use crate::sim::mem_ap::{AP_CSW, AP_DRW, AP_TAR, CSW_ADDRINC_SINGLE, CSW_SIZE32};
use crate::sim::{RAM_BASE, RAM_SIZE};

/// The first address past RAM: a MEM-AP access there faults.
const RAM_END: u32 = RAM_BASE + RAM_SIZE;

const DAP_TRANSFER: u8 = 0x05;
const DAP_EXECUTE_COMMANDS: u8 = 0x7F;

fn ap_write(register: u8, value: u32) -> Op {
    Op::WriteAp {
        addr: u32::from(register),
        value,
    }
}

/// Groups of every shape the DAP port passes on, from a fixed seed: runs
/// of DRW writes (blocks) and reads of any length, single AP and DP reads
/// and writes, TAR moves, mixed so that packets fill up to every edge.
fn mixed_groups(seed: u64, count: usize) -> Vec<Vec<Op>> {
    let mut state = seed;
    let mut next = move |below: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % below
    };
    (0..count)
        .map(|_| {
            let mut group = vec![ap_write(AP_TAR, RAM_BASE + 4 * next(512) as u32)];
            for _ in 0..1 + next(4) {
                let n = 1 + next(40) as u32;
                group.push(match next(6) {
                    0 => Op::WriteApMultiple {
                        addr: u32::from(AP_DRW),
                        values: (0..n).map(|i| i.wrapping_mul(0x0101_0101)).collect(),
                    },
                    1 => Op::ReadApMultiple {
                        addr: u32::from(AP_DRW),
                        count: n,
                    },
                    2 => ap_write(AP_DRW, n),
                    3 => Op::ReadDp(u32::from(DP_IDR)),
                    4 => Op::WriteDp {
                        addr: u32::from(DP_SELECT),
                        value: 0,
                    },
                    _ => Op::ReadAp(u32::from(AP_CSW)),
                });
            }
            group
        })
        .collect()
}

#[test]
fn groups_of_every_shape_fit_their_packets_and_answer_as_one_by_one() {
    for usb in [UsbModel::FsHid, UsbModel::HsBulk] {
        let groups = mixed_groups(0x5EED, 120);
        let csw = [vec![ap_write(AP_CSW, CSW_SIZE32 | CSW_ADDRINC_SINGLE)]];
        let (mut alone, _) = driver_on(usb);
        one_by_one(&mut alone, &csw);
        let expected = one_by_one(&mut alone, &groups);
        let (mut probe, stats) = driver_on(usb);
        pipelined(&mut probe, &csw);
        let got = pipelined(&mut probe, &groups);
        assert_eq!(got.len(), expected.len());
        for (i, (got, expected)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(got.outputs, expected.outputs, "{usb:?} group {i}");
            assert_eq!(got.failure, None, "{usb:?} group {i}");
        }
        assert_kept_to_the_packet_limits(&stats, probe.dap_info().packet_count);
    }
}

/// Four groups of a TAR write and 40 reads: several packets each on a
/// full-speed HID probe, more than its window holds at once.
fn reading_groups() -> Vec<Vec<Op>> {
    (0..4u32)
        .map(|i| {
            vec![
                ap_write(AP_TAR, RAM_BASE + i * 0x200),
                Op::ReadApMultiple {
                    addr: u32::from(AP_DRW),
                    count: 40,
                },
                Op::ReadDp(u32::from(DP_IDR)),
            ]
        })
        .collect()
}

/// Arms `fault` on the fifth reply (in the second group: the first takes
/// three 64-byte replies), whichever command its packet carries.
fn arm_fifth_reply(probe: &Driver, fault: ReplyFault) {
    let faults = probe.transport().fault_handle();
    faults.fault_reply(DAP_TRANSFER, 4, fault);
    faults.fault_reply(DAP_EXECUTE_COMMANDS, 4, fault);
}

#[test]
fn a_wrong_reply_stops_every_unfinished_group_and_the_link_resynchronises() {
    let (mut probe, _stats) = driver_on(UsbModel::FsHid);
    let csw = [vec![ap_write(AP_CSW, CSW_SIZE32 | CSW_ADDRINC_SINGLE)]];
    pipelined(&mut probe, &csw);
    arm_fifth_reply(&probe, ReplyFault::WrongCommand(0x06));
    let got = pipelined(&mut probe, &reading_groups());
    assert_eq!(probe.transport().fault_handle().injected(), 1);
    probe.transport().fault_handle().clear();

    assert_eq!(got.len(), 4, "every group finishes");
    let failed = got
        .iter()
        .position(|g| g.failure.is_some())
        .expect("a group failed");
    assert!(failed >= 1, "the first group was answered in full: {got:?}");
    for (i, group) in got.iter().enumerate() {
        if i < failed {
            assert_eq!(group.outputs.len(), 3, "group {i} finished before");
            continue;
        }
        let Some(ProbeError::Probe(message)) = &group.failure else {
            panic!("group {i}: {:?}", group.failure);
        };
        assert!(
            message.starts_with("DAP_Transfer") && message.contains("[06,"),
            "the command and the reply: group {i}: {message}"
        );
        // Stopped at its first operation not answered in full: its reads
        // (and so its last DPIDR read) at the latest.
        assert!(group.outputs.len() <= 1, "group {i}: {:?}", group.outputs);
        if let Some(first) = group.outputs.first() {
            assert_eq!(first, &OpOutput::Done, "group {i}: its TAR write");
        }
    }
    // The driver drained the replies still owed: the next call is answered.
    assert_eq!(probe.read_dp(u32::from(DP_IDR)), Ok(DPIDR_VALUE));
}

#[test]
fn a_probe_gone_with_packets_in_flight_fails_every_unfinished_group_as_disconnected() {
    let (mut probe, _stats) = driver_on(UsbModel::FsHid);
    arm_fifth_reply(&probe, ReplyFault::Disconnect);
    let got = pipelined(&mut probe, &reading_groups());
    assert_eq!(got.len(), 4, "every group finishes");
    let failed = got
        .iter()
        .position(|g| g.failure.is_some())
        .expect("a failure");
    for group in &got[failed..] {
        assert!(
            matches!(group.failure, Some(ProbeError::Disconnected(_))),
            "{:?}",
            group.failure
        );
    }
    assert!(matches!(
        probe.read_dp(u32::from(DP_IDR)),
        Err(ProbeError::Disconnected(_))
    ));
}

/// A CTRL/STAT write that would take the debug port's power-up requests
/// away: it must not run if its group stopped before it.
fn power_down() -> Op {
    Op::WriteDp {
        addr: u32::from(DP_CTRL_STAT),
        value: 0,
    }
}

/// Whether the debug port still has its power-up requests.
fn powered(probe: &mut Driver) -> bool {
    let ctrl_stat = probe.read_dp(u32::from(DP_CTRL_STAT)).unwrap();
    ctrl_stat & (CDBGPWRUPREQ | CSYSPWRUPREQ) == CDBGPWRUPREQ | CSYSPWRUPREQ
}

/// The reads between a group's failure and its last operation: more
/// packets than the window holds, so the last ones are still unsent when
/// the failure is learnt.
fn many_packets_of_reads() -> Op {
    Op::ReadApMultiple {
        addr: u32::from(AP_DRW),
        count: 300,
    }
}

#[test]
fn a_group_that_faulted_sends_none_of_its_operations_not_sent_yet() {
    let (mut probe, _stats) = driver_on(UsbModel::FsHid);
    assert!(powered(&mut probe));
    // The firmware stops a command at its first failed transfer, so the
    // power-down starts a command of its own, after a write block.
    let group = vec![
        ap_write(AP_CSW, CSW_SIZE32 | CSW_ADDRINC_SINGLE),
        ap_write(AP_TAR, RAM_END),
        Op::ReadAp(u32::from(AP_DRW)),
        many_packets_of_reads(),
        Op::WriteApMultiple {
            addr: u32::from(AP_DRW),
            values: vec![0; 32],
        },
        power_down(),
    ];
    let got = pipelined(&mut probe, &[group]);
    assert!(matches!(got[0].failure, Some(ProbeError::TransferFault(_))));
    assert_eq!(got[0].outputs.len(), 2);
    // The replies to the reads after the fault, sent before it was known,
    // are the pipeline's: the next call gets its own.
    assert_eq!(probe.read_dp(u32::from(DP_IDR)), Ok(DPIDR_VALUE));
    probe
        .write_dp(u32::from(DP_ABORT), STKERRCLR)
        .expect("clear the fault");
    assert!(powered(&mut probe), "the power-down after the fault ran");
}

#[test]
fn after_a_wrong_reply_no_packet_of_a_stopped_group_is_sent() {
    let (mut probe, _stats) = driver_on(UsbModel::FsHid);
    let group = vec![
        ap_write(AP_CSW, CSW_SIZE32 | CSW_ADDRINC_SINGLE),
        ap_write(AP_TAR, RAM_BASE),
        many_packets_of_reads(),
        power_down(),
    ];
    arm_fifth_reply(&probe, ReplyFault::WrongCommand(0x06));
    let got = pipelined(&mut probe, &[group]);
    probe.transport().fault_handle().clear();
    assert!(matches!(got[0].failure, Some(ProbeError::Probe(_))));
    // The next group is sent on its own, nothing of the stopped one first.
    let next = pipelined(&mut probe, &[vec![Op::ReadDp(u32::from(DP_IDR))]]);
    assert_eq!(next[0].outputs, [OpOutput::Word(DPIDR_VALUE)]);
    assert!(powered(&mut probe), "the power-down after the failure ran");
}

#[test]
fn a_group_that_faulted_leaves_the_next_groups_packets_to_be_sent() {
    let (mut probe, _stats) = driver_on(UsbModel::FsHid);
    let values: Vec<u32> = (0..300).map(|i| 0xD000_0000 | i).collect();
    let groups = vec![
        vec![
            ap_write(AP_CSW, CSW_SIZE32 | CSW_ADDRINC_SINGLE),
            ap_write(AP_TAR, RAM_END),
            Op::ReadAp(u32::from(AP_DRW)),
            many_packets_of_reads(),
        ],
        vec![
            Op::WriteDp {
                addr: u32::from(DP_ABORT),
                value: STKERRCLR,
            },
            ap_write(AP_TAR, RAM_BASE),
            Op::WriteApMultiple {
                addr: u32::from(AP_DRW),
                values: values.clone(),
            },
            ap_write(AP_TAR, RAM_BASE),
            many_packets_of_reads(),
        ],
    ];
    let got = pipelined(&mut probe, &groups);
    assert!(matches!(got[0].failure, Some(ProbeError::TransferFault(_))));
    assert_eq!(got[1].failure, None);
    assert_eq!(got[1].outputs[4], OpOutput::Words(values));
}

#[test]
fn after_a_failed_group_select_is_written_again_before_the_next_ap_access() {
    let (mut probe, _stats) = driver_on(UsbModel::FsHid);
    // The CTRL-AP's IDR (AP 1) would have needed SELECT written; the fault
    // before it in the same packet stopped that write from running.
    let ctrl_ap_idr = Op::ReadAp(0x0100_0000 | u32::from(CTRL_AP_IDR));
    let group = vec![
        ap_write(AP_CSW, CSW_SIZE32 | CSW_ADDRINC_SINGLE),
        ap_write(AP_TAR, RAM_END),
        Op::ReadAp(u32::from(AP_DRW)),
        ctrl_ap_idr.clone(),
    ];
    let got = pipelined(&mut probe, &[group]);
    assert!(matches!(got[0].failure, Some(ProbeError::TransferFault(_))));
    probe
        .write_dp(u32::from(DP_ABORT), STKERRCLR)
        .expect("clear the fault");
    assert_eq!(
        probe.read_ap(0x0100_0000 | u32::from(CTRL_AP_IDR)),
        Ok(NORDIC_CTRL_AP_IDR),
        "AP 1's IDR, not AP 0's"
    );
}

/// Every split of a packet between single transfers and a write block:
/// `singles` reads (DP and AP), then a run of writes long enough to be a
/// block, then more reads, for every count of singles that moves the
/// block's start across a packet.
#[test]
fn a_block_after_any_number_of_single_transfers_fits_its_packet() {
    for usb in [UsbModel::FsHid, UsbModel::HsBulk] {
        for singles in 0..40u32 {
            let (mut probe, stats) = driver_on(usb);
            let mut group = vec![
                ap_write(AP_CSW, CSW_SIZE32 | CSW_ADDRINC_SINGLE),
                ap_write(AP_TAR, RAM_BASE),
            ];
            group.extend((0..singles).map(|i| {
                if i % 2 == 0 {
                    Op::ReadDp(u32::from(DP_IDR))
                } else {
                    Op::ReadAp(u32::from(AP_CSW))
                }
            }));
            group.push(Op::WriteApMultiple {
                addr: u32::from(AP_DRW),
                values: (0..200).collect(),
            });
            group.push(ap_write(AP_TAR, RAM_BASE));
            group.push(Op::ReadApMultiple {
                addr: u32::from(AP_DRW),
                count: 200,
            });
            let got = pipelined(&mut probe, &[group.clone()]);
            assert_eq!(got[0].failure, None, "{usb:?}, {singles} singles");
            assert_eq!(
                got[0].outputs.last(),
                Some(&OpOutput::Words((0..200).collect())),
                "{usb:?}, {singles} singles"
            );
            assert_kept_to_the_packet_limits(&stats, probe.dap_info().packet_count);
        }
    }
}

/// Single writes that are no block (CSW and TAR in turn): the request,
/// five bytes a write, is what fills the packet, not the reply.
#[test]
fn single_writes_fill_packets_by_their_request_bytes() {
    for usb in [UsbModel::FsHid, UsbModel::HsBulk] {
        let (mut probe, stats) = driver_on(usb);
        let csw = CSW_SIZE32 | CSW_ADDRINC_SINGLE;
        let mut group: Vec<Op> = (0..150u32)
            .flat_map(|i| [ap_write(AP_CSW, csw), ap_write(AP_TAR, RAM_BASE + 4 * i)])
            .collect();
        group.push(Op::ReadAp(u32::from(AP_TAR)));
        let got = pipelined(&mut probe, &[group]);
        assert_eq!(got[0].failure, None, "{usb:?}");
        assert_eq!(
            got[0].outputs.last(),
            Some(&OpOutput::Word(RAM_BASE + 4 * 149)),
            "{usb:?}"
        );
        assert_kept_to_the_packet_limits(&stats, probe.dap_info().packet_count);
    }
}
