//! What the server decides about a decoded request before any hardware is
//! touched: the `hello` gate, properties, memory handles, and which
//! requests go to the arbiter.

use serde_json::Value;

use super::memory_handles::MemoryHandles;
use crate::arbiter;
use crate::events::KindSet;
use crate::memap::{MemoryOp, MemoryRequest};
use crate::probe::{ApAddress, Capability, Op, OpOutput, ProbeInfo, SwdSequence, WireProtocol};
use crate::protocol::{Command, Failure, Reply};

/// The protocol version this server speaks.
pub const PROTOCOL_VERSION: i64 = 1;

/// Where a request goes.
#[derive(Debug)]
pub enum Route {
    /// Answered now, without the probe.
    Answer(Result<Reply, Failure>),
    /// Queued with the arbiter.
    Arbitrate(arbiter::Request),
    /// `subscribe`: the connection becomes an event stream.
    Subscribe(KindSet),
}

/// The per-connection facts a request may depend on.
pub struct ClientState<'a> {
    pub said_hello: &'a mut bool,
    pub memory_handles: &'a MemoryHandles,
    /// The features this client declared with `probeshare_features`.
    pub features: &'a mut Features,
}

/// **[ours]** What a client declared it can use (docs/protocol.md,
/// "Extensions"); a stock pyOCD client declares nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// It sends byte data of block writes as lists of integers, so it gets
    /// memory handles whatever `--memory-handles` says.
    pub memory_handles: bool,
}

/// The feature names this server grants, in the order it answers them.
pub const FEATURE_MEMORY_HANDLES: &str = "memory_handles";

/// The server-wide facts a request may depend on.
pub struct ServerState<'a> {
    pub info: &'a ProbeInfo,
    pub wire_protocol: Option<WireProtocol>,
    /// Whether MEM-APs get memory handles ([`crate::server::ServerConfig`]).
    pub memory_handles: bool,
}

/// Routes one decoded command.
pub fn route(command: Command, client: ClientState<'_>, server: ServerState<'_>) -> Route {
    if !*client.said_hello && !matches!(command, Command::Hello { .. }) {
        return Route::Answer(Err(Failure::Request("hello required".into())));
    }
    match command {
        Command::Hello { version } => Route::Answer(hello(version, client.said_hello)),
        Command::ReadProp { name } => {
            Route::Answer(read_property(&name, server.info, server.wire_protocol))
        }
        Command::Subscribe { kinds } => Route::Subscribe(kinds),
        Command::Lock => Route::Arbitrate(arbiter::Request::Lock),
        Command::Unlock => Route::Arbitrate(arbiter::Request::Unlock),
        Command::Probe(op) => Route::Arbitrate(arbiter::Request::Probe(op)),
        Command::GetMemoryInterface {
            ap_address_version,
            ap_nominal_address,
        } => {
            let hands_out = server.memory_handles || client.features.memory_handles;
            memory_interface(ap_address_version, ap_nominal_address, hands_out, &server)
        }
        Command::Features { names } => Route::Answer(Ok(declare(&names, client.features))),
        Command::Memory { handle, op } => match client.memory_handles.resolve(handle) {
            Some(ap) => {
                Route::Arbitrate(arbiter::Request::Memory(MemoryRequest::Access { ap, op }))
            }
            None => Route::Answer(Err(Failure::Request(
                "invalid handle received from remote memory access".into(),
            ))),
        },
    }
}

/// The reply a client gets for an arbitrated request: an identified MEM-AP
/// becomes a handle of this connection, anything else is as it came.
pub fn finish(
    result: Result<Reply, Failure>,
    handles: &mut MemoryHandles,
) -> Result<Reply, Failure> {
    match result {
        Ok(Reply::Output(OpOutput::MemoryAp(None))) => Ok(Reply::Value(Value::Null)),
        Ok(Reply::Output(OpOutput::MemoryAp(Some(ap)))) => match handles.issue(ap) {
            Some(handle) => Ok(Reply::Value(Value::from(handle))),
            None => Err(Failure::Request(format!(
                "too many memory interfaces on this connection (at most {})",
                super::memory_handles::MAX_HANDLES_PER_CONNECTION
            ))),
        },
        other => other,
    }
}

/// The most memory a request may hold for its client while it waits for
/// its response to be written: its decoded data plus its longest possible
/// response. Charged against the client's `max_unsent_bytes` from the
/// moment the request is read, so a client that pipelines large reads and
/// never reads the answers is paused before they run, not after their
/// responses have piled up.
pub fn held_bytes(command: &Command) -> usize {
    /// `{"id":-9223372036854775808,"status":0,"result":…}` and its LF.
    const ENVELOPE: usize = 64;
    /// A word in decimal and its comma.
    const WORD: usize = 11;
    /// A byte in decimal and its comma.
    const BYTE: usize = 4;
    let words = |count: u32| usize::try_from(count).map_or(usize::MAX, |n| n.saturating_mul(WORD));
    let bytes = |count: u32| usize::try_from(count).map_or(usize::MAX, |n| n.saturating_mul(BYTE));
    let data = match command {
        Command::Probe(Op::ReadApMultiple { count, .. }) => words(*count),
        Command::Probe(Op::WriteApMultiple { values, .. }) => values.len() * 4,
        // Each sequence returns at most 64 bits, 8 bytes.
        Command::Probe(Op::SwdSequence(sequences)) => {
            sequences.len() * (std::mem::size_of::<SwdSequence>() + 8 * BYTE)
        }
        Command::Memory { op, .. } => match op {
            MemoryOp::ReadBlock32 { count, .. } => words(*count),
            MemoryOp::ReadBlock8 { count, .. } => bytes(*count),
            MemoryOp::WriteBlock32 { data, .. } => data.len() * 4,
            MemoryOp::WriteBlock8 { data, .. } => data.len(),
            MemoryOp::Read { .. } | MemoryOp::Write { .. } => 0,
        },
        _ => 0,
    };
    ENVELOPE.saturating_add(data)
}

fn hello(version: i64, said_hello: &mut bool) -> Result<Reply, Failure> {
    if version != PROTOCOL_VERSION {
        return Err(Failure::Request(format!(
            "client requested unsupported protocol version {version} (expected {PROTOCOL_VERSION})"
        )));
    }
    *said_hello = true;
    Ok(Reply::Output(OpOutput::Done))
}

/// Asks the worker whether the AP is a MEM-AP (reading its IDR is a probe
/// access), unless the answer is known without one: null when the server
/// hands out no handles, or for an APv2 on a probe that cannot address
/// APv2s.
fn memory_interface(
    version: u32,
    nominal_address: u64,
    hands_out: bool,
    server: &ServerState<'_>,
) -> Route {
    let refuse = |message: String| Route::Answer(Err(Failure::Request(message)));
    let no_handle = Route::Answer(Ok(Reply::Value(Value::Null)));
    let ap = match version {
        1 | 2 if !hands_out => return no_handle,
        1 => match u8::try_from(nominal_address) {
            Ok(apsel) => ApAddress::V1(apsel),
            Err(_) => return refuse(format!("invalid APSEL {nominal_address} (at most 255)")),
        },
        2 if !server
            .info
            .capabilities
            .contains(&Capability::Apv2Addresses) =>
        {
            return no_handle
        }
        2 => match u32::try_from(nominal_address) {
            Ok(base) if base % APV2_ALIGNMENT == 0 => ApAddress::V2(base),
            _ => {
                return refuse(format!(
                    "invalid APv2 address {nominal_address:#x} (a 4 KiB aligned 32-bit address)"
                ))
            }
        },
        _ => {
            return refuse(
                "invalid AP version in remote get_memory_interface_for_ap request".into(),
            )
        }
    };
    Route::Arbitrate(arbiter::Request::Memory(MemoryRequest::IdentifyAp(ap)))
}

/// Records what the client declared and answers the features granted: the
/// known names among `names`, each once. Unknown names are ignored, so a
/// newer client can ask an older server; a later declaration adds to the
/// earlier ones (none is ever withdrawn).
fn declare(names: &[String], features: &mut Features) -> Reply {
    let mut granted = Vec::new();
    if names.iter().any(|name| name == FEATURE_MEMORY_HANDLES) {
        features.memory_handles = true;
        granted.push(Value::from(FEATURE_MEMORY_HANDLES));
    }
    Reply::Value(Value::Array(granted))
}

/// APv2 register blocks are 4 KiB each (ADIv6).
const APV2_ALIGNMENT: u32 = 0x1000;

/// Answers `readprop`; every property pyOCD's client may ask for.
pub fn read_property(
    name: &str,
    info: &ProbeInfo,
    wire_protocol: Option<WireProtocol>,
) -> Result<Reply, Failure> {
    let value = match name {
        "vendor_name" => Value::from(info.vendor_name.as_str()),
        "product_name" => Value::from(info.product_name.as_str()),
        "unique_id" => Value::from(info.unique_id.as_str()),
        "description" => Value::from(info.description.as_str()),
        // pyOCD refuses to connect unless DEFAULT is listed (its dap.py
        // checks the session's default protocol against this list), as its
        // own CMSIS-DAP probe class lists it.
        "supported_wire_protocols" => std::iter::once(Value::from("DEFAULT"))
            .chain(
                info.supported_wire_protocols
                    .iter()
                    .map(|p| Value::from(p.name())),
            )
            .collect(),
        "wire_protocol" => wire_protocol.map_or(Value::Null, |p| Value::from(p.name())),
        "capabilities" => info
            .capabilities
            .iter()
            .map(|c| Value::from(c.name()))
            .collect(),
        _ => {
            return Err(Failure::Request(format!(
                "unknown property name '{name}' requested"
            )))
        }
    };
    Ok(Reply::Value(value))
}
