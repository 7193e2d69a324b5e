//! Mass erase where the server knows how for the target: the `erase`
//! session command (docs/protocol.md, "Session ports").
//!
//! One method so far: Nordic's CTRL-AP at APSEL 1 (nRF52, and with IDR
//! revision 1 nRF53 and nRF91), found by its IDR. With the system held in
//! reset through the CTRL-AP's RESET, ERASEALL is written 1, ERASEALLSTATUS
//! is polled until it reads 0, then ERASEALL and RESET are written 0 again
//! (the system leaves reset). Any other target is refused with
//! [`NO_METHOD`]; nothing is written to it.
//!
//! It runs on the probe's worker as one job (`worker::Task::MassErase`), so
//! no other client's transfer lands inside it and the polling needs no
//! round trip through the server's loop.

use std::time::{Duration, Instant};

use crate::dap::registers::{
    ApRegister, AP_IDR, AP_IDR_REVISION, CTRL_AP_ERASEALL, CTRL_AP_ERASEALLSTATUS, CTRL_AP_RESET,
    NORDIC_CTRL_AP_APSEL, NORDIC_CTRL_AP_IDR,
};
use crate::probe::{DebugProbe, OpOutput, ProbeError, ProbeResult};

/// The refusal for a target the server knows no mass-erase method for.
pub const NO_METHOD: &str = "no mass-erase method known for this target";
/// The method's name, as the `erase` answer gives it.
pub const NORDIC_CTRL_AP: &str = "nordic-ctrl-ap";
/// How long the erase may take: nRF parts need well under a second; the
/// bound is there for a target that never says it is done.
pub const ERASE_TIMEOUT: Duration = Duration::from_secs(15);
/// Between two reads of ERASEALLSTATUS, so a slow erase is not hammered.
const POLL_INTERVAL: Duration = Duration::from_millis(1);

/// Mass erases the target behind `probe` (connected, debug powered up).
/// Answers [`OpOutput::Done`], or [`ProbeError::Probe`] with [`NO_METHOD`]
/// when the target has no CTRL-AP, or the error a transfer met.
pub fn mass_erase(probe: &mut dyn DebugProbe, timeout: Duration) -> ProbeResult<OpOutput> {
    mass_erase_at(probe, NORDIC_CTRL_AP_APSEL, timeout)
}

/// [`mass_erase`] through a CTRL-AP looked for at `apsel`.
fn mass_erase_at(
    probe: &mut dyn DebugProbe,
    apsel: u8,
    timeout: Duration,
) -> ProbeResult<OpOutput> {
    let register = |offset| ApRegister::address(apsel, offset);
    let idr = probe.read_ap(register(AP_IDR))?;
    if idr & !AP_IDR_REVISION != NORDIC_CTRL_AP_IDR {
        return Err(ProbeError::Probe(NO_METHOD.into()));
    }
    probe.write_ap(register(CTRL_AP_RESET), 1)?;
    let erased = erase_all(probe, apsel, timeout);
    // Out of reset whatever happened, so a failed erase leaves the target
    // running rather than held.
    let released = probe
        .write_ap(register(CTRL_AP_ERASEALL), 0)
        .and_then(|()| probe.write_ap(register(CTRL_AP_RESET), 0))
        .and_then(|()| probe.flush());
    erased.and(released).map(|()| OpOutput::Done)
}

fn erase_all(probe: &mut dyn DebugProbe, apsel: u8, timeout: Duration) -> ProbeResult<()> {
    let register = |offset| ApRegister::address(apsel, offset);
    probe.write_ap(register(CTRL_AP_ERASEALL), 1)?;
    let deadline = Instant::now() + timeout;
    while probe.read_ap(register(CTRL_AP_ERASEALLSTATUS))? != 0 {
        if Instant::now() >= deadline {
            return Err(ProbeError::Probe(format!(
                "mass erase did not finish within {timeout:?} (ERASEALLSTATUS still 1)"
            )));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Through the CMSIS-DAP driver on the virtual target, the path a
    //! served probe takes.

    use super::*;
    use crate::probe::{ProtocolRequest, WireProtocol};
    use crate::sim::dap_firmware::{FirmwareConfig, UsbModel};
    use crate::sim::{AccessSize, VirtualProbe};

    fn connected_sim() -> VirtualProbe {
        let mut sim = VirtualProbe::new("t", "t", FirmwareConfig::for_model(UsbModel::None))
            .expect("virtual probe");
        sim.probe.open().unwrap();
        sim.probe
            .connect(ProtocolRequest::Specific(WireProtocol::Swd))
            .unwrap();
        sim.probe.write_dp(0x4, 0x5000_0000).unwrap();
        sim
    }

    fn code_word(sim: &VirtualProbe, addr: u32) -> u32 {
        let mut target = sim.target.lock();
        target.bus_mut().read(addr, AccessSize::Word).unwrap()
    }

    #[test]
    fn the_ctrl_ap_erases_the_code_memory_and_releases_the_reset() {
        let mut sim = connected_sim();
        assert_ne!(code_word(&sim, 0), 0xFFFF_FFFF);
        let erased = mass_erase(&mut *sim.probe, ERASE_TIMEOUT);
        assert_eq!(erased, Ok(OpOutput::Done));
        assert_eq!(code_word(&sim, 0), 0xFFFF_FFFF);
        assert_eq!(code_word(&sim, 0x100), 0xFFFF_FFFF);
        assert!(!sim.target.lock().system_held_in_reset());
    }

    #[test]
    fn an_ap_with_another_idr_is_refused_and_nothing_is_erased() {
        let mut sim = connected_sim();
        let before = code_word(&sim, 0);
        // APSEL 2 of the virtual target holds no AP: IDR 0.
        let result = mass_erase_at(&mut *sim.probe, 2, ERASE_TIMEOUT);
        assert_eq!(result, Err(ProbeError::Probe(NO_METHOD.into())));
        assert_eq!(code_word(&sim, 0), before);
    }
}
