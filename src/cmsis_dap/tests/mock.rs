//! A scripted [`Transport`]: the test lists, in order, every packet the
//! driver must write (compared byte for byte) and every reply (or transport
//! error) it gets back, so the script also pins how many packets go out
//! before a reply is read.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cmsis_dap::{CmsisDapProbe, ProbeIdentity, Transport, TransportError};
use crate::probe::{DebugProbe, ProtocolRequest, WireProtocol};

#[derive(Debug)]
enum Step {
    Write(Vec<u8>, Result<(), TransportError>),
    Read(Result<Vec<u8>, TransportError>),
}

#[derive(Debug, Default)]
struct State {
    steps: VecDeque<Step>,
    packet_size_told: Option<usize>,
}

/// The expected conversation, shared between a test and its transport.
#[derive(Clone, Debug, Default)]
pub struct Script(Arc<Mutex<State>>);

impl Script {
    pub fn new() -> Script {
        Script::default()
    }

    fn push(&self, step: Step) -> &Script {
        self.0.lock().unwrap().steps.push_back(step);
        self
    }

    /// The driver must write exactly `packet` next.
    pub fn write(&self, packet: &[u8]) -> &Script {
        self.push(Step::Write(packet.to_vec(), Ok(())))
    }

    /// The driver writes `packet`, and the write fails.
    pub fn write_fails(&self, packet: &[u8], error: TransportError) -> &Script {
        self.push(Step::Write(packet.to_vec(), Err(error)))
    }

    /// The next read returns `reply`.
    pub fn reply(&self, reply: &[u8]) -> &Script {
        self.push(Step::Read(Ok(reply.to_vec())))
    }

    /// The next read fails.
    pub fn reply_error(&self, error: TransportError) -> &Script {
        self.push(Step::Read(Err(error)))
    }

    /// The next read times out.
    pub fn silence(&self) -> &Script {
        self.reply_error(TransportError::Timeout(Duration::from_millis(1)))
    }

    /// A request and its reply.
    pub fn exchange(&self, request: &[u8], reply: &[u8]) -> &Script {
        self.write(request).reply(reply)
    }

    /// Fails the test unless every scripted step happened.
    pub fn assert_done(&self) {
        let state = self.0.lock().unwrap();
        assert!(
            state.steps.is_empty(),
            "script not finished, still expected: {:02x?}",
            state.steps
        );
    }

    pub fn packet_size_told(&self) -> Option<usize> {
        self.0.lock().unwrap().packet_size_told
    }

    pub fn transport(&self, initial_packet_size: usize) -> MockTransport {
        MockTransport {
            script: self.clone(),
            initial_packet_size,
        }
    }
}

pub struct MockTransport {
    script: Script,
    initial_packet_size: usize,
}

impl Transport for MockTransport {
    fn write_packet(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        let step = self.script.0.lock().unwrap().steps.pop_front();
        match step {
            Some(Step::Write(expected, result)) => {
                assert_eq!(
                    packet,
                    &expected[..],
                    "written packet differs from the script"
                );
                result
            }
            other => panic!("driver wrote {packet:02x?}, script expected {other:02x?}"),
        }
    }

    fn read_packet(&mut self, buf: &mut [u8], _timeout: Duration) -> Result<usize, TransportError> {
        let step = self.script.0.lock().unwrap().steps.pop_front();
        match step {
            Some(Step::Read(Ok(reply))) => {
                assert!(
                    reply.len() <= buf.len(),
                    "reply larger than the read buffer"
                );
                buf[..reply.len()].copy_from_slice(&reply);
                Ok(reply.len())
            }
            Some(Step::Read(Err(error))) => Err(error),
            other => panic!("driver read a reply, script expected {other:02x?}"),
        }
    }

    fn initial_packet_size(&self) -> usize {
        self.initial_packet_size
    }

    fn set_packet_size(&mut self, size: usize) {
        self.script.0.lock().unwrap().packet_size_told = Some(size);
    }
}

/// What the scripted probe says about itself in DAP_Info.
#[derive(Clone, Copy, Debug)]
pub struct Firmware {
    pub packet_size: u16,
    pub packet_count: u8,
    pub capabilities: u8,
    pub version: &'static str,
}

/// SWD + JTAG + SWO UART, protocol 2.1.0, 64-byte packets, 4 buffered.
pub const FULL: Firmware = Firmware {
    packet_size: 64,
    packet_count: 4,
    capabilities: 0x07,
    version: "2.1.0",
};

/// A DAP_Info string reply.
pub fn info_string(text: &str) -> Vec<u8> {
    let mut reply = vec![0x00, text.len() as u8 + 1];
    reply.extend_from_slice(text.as_bytes());
    reply.push(0);
    reply
}

/// Scripts what `CmsisDapProbe::new` asks of `firmware`.
pub fn script_dap_info(script: &Script, firmware: Firmware) {
    script.exchange(&[0x00, 0xFE], &[0x00, 0x01, firmware.packet_count]);
    script.exchange(&[0x00, 0x04], &info_string(firmware.version));
    if firmware.version.starts_with("2.1") {
        script.exchange(&[0x00, 0x09], &info_string("0.9"));
    }
    let [lo, hi] = firmware.packet_size.to_le_bytes();
    script.exchange(&[0x00, 0xFF], &[0x00, 0x02, lo, hi]);
    script.exchange(&[0x00, 0xF0], &[0x00, 0x01, firmware.capabilities]);
}

pub fn identity() -> ProbeIdentity {
    ProbeIdentity {
        unique_id: "SER123".to_owned(),
        vendor_name: "ACME".to_owned(),
        product_name: "Probe CMSIS-DAP".to_owned(),
        description: "ACME Probe CMSIS-DAP".to_owned(),
    }
}

/// A probe built from `firmware`, DAP_Info already consumed.
pub fn new_probe(firmware: Firmware) -> (CmsisDapProbe<MockTransport>, Script) {
    let script = Script::new();
    script_dap_info(&script, firmware);
    let mut probe = CmsisDapProbe::new(script.transport(64), identity()).expect("probe");
    probe.set_reset_timing(Duration::ZERO, Duration::ZERO);
    script.assert_done();
    (probe, script)
}

/// The exchanges of `open`.
pub fn script_open(script: &Script) {
    script.exchange(&[0x01, 0x00, 0x01], &[0x01, 0x00]);
    script.exchange(&[0x04, 0x00, 0x50, 0x00, 0x00, 0x00], &[0x04, 0x00]);
    script.exchange(&[0x13, 0x00], &[0x13, 0x00]);
}

/// A probe opened and connected with SWD at 1 MHz.
pub fn connected_probe(firmware: Firmware) -> (CmsisDapProbe<MockTransport>, Script) {
    let (mut probe, script) = new_probe(firmware);
    script_open(&script);
    script.exchange(&[0x02, 0x01], &[0x02, 0x01]);
    script.exchange(&[0x11, 0x40, 0x42, 0x0F, 0x00], &[0x11, 0x00]);
    probe.open().expect("open");
    let wire = probe.connect(ProtocolRequest::Default).expect("connect");
    assert_eq!(wire, WireProtocol::Swd);
    script.assert_done();
    (probe, script)
}
