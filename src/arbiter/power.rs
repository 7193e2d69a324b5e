//! Rule 7: one client cannot power down the others' debug port.
//!
//! pyOCD clears the power-up requests in DP CTRL/STAT when it disconnects
//! (first CSYSPWRUPREQ, then CDBGPWRUPREQ, as ADIv6 forbids clearing both in
//! one write). Done while another client is connected, that would cut the
//! other client off, so such writes keep both request bits set and the
//! power-down the client asked for is applied when the last connected
//! client leaves.

// CTRL/STAT is DP register 0x4 in bank 0: its address names no bank.
use crate::dap::registers::{CDBGPWRUPREQ, CSYSPWRUPREQ, DP_CTRL_STAT as CTRL_STAT};
use crate::probe::Op;

const POWER_UP_REQUESTS: u32 = CDBGPWRUPREQ | CSYSPWRUPREQ;

/// True for a CTRL/STAT value that would drop a power-up request.
pub(super) fn is_power_down(value: u32) -> bool {
    value & POWER_UP_REQUESTS != POWER_UP_REQUESTS
}

/// The same CTRL/STAT write with both power-up requests kept set; other
/// operations are returned unchanged.
pub(super) fn keep_powered(op: Op) -> Op {
    match op {
        Op::WriteDp { addr, value } => Op::WriteDp {
            addr,
            value: value | POWER_UP_REQUESTS,
        },
        other => other,
    }
}

/// What a client whose power-down was masked reads from CTRL/STAT: the
/// real register with the power requests it wrote, and acknowledges that
/// follow them as they would on a port nobody else kept powered.
pub(super) fn viewed_ctrl_stat(actual: u32, written: u32) -> u32 {
    let requests = written & POWER_UP_REQUESTS;
    // Each acknowledge bit sits just above its request bit.
    let acks = requests << 1;
    (actual & !(POWER_UP_REQUESTS | acks_mask())) | requests | acks
}

const fn acks_mask() -> u32 {
    POWER_UP_REQUESTS << 1
}

/// The writes that carry out a deferred power-down whose final CTRL/STAT
/// value is `requested`: system power is released before debug power, so
/// the two requests are never cleared by the same write.
pub(super) fn deferred_power_down(requested: u32) -> Vec<Op> {
    let write = |value| Op::WriteDp {
        addr: CTRL_STAT,
        value,
    };
    let clears_both = requested & POWER_UP_REQUESTS == 0;
    if clears_both {
        vec![
            write((requested | CDBGPWRUPREQ) & !CSYSPWRUPREQ),
            write(requested),
        ]
    } else {
        vec![write(requested)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_clear_a_power_up_request_are_power_downs() {
        assert!(is_power_down(0x1000_0F00));
        assert!(is_power_down(0x0000_0F00));
        assert!(!is_power_down(0x5000_0F00));
    }

    #[test]
    fn masked_client_sees_the_power_state_it_asked_for() {
        let powered = 0xF000_0000 | 0x20;
        assert_eq!(viewed_ctrl_stat(powered, 0), 0x20);
        assert_eq!(viewed_ctrl_stat(powered, CDBGPWRUPREQ), 0x3000_0020);
    }

    #[test]
    fn power_down_releases_system_power_before_debug_power() {
        assert_eq!(
            deferred_power_down(0x0000_0F00),
            [
                Op::WriteDp {
                    addr: 0x4,
                    value: 0x1000_0F00
                },
                Op::WriteDp {
                    addr: 0x4,
                    value: 0x0000_0F00
                },
            ]
        );
        assert_eq!(
            deferred_power_down(0x1000_0F00),
            [Op::WriteDp {
                addr: 0x4,
                value: 0x1000_0F00
            }]
        );
    }
}
