//! What one client believes the debug port holds: the SELECT it last
//! wrote, and per AP the CSW it last wrote and where its own TAR writes
//! and auto-increments left TAR (docs/protocol.md, Sharing, rule 9).
//! Built only from that client's own requests, so it is the same whatever
//! other clients do.
//!
//! The arbiter keeps one per client to rewrite DP addresses with the
//! client's bank and to tell which memory a DRW access reaches (DHCSR,
//! DCRSR, DCRDR for rules 10 and 11).

use std::collections::HashMap;

use crate::probe::Op;

use super::registers::{
    dp_bank, dp_is_banked, tar_after, ApRegister, CSW_ADDRINC_MASK, CSW_ADDRINC_OFF,
    CSW_ADDRINC_PACKED, CSW_SIZE_MASK, DP_ADDRESS_BANK, DP_SELECT, MEM_AP_CSW, MEM_AP_DRW,
    MEM_AP_TAR, SELECT_DPBANKSEL,
};

/// One client's view of the debug port.
#[derive(Clone, Debug, Default)]
pub struct ClientView {
    select: u32,
    aps: HashMap<u8, ApView>,
}

/// One client's view of one AP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApView {
    /// The CSW this client last wrote.
    pub csw: Option<u32>,
    /// Where this client's TAR points, when its own accesses tell.
    pub tar: Option<u32>,
}

/// The memory a request reaches: `count` accesses of `size` bytes from
/// `start`, each `step` bytes after the last (`None`: only the first
/// address is known). A client's AP accesses reach it through its view
/// ([`ClientView::memory_accesses`]); a memory-handle request names it
/// itself (`memap::MemoryRequest::accesses`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryAccesses {
    pub start: u32,
    pub size: u32,
    pub step: Option<u32>,
    pub count: usize,
    pub is_write: bool,
}

impl MemoryAccesses {
    /// Which access (counting from 0) is a whole-word access to `addr`.
    pub fn index_of(&self, addr: u32) -> Option<usize> {
        if self.size != 4 || self.count == 0 {
            return None;
        }
        if addr == self.start {
            return Some(0);
        }
        let step = self.step.filter(|&step| step != 0)?;
        let distance = addr.checked_sub(self.start)?;
        let index = (distance % step == 0).then_some((distance / step) as usize)?;
        (index < self.count).then_some(index)
    }
}

impl ClientView {
    /// The DP address this client means: a banked register addressed
    /// without a bank is in the bank its own SELECT chose.
    pub fn dp_address(&self, addr: u32, is_read: bool) -> u32 {
        if dp_is_banked(addr, is_read) && addr & DP_ADDRESS_BANK == 0 {
            addr | (self.select & SELECT_DPBANKSEL) << 4
        } else {
            addr
        }
    }

    /// Whether a DP access (address as the client sent it) is bank 0 of
    /// register 0x4, CTRL/STAT, in this client's view.
    pub fn is_ctrl_stat(&self, addr: u32, is_read: bool) -> bool {
        let addr = self.dp_address(addr, is_read);
        addr & 0xC == 0x4 && dp_bank(addr) == 0 && addr & !0xFC == 0
    }

    pub fn ap(&self, apsel: u8) -> ApView {
        self.aps.get(&apsel).copied().unwrap_or_default()
    }

    /// Records what `op`, run for this client, did to its view.
    pub fn observe(&mut self, op: &Op) {
        match op {
            Op::WriteDp { addr, value } if addr & 0xC == DP_SELECT => self.select = *value,
            Op::WriteAp { addr, value } => self.wrote_ap(*addr, std::slice::from_ref(value)),
            Op::WriteApMultiple { addr, values } => self.wrote_ap(*addr, values),
            Op::ReadAp(addr) => self.accessed_data(*addr, 1),
            Op::ReadApMultiple { addr, count } => self.accessed_data(*addr, u64::from(*count)),
            _ => {}
        }
    }

    fn wrote_ap(&mut self, addr: u32, values: &[u32]) {
        let register = ApRegister::from_address(addr);
        let Some(&last) = values.last() else {
            return;
        };
        match register.offset {
            MEM_AP_CSW => self.aps.entry(register.apsel).or_default().csw = Some(last),
            MEM_AP_TAR => self.aps.entry(register.apsel).or_default().tar = Some(last),
            _ => self.accessed_data(addr, values.len() as u64),
        }
    }

    fn accessed_data(&mut self, addr: u32, count: u64) {
        let register = ApRegister::from_address(addr);
        if register.offset != MEM_AP_DRW {
            return;
        }
        let Some(ap) = self.aps.get_mut(&register.apsel) else {
            return;
        };
        ap.tar = match (ap.tar, ap.csw) {
            (Some(tar), Some(csw)) => tar_after(tar, csw, count),
            _ => None,
        };
    }

    /// The memory `op` reaches when this client runs it.
    pub fn memory_accesses(&self, op: &Op) -> Option<MemoryAccesses> {
        let (addr, count, is_write) = match op {
            Op::ReadAp(addr) => (*addr, 1, false),
            Op::WriteAp { addr, .. } => (*addr, 1, true),
            Op::ReadApMultiple { addr, count } => (*addr, *count as usize, false),
            Op::WriteApMultiple { addr, values } => (*addr, values.len(), true),
            _ => return None,
        };
        let register = ApRegister::from_address(addr);
        if !register.is_data() {
            return None;
        }
        let view = self.ap(register.apsel);
        let tar = view.tar?;
        if register.offset != MEM_AP_DRW {
            // BDn reaches the word at TAR[31:4] + n, without incrementing.
            let start = (tar & !0xF) | u32::from(register.offset & 0xC);
            return Some(MemoryAccesses {
                start,
                size: 4,
                step: Some(0),
                count,
                is_write,
            });
        }
        let csw = view.csw;
        let size = match csw.map(|csw| csw & CSW_SIZE_MASK) {
            Some(0b000) => 1,
            Some(0b001) => 2,
            _ => 4,
        };
        let step = csw.and_then(|csw| match csw & CSW_ADDRINC_MASK {
            CSW_ADDRINC_OFF => Some(0),
            CSW_ADDRINC_PACKED => Some(4),
            _ => tar_after(0, csw, 1),
        });
        Some(MemoryAccesses {
            start: tar,
            size,
            step,
            count,
            is_write,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dap::registers::{DCRSR, DHCSR};

    const WORDS_INCREMENTING: u32 = 0x2300_0012;

    fn write_ap(addr: u32, value: u32) -> Op {
        Op::WriteAp { addr, value }
    }

    #[test]
    fn a_banked_dp_register_without_a_bank_is_in_the_clients_own_bank() {
        let mut view = ClientView::default();
        assert_eq!(view.dp_address(0x4, true), 0x4);
        view.observe(&Op::WriteDp {
            addr: 0x8,
            value: 1,
        });
        assert_eq!(view.dp_address(0x4, true), 0x14);
        assert!(!view.is_ctrl_stat(0x4, false), "bank 1 is DLCR");
        assert_eq!(view.dp_address(0x24, true), 0x24, "an explicit bank stays");
        assert_eq!(view.dp_address(0x0, false), 0x0, "ABORT is not banked");
        assert_eq!(view.dp_address(0xC, true), 0xC);
    }

    #[test]
    fn tar_follows_the_clients_own_writes_and_increments() {
        let mut view = ClientView::default();
        view.observe(&write_ap(0x00, WORDS_INCREMENTING));
        view.observe(&write_ap(0x04, 0x2000_0010));
        view.observe(&Op::ReadAp(0x0C));
        assert_eq!(view.ap(0).tar, Some(0x2000_0014));
        view.observe(&Op::ReadApMultiple {
            addr: 0x0C,
            count: 3,
        });
        assert_eq!(view.ap(0).tar, Some(0x2000_0020));
        view.observe(&Op::ReadAp(0x10));
        assert_eq!(view.ap(0).tar, Some(0x2000_0020), "BD0 does not increment");
        assert_eq!(view.ap(1), ApView::default(), "other APs untouched");
    }

    #[test]
    fn a_drw_access_reaches_the_clients_tar() {
        let mut view = ClientView::default();
        view.observe(&write_ap(0x00, WORDS_INCREMENTING));
        view.observe(&write_ap(0x04, DHCSR));
        let reach = view
            .memory_accesses(&Op::ReadApMultiple {
                addr: 0x0C,
                count: 3,
            })
            .unwrap();
        assert_eq!(reach.index_of(DHCSR), Some(0));
        assert_eq!(reach.index_of(DCRSR), Some(1));
        assert_eq!(reach.index_of(DHCSR + 12), None, "past the block");
        assert_eq!(view.memory_accesses(&Op::ReadAp(0x04)), None, "TAR itself");
    }

    #[test]
    fn banked_data_registers_reach_the_words_of_tars_block() {
        let mut view = ClientView::default();
        view.observe(&write_ap(0x04, 0xE000_EDF0));
        let reach = view.memory_accesses(&Op::ReadAp(0x14)).unwrap();
        assert_eq!(reach.index_of(DCRSR), Some(0));
    }
}
