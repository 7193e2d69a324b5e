//! Fault injection for tests: [`FaultHandle`] arms faults in the emulated
//! firmware's replies and, through `sim::faults`, in the target's SWD
//! transactions, while a driver (or a whole server) owns the probe.
//!
//! Reachable only from Rust code holding the [`VirtualProbe`]'s handle
//! (tests, in process); no request, configuration key or management route
//! arms a fault, so a network peer cannot.
//!
//! Reply faults, each for the `skip + 1`th next packet of one command ID
//! (the first byte of the command packet, so 0x7E/0x7F for queued and
//! executed command packets):
//! - [`ReplyFault::Truncate`]: the reply is cut to a number of bytes, as a
//!   firmware that miscounts its reply would send it.
//! - [`ReplyFault::WrongCommand`]: the reply echoes another command ID, as
//!   a firmware answering out of turn would.
//! - [`ReplyFault::Swallow`]: the command runs and no reply ever comes.
//! - [`ReplyFault::Disconnect`]: the command runs, then the cable is pulled
//!   before its reply leaves: a USB disconnect in the middle of a batch.
//!
//! And [`FaultHandle::stop_answering`]: a firmware that hangs, running no
//! command and answering none until [`FaultHandle::resume_answering`]
//! (what was sent meanwhile is lost).
//!
//! [`VirtualProbe`]: crate::sim::VirtualProbe

use std::ops::Range;
use std::sync::Arc;

use parking_lot::Mutex;

use super::SharedTarget;
use crate::sim::faults::InjectedAck;

/// What happens to a reply (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyFault {
    /// Cut to this many bytes.
    Truncate(usize),
    /// First byte replaced by this ID.
    WrongCommand(u8),
    /// Never sent.
    Swallow,
    /// Never sent: the device is gone.
    Disconnect,
}

#[derive(Clone, Copy, Debug)]
struct ArmedReply {
    command: u8,
    skip: u32,
    fault: ReplyFault,
}

#[derive(Debug, Default)]
pub(super) struct FirmwareFaults {
    replies: Vec<ArmedReply>,
    pub(super) hung: bool,
    /// Reply faults carried out so far.
    pub(super) injected: u64,
}

impl FirmwareFaults {
    /// Whether a hung firmware takes this packet and drops it (counted).
    pub(super) fn swallow_if_hung(&mut self) -> bool {
        if self.hung {
            self.injected += 1;
        }
        self.hung
    }

    /// The fault for the reply to a packet of `command`, if one is armed
    /// and due.
    pub(super) fn take_reply(&mut self, command: u8) -> Option<ReplyFault> {
        let index = self.replies.iter().position(|r| r.command == command)?;
        let armed = &mut self.replies[index];
        if armed.skip > 0 {
            armed.skip -= 1;
            return None;
        }
        let fault = armed.fault;
        self.replies.remove(index);
        self.injected += 1;
        Some(fault)
    }
}

/// Arms faults in one emulated probe (see the module doc).
#[derive(Clone)]
pub struct FaultHandle {
    pub(super) firmware: Arc<Mutex<FirmwareFaults>>,
    pub(super) target: SharedTarget,
}

impl FaultHandle {
    /// Answers MEM-AP accesses to `addresses` with `ack` until
    /// [`FaultHandle::clear`] (`sim::faults`).
    pub fn fail_at(&self, addresses: Range<u32>, ack: InjectedAck) {
        self.target.lock().inject_fault_at(addresses, ack, None);
    }

    /// Applies `fault` to the reply of the packet of `command` after the
    /// next `skip` ones.
    pub fn fault_reply(&self, command: u8, skip: u32, fault: ReplyFault) {
        self.firmware.lock().replies.push(ArmedReply {
            command,
            skip,
            fault,
        });
    }

    /// The firmware hangs: packets are taken and neither run nor answered.
    pub fn stop_answering(&self) {
        self.firmware.lock().hung = true;
    }

    pub fn resume_answering(&self) {
        self.firmware.lock().hung = false;
    }

    /// Disarms every fault, in the firmware and the target.
    pub fn clear(&self) {
        let mut firmware = self.firmware.lock();
        firmware.replies.clear();
        firmware.hung = false;
        self.target.lock().clear_faults();
    }

    /// Faults carried out so far: replies changed and transactions answered
    /// by an injected acknowledge. Lets a test prove its fault happened.
    pub fn injected(&self) -> u64 {
        self.firmware.lock().injected + self.target.lock().injected_faults()
    }
}
