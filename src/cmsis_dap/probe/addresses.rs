//! Register addresses for [`CmsisDapProbe`]: pyOCD-style DP and APv1
//! addresses checked and turned into wire registers, with DP SELECT
//! written only when the AP or its bank changes.

use crate::probe::{ProbeError, ProbeResult};

use super::super::commands::transfer::Register;
use super::super::Transport;
use super::CmsisDapProbe;

const DP_SELECT: u8 = 0x8;
/// SELECT fields of ADIv5: APSEL, APBANKSEL, DPBANKSEL.
const SELECT_AP_FIELDS: u32 = 0xFF00_00F0;
const SELECT_DPBANKSEL: u32 = 0xF;
/// Bits of an APv1 register address that are neither APSEL, bank nor A[3:2].
const AP_ADDRESS_RESERVED: u32 = 0x00FF_FF03;
/// Bits of a DP register address that are neither the bank nor A[3:2].
const DP_ADDRESS_RESERVED: u32 = !0xFC;

/// A DP address: A[3:2], with any DP bank in bits 7:4 left to the client
/// (it writes SELECT.DPBANKSEL itself).
pub(super) fn dp_register(addr: u32) -> ProbeResult<Register> {
    if addr & DP_ADDRESS_RESERVED != 0 {
        return Err(ProbeError::InvalidArgument(format!(
            "invalid DP register address {addr:#x}"
        )));
    }
    Ok(Register::dp(addr as u8))
}

impl<T: Transport> CmsisDapProbe<T> {
    /// Points SELECT at the AP and bank of an APv1 address (queuing the
    /// write only when they change, keeping DPBANKSEL); returns the AP
    /// register.
    pub(super) fn select_ap(&mut self, addr: u32) -> ProbeResult<Register> {
        if addr & AP_ADDRESS_RESERVED != 0 {
            return Err(ProbeError::InvalidArgument(format!(
                "invalid AP register address {addr:#010x}"
            )));
        }
        let dpbanksel = self.select.unwrap_or(0) & SELECT_DPBANKSEL;
        let wanted = addr & SELECT_AP_FIELDS | dpbanksel;
        if self.select != Some(wanted) {
            self.transfers(|queue, link| queue.write(link, Register::dp(DP_SELECT), wanted))?;
            self.select = Some(wanted);
        }
        Ok(Register::ap(addr as u8))
    }

    /// Keeps the SELECT cache in step with a client's own SELECT write
    /// (the DP keeps only the defined fields).
    pub(super) fn note_dp_write(&mut self, register: Register, value: u32) {
        if register == Register::dp(DP_SELECT) {
            self.select = Some(value & (SELECT_AP_FIELDS | SELECT_DPBANKSEL));
        }
    }
}
