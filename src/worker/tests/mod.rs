//! The worker on its own, over the virtual target behind the real
//! CMSIS-DAP driver: what it restores for each client (rule 9), what a
//! switch between clients costs in register accesses, and how a failure
//! stays with its client (rules 8 and 11). A recorder between the worker
//! and the probe shows every register access the worker makes.

use std::sync::{Arc, Mutex};

use super::{Batch, Completion, Job, Runner, Task};
use crate::dap::registers::{ABORT_STKERRCLR, STICKYERR};
use crate::ids::{ClientId, JobId};
use crate::probe::{
    DebugProbe, Op, OpOutput, ProbeError, ProbeInfo, ProbeResult, ProtocolRequest,
    TransferPipeline, WireProtocol,
};
use crate::sim::dap_firmware::{FaultHandle, FirmwareConfig, UsbModel};
use crate::sim::{VirtualProbe, RAM_BASE, VIRTUAL_DESCRIPTION};

mod costs;
mod line_resets;
mod runs;
mod thread;

const A: ClientId = ClientId(1);
const B: ClientId = ClientId(2);
const CSW: u32 = 0x00;
const TAR: u32 = 0x04;
const DRW: u32 = 0x0C;
const WORDS: u32 = 0x2300_0012;
const BYTES: u32 = 0x2300_0010;
const UNMAPPED: u32 = 0x1000_0000;

/// A register access as the probe was asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Access {
    ReadAp(u32),
    WriteAp(u32, u32),
    /// A DP read.
    Dp,
    /// A DP write: address, value.
    WriteDp(u32, u32),
    /// An SWJ sequence of this many bits.
    Swj(u16),
}

/// Passes everything to the probe, noting register accesses and SWJ
/// sequences; fails the next `failing_dp_reads` DP reads without passing
/// them on, as a DP that does not answer. The probe's transfer pipeline
/// is offered only with `pipelined` (what goes through it is not noted).
pub(super) struct Recorder {
    pub(super) probe: Box<dyn DebugProbe>,
    pub(super) log: Arc<Mutex<Vec<Access>>>,
    pub(super) failing_dp_reads: u32,
    pub(super) pipelined: bool,
}

impl Recorder {
    fn note(&self, access: Access) {
        self.log.lock().unwrap().push(access);
    }
}

impl DebugProbe for Recorder {
    fn info(&self) -> &ProbeInfo {
        self.probe.info()
    }
    fn open(&mut self) -> ProbeResult<()> {
        self.probe.open()
    }
    fn close(&mut self) -> ProbeResult<()> {
        self.probe.close()
    }
    fn connect(&mut self, protocol: ProtocolRequest) -> ProbeResult<WireProtocol> {
        self.probe.connect(protocol)
    }
    fn disconnect(&mut self) -> ProbeResult<()> {
        self.probe.disconnect()
    }
    fn swj_sequence(&mut self, bit_count: u16, bits: &[u8]) -> ProbeResult<()> {
        self.note(Access::Swj(bit_count));
        self.probe.swj_sequence(bit_count, bits)
    }
    fn set_clock(&mut self, hz: u32) -> ProbeResult<()> {
        self.probe.set_clock(hz)
    }
    fn reset(&mut self) -> ProbeResult<()> {
        self.probe.reset()
    }
    fn assert_reset(&mut self, asserted: bool) -> ProbeResult<()> {
        self.probe.assert_reset(asserted)
    }
    fn is_reset_asserted(&mut self) -> ProbeResult<bool> {
        self.probe.is_reset_asserted()
    }
    fn flush(&mut self) -> ProbeResult<()> {
        self.probe.flush()
    }
    fn read_dp(&mut self, addr: u32) -> ProbeResult<u32> {
        self.note(Access::Dp);
        if self.failing_dp_reads > 0 {
            self.failing_dp_reads -= 1;
            return Err(ProbeError::Transfer("no acknowledge (injected)".into()));
        }
        self.probe.read_dp(addr)
    }
    fn write_dp(&mut self, addr: u32, value: u32) -> ProbeResult<()> {
        self.note(Access::WriteDp(addr, value));
        self.probe.write_dp(addr, value)
    }
    fn read_ap(&mut self, addr: u32) -> ProbeResult<u32> {
        self.note(Access::ReadAp(addr));
        self.probe.read_ap(addr)
    }
    fn write_ap(&mut self, addr: u32, value: u32) -> ProbeResult<()> {
        self.note(Access::WriteAp(addr, value));
        self.probe.write_ap(addr, value)
    }
    fn read_ap_multiple(&mut self, addr: u32, count: u32) -> ProbeResult<Vec<u32>> {
        self.note(Access::ReadAp(addr));
        self.probe.read_ap_multiple(addr, count)
    }
    fn write_ap_multiple(&mut self, addr: u32, values: &[u32]) -> ProbeResult<()> {
        self.note(Access::WriteAp(addr, values.len() as u32));
        self.probe.write_ap_multiple(addr, values)
    }
    fn pipeline(&mut self) -> Option<&mut dyn TransferPipeline> {
        if self.pipelined {
            self.probe.pipeline()
        } else {
            None
        }
    }
}

/// A worker's runner over a connected, powered virtual target.
struct Worker {
    runner: Runner,
    probe: Recorder,
    log: Arc<Mutex<Vec<Access>>>,
    next_id: JobId,
    /// The virtual target's fault injection.
    faults: FaultHandle,
}

impl Worker {
    fn new() -> Worker {
        let log = Arc::new(Mutex::new(Vec::new()));
        let virtual_probe = VirtualProbe::new(
            "worker-test",
            VIRTUAL_DESCRIPTION,
            FirmwareConfig::for_model(UsbModel::None),
        )
        .unwrap();
        let probe = Recorder {
            probe: virtual_probe.probe,
            log: log.clone(),
            failing_dp_reads: 0,
            pipelined: false,
        };
        let mut worker = Worker {
            runner: Runner::default(),
            probe,
            log,
            next_id: JobId(1),
            faults: virtual_probe.faults,
        };
        worker.run(None, Op::Open).unwrap();
        worker
            .run(None, Op::Connect(ProtocolRequest::Default))
            .unwrap();
        worker
            .run(
                None,
                Op::WriteDp {
                    addr: 0x4,
                    value: 0x5000_0000,
                },
            )
            .unwrap();
        worker
    }

    /// Runs a batch of `(client, op)` in order, each client's run ending
    /// with a flush as the arbiter marks it.
    fn batch(&mut self, jobs: &[(Option<ClientId>, Op)]) -> Vec<ProbeResult<OpOutput>> {
        let jobs: Vec<Job> = jobs
            .iter()
            .enumerate()
            .map(|(index, (client, op))| {
                let next_client = jobs.get(index + 1).map(|(c, _)| *c);
                let id = self.next_id;
                self.next_id = JobId(id.0 + 1);
                Job {
                    id,
                    client: *client,
                    task: Task::Probe(op.clone()),
                    flush_after: next_client != Some(*client),
                }
            })
            .collect();
        let done: Vec<Completion> = self.runner.run_batch(
            &mut self.probe,
            Batch {
                jobs,
                departed: Vec::new(),
            },
        );
        done.into_iter().map(|c| c.result).collect()
    }

    /// Runs one task of any kind (a sequence, a memory-handle request) as
    /// a run of its own.
    fn task(&mut self, client: Option<ClientId>, task: Task) -> ProbeResult<OpOutput> {
        let id = self.next_id;
        self.next_id = JobId(id.0 + 1);
        let job = Job {
            id,
            client,
            task,
            flush_after: true,
        };
        let batch = Batch {
            jobs: vec![job],
            departed: Vec::new(),
        };
        self.runner
            .run_batch(&mut self.probe, batch)
            .remove(0)
            .result
    }

    fn run(&mut self, client: Option<ClientId>, op: Op) -> ProbeResult<OpOutput> {
        self.batch(&[(client, op)]).remove(0)
    }

    fn word(&mut self, client: ClientId, op: Op) -> u32 {
        match self.run(Some(client), op) {
            Ok(OpOutput::Word(word)) => word,
            other => panic!("expected a word, got {other:?}"),
        }
    }

    fn ok(&mut self, client: ClientId, op: Op) {
        self.run(Some(client), op).unwrap();
    }

    /// The AP accesses made since the last call.
    fn accesses(&mut self) -> Vec<Access> {
        self.everything()
            .into_iter()
            .filter(|access| !matches!(access, Access::Dp | Access::WriteDp(..)))
            .collect()
    }

    /// Every access and SWJ sequence made since the last call.
    fn everything(&mut self) -> Vec<Access> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

/// An SWJ sequence of `bits` bits of `byte`.
fn swj(bits: u16, byte: u8) -> Op {
    Op::SwjSequence {
        bit_count: bits,
        bits: vec![byte; usize::from(bits.div_ceil(8))],
    }
}

/// pyOCD's JTAG-to-SWD switch without its idle cycles: line reset,
/// 0xE79E, line reset. It leaves the SW-DP in the reset state, the high
/// run not yet followed by idle cycles.
fn switch_to_swd() -> Vec<Op> {
    vec![
        swj(51, 0xFF),
        Op::SwjSequence {
            bit_count: 16,
            bits: vec![0x9E, 0xE7],
        },
        swj(51, 0xFF),
    ]
}

const AP_IDR: u32 = 0xFC;
const AHB_AP_IDR: u32 = 0x2477_0011;

fn write_ap(addr: u32, value: u32) -> Op {
    Op::WriteAp { addr, value }
}

#[test]
fn a_client_alone_costs_no_register_access_it_did_not_ask_for() {
    let mut worker = Worker::new();
    worker.accesses();
    worker.ok(A, write_ap(CSW, WORDS));
    worker.ok(A, write_ap(TAR, RAM_BASE));
    worker.ok(A, write_ap(DRW, 7));
    worker.word(A, Op::ReadAp(TAR));
    worker.ok(A, write_ap(DRW, 8));
    assert_eq!(
        worker.accesses(),
        [
            Access::WriteAp(CSW, WORDS),
            Access::WriteAp(TAR, RAM_BASE),
            Access::WriteAp(DRW, 7),
            Access::ReadAp(TAR),
            Access::WriteAp(DRW, 8),
        ]
    );
}

#[test]
fn returning_to_a_client_puts_back_its_csw_and_its_tar_where_it_left_it() {
    let mut worker = Worker::new();
    worker.ok(A, write_ap(CSW, WORDS));
    worker.ok(A, write_ap(TAR, RAM_BASE));
    worker.ok(A, write_ap(DRW, 0x1111_1111));
    worker.ok(B, write_ap(CSW, BYTES));
    worker.ok(B, write_ap(TAR, RAM_BASE + 0x101));
    worker.ok(B, write_ap(DRW, 0x0000_AA00));
    worker.accesses();
    worker.ok(A, write_ap(DRW, 0x2222_2222));
    assert_eq!(
        worker.accesses(),
        [
            Access::WriteAp(CSW, WORDS),
            Access::WriteAp(TAR, RAM_BASE + 4),
            Access::WriteAp(DRW, 0x2222_2222),
        ],
        "A's TAR was known from its own increments: no read-back"
    );
    worker.ok(A, write_ap(TAR, RAM_BASE));
    assert_eq!(worker.word(A, Op::ReadAp(DRW)), 0x1111_1111);
    assert_eq!(worker.word(A, Op::ReadAp(DRW)), 0x2222_2222);
    assert_eq!(worker.word(B, Op::ReadAp(CSW)) & 0x7, 0, "B still bytes");
}

#[test]
fn a_tar_moved_past_a_kibibyte_boundary_is_read_back_before_another_client_moves_it() {
    let mut worker = Worker::new();
    worker.ok(A, write_ap(CSW, WORDS));
    worker.ok(A, write_ap(TAR, RAM_BASE + 0x3F8));
    worker.ok(
        A,
        Op::ReadApMultiple {
            addr: DRW,
            count: 4,
        },
    );
    worker.accesses();
    worker.ok(B, write_ap(TAR, RAM_BASE + 0x800));
    assert_eq!(
        worker.accesses(),
        [Access::ReadAp(TAR), Access::WriteAp(TAR, RAM_BASE + 0x800)]
    );
    assert_eq!(worker.word(A, Op::ReadAp(TAR)), RAM_BASE + 0x408);
}

#[test]
fn a_departed_clients_tar_is_not_saved() {
    let mut worker = Worker::new();
    worker.ok(A, write_ap(CSW, WORDS));
    worker.ok(A, write_ap(TAR, RAM_BASE + 0x3FC));
    worker.word(A, Op::ReadAp(DRW));
    worker.runner.run_batch(
        &mut worker.probe,
        Batch {
            jobs: Vec::new(),
            departed: vec![A],
        },
    );
    worker.accesses();
    worker.ok(B, write_ap(TAR, RAM_BASE));
    assert_eq!(worker.accesses(), [Access::WriteAp(TAR, RAM_BASE)]);
}

#[test]
fn a_deferred_fault_is_charged_to_the_writer_and_the_next_client_runs_clean() {
    let mut worker = Worker::new();
    worker.ok(B, write_ap(CSW, WORDS));
    worker.ok(B, write_ap(TAR, RAM_BASE));
    let results = worker.batch(&[
        (Some(A), write_ap(TAR, UNMAPPED)),
        (Some(A), write_ap(DRW, 1)),
        (Some(B), Op::ReadAp(DRW)),
    ]);
    assert!(results[0].is_ok());
    assert!(
        matches!(results[1], Err(ProbeError::TransferFault(_))),
        "the writer's flush reports its fault: {:?}",
        results[1]
    );
    assert!(
        results[2].is_ok(),
        "B runs on a cleared port: {:?}",
        results[2]
    );
    assert_ne!(
        worker.word(A, Op::ReadDp(0x4)) & STICKYERR,
        0,
        "the writer sees its own sticky error"
    );
    assert_eq!(worker.word(B, Op::ReadDp(0x4)) & STICKYERR, 0);
}

#[test]
fn a_faulting_client_sees_its_sticky_error_until_it_clears_it_and_others_never_do() {
    let mut worker = Worker::new();
    worker.ok(A, write_ap(TAR, UNMAPPED));
    assert!(matches!(
        worker.run(Some(A), Op::ReadAp(DRW)),
        Err(ProbeError::TransferFault(_))
    ));
    assert_ne!(worker.word(A, Op::ReadDp(0x4)) & STICKYERR, 0);
    assert_eq!(worker.word(B, Op::ReadDp(0x4)) & STICKYERR, 0);
    worker.accesses();
    assert!(
        matches!(worker.run(Some(A), Op::ReadAp(0xFC)), Err(ProbeError::TransferFault(m)) if m.contains("STICKYERR")),
        "refused as the DP would"
    );
    assert_eq!(worker.accesses(), [], "a refusal reaches no probe");
    assert!(worker.run(Some(B), Op::ReadAp(0xFC)).is_ok());
    worker.ok(
        A,
        Op::WriteDp {
            addr: 0x0,
            value: ABORT_STKERRCLR,
        },
    );
    assert_eq!(worker.word(A, Op::ReadDp(0x4)) & STICKYERR, 0);
    assert!(worker.run(Some(A), Op::ReadAp(0xFC)).is_ok());
}

/// Under JTAG the DP has no ABORT clear bits: a client clears its sticky
/// flags by writing them to CTRL/STAT, and each flag written is cleared
/// from its view (and only those).
#[test]
fn under_jtag_writing_the_flags_to_ctrl_stat_clears_them() {
    use super::StickyFlags;
    use crate::dap::registers::{STICKYCMP, STICKYORUN, WDATAERR};
    let mut sticky = StickyFlags::default();
    sticky.faulted(A);
    let ap_read = Task::Probe(Op::ReadAp(0xFC));
    assert!(sticky.refusal(Some(A), &ap_read).is_some());
    let write = |value| Task::Probe(Op::WriteDp { addr: 0x4, value });
    let jtag = Some(WireProtocol::Jtag);
    sticky.after(
        Some(A),
        &write(STICKYCMP | STICKYORUN | WDATAERR),
        jtag,
        &mut OpOutput::Done,
    );
    assert!(
        sticky.refusal(Some(A), &ap_read).is_some(),
        "STICKYERR not written"
    );
    sticky.after(Some(A), &write(STICKYERR), jtag, &mut OpOutput::Done);
    assert!(sticky.refusal(Some(A), &ap_read).is_none());
}
