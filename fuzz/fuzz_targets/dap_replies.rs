//! The CMSIS-DAP driver against hostile firmware: every reply packet the
//! driver reads comes from the fuzz input (mostly echoing the command id
//! it answers, so the fuzzer gets past the first check; sometimes raw
//! bytes, a timeout or a lost device). The driver reads DAP_Info, then
//! runs a list of operations and memory-handle requests through the
//! worker's dispatch. It must never panic or hang, and whatever it
//! returns as success must have the shape the operation promises (a
//! word count, a byte string per read sequence).
//!
//! Input: options (deferred writes), the operations (a count, then each
//! operation's bytes), then the replies.

#![no_main]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use probeshare::arbiter::Request;
use probeshare::cmsis_dap::{CmsisDapProbe, ProbeIdentity, Transport, TransportError};
use probeshare::memap::MemAps;
use probeshare::worker::{perform, Task};
use probeshare_fuzz::input::Input;
use probeshare_fuzz::requests::{answers, memory_request, register_op};

/// The replies still to give, and the command id of each packet written
/// and not answered yet.
struct Firmware {
    replies: Vec<u8>,
    at: usize,
    unanswered: VecDeque<u8>,
}

impl Firmware {
    fn byte(&mut self) -> Option<u8> {
        let byte = self.replies.get(self.at).copied();
        self.at += 1;
        byte
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let start = self.at.min(self.replies.len());
        let end = (start + len).min(self.replies.len());
        self.at = start + len;
        self.replies[start..end].to_vec()
    }
}

/// The transport: writes always go through; each read is decided by the
/// next reply byte.
struct Hostile(Arc<Mutex<Firmware>>);

impl Transport for Hostile {
    fn write_packet(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        let mut firmware = self.0.lock().unwrap();
        firmware
            .unanswered
            .push_back(packet.first().copied().unwrap_or(0));
        Ok(())
    }

    fn read_packet(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let mut firmware = self.0.lock().unwrap();
        let Some(control) = firmware.byte() else {
            // Nothing left to say: the firmware has stopped answering.
            return Err(TransportError::Timeout(timeout));
        };
        let reply = match control % 16 {
            0..=11 => {
                let id = firmware.unanswered.pop_front().unwrap_or(0);
                let len = usize::from(firmware.byte().unwrap_or(0));
                let mut reply = vec![id];
                reply.extend(firmware.bytes(len));
                reply
            }
            12 | 13 => {
                firmware.unanswered.pop_front();
                let len = usize::from(firmware.byte().unwrap_or(0));
                firmware.bytes(len)
            }
            14 => return Err(TransportError::Timeout(timeout)),
            _ => {
                return Err(TransportError::Disconnected(
                    "unplugged by the fuzz target".into(),
                ))
            }
        };
        let n = reply.len().min(buf.len());
        buf[..n].copy_from_slice(&reply[..n]);
        Ok(n)
    }

    fn initial_packet_size(&self) -> usize {
        64
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let options = input.byte();
    let count = input.byte() % 32;
    let ops_len = usize::from(input.byte());
    let ops_bytes: Vec<u8> = (0..ops_len).map(|_| input.byte()).collect();
    let firmware = Arc::new(Mutex::new(Firmware {
        replies: input.rest().to_vec(),
        at: 0,
        unanswered: VecDeque::new(),
    }));

    let identity = ProbeIdentity {
        unique_id: "fuzz".into(),
        vendor_name: "fuzz".into(),
        product_name: "fuzz".into(),
        description: "fuzz".into(),
    };
    let Ok(mut probe) = CmsisDapProbe::new(Hostile(firmware.clone()), identity) else {
        return;
    };
    probe.set_deferred_writes(options & 1 != 0);
    probe.set_reset_timing(Duration::ZERO, Duration::ZERO);
    let mut memaps = MemAps::default();
    let mut ops = Input::new(&ops_bytes);
    for _ in 0..count {
        let (task, request) = match ops.byte() % 8 {
            0 => {
                let op = probeshare::probe::Op::Open;
                (Task::Probe(op.clone()), Request::Probe(op))
            }
            1 => {
                let op =
                    probeshare::probe::Op::Connect(probeshare::probe::ProtocolRequest::Default);
                (Task::Probe(op.clone()), Request::Probe(op))
            }
            2 => {
                let request = memory_request(&mut ops);
                (Task::Memory(request.clone()), Request::Memory(request))
            }
            _ => {
                let op = register_op(&mut ops);
                (Task::Probe(op.clone()), Request::Probe(op))
            }
        };
        if let Ok(output) = perform(&mut probe, &mut memaps, &task) {
            assert!(
                answers(&request, &output),
                "{request:?} answered {output:?}"
            );
        }
    }
});
