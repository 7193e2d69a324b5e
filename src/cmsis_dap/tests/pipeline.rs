//! The transfer pipeline against the emulated firmware, on virtual time:
//! groups packed together answer as the same operations run one at a
//! time, every word in its place; a failure stops its own group at the
//! transfer that failed and no other group; the packets fill across group
//! boundaries and keep to the probe's window.

use super::with_firmware::{assert_kept_to_the_packet_limits, driver_on};
use crate::cmsis_dap::CmsisDapProbe;
use crate::probe::{
    DebugProbe, Op, OpOutput, ProbeError, Progress, SequenceOutput, TransferPipeline,
};
use crate::sim::dap_firmware::{SimDapFirmware, UsbModel};
use crate::sim::dp::{DPIDR_VALUE, DP_ABORT, DP_CTRL_STAT, DP_IDR, DP_RDBUFF, STKERRCLR};
use crate::sim::mem_ap::{AP_CSW, AP_DRW, AP_TAR, CSW_ADDRINC_SINGLE, CSW_SIZE32};
use crate::sim::{RAM_BASE, RAM_SIZE};

pub(super) type Driver = CmsisDapProbe<SimDapFirmware>;

/// The last words of RAM: the next one faults.
const RAM_END: u32 = RAM_BASE + RAM_SIZE;

fn csw() -> Op {
    Op::WriteAp {
        addr: u32::from(AP_CSW),
        value: CSW_SIZE32 | CSW_ADDRINC_SINGLE,
    }
}

fn tar(address: u32) -> Op {
    Op::WriteAp {
        addr: u32::from(AP_TAR),
        value: address,
    }
}

fn drw_write(value: u32) -> Op {
    Op::WriteAp {
        addr: u32::from(AP_DRW),
        value,
    }
}

fn drw_reads(count: u32) -> Op {
    Op::ReadApMultiple {
        addr: u32::from(AP_DRW),
        count,
    }
}

fn dp_read(addr: u8) -> Op {
    Op::ReadDp(u32::from(addr))
}

fn pattern(count: usize) -> Vec<u32> {
    (0..count as u32)
        .map(|i| i.wrapping_mul(0x9E37_79B9) ^ 0x5A5A_0000)
        .collect()
}

/// Issues every group, then runs the pipeline dry; the groups' outputs.
pub(super) fn pipelined(probe: &mut Driver, groups: &[Vec<Op>]) -> Vec<SequenceOutput> {
    for group in groups {
        TransferPipeline::issue(probe, group);
    }
    while TransferPipeline::advance(probe) {}
    std::iter::from_fn(|| probe.take_finished()).collect()
}

/// The same groups, each operation a call of its own, in turn.
pub(super) fn one_by_one(probe: &mut Driver, groups: &[Vec<Op>]) -> Vec<SequenceOutput> {
    groups
        .iter()
        .map(|ops| {
            SequenceOutput::run(ops, |op| {
                let mut memaps = crate::memap::MemAps::default();
                crate::worker::execute(probe, &mut memaps, op)
            })
        })
        .collect()
}

fn words(output: &OpOutput) -> Vec<u32> {
    match output {
        OpOutput::Words(words) => words.clone(),
        OpOutput::Word(word) => vec![*word],
        other => panic!("no words in {other:?}"),
    }
}

/// Four groups: one writes 60 words, one reads some back and then reads
/// past the end of RAM (the fourth transfer of its DAP packet), one meets the
/// STICKYERR that left, one clears it and reads again.
fn groups(values: &[u32]) -> Vec<Vec<Op>> {
    let mut write: Vec<Op> = vec![csw(), tar(RAM_BASE)];
    write.extend(values.iter().map(|&v| drw_write(v)));
    write.push(dp_read(DP_RDBUFF));
    vec![
        write,
        vec![
            tar(RAM_BASE + 40),
            drw_reads(20),
            tar(RAM_END),
            drw_reads(5),
            dp_read(DP_IDR),
        ],
        vec![
            dp_read(DP_IDR),
            Op::ReadAp(u32::from(AP_CSW)),
            dp_read(DP_IDR),
        ],
        vec![
            Op::WriteDp {
                addr: u32::from(DP_ABORT),
                value: STKERRCLR,
            },
            tar(RAM_BASE + 100),
            drw_reads(10),
            dp_read(DP_CTRL_STAT),
        ],
    ]
}

#[test]
fn groups_answer_as_their_operations_run_one_by_one() {
    for usb in [UsbModel::FsHid, UsbModel::HsBulk, UsbModel::None] {
        let values = pattern(60);
        let (mut probe, stats) = driver_on(usb);
        let set_up = stats.get().packets;
        let got = pipelined(&mut probe, &groups(&values));
        let (mut alone, alone_stats) = driver_on(usb);
        let before = alone_stats.get().packets;
        let expected = one_by_one(&mut alone, &groups(&values));
        for (got, expected) in got.iter().zip(&expected) {
            assert_eq!(got.outputs, expected.outputs, "{usb:?}");
            assert_eq!(got.failure, expected.failure, "{usb:?}");
        }
        assert_kept_to_the_packet_limits(&stats, usize::from(usb.default_packet_count()));

        // Every word read is the one written there.
        assert_eq!(got[0].outputs.len(), 63, "{usb:?}");
        assert_eq!(got[0].failure, None);
        assert_eq!(words(&got[1].outputs[1]), values[10..30]);
        assert_eq!(got[1].outputs.len(), 3, "stops at the run that faults");
        assert!(matches!(got[1].failure, Some(ProbeError::TransferFault(_))));
        // The run's first read faulted; the pipeline knows it exactly.
        assert_eq!(got[1].progress, Some(Progress::default()));
        assert_eq!(got[2].outputs, [OpOutput::Word(DPIDR_VALUE)]);
        assert!(matches!(got[2].failure, Some(ProbeError::TransferFault(_))));
        assert_eq!(got[3].failure, None);
        assert_eq!(words(&got[3].outputs[2]), values[25..35]);
        if usb == UsbModel::FsHid {
            // Groups share packets: fewer than one at a time takes.
            let pipelined_packets = stats.get().packets - set_up;
            let alone_packets = alone_stats.get().packets - before;
            assert!(
                pipelined_packets < alone_packets,
                "{pipelined_packets} vs {alone_packets}"
            );
        }
    }
}

#[test]
fn a_write_that_faults_stops_its_group_at_that_write_and_no_other_group() {
    let (mut probe, _stats) = driver_on(UsbModel::FsHid);
    let groups = vec![
        vec![
            csw(),
            tar(RAM_END - 8),
            drw_write(1),
            drw_write(2),
            // Four writes to DRW (a block) past the end of RAM: the first
            // faults.
            tar(RAM_END),
            drw_write(3),
            drw_write(4),
            drw_write(5),
            drw_write(6),
            dp_read(DP_RDBUFF),
        ],
        vec![dp_read(DP_IDR), Op::ReadAp(u32::from(AP_CSW))],
        vec![
            Op::WriteDp {
                addr: u32::from(DP_ABORT),
                value: STKERRCLR,
            },
            tar(RAM_END - 8),
            drw_reads(2),
        ],
    ];
    let got = pipelined(&mut probe, &groups);
    // Stopped at the write that faulted, not at the read that confirms.
    assert_eq!(got[0].outputs, vec![OpOutput::Done; 5]);
    assert!(matches!(got[0].failure, Some(ProbeError::TransferFault(_))));
    assert_eq!(got[0].progress, Some(Progress::default()));
    assert_eq!(got[1].outputs, [OpOutput::Word(DPIDR_VALUE)]);
    assert!(matches!(got[1].failure, Some(ProbeError::TransferFault(_))));
    assert_eq!(got[2].failure, None);
    assert_eq!(got[2].outputs[2], OpOutput::Words(vec![1, 2]));
}

#[test]
fn many_groups_fill_packets_across_their_boundaries() {
    let (mut probe, stats) = driver_on(UsbModel::FsHid);
    let values = pattern(30 * 32);
    // A TAR write per 4 KiB auto-increment page.
    let write: Vec<Op> = values
        .chunks(1024)
        .enumerate()
        .flat_map(|(page, chunk)| {
            [
                tar(RAM_BASE + page as u32 * 4096),
                Op::WriteApMultiple {
                    addr: u32::from(AP_DRW),
                    values: chunk.to_vec(),
                },
            ]
        })
        .collect();
    let mut setup = vec![csw()];
    setup.extend(write);
    assert_eq!(pipelined(&mut probe, &[setup])[0].failure, None);
    let before = stats.get().packets;
    // 30 groups of a TAR write and 32 reads: alone, 3 packets each (a
    // 64-byte reply holds 15 words); together, about 960 / 15.
    let groups: Vec<Vec<Op>> = (0..30u32)
        .map(|i| vec![tar(RAM_BASE + i * 32 * 4), drw_reads(32)])
        .collect();
    let got = pipelined(&mut probe, &groups);
    let read: Vec<u32> = got.iter().flat_map(|g| words(&g.outputs[1])).collect();
    assert_eq!(read, values);
    let packets = stats.get().packets - before;
    assert!(packets <= 70, "{packets} packets for 960 words");
    assert_kept_to_the_packet_limits(&stats, 4);
}

#[test]
fn any_other_call_finishes_the_pipeline_first() {
    let (mut probe, _stats) = driver_on(UsbModel::HsBulk);
    TransferPipeline::issue(&mut probe, &[csw(), tar(RAM_BASE), drw_write(0xC0DE)]);
    TransferPipeline::issue(&mut probe, &[tar(RAM_BASE), drw_reads(1)]);
    assert_eq!(probe.read_dp(u32::from(DP_IDR)), Ok(DPIDR_VALUE));
    assert_eq!(probe.take_finished().map(|g| g.failure), Some(None));
    let read = probe.take_finished().expect("finished before the read");
    assert_eq!(read.outputs[1], OpOutput::Words(vec![0xC0DE]));
    assert!(!TransferPipeline::advance(&mut probe));
}
