//! The front end for pyOCD's remote probe protocol: JSON lines.
//!
//! Framing is LF with a hard cap on line length ([`framing`]); each line
//! is decoded by [`crate::protocol`], and [`requests`] decides what it
//! needs: `hello`, properties and refused requests are answered here,
//! everything else goes to the arbiter. Answers are encoded by
//! [`crate::protocol::encode_response`]. The per-client state is the
//! `hello` gate, the features it declared (`probeshare_features`) and the
//! memory handles it was given ([`memory_handles`]); all die with the
//! connection.

pub mod framing;
mod memory_handles;
mod requests;
pub mod session_port;

use std::io::{self, Read};

use self::framing::{Frame, LineFramer};
use self::memory_handles::MemoryHandles;
use self::requests::{ClientState, Features, ServerState};
use super::front_end::{Encoded, FrontEnd, Incoming, ProbeView, Route, WireFormat};
use super::settings::ServerConfig;
use super::traffic::{AnswerStatus, INVALID_REQUEST};
use crate::arbiter::Outcome;
use crate::protocol::{self, Command, DecodeLimits, Failure, Reply, SharingFailure};

/// pyOCD's wire format as one server serves it.
pub struct Pyocd {
    max_line_bytes: usize,
    decode_limits: DecodeLimits,
    /// Whether MEM-APs get memory handles ([`ServerConfig::memory_handles`]).
    memory_handles: bool,
}

impl Pyocd {
    pub fn new(config: &ServerConfig) -> Pyocd {
        Pyocd {
            max_line_bytes: config.limits.max_line_bytes,
            decode_limits: DecodeLimits {
                max_block_elements: config.limits.max_block_elements,
            },
            memory_handles: config.memory_handles,
        }
    }
}

impl Pyocd {
    /// A new connection's side of the protocol.
    fn json_lines(&self) -> JsonLines {
        JsonLines {
            framer: LineFramer::new(self.max_line_bytes),
            max_line_bytes: self.max_line_bytes,
            decode_limits: self.decode_limits,
            hands_out_handles: self.memory_handles,
            said_hello: false,
            memory_handles: MemoryHandles::default(),
            features: Features::default(),
        }
    }
}

impl WireFormat for Pyocd {
    fn name(&self) -> &'static str {
        super::front_end::FRONT_END_PYOCD
    }

    fn front_end(&self) -> Box<dyn FrontEnd> {
        Box::new(self.json_lines())
    }

    fn refusal(&self, why: &str) -> Vec<u8> {
        encode_local(-1, &Err(Failure::Request(why.into()))).bytes
    }
}

/// One pyOCD client's side of the protocol.
struct JsonLines {
    framer: LineFramer,
    max_line_bytes: usize,
    decode_limits: DecodeLimits,
    hands_out_handles: bool,
    said_hello: bool,
    /// The memory handles this client obtained; they die with it.
    memory_handles: MemoryHandles,
    /// What the client declared with `probeshare_features`.
    features: Features,
}

impl FrontEnd for JsonLines {
    fn read_from(
        &mut self,
        mut socket: &mut dyn Read,
        scratch: &mut [u8],
    ) -> io::Result<(usize, bool)> {
        self.framer.read_from(&mut socket, scratch)
    }

    fn next_request(&mut self, probe: &mut ProbeView<'_>) -> Option<Incoming> {
        loop {
            let line = match self.framer.next_frame()? {
                Frame::Line(line) => line,
                Frame::TooLong => return Some(self.too_long()),
            };
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(self.request(line, probe));
        }
    }

    fn encode(&mut self, out: &mut Vec<u8>, key: i64, outcome: Outcome) -> AnswerStatus {
        let result = requests::finish(outcome_to_reply(outcome), &mut self.memory_handles);
        protocol::encode_response(out, key, &result);
        status_of(&result)
    }
}

impl JsonLines {
    /// Decodes and routes one line.
    fn request(&mut self, line: &[u8], probe: &mut ProbeView<'_>) -> Incoming {
        let request = match protocol::decode_request(line, &self.decode_limits) {
            Ok(request) => request,
            Err(e) => {
                return Incoming {
                    key: e.id,
                    name: INVALID_REQUEST,
                    held: 0,
                    route: Route::Answer(encode_local(e.id, &Err(Failure::Request(e.message)))),
                }
            }
        };
        let name = request.command.name();
        let held = requests::held_bytes(&request.command);
        let wire_protocol = match &request.command {
            Command::ReadProp { name } if name == "wire_protocol" => probe.observe_wire(),
            _ => probe.wire_protocol(),
        };
        let state = ClientState {
            said_hello: &mut self.said_hello,
            memory_handles: &self.memory_handles,
            features: &mut self.features,
        };
        let server = ServerState {
            info: probe.info(),
            wire_protocol,
            memory_handles: self.hands_out_handles,
        };
        let route = match requests::route(request.command, state, server) {
            requests::Route::Answer(result) => Route::Answer(encode_local(request.id, &result)),
            requests::Route::Arbitrate(request) => Route::Arbitrate(request),
        };
        Incoming {
            key: request.id,
            name,
            held,
            route,
        }
    }

    /// A line over the limit, answered under id -1 (it has none that could
    /// be trusted).
    fn too_long(&self) -> Incoming {
        let failure = Failure::Request(format!(
            "request line too long (limit {} bytes)",
            self.max_line_bytes
        ));
        Incoming {
            key: -1,
            name: INVALID_REQUEST,
            held: 0,
            route: Route::Reject(encode_local(-1, &Err(failure))),
        }
    }
}

/// An answer made without the arbiter, encoded for the answer slot.
fn encode_local(id: i64, result: &Result<Reply, Failure>) -> Encoded {
    let mut bytes = Vec::new();
    protocol::encode_response(&mut bytes, id, result);
    Encoded {
        bytes,
        status: status_of(result),
    }
}

fn status_of(result: &Result<Reply, Failure>) -> AnswerStatus {
    match result {
        Ok(_) => AnswerStatus::SUCCESS,
        Err(failure) => AnswerStatus::failed(failure),
    }
}

fn outcome_to_reply(outcome: Outcome) -> Result<Reply, Failure> {
    match outcome {
        Outcome::Ok(output) => Ok(Reply::Output(output)),
        Outcome::Sharing(e) => Err(Failure::Sharing(SharingFailure {
            probe_error: e.is_probe_error(),
            message: e.to_string(),
        })),
        Outcome::Probe(e) => Err(Failure::Probe(e)),
    }
}

#[cfg(test)]
mod tests {
    //! The front end alone, without a socket or a loop: what the seam asks
    //! of any front end.

    use super::*;
    use crate::arbiter::{Arbiter, ArbiterConfig, Request};
    use crate::ids::ClientId;
    use crate::probe::{Op, OpOutput, ProbeError, ProbeInfo};

    fn info() -> ProbeInfo {
        ProbeInfo {
            unique_id: "test".into(),
            vendor_name: "v".into(),
            product_name: "p".into(),
            description: "d".into(),
            supported_wire_protocols: Vec::new(),
            capabilities: Vec::new(),
            firmware_version: None,
        }
    }

    /// Reads `input` as the loop does (requests taken after each read)
    /// and returns the front end and what it routed.
    fn serve(max_line_bytes: usize, input: &[u8]) -> (Box<dyn FrontEnd>, Vec<Incoming>) {
        let mut config = ServerConfig::default();
        config.limits.max_line_bytes = max_line_bytes;
        let mut front_end = Pyocd::new(&config).front_end();
        let (info, mut arbiter) = (info(), Arbiter::new(ArbiterConfig::default()));
        let mut probe = ProbeView::new(ClientId(7), &info, &mut arbiter);
        let mut socket = input;
        let mut scratch = vec![0; 16];
        let mut incoming = Vec::new();
        while front_end.read_from(&mut socket, &mut scratch).unwrap().0 > 0 {
            incoming.extend(std::iter::from_fn(|| front_end.next_request(&mut probe)));
        }
        (front_end, incoming)
    }

    fn encoded(route: Route) -> (String, AnswerStatus) {
        match route {
            Route::Answer(e) | Route::Reject(e) => (String::from_utf8(e.bytes).unwrap(), e.status),
            Route::Arbitrate(request) => panic!("arbitrated: {request:?}"),
            Route::EndSession(_) => panic!("the probe port has no session commands"),
        }
    }

    #[test]
    fn requests_are_routed_in_order_and_outcomes_encoded_under_their_key() {
        let input = b"{\"id\":1,\"request\":\"hello\",\"arguments\":[1]}\n\n\
                      {\"id\":2,\"request\":\"open\"}\r\n";
        let (mut front_end, incoming) = serve(1000, input);
        let [hello, open] = <[Incoming; 2]>::try_from(incoming).unwrap();

        assert_eq!((hello.key, hello.name), (1, "hello"));
        let answer = encoded(hello.route);
        assert_eq!(
            answer,
            ("{\"id\":1,\"status\":0}\n".into(), AnswerStatus::SUCCESS)
        );
        assert_eq!((open.key, open.name), (2, "open"));
        assert!(matches!(
            open.route,
            Route::Arbitrate(Request::Probe(Op::Open))
        ));

        let mut out = Vec::new();
        let failure = ProbeError::TransferFault("x".into());
        let status = front_end.encode(&mut out, 2, Outcome::Probe(failure));
        assert_eq!(status.code, 12);
        assert_eq!(status.probe_error, Some("fault"));
        assert!(out.starts_with(b"{\"id\":2,\"status\":12,"));
        let status = front_end.encode(&mut out, 3, Outcome::Ok(OpOutput::Done));
        assert_eq!(status, AnswerStatus::SUCCESS);
        assert!(out.ends_with(b"{\"id\":3,\"status\":0}\n"));
    }

    #[test]
    fn a_line_over_the_limit_is_rejected_under_id_minus_one_and_hello_is_still_required() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\n{\"id\":5,\"request\":\"open\"}\n");
        let (_, incoming) = serve(50, &input);
        let [too_long, open] = <[Incoming; 2]>::try_from(incoming).unwrap();

        assert!(matches!(too_long.route, Route::Reject(_)));
        let (line, status) = encoded(too_long.route);
        assert!(line.starts_with("{\"id\":-1,\"status\":1,"), "{line}");
        assert_eq!(status.code, 1);
        let (line, _) = encoded(open.route);
        assert!(line.contains("hello required"), "{line}");
    }
}
