//! Faults injected into the virtual target's SWD transactions, for tests of
//! what the layers above do when a target misbehaves: a MEM-AP access to a
//! chosen address range is answered WAIT, FAULT, not at all, or with read
//! data whose parity fails, instead of running.
//!
//! Only tests arm these (through [`crate::sim::dap_firmware::FaultHandle`]):
//! nothing a network peer sends reaches them, and a target nobody armed
//! behaves exactly as without them.
//!
//! What each does on the wire it stands for:
//! - [`InjectedAck::Wait`]: the AP is busy; the transaction did not happen
//!   (the DP notes it as it notes any WAIT). Armed until cleared, it is a
//!   WAIT storm: every retry the firmware makes is answered WAIT too.
//! - [`InjectedAck::Fault`]: the access failed on the bus; STICKYERR is set,
//!   as for a real bus error.
//! - [`InjectedAck::NoAck`]: the target did not drive an acknowledge.
//! - [`InjectedAck::ParityError`]: a read's data arrived with the wrong
//!   parity, which the probe reports as an SWD protocol error. The target
//!   did nothing. Writes to the range are not affected (a write's data
//!   parity is the target's to check: see
//!   [`SwdTarget::inject_write_parity_error`](super::SwdTarget::inject_write_parity_error)).
//!
//! Only accesses that reach memory count (DRW and BD0–BD3 of the AHB-AP, at
//! the address TAR gives them); CSW, TAR and the DP never fault here.

use std::ops::Range;

use super::target::Ack;

/// The acknowledge an injected fault answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedAck {
    Wait,
    Fault,
    NoAck,
    ParityError,
}

impl InjectedAck {
    /// The acknowledge the transaction gets.
    pub(crate) fn ack(self) -> Ack {
        match self {
            InjectedAck::Wait => Ack::Wait,
            InjectedAck::Fault => Ack::Fault,
            InjectedAck::NoAck => Ack::NoAck,
            InjectedAck::ParityError => Ack::ParityError,
        }
    }
}

/// One armed fault.
#[derive(Clone, Debug)]
struct ArmedFault {
    addresses: Range<u32>,
    ack: InjectedAck,
    /// Transactions it still answers; `None`: until cleared.
    remaining: Option<u32>,
}

/// The faults armed on a target, and how many transactions they answered.
#[derive(Debug, Default)]
pub(crate) struct AddressFaults {
    armed: Vec<ArmedFault>,
    injected: u64,
}

impl AddressFaults {
    /// Answers MEM-AP accesses to `addresses` with `ack`, the next `times`
    /// of them (`None`: until [`AddressFaults::clear`]).
    pub(crate) fn arm(&mut self, addresses: Range<u32>, ack: InjectedAck, times: Option<u32>) {
        self.armed.push(ArmedFault {
            addresses,
            ack,
            remaining: times,
        });
    }

    pub(crate) fn clear(&mut self) {
        self.armed.clear();
    }

    /// Transactions answered by an injected fault so far.
    pub(crate) fn injected(&self) -> u64 {
        self.injected
    }

    /// The injected acknowledge for a `read` (or write) of `address`, if an
    /// armed fault covers it; counts it against that fault.
    pub(crate) fn take(&mut self, address: u32, read: bool) -> Option<InjectedAck> {
        let index = self.armed.iter().position(|fault| {
            fault.addresses.contains(&address)
                && (read || fault.ack != InjectedAck::ParityError)
                && fault.remaining != Some(0)
        })?;
        let fault = &mut self.armed[index];
        if let Some(left) = &mut fault.remaining {
            *left -= 1;
        }
        let ack = fault.ack;
        if fault.remaining == Some(0) {
            self.armed.remove(index);
        }
        self.injected += 1;
        Some(ack)
    }
}
