//! Pipelined jobs against the same jobs run one operation at a time: the
//! same completions, word for word and failure for failure, when one
//! client's packets fault part-way and another client's come between;
//! and a client's run goes on across batches while its jobs keep coming;
//! and what keeps a packet out of the pipeline: another client's run not
//! yet cleaned up, another client's line reset not yet followed by DPIDR.

use std::sync::{Arc, Mutex};

use super::super::tests::Recorder;
use super::super::{Batch, Completion, Job, Runner, Task};
use crate::dap::registers::{ABORT_STKERRCLR, STICKYERR};
use crate::ids::{ClientId, JobId};
use crate::probe::{Op, OpOutput, ProbeError, ProtocolRequest, SequenceOutput};
use crate::sim::{dap_firmware::UsbModel, virtual_probe, RAM_BASE};

const A: ClientId = ClientId(1);
const B: ClientId = ClientId(2);
const CSW: u32 = 0x00;
const TAR: u32 = 0x04;
const DRW: u32 = 0x0C;
const WORDS: u32 = 0x2300_0012;
const UNMAPPED: u32 = 0x1000_0000;
const DP_IDR: u32 = 0x0;
const DP_ABORT: u32 = 0x0;
const DP_CTRL_STAT: u32 = 0x4;
const DP_RDBUFF: u32 = 0xC;

fn write_ap(addr: u32, value: u32) -> Op {
    Op::WriteAp { addr, value }
}

/// A connected, powered virtual target behind a recorder that offers the
/// pipeline or not.
fn probe(pipelined: bool) -> (Recorder, Runner) {
    let mut recorder = Recorder {
        probe: virtual_probe("pipeline-test", UsbModel::FsHid).unwrap(),
        log: Arc::new(Mutex::new(Vec::new())),
        failing_dp_reads: 0,
        pipelined,
    };
    let mut runner = Runner::default();
    let set_up = [
        Op::Open,
        Op::Connect(ProtocolRequest::Default),
        Op::WriteDp {
            addr: DP_CTRL_STAT,
            value: 0x5000_0000,
        },
    ];
    for (i, op) in set_up.into_iter().enumerate() {
        let batch = Batch {
            jobs: vec![Job {
                id: JobId(1000 + i as u64),
                client: None,
                task: Task::Probe(op),
                flush_after: true,
            }],
            departed: Vec::new(),
        };
        assert!(runner.run_batch(&mut recorder, batch)[0].result.is_ok());
    }
    recorder.log.lock().unwrap().clear();
    (recorder, runner)
}

/// Sequence jobs in one batch, each client's run ending where the next
/// job is another's, as the arbiter marks them.
fn batch(jobs: &[(ClientId, Vec<Op>)]) -> Batch {
    Batch {
        jobs: jobs
            .iter()
            .enumerate()
            .map(|(i, (client, ops))| Job {
                id: JobId(i as u64 + 1),
                client: Some(*client),
                task: Task::Sequence(ops.clone()),
                flush_after: jobs.get(i + 1).is_none_or(|(next, _)| next != client),
            })
            .collect(),
        departed: Vec::new(),
    }
}

fn sequence(completion: &Completion) -> &SequenceOutput {
    match &completion.result {
        Ok(OpOutput::Sequence(sequence)) => sequence,
        other => panic!("not a sequence: {other:?}"),
    }
}

/// A's three packets (the second faults part-way, the third meets the
/// STICKYERR it left), B's packet, A's again (refused until it writes
/// ABORT), and both reading back what they wrote.
fn interleaved() -> Vec<(ClientId, Vec<Op>)> {
    let values: Vec<u32> = (1..=40).map(|i| 0xA000_0000 | i).collect();
    vec![
        (
            A,
            vec![
                write_ap(CSW, WORDS),
                write_ap(TAR, RAM_BASE),
                Op::WriteApMultiple {
                    addr: DRW,
                    values: values.clone(),
                },
                Op::ReadDp(DP_RDBUFF),
            ],
        ),
        (
            A,
            vec![
                write_ap(TAR, RAM_BASE + 8),
                Op::ReadApMultiple {
                    addr: DRW,
                    count: 30,
                },
                write_ap(TAR, UNMAPPED),
                Op::ReadApMultiple {
                    addr: DRW,
                    count: 4,
                },
                Op::ReadDp(DP_IDR),
            ],
        ),
        (A, vec![Op::ReadDp(DP_IDR), Op::ReadAp(CSW)]),
        (
            B,
            vec![
                write_ap(CSW, WORDS),
                write_ap(TAR, RAM_BASE + 0x400),
                write_ap(DRW, 0xB0B0),
                Op::ReadDp(DP_CTRL_STAT),
            ],
        ),
        (A, vec![Op::ReadDp(DP_CTRL_STAT), Op::ReadAp(CSW)]),
        (
            A,
            vec![
                Op::WriteDp {
                    addr: DP_ABORT,
                    value: ABORT_STKERRCLR,
                },
                write_ap(TAR, RAM_BASE),
                Op::ReadApMultiple {
                    addr: DRW,
                    count: 40,
                },
            ],
        ),
        (B, vec![write_ap(TAR, RAM_BASE + 0x400), Op::ReadAp(DRW)]),
    ]
}

/// A failure's kind, its message aside.
fn kind(error: &Option<ProbeError>) -> Option<std::mem::Discriminant<ProbeError>> {
    error.as_ref().map(std::mem::discriminant)
}

#[test]
fn pipelined_jobs_complete_as_the_same_jobs_one_operation_at_a_time() {
    let jobs = interleaved();
    let (mut alone_probe, mut alone) = probe(false);
    let expected = alone.run_batch(&mut alone_probe, batch(&jobs));
    let (mut pipelined_probe, mut pipelined) = probe(true);
    let got = pipelined.run_batch(&mut pipelined_probe, batch(&jobs));

    assert_eq!(got.len(), expected.len());
    for (i, (got, expected)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(got.id, expected.id);
        let (got, expected) = (sequence(got), sequence(expected));
        assert_eq!(got.outputs, expected.outputs, "job {i}");
        assert_eq!(kind(&got.failure), kind(&expected.failure), "job {i}");
    }
    // What the jobs did, spelled out.
    let got: Vec<&SequenceOutput> = got.iter().map(sequence).collect();
    let values: Vec<u32> = (1..=40).map(|i| 0xA000_0000 | i).collect();
    assert_eq!(got[1].outputs[1], OpOutput::Words(values[2..32].to_vec()));
    assert_eq!(got[1].outputs.len(), 3, "stopped at the faulting run");
    assert!(matches!(got[1].failure, Some(ProbeError::TransferFault(_))));
    assert_eq!(got[2].outputs.len(), 1);
    assert!(matches!(got[2].failure, Some(ProbeError::TransferFault(_))));
    assert!(matches!(got[3].outputs[3], OpOutput::Word(w) if w & STICKYERR == 0));
    assert!(matches!(got[4].outputs[0], OpOutput::Word(w) if w & STICKYERR != 0));
    assert!(matches!(got[4].failure, Some(ProbeError::TransferFault(_))));
    assert_eq!(got[5].outputs[2], OpOutput::Words(values));
    assert_eq!(got[6].outputs[1], OpOutput::Word(0xB0B0));
    // A's first three and B's first went through the pipeline, which the
    // recorder does not see; alone, every operation passed it.
    let pipelined_log = pipelined_probe.log.lock().unwrap().len();
    let alone_log = alone_probe.log.lock().unwrap().len();
    assert!(pipelined_log < alone_log, "{pipelined_log} vs {alone_log}");
}

#[test]
fn a_clients_run_goes_on_across_batches_while_its_jobs_keep_coming() {
    let (mut probe, mut runner) = probe(true);
    let mut out = Vec::new();
    let page = |i: u32| {
        vec![
            write_ap(CSW, WORDS),
            write_ap(TAR, RAM_BASE + i * 0x100),
            Op::WriteApMultiple {
                addr: DRW,
                values: (0..64).map(|w| i << 16 | w).collect(),
            },
            write_ap(TAR, RAM_BASE + i * 0x100),
            Op::ReadApMultiple {
                addr: DRW,
                count: 64,
            },
        ]
    };
    // Each job a batch of its own, the next submitted before the last has
    // finished: they stay in the pipeline together.
    for i in 0..4u32 {
        let mut one = batch(&[(A, page(i))]);
        one.jobs[0].id = JobId(u64::from(i) + 1);
        runner.submit(&mut probe, one, &mut out);
        assert!(runner.has_pipelined(), "job {i} is in flight");
    }
    while runner.has_pipelined() {
        runner.advance(&mut probe, &mut out);
    }
    assert_eq!(out.len(), 4);
    for (i, completion) in out.iter().enumerate() {
        assert_eq!(completion.id, JobId(i as u64 + 1));
        let expected: Vec<u32> = (0..64).map(|w| (i as u32) << 16 | w).collect();
        assert_eq!(sequence(completion).outputs[4], OpOutput::Words(expected));
    }
    // Nothing of it passed the recorder: no job waited for another.
    assert!(probe.log.lock().unwrap().is_empty());
}

#[test]
fn a_client_that_clears_its_own_fault_in_its_run_is_not_refused_after_it() {
    for pipelined in [false, true] {
        let (mut probe, mut runner) = probe(pipelined);
        let run = [
            (
                A,
                vec![
                    write_ap(CSW, WORDS),
                    write_ap(TAR, UNMAPPED),
                    Op::ReadAp(DRW),
                ],
            ),
            (
                A,
                vec![Op::WriteDp {
                    addr: DP_ABORT,
                    value: ABORT_STKERRCLR,
                }],
            ),
        ];
        let done = runner.run_batch(&mut probe, batch(&run));
        assert!(sequence(&done[0]).failure.is_some());
        assert_eq!(sequence(&done[1]).failure, None);
        let next = [(
            A,
            vec![
                write_ap(TAR, RAM_BASE),
                Op::ReadAp(DRW),
                Op::ReadDp(DP_CTRL_STAT),
            ],
        )];
        let done = runner.run_batch(&mut probe, batch(&next));
        let after = sequence(&done[0]);
        assert_eq!(after.failure, None, "pipelined: {pipelined}");
        assert!(matches!(after.outputs[2], OpOutput::Word(w) if w & STICKYERR == 0));
    }
}

#[test]
fn another_clients_packet_waits_for_the_faulting_run_to_be_cleaned_up() {
    let (mut probe, mut runner) = probe(true);
    let jobs = [
        (
            A,
            vec![
                write_ap(CSW, WORDS),
                write_ap(TAR, UNMAPPED),
                Op::ReadAp(DRW),
            ],
        ),
        (
            B,
            vec![
                write_ap(CSW, WORDS),
                write_ap(TAR, RAM_BASE),
                Op::ReadAp(DRW),
            ],
        ),
    ];
    let done = runner.run_batch(&mut probe, batch(&jobs));
    assert!(matches!(
        sequence(&done[0]).failure,
        Some(ProbeError::TransferFault(_))
    ));
    assert_eq!(
        sequence(&done[1]).failure,
        None,
        "B meets no STICKYERR of A's"
    );
}

#[test]
fn a_packet_after_another_clients_line_reset_is_not_pipelined_past_the_dpidr_read() {
    let (mut probe, mut runner) = probe(true);
    let line_reset = |bits| Op::SwjSequence {
        bit_count: 51,
        bits,
    };
    let switch = Batch {
        jobs: [
            line_reset(vec![0xFF; 7]),
            Op::SwjSequence {
                bit_count: 16,
                bits: vec![0x9E, 0xE7],
            },
            line_reset(vec![0xFF; 7]),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, op)| Job {
            id: JobId(50 + i as u64),
            client: Some(B),
            task: Task::Probe(op),
            flush_after: i == 2,
        })
        .collect(),
        departed: Vec::new(),
    };
    let done = runner.run_batch(&mut probe, switch);
    assert!(done.iter().all(|c| c.result.is_ok()), "{done:?}");
    let done = runner.run_batch(&mut probe, batch(&[(A, vec![Op::ReadAp(0xFC)])]));
    assert_eq!(sequence(&done[0]).failure, None);
    assert_eq!(sequence(&done[0]).outputs, [OpOutput::Word(0x2477_0011)]);
}

#[test]
fn a_packet_whose_tar_another_client_moved_gets_it_back_first() {
    let (mut probe, mut runner) = probe(true);
    let set_tar = [(
        A,
        vec![
            write_ap(CSW, WORDS),
            write_ap(TAR, RAM_BASE),
            Op::WriteApMultiple {
                addr: DRW,
                values: vec![0xA1, 0xA2],
            },
            write_ap(TAR, RAM_BASE),
        ],
    )];
    runner.run_batch(&mut probe, batch(&set_tar));
    let elsewhere = [(B, vec![write_ap(TAR, RAM_BASE + 0x40), Op::ReadAp(DRW)])];
    runner.run_batch(&mut probe, batch(&elsewhere));
    let done = runner.run_batch(&mut probe, batch(&[(A, vec![Op::ReadAp(DRW)])]));
    assert_eq!(sequence(&done[0]).outputs, [OpOutput::Word(0xA1)]);
}

#[test]
fn a_tar_moved_past_a_kibibyte_is_read_back_before_another_clients_packet_moves_it() {
    let (mut probe, mut runner) = probe(true);
    let values: Vec<u32> = (0..300).map(|i| 0xC000_0000 | i).collect();
    let fill = [(
        A,
        vec![
            write_ap(CSW, WORDS),
            write_ap(TAR, RAM_BASE),
            Op::WriteApMultiple {
                addr: DRW,
                values: values.clone(),
            },
            write_ap(TAR, RAM_BASE),
            // Past a 1 KiB boundary: where TAR ends up is the AP's to say.
            Op::ReadApMultiple {
                addr: DRW,
                count: 290,
            },
        ],
    )];
    runner.run_batch(&mut probe, batch(&fill));
    let elsewhere = [(B, vec![write_ap(TAR, RAM_BASE + 0x2000), Op::ReadAp(DRW)])];
    runner.run_batch(&mut probe, batch(&elsewhere));
    let done = runner.run_batch(&mut probe, batch(&[(A, vec![Op::ReadAp(DRW)])]));
    assert_eq!(sequence(&done[0]).outputs, [OpOutput::Word(values[290])]);
}
