//! Rule 9 at the hardware: before a client's AP access runs, the CSW and
//! TAR it depends on are made to hold what that client last left there.
//!
//! The worker runs every operation of every client in order, so it knows
//! what each AP holds: the CSW last written, and TAR, followed through
//! auto-increments while they are certain (`dap::registers::tar_after`).
//! TAR belongs to the client that last set or moved it (its *holder*).
//! Before another client, or a memory-handle request of the server, sets
//! or moves TAR, the holder's TAR is saved: from what is known, or read
//! back from the AP when an increment crossed a 1 KiB boundary (whose
//! outcome ADIv5 leaves to the implementation). A client's access to DRW,
//! BD0–BD3 or TAR gets its saved TAR written back first, and an access to
//! DRW, BDn or CSW gets its own CSW written back when the AP holds another.
//! A client that never wrote CSW (or TAR) uses the AP's as it finds it,
//! each time: it has set nothing of its own to keep.
//!
//! So a switch between clients costs at most a CSW and a TAR write (which
//! ride in the next packet with the client's own transfers) and, after a
//! long block, one TAR read; a client alone costs nothing. After a failed
//! operation, a reset, a sequence, or a change of connection, what the APs
//! hold is taken as unknown (holders keep their claim: their TAR is read
//! back when needed). Only APv1 addresses are tracked.

use std::collections::HashMap;

use crate::dap::registers::{tar_after, ApRegister, MEM_AP_CSW, MEM_AP_DRW, MEM_AP_TAR};
use crate::ids::ClientId;
use crate::memap::{MemAps, MemoryRequest};
use crate::probe::{ApAddress, DebugProbe, Op, OpOutput, ProbeResult};

use super::execute::{execute, perform};
use super::Task;

/// Every client's saved AP state, and what the APs hold.
#[derive(Debug, Default)]
pub struct DapContexts {
    clients: HashMap<ClientId, HashMap<u8, Saved>>,
    aps: HashMap<u8, Hardware>,
}

/// What one client left in one AP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Saved {
    /// The CSW this client last wrote.
    csw: Option<u32>,
    /// Whether this client has written TAR: only then does it have a TAR
    /// of its own to keep.
    owns_tar: bool,
    /// This client's TAR while another client holds the AP's TAR.
    tar: Option<u32>,
}

/// What one AP holds, as far as the worker knows.
#[derive(Clone, Copy, Debug, Default)]
struct Hardware {
    csw: Option<u32>,
    tar: Option<u32>,
    tar_holder: Option<ClientId>,
}

/// What an operation does to the AP state.
#[derive(Clone, Copy, Debug)]
enum Touch {
    Nothing,
    /// An AP register access: `count` accesses, `last` value written.
    Register {
        register: ApRegister,
        count: u64,
        last_written: Option<u32>,
    },
    /// Server-side memory access through a handle on this AP.
    Memory(u8),
    /// Anything that may change what every AP holds.
    Everything,
}

fn touch(task: &Task) -> Touch {
    let op = match task {
        Task::Probe(op) => op,
        Task::Memory(MemoryRequest::Access {
            ap: ApAddress::V1(apsel),
            ..
        }) => return Touch::Memory(*apsel),
        Task::Memory(_) => return Touch::Nothing,
        // The runner takes a sequence's operations one by one.
        Task::Sequence(_) => return Touch::Everything,
        // It resets the system and leaves the CTRL-AP's registers changed.
        Task::MassErase => return Touch::Everything,
    };
    let register = |addr: u32, count: u64, last_written: Option<u32>| Touch::Register {
        register: ApRegister::from_address(addr),
        count,
        last_written,
    };
    match op {
        Op::ReadAp(addr) => register(*addr, 1, None),
        Op::WriteAp { addr, value } => register(*addr, 1, Some(*value)),
        Op::ReadApMultiple { addr, count } => register(*addr, u64::from(*count), None),
        Op::WriteApMultiple { addr, values } => {
            register(*addr, values.len() as u64, values.last().copied())
        }
        Op::Open
        | Op::Close
        | Op::Connect(_)
        | Op::Disconnect
        | Op::Reset
        | Op::AssertReset(_)
        | Op::SwjSequence { .. }
        | Op::SwdSequence(_)
        | Op::JtagSequence { .. } => Touch::Everything,
        _ => Touch::Nothing,
    }
}

impl DapContexts {
    /// Runs `task` for `client` (`None`: the server's own work), restoring
    /// that client's AP state first.
    pub fn run(
        &mut self,
        probe: &mut dyn DebugProbe,
        memaps: &mut MemAps,
        client: Option<ClientId>,
        task: &Task,
    ) -> ProbeResult<OpOutput> {
        let touch = touch(task);
        let result = self
            .prepare(probe, memaps, client, touch)
            .and_then(|()| perform(probe, memaps, task));
        match &result {
            Ok(_) => self.record(client, touch),
            Err(_) => self.forget_hardware(),
        }
        result
    }

    /// The client's connection is gone: nothing of it needs keeping.
    pub fn forget_client(&mut self, client: ClientId) {
        self.clients.remove(&client);
        for ap in self.aps.values_mut() {
            if ap.tar_holder == Some(client) {
                ap.tar_holder = None;
            }
        }
    }

    /// What the APs hold is unknown (after a failure: a queued write may
    /// not have happened). Holders keep their claim; their TAR is read
    /// back when another client needs the AP.
    pub fn forget_hardware(&mut self) {
        for ap in self.aps.values_mut() {
            ap.csw = None;
            ap.tar = None;
        }
    }

    fn prepare(
        &mut self,
        probe: &mut dyn DebugProbe,
        memaps: &mut MemAps,
        client: Option<ClientId>,
        touch: Touch,
    ) -> ProbeResult<()> {
        match (touch, client) {
            (Touch::Register { register, .. }, Some(client)) => {
                let apsel = register.apsel;
                match register.offset {
                    MEM_AP_CSW if touch_is_read(touch) => {
                        self.restore_csw(probe, memaps, client, apsel)
                    }
                    MEM_AP_TAR if touch_is_read(touch) => {
                        self.restore_tar(probe, memaps, client, apsel)
                    }
                    MEM_AP_TAR => {
                        self.save_holder(probe, memaps, apsel, Some(client));
                        Ok(())
                    }
                    _ if register.is_data() => {
                        self.restore_csw(probe, memaps, client, apsel)?;
                        self.restore_tar(probe, memaps, client, apsel)
                    }
                    _ => Ok(()),
                }
            }
            (Touch::Register { register, .. }, None) if moves_tar(register) => {
                self.save_holder(probe, memaps, register.apsel, None);
                Ok(())
            }
            (Touch::Memory(apsel), _) => {
                self.save_holder(probe, memaps, apsel, None);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Records what a successful operation left in the APs.
    fn record(&mut self, client: Option<ClientId>, touch: Touch) {
        match touch {
            Touch::Nothing => {}
            Touch::Everything => self.forget_hardware(),
            Touch::Memory(apsel) => {
                self.aps.insert(apsel, Hardware::default());
            }
            Touch::Register {
                register,
                count,
                last_written,
            } => {
                let ap = self.aps.entry(register.apsel).or_default();
                match (register.offset, last_written) {
                    (MEM_AP_CSW, Some(csw)) => {
                        ap.csw = Some(csw);
                        if let Some(client) = client {
                            self.saved(client, register.apsel).csw = Some(csw);
                        }
                    }
                    (MEM_AP_TAR, Some(tar)) => {
                        ap.tar = Some(tar);
                        ap.tar_holder = client;
                        if let Some(client) = client {
                            let saved = self.saved(client, register.apsel);
                            saved.owns_tar = true;
                            saved.tar = None;
                        }
                    }
                    (MEM_AP_DRW, _) => {
                        ap.tar = match (ap.tar, ap.csw) {
                            (Some(tar), Some(csw)) => tar_after(tar, csw, count),
                            _ => None,
                        };
                    }
                    _ => {}
                }
            }
        }
    }

    fn saved(&mut self, client: ClientId, apsel: u8) -> &mut Saved {
        self.clients
            .entry(client)
            .or_default()
            .entry(apsel)
            .or_default()
    }

    /// Puts the client's own CSW back if the AP holds another.
    fn restore_csw(
        &mut self,
        probe: &mut dyn DebugProbe,
        memaps: &mut MemAps,
        client: ClientId,
        apsel: u8,
    ) -> ProbeResult<()> {
        let Some(csw) = self.saved(client, apsel).csw else {
            return Ok(());
        };
        let ap = self.aps.entry(apsel).or_default();
        if ap.csw == Some(csw) {
            return Ok(());
        }
        let addr = ApRegister::address(apsel, MEM_AP_CSW);
        execute(probe, memaps, &Op::WriteAp { addr, value: csw })?;
        ap.csw = Some(csw);
        Ok(())
    }

    /// Makes the client the holder of the AP's TAR, writing back its own
    /// TAR if another client had moved it. A client that never wrote TAR
    /// uses it as it finds it, and holds nothing.
    fn restore_tar(
        &mut self,
        probe: &mut dyn DebugProbe,
        memaps: &mut MemAps,
        client: ClientId,
        apsel: u8,
    ) -> ProbeResult<()> {
        if self.aps.get(&apsel).and_then(|ap| ap.tar_holder) == Some(client) {
            return Ok(());
        }
        self.save_holder(probe, memaps, apsel, Some(client));
        let saved = self.saved(client, apsel);
        if !saved.owns_tar {
            return Ok(());
        }
        if let Some(tar) = saved.tar.take() {
            let addr = ApRegister::address(apsel, MEM_AP_TAR);
            execute(probe, memaps, &Op::WriteAp { addr, value: tar })?;
            self.aps.entry(apsel).or_default().tar = Some(tar);
        }
        self.aps.entry(apsel).or_default().tar_holder = Some(client);
        Ok(())
    }

    /// Saves the TAR of the AP's holder, unless that is `next` (who is
    /// about to use it): from what is known, else read back.
    fn save_holder(
        &mut self,
        probe: &mut dyn DebugProbe,
        memaps: &mut MemAps,
        apsel: u8,
        next: Option<ClientId>,
    ) {
        let ap = self.aps.entry(apsel).or_default();
        let Some(holder) = ap.tar_holder.filter(|&holder| Some(holder) != next) else {
            return;
        };
        ap.tar_holder = None;
        let tar = match ap.tar {
            Some(tar) => Some(tar),
            None => {
                let addr = ApRegister::address(apsel, MEM_AP_TAR);
                match execute(probe, memaps, &Op::ReadAp(addr)) {
                    Ok(OpOutput::Word(tar)) => Some(tar),
                    other => {
                        log::debug!("AP #{apsel}: reading back TAR failed: {other:?}");
                        None
                    }
                }
            }
        };
        self.aps.entry(apsel).or_default().tar = tar;
        self.saved(holder, apsel).tar = tar;
    }
}

fn touch_is_read(touch: Touch) -> bool {
    matches!(
        touch,
        Touch::Register {
            last_written: None,
            ..
        }
    )
}

/// Whether an access by nobody in particular moves or sets TAR.
fn moves_tar(register: ApRegister) -> bool {
    register.offset == MEM_AP_TAR || register.offset == MEM_AP_DRW
}
