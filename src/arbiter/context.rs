//! Rules 9–11 as the arbiter keeps them: each client's own view of the
//! debug port, the core register window, and clear-on-read bits per client.
//!
//! - **SELECT (rule 9).** A client's DP access to a banked register that
//!   names no bank is sent with the bank of that client's own SELECT, so
//!   the driver selects it whoever wrote SELECT last. (CSW and TAR are
//!   restored by the worker, which sees the hardware's answers.)
//! - **Core register window (rule 10).** A client's write of DCRSR without
//!   REGWnR (a register read) or of DCRDR (the first half of a register
//!   write) opens a window that its DCRDR read, or its DCRSR write with
//!   REGWnR, closes. While it is open only that client's requests are
//!   taken, as under a lock. It also closes when the client goes, when the
//!   transfer that opened it fails, or when the server expires it
//!   ([`super::Arbiter::expire_register_window`]). Which memory a DRW
//!   access reaches is told by the client's own TAR and CSW (`ClientView`);
//!   a memory-handle request names its own addresses
//!   (`MemoryRequest::accesses`), and counts as the client's access.
//! - **DHCSR (rule 11).** When any client's read of DHCSR returns
//!   S_RESET_ST or S_RETIRE_ST (which the read clears), every other client
//!   is owed those bits and sees them in its own next DHCSR read.
//!
//! Sticky error flags, the other half of rule 11, are the worker's
//! (`worker::sticky`), which sees each failure before the next client's
//! transfer runs.

use std::collections::HashMap;

use crate::dap::registers::{DCRDR, DCRSR, DCRSR_REGWNR, DHCSR, DHCSR_CLEARED_ON_READ};
use crate::dap::{ClientView, MemoryAccesses};
use crate::ids::{ClientId, JobId};
use crate::memap::{MemoryOp, MemoryRequest};
use crate::probe::Op;
use crate::worker::Task;

/// The window a client's core register transfer holds open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegisterWindow {
    pub client: ClientId,
    /// Distinguishes this window from earlier ones of the same client.
    pub id: u64,
}

#[derive(Clone, Copy, Debug)]
struct OpenWindow {
    window: RegisterWindow,
    opened_by: JobId,
}

/// What a client's operation means for the core register window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WindowStep {
    Open,
    Close,
}

#[derive(Debug, Default)]
pub(super) struct Contexts {
    views: HashMap<ClientId, ClientView>,
    unread_dhcsr: HashMap<ClientId, u32>,
    window: Option<OpenWindow>,
    windows_opened: u64,
}

impl Contexts {
    /// Whether a DP access of `client` is to CTRL/STAT in its own view.
    pub fn is_ctrl_stat(&self, client: ClientId, addr: u32, is_read: bool) -> bool {
        match self.views.get(&client) {
            Some(view) => view.is_ctrl_stat(addr, is_read),
            None => ClientView::default().is_ctrl_stat(addr, is_read),
        }
    }

    /// The task as the hardware must see it for this client: DP
    /// addresses carry the client's bank.
    pub fn for_hardware(&self, client: ClientId, task: Task) -> Task {
        match task {
            Task::Probe(op) => Task::Probe(self.op_for_hardware(client, op)),
            other => other,
        }
    }

    /// [`Self::for_hardware`] for one probe operation.
    pub fn op_for_hardware(&self, client: ClientId, op: Op) -> Op {
        let Some(view) = self.views.get(&client) else {
            return op;
        };
        match op {
            Op::ReadDp(addr) => Op::ReadDp(view.dp_address(addr, true)),
            Op::WriteDp { addr, value } => Op::WriteDp {
                addr: view.dp_address(addr, false),
                value,
            },
            other => other,
        }
    }

    /// The index of the DHCSR read in `task`'s result, if it reads DHCSR.
    pub fn dhcsr_read(&self, client: ClientId, task: &Task) -> Option<usize> {
        let accesses = self.accesses(client, task)?;
        (!accesses.is_write).then(|| accesses.index_of(DHCSR))?
    }

    /// The memory `task` reaches: for an AP access, as the client's view
    /// tells; a memory-handle request names its own.
    fn accesses(&self, client: ClientId, task: &Task) -> Option<MemoryAccesses> {
        match task {
            Task::Probe(op) => match self.views.get(&client) {
                Some(view) => view.memory_accesses(op),
                None => ClientView::default().memory_accesses(op),
            },
            Task::Memory(request) => request.accesses(),
            // The arbiter takes a sequence's operations one by one.
            Task::Sequence(_) => None,
            // The CTRL-AP only: no memory.
            Task::MassErase => None,
        }
    }

    /// Takes note of a task of `client` being sent as job `job`: its view
    /// and the register window.
    pub fn sent(&mut self, client: ClientId, task: &Task, job: JobId) {
        match self.window_step(client, task) {
            Some(WindowStep::Open) if self.window_holder() != Some(client) => {
                self.windows_opened += 1;
                self.window = Some(OpenWindow {
                    window: RegisterWindow {
                        client,
                        id: self.windows_opened,
                    },
                    opened_by: job,
                });
            }
            Some(WindowStep::Close) if self.window_holder() == Some(client) => self.window = None,
            _ => {}
        }
        if let Task::Probe(op) = task {
            self.views.entry(client).or_default().observe(op);
        }
    }

    fn window_step(&self, client: ClientId, task: &Task) -> Option<WindowStep> {
        let accesses = self.accesses(client, task)?;
        let written = |index: usize| written_word(task, index);
        // The last of the block's accesses to DCRSR or DCRDR decides.
        let dcrsr = last_index_of(&accesses, DCRSR);
        let dcrdr = last_index_of(&accesses, DCRDR);
        let step_at = |index: usize, register: u32| match (register, accesses.is_write) {
            (DCRSR, true) => match written(index) {
                Some(value) if value & DCRSR_REGWNR == 0 => Some(WindowStep::Open),
                Some(_) => Some(WindowStep::Close),
                None => None,
            },
            (DCRDR, true) => Some(WindowStep::Open),
            (DCRDR, false) => Some(WindowStep::Close),
            _ => None,
        };
        match (dcrsr, dcrdr) {
            (Some(s), Some(d)) if s > d => step_at(s, DCRSR),
            (_, Some(d)) => step_at(d, DCRDR),
            (Some(s), None) => step_at(s, DCRSR),
            (None, None) => None,
        }
    }

    /// The client whose register window is open, if any.
    pub fn window_holder(&self) -> Option<ClientId> {
        self.window.map(|open| open.window.client)
    }

    pub fn window(&self) -> Option<RegisterWindow> {
        self.window.map(|open| open.window)
    }

    /// Closes window `id` if it is still the open one.
    pub fn expire_window(&mut self, id: u64) -> bool {
        if self.window.is_some_and(|open| open.window.id == id) {
            self.window = None;
            true
        } else {
            false
        }
    }

    /// Job `job` failed: a window it opened is closed (the transfer did
    /// not happen).
    pub fn failed(&mut self, job: JobId) {
        if self.window.is_some_and(|open| open.opened_by == job) {
            self.window = None;
        }
    }

    /// `reader` read DHCSR as `value`: the clear-on-read bits it shows are
    /// owed to everyone else in `others`; the reader also gets what it was
    /// owed.
    pub fn dhcsr_seen(
        &mut self,
        reader: Option<ClientId>,
        value: u32,
        others: impl Iterator<Item = ClientId>,
    ) -> u32 {
        let events = value & DHCSR_CLEARED_ON_READ;
        if events != 0 {
            for other in others.filter(|&other| Some(other) != reader) {
                *self.unread_dhcsr.entry(other).or_default() |= events;
            }
        }
        let owed = reader
            .and_then(|reader| self.unread_dhcsr.remove(&reader))
            .unwrap_or(0);
        value | owed
    }

    /// The client is gone.
    pub fn remove(&mut self, client: ClientId) {
        self.views.remove(&client);
        self.unread_dhcsr.remove(&client);
        if self.window_holder() == Some(client) {
            self.window = None;
        }
    }
}

/// The value `task` writes in its `index`th access.
fn written_word(task: &Task, index: usize) -> Option<u32> {
    match task {
        Task::Probe(Op::WriteAp { value, .. }) if index == 0 => Some(*value),
        Task::Probe(Op::WriteApMultiple { values, .. }) => values.get(index).copied(),
        Task::Memory(MemoryRequest::Access {
            op: MemoryOp::Write {
                value, size: 32, ..
            },
            ..
        }) if index == 0 => Some(*value),
        Task::Memory(MemoryRequest::Access {
            op: MemoryOp::WriteBlock32 { data, .. },
            ..
        }) => data.get(index).copied(),
        _ => None,
    }
}

/// The last access of the block that is a word access to `addr`.
fn last_index_of(accesses: &MemoryAccesses, addr: u32) -> Option<usize> {
    let first = accesses.index_of(addr)?;
    if accesses.step == Some(0) {
        Some(accesses.count - 1)
    } else {
        Some(first)
    }
}
