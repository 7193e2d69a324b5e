//! Helpers shared by the firmware's tests: a probe on virtual time and a
//! command/response exchange.

use std::time::Duration;

use crate::cmsis_dap::Transport;
use crate::sim::target::SwdTarget;

use crate::sim::dap_firmware::{FirmwareConfig, SimDapFirmware, UsbModel, VirtualClock};

/// A probe with no bus delay in front of a fresh virtual Cortex-M.
pub(super) fn probe() -> SimDapFirmware {
    probe_on(
        SwdTarget::cortex_m(),
        FirmwareConfig::for_model(UsbModel::None),
    )
    .0
}

pub(super) fn probe_on(
    target: SwdTarget,
    config: FirmwareConfig,
) -> (SimDapFirmware, VirtualClock) {
    let clock = VirtualClock::new();
    (
        SimDapFirmware::with_clock(target, config, clock.clone()),
        clock,
    )
}

/// Sends one command packet and returns its response.
pub(super) fn exchange(probe: &mut SimDapFirmware, command: &[u8]) -> Vec<u8> {
    probe.write_packet(command).expect("command accepted");
    read(probe)
}

/// Reads the next response.
pub(super) fn read(probe: &mut SimDapFirmware) -> Vec<u8> {
    let mut buf = vec![0; 1 << 16];
    let len = probe
        .read_packet(&mut buf, Duration::from_secs(1))
        .expect("a response");
    buf.truncate(len);
    buf
}

/// A DAP_Transfer command (DAP index 0) of `(request, data)` pairs.
pub(super) fn transfer(requests: &[(u8, Option<u32>)]) -> Vec<u8> {
    let mut command = vec![0x05, 0x00, requests.len() as u8];
    for (request, data) in requests {
        command.push(*request);
        if let Some(data) = data {
            command.extend(data.to_le_bytes());
        }
    }
    command
}

/// A probe connected in SWD mode whose debug domain is powered up.
pub(super) fn powered_probe() -> SimDapFirmware {
    let mut probe = probe();
    assert_eq!(exchange(&mut probe, &[0x02, 0x01]), [0x02, 0x01]);
    let power_up = transfer(&[(DP_WRITE_CTRL_STAT, Some(0x5000_0000))]);
    assert_eq!(exchange(&mut probe, &power_up), [0x05, 0x01, 0x01]);
    probe
}

// Transfer request bytes: APnDP (bit 0), RnW (bit 1), A[3:2] (bits 3:2).
pub(super) const DP_READ_IDR: u8 = 0x02;
pub(super) const DP_WRITE_ABORT: u8 = 0x00;
pub(super) const DP_READ_CTRL_STAT: u8 = 0x06;
pub(super) const DP_WRITE_CTRL_STAT: u8 = 0x04;
pub(super) const DP_WRITE_SELECT: u8 = 0x08;
pub(super) const AP_WRITE_CSW: u8 = 0x01;
pub(super) const AP_READ_CSW: u8 = 0x03;
pub(super) const AP_WRITE_TAR: u8 = 0x05;
pub(super) const AP_WRITE_DRW: u8 = 0x0D;
pub(super) const AP_READ_DRW: u8 = 0x0F;
