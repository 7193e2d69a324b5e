//! Register addresses for [`CmsisDapProbe`]: pyOCD-style DP and APv1
//! addresses checked and turned into wire registers, with DP SELECT
//! written only when the AP, its bank or the DP bank changes.
//!
//! A DP address names its bank in bits 7:4 (as pyOCD encodes banked DP
//! registers), and the driver selects it for the registers that are
//! banked: 0x4 always (bank 0 is CTRL/STAT), 0x0 when read with a bank
//! other than 0 (DPv3's DPIDR1 and BASEPTRs). So every DP access says
//! fully what it reaches, whoever wrote SELECT last.

use crate::dap::registers::{
    dp_bank, dp_is_banked, ADDRESS_A32, AP_ADDRESS_RESERVED, DP_ADDRESS_RESERVED, DP_SELECT,
    SELECT_APBANKSEL, SELECT_APSEL, SELECT_DPBANKSEL,
};
use crate::probe::{ProbeError, ProbeResult};

use super::super::commands::transfer::Register;
use super::super::Transport;
use super::CmsisDapProbe;

/// SELECT as a wire register.
pub(super) const SELECT: u8 = DP_SELECT as u8;
/// The SELECT fields an AP address sets.
const SELECT_AP_FIELDS: u32 = SELECT_APSEL | SELECT_APBANKSEL;

impl<T: Transport> CmsisDapProbe<T> {
    /// Points SELECT.DPBANKSEL at the bank of a banked DP address (queuing
    /// the write only when it changes, keeping the AP fields); returns the
    /// DP register.
    pub(super) fn select_dp(&mut self, addr: u32, is_read: bool) -> ProbeResult<Register> {
        let (register, select) = self.dp_target(addr, is_read)?;
        self.queue_select(select)?;
        Ok(register)
    }

    /// Points SELECT at the AP and bank of an APv1 address (queuing the
    /// write only when they change, keeping DPBANKSEL); returns the AP
    /// register.
    pub(super) fn select_ap(&mut self, addr: u32) -> ProbeResult<Register> {
        let (register, select) = self.ap_target(addr)?;
        self.queue_select(select)?;
        Ok(register)
    }

    fn queue_select(&mut self, select: Option<u32>) -> ProbeResult<()> {
        match select {
            Some(value) => {
                self.transfers(|queue, link| queue.write(link, Register::dp(SELECT), value))
            }
            None => Ok(()),
        }
    }

    /// The DP register of a DP address, and the SELECT value to write
    /// first if its bank is not selected (taken as written from now on).
    pub(super) fn dp_target(
        &mut self,
        addr: u32,
        is_read: bool,
    ) -> ProbeResult<(Register, Option<u32>)> {
        if addr & DP_ADDRESS_RESERVED != 0 {
            return Err(ProbeError::InvalidArgument(format!(
                "invalid DP register address {addr:#x}"
            )));
        }
        let bank = dp_bank(addr);
        // Bank 0 of register 0x0 is DPIDR, which SELECT does not change.
        let banked = dp_is_banked(addr, is_read) && (bank != 0 || addr & ADDRESS_A32 != 0);
        let mut select = None;
        if banked && self.select.map(|select| select & SELECT_DPBANKSEL) != Some(bank) {
            let wanted = self.select.unwrap_or(0) & SELECT_AP_FIELDS | bank;
            self.select = Some(wanted);
            select = Some(wanted);
        }
        Ok((Register::dp(addr as u8), select))
    }

    /// The AP register of an APv1 address, and the SELECT value to write
    /// first if its AP and bank are not selected (taken as written from
    /// now on).
    pub(super) fn ap_target(&mut self, addr: u32) -> ProbeResult<(Register, Option<u32>)> {
        if addr & AP_ADDRESS_RESERVED != 0 {
            return Err(ProbeError::InvalidArgument(format!(
                "invalid AP register address {addr:#010x}"
            )));
        }
        let dpbanksel = self.select.unwrap_or(0) & SELECT_DPBANKSEL;
        let wanted = addr & SELECT_AP_FIELDS | dpbanksel;
        let mut select = None;
        if self.select != Some(wanted) {
            self.select = Some(wanted);
            select = Some(wanted);
        }
        Ok((Register::ap(addr as u8), select))
    }

    /// Keeps the SELECT cache in step with a client's own SELECT write
    /// (the DP keeps only the defined fields).
    pub(super) fn note_dp_write(&mut self, register: Register, value: u32) {
        if register == Register::dp(SELECT) {
            self.select = Some(value & (SELECT_AP_FIELDS | SELECT_DPBANKSEL));
        }
    }
}
