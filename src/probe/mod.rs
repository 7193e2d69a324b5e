//! The debug-probe abstraction every layer above the hardware talks to.
//!
//! [`DebugProbe`] has one method per hardware operation of the remote probe
//! protocol; [`Op`] is the same set of operations as plain values, and
//! nothing else, so the arbiter can queue, reorder and inspect them without
//! knowing JSON, and the probe worker (`crate::worker`) can run them.
//! Memory-handle requests are not here: no `DebugProbe` runs them, `memap`
//! does (`memap::MemoryRequest`). [`OpOutput`] is what anything the worker
//! runs returns, memory-handle requests included, so one result type goes
//! from the worker to every front end. Errors are [`ProbeError`]; the
//! mapping to wire status codes lives in `protocol`, nowhere else.

use std::fmt;

mod pipeline;
pub use pipeline::{is_pipelined, TransferPipeline};
#[cfg(test)]
pub mod tripwire;

/// A wire protocol a probe can drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireProtocol {
    Swd,
    Jtag,
}

impl WireProtocol {
    /// The name pyOCD uses (`DebugProbe.Protocol[name]`).
    pub fn name(self) -> &'static str {
        match self {
            WireProtocol::Swd => "SWD",
            WireProtocol::Jtag => "JTAG",
        }
    }
}

impl fmt::Display for WireProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a `connect` asks for: a specific protocol, or the probe's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolRequest {
    Default,
    Specific(WireProtocol),
}

/// Optional abilities, named as pyOCD's `DebugProbe.Capability` members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    SwjSequence,
    Swo,
    BankedDpRegisters,
    Apv2Addresses,
    ManagedApSelection,
    ManagedDpBankSel,
    SwdSequence,
    JtagSequence,
    PinAccess,
}

impl Capability {
    /// The name pyOCD uses on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Capability::SwjSequence => "SWJ_SEQUENCE",
            Capability::Swo => "SWO",
            Capability::BankedDpRegisters => "BANKED_DP_REGISTERS",
            Capability::Apv2Addresses => "APv2_ADDRESSES",
            Capability::ManagedApSelection => "MANAGED_AP_SELECTION",
            Capability::ManagedDpBankSel => "MANAGED_DPBANKSEL",
            Capability::SwdSequence => "SWD_SEQUENCE",
            Capability::JtagSequence => "JTAG_SEQUENCE",
            Capability::PinAccess => "PIN_ACCESS",
        }
    }
}

/// Static facts about a probe, known before it is opened, so the server can
/// answer `readprop` without a probe call on the event-loop thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeInfo {
    pub unique_id: String,
    pub vendor_name: String,
    pub product_name: String,
    pub description: String,
    pub supported_wire_protocols: Vec<WireProtocol>,
    pub capabilities: Vec<Capability>,
    /// The probe firmware's own version, where the probe reports one.
    pub firmware_version: Option<String>,
}

/// One element of an `swd_sequence` request: `cycles` TCK cycles (1..=64),
/// either driving `bits` (LSB first) or, when `bits` is `None`, reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwdSequence {
    pub cycles: u8,
    pub bits: Option<u64>,
}

/// The result of `swd_sequence`: the probe's status byte and one byte string
/// per input sequence (pyOCD's `Tuple[int, Sequence[bytes]]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwdSequenceReply {
    pub status: u8,
    pub captured: Vec<Vec<u8>>,
}

/// An access port as pyOCD's probe API addresses it (a memory handle
/// stands for one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApAddress {
    /// An ADIv5 APv1, by APSEL (its register addresses carry it in bits 31:24).
    V1(u8),
    /// An ADIv6 APv2, by the base address of its 4 KiB register block.
    V2(u32),
}

impl fmt::Display for ApAddress {
    /// As pyOCD writes AP addresses: `#APSEL` or `@0xBASE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApAddress::V1(apsel) => write!(f, "AP #{apsel}"),
            ApAddress::V2(base) => write!(f, "AP @{base:#x}"),
        }
    }
}

/// A hardware operation, as a value: a call of a [`DebugProbe`] method
/// and nothing else. Lock and unlock are the arbiter's, memory-handle
/// requests `memap`'s, the handle table the server's. Its wire name
/// (`Op::name`) is defined with the protocol's request names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Open,
    Close,
    Connect(ProtocolRequest),
    Disconnect,
    /// `bit_count` bits from `bits`, LSB of byte 0 first (up to 256 bits).
    SwjSequence {
        bit_count: u16,
        bits: Vec<u8>,
    },
    SwdSequence(Vec<SwdSequence>),
    JtagSequence {
        cycles: u8,
        tms: bool,
        read_tdo: bool,
        tdi: u64,
    },
    SetClock(u32),
    Reset,
    AssertReset(bool),
    IsResetAsserted,
    Flush,
    ReadDp(u32),
    WriteDp {
        addr: u32,
        value: u32,
    },
    ReadAp(u32),
    WriteAp {
        addr: u32,
        value: u32,
    },
    ReadApMultiple {
        addr: u32,
        count: u32,
    },
    WriteApMultiple {
        addr: u32,
        values: Vec<u32>,
    },
    HasSwo,
    SwoStart(u32),
    SwoStop,
    SwoRead,
}

/// What a successful operation returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpOutput {
    /// Nothing (the response carries no `result`).
    Done,
    Word(u32),
    Words(Vec<u32>),
    Bool(bool),
    Bytes(Vec<u8>),
    /// `jtag_sequence`: TDO bits when they were asked for, else null.
    Tdo(Option<u64>),
    SwdSequence(SwdSequenceReply),
    /// `connect`: the protocol the probe actually brought up.
    Connected(WireProtocol),
    /// `get_memory_interface_for_ap` (`memap::MemoryRequest::IdentifyAp`):
    /// the AP, if it is a MEM-AP. The server turns it into a handle (or
    /// null) before answering.
    MemoryAp(Option<ApAddress>),
    /// A sequence of operations run as one (`worker::Task::Sequence`).
    Sequence(SequenceOutput),
}

/// What a sequence of operations did: the output of each that ran, and the
/// failure that stopped it, if one did (the operations after it did not
/// run).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequenceOutput {
    pub outputs: Vec<OpOutput>,
    pub failure: Option<ProbeError>,
    /// How far the failing operation got, where the probe can tell.
    pub progress: Option<Progress>,
}

/// How far an operation of several transfers got before one failed: the
/// transfers it completed, and the words those read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub transfers: u32,
    pub words: Vec<u32>,
}

impl SequenceOutput {
    /// Runs `ops` in order with `run`, up to the first that fails.
    pub fn run(ops: &[Op], mut run: impl FnMut(&Op) -> ProbeResult<OpOutput>) -> SequenceOutput {
        let mut outputs = Vec::with_capacity(ops.len());
        for op in ops {
            match run(op) {
                Ok(output) => outputs.push(output),
                Err(error) => {
                    return SequenceOutput {
                        outputs,
                        failure: Some(error),
                        progress: None,
                    }
                }
            }
        }
        SequenceOutput {
            outputs,
            failure: None,
            progress: None,
        }
    }
}

/// Why a probe operation failed. Each variant has exactly one wire status
/// (see `protocol::status_code`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The probe is gone (unplugged, USB error): status 2.
    #[error("probe disconnected: {0}")]
    Disconnected(String),
    /// The probe refused or failed a command: status 3.
    #[error("{0}")]
    Probe(String),
    /// The probe cannot do this at all: status 3.
    #[error("{0} is not supported by this probe")]
    Unsupported(&'static str),
    /// SWD protocol error, NO_ACK or parity error: status 10.
    #[error("transfer error: {0}")]
    Transfer(String),
    /// WAIT after retries: status 11.
    #[error("transfer timeout: {0}")]
    TransferTimeout(String),
    /// FAULT acknowledge: status 12.
    #[error("transfer fault: {0}")]
    TransferFault(String),
    /// An argument the probe cannot accept (bad register address, …): status 1.
    #[error("{0}")]
    InvalidArgument(String),
}

pub type ProbeResult<T> = Result<T, ProbeError>;

/// A debug probe. Methods block (USB calls do), so they only ever run on the
/// probe's worker thread. Optional abilities default to "not supported".
pub trait DebugProbe: Send {
    fn info(&self) -> &ProbeInfo;
    fn open(&mut self) -> ProbeResult<()>;
    fn close(&mut self) -> ProbeResult<()>;
    /// Brings up the wire; returns the protocol actually in use.
    fn connect(&mut self, protocol: ProtocolRequest) -> ProbeResult<WireProtocol>;
    fn disconnect(&mut self) -> ProbeResult<()>;
    fn swj_sequence(&mut self, bit_count: u16, bits: &[u8]) -> ProbeResult<()>;
    fn set_clock(&mut self, hz: u32) -> ProbeResult<()>;
    fn reset(&mut self) -> ProbeResult<()>;
    fn assert_reset(&mut self, asserted: bool) -> ProbeResult<()>;
    fn is_reset_asserted(&mut self) -> ProbeResult<bool>;
    fn flush(&mut self) -> ProbeResult<()>;
    fn read_dp(&mut self, addr: u32) -> ProbeResult<u32>;
    fn write_dp(&mut self, addr: u32, value: u32) -> ProbeResult<()>;
    fn read_ap(&mut self, addr: u32) -> ProbeResult<u32>;
    fn write_ap(&mut self, addr: u32, value: u32) -> ProbeResult<()>;

    fn read_ap_multiple(&mut self, addr: u32, count: u32) -> ProbeResult<Vec<u32>> {
        (0..count).map(|_| self.read_ap(addr)).collect()
    }

    fn write_ap_multiple(&mut self, addr: u32, values: &[u32]) -> ProbeResult<()> {
        values.iter().try_for_each(|&v| self.write_ap(addr, v))
    }

    /// Reads memory pages through one MEM-AP: for each `(address, words)`
    /// writes TAR (`tar_addr`) then reads DRW (`drw_addr`) `words` times.
    /// The same as those calls in turn; a probe that can keep the next
    /// page's transfers in flight while the last page's replies arrive
    /// overrides it (CMSIS-DAP does), which is what keeps a USB link busy
    /// across page boundaries.
    fn read_ap_pages(
        &mut self,
        tar_addr: u32,
        drw_addr: u32,
        pages: &[(u32, u32)],
    ) -> ProbeResult<Vec<u32>> {
        let mut words = Vec::new();
        for &(address, count) in pages {
            self.write_ap(tar_addr, address)?;
            words.extend(self.read_ap_multiple(drw_addr, count)?);
        }
        Ok(words)
    }

    /// The probe's transfer pipeline, if it keeps register transfers of
    /// several requests in flight. Any other call on the probe first
    /// finishes every group issued to it (their outputs wait to be taken).
    fn pipeline(&mut self) -> Option<&mut dyn TransferPipeline> {
        None
    }

    fn swd_sequence(&mut self, _sequences: &[SwdSequence]) -> ProbeResult<SwdSequenceReply> {
        Err(ProbeError::Unsupported("swd_sequence"))
    }

    fn jtag_sequence(
        &mut self,
        _cycles: u8,
        _tms: bool,
        _read_tdo: bool,
        _tdi: u64,
    ) -> ProbeResult<Option<u64>> {
        Err(ProbeError::Unsupported("jtag_sequence"))
    }

    fn has_swo(&self) -> bool {
        false
    }

    fn swo_start(&mut self, _baudrate: u32) -> ProbeResult<()> {
        Err(ProbeError::Unsupported("SWO"))
    }

    fn swo_stop(&mut self) -> ProbeResult<()> {
        Err(ProbeError::Unsupported("SWO"))
    }

    fn swo_read(&mut self) -> ProbeResult<Vec<u8>> {
        Err(ProbeError::Unsupported("SWO"))
    }
}
