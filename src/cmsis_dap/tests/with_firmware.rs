//! The driver against the emulated CMSIS-DAP firmware in front of the
//! virtual Cortex-M: two independent readings of the specification that
//! must agree, on virtual time so that no test sleeps.

use crate::cmsis_dap::{CmsisDapProbe, ProbeIdentity};
use crate::probe::{DebugProbe, ProbeError, ProtocolRequest, WireProtocol};
use crate::sim::dap_firmware::{
    FirmwareConfig, SimDapFirmware, StatsHandle, UsbModel, VirtualClock,
};
use crate::sim::dp::{
    CDBGPWRUPREQ, CSYSPWRUPREQ, DPIDR_VALUE, DP_ABORT, DP_CTRL_STAT, DP_IDR, STICKYERR, STKERRCLR,
};
use crate::sim::mem_ap::{
    AHB_AP_IDR, AP_CSW, AP_DRW, AP_IDR, AP_TAR, CSW_ADDRINC_SINGLE, CSW_SIZE32,
};
use crate::sim::{SwdTarget, RAM_BASE, RAM_SIZE};

/// An open, connected driver on emulated firmware attached by `usb`, with
/// the debug domain powered up the way pyOCD brings a target up.
pub(super) fn driver_on(usb: UsbModel) -> (CmsisDapProbe<SimDapFirmware>, StatsHandle) {
    let firmware = SimDapFirmware::with_clock(
        SwdTarget::cortex_m(),
        FirmwareConfig::for_model(usb),
        VirtualClock::new(),
    );
    let stats = firmware.stats();
    let identity = ProbeIdentity {
        unique_id: "sim".to_owned(),
        ..ProbeIdentity::default()
    };
    let mut probe = CmsisDapProbe::new(firmware, identity).expect("DAP_Info");
    probe.set_reset_timing(Default::default(), Default::default());
    probe.open().unwrap();
    assert_eq!(
        probe.connect(ProtocolRequest::Default),
        Ok(WireProtocol::Swd)
    );
    // Line reset, JTAG-to-SWD, line reset, idle: what pyOCD sends.
    probe.swj_sequence(51, &[0xFF; 7]).unwrap();
    probe.swj_sequence(16, &[0x9E, 0xE7]).unwrap();
    probe.swj_sequence(51, &[0xFF; 7]).unwrap();
    probe.swj_sequence(8, &[0x00]).unwrap();
    assert_eq!(probe.read_dp(u32::from(DP_IDR)), Ok(DPIDR_VALUE));
    probe
        .write_dp(u32::from(DP_CTRL_STAT), CDBGPWRUPREQ | CSYSPWRUPREQ)
        .unwrap();
    (probe, stats)
}

pub(super) fn assert_kept_to_the_packet_limits(stats: &StatsHandle, packet_count: usize) {
    let stats = stats.get();
    assert_eq!(stats.window_overruns, 0, "{stats:?}");
    assert!(stats.max_outstanding <= packet_count, "{stats:?}");
    assert_eq!(stats.refused_packets, 0, "{stats:?}");
    assert_eq!(stats.truncated_responses, 0, "{stats:?}");
}

#[test]
fn dap_info_of_the_firmware_shapes_the_probe_info() {
    let firmware = SimDapFirmware::new(
        SwdTarget::cortex_m(),
        FirmwareConfig::for_model(UsbModel::None),
    );
    let probe = CmsisDapProbe::new(firmware, ProbeIdentity::default()).unwrap();
    assert_eq!(probe.info().supported_wire_protocols, [WireProtocol::Swd]);
    assert!(!probe.has_swo());
    assert_eq!(probe.dap_info().packet_size, 512);
    assert_eq!(probe.dap_info().packet_count, 8);
    assert!(probe.dap_info().has_swd_sequence());
}

#[test]
fn the_driver_reads_dpidr_and_the_ahb_ap_idr() {
    let (mut probe, stats) = driver_on(UsbModel::None);
    assert_eq!(probe.read_dp(u32::from(DP_IDR)), Ok(0x2BA0_1477));
    assert_eq!(probe.read_ap(u32::from(AP_IDR)), Ok(AHB_AP_IDR));
    assert_kept_to_the_packet_limits(&stats, 8);
}

fn ram_round_trip(probe: &mut CmsisDapProbe<SimDapFirmware>, words: usize) {
    let csw = CSW_SIZE32 | CSW_ADDRINC_SINGLE;
    let pattern: Vec<u32> = (0..words as u32)
        .map(|i| i.wrapping_mul(0x9E37_79B9))
        .collect();
    probe.write_ap(u32::from(AP_CSW), csw).unwrap();
    // The TAR auto-increment wraps at 1 KiB: one block per 256 words.
    for (index, chunk) in pattern.chunks(256).enumerate() {
        probe
            .write_ap(u32::from(AP_TAR), RAM_BASE + index as u32 * 1024)
            .unwrap();
        probe.write_ap_multiple(u32::from(AP_DRW), chunk).unwrap();
    }
    let mut read = Vec::new();
    for index in 0..pattern.len().div_ceil(256) {
        probe
            .write_ap(u32::from(AP_TAR), RAM_BASE + index as u32 * 1024)
            .unwrap();
        let count = (pattern.len() - index * 256).min(256) as u32;
        read.extend(probe.read_ap_multiple(u32::from(AP_DRW), count).unwrap());
    }
    assert_eq!(read, pattern);
    probe.write_ap(u32::from(AP_TAR), RAM_BASE + 4).unwrap();
    assert_eq!(probe.read_ap(u32::from(AP_DRW)), Ok(pattern[1]));
}

#[test]
fn the_driver_moves_ram_through_the_ahb_ap_on_high_speed_bulk() {
    let (mut probe, stats) = driver_on(UsbModel::HsBulk);
    ram_round_trip(&mut probe, 1000);
    assert_kept_to_the_packet_limits(&stats, 8);
}

#[test]
fn the_driver_moves_ram_through_the_ahb_ap_on_full_speed_hid() {
    let (mut probe, stats) = driver_on(UsbModel::FsHid);
    ram_round_trip(&mut probe, 300);
    assert_kept_to_the_packet_limits(&stats, 4);
}

#[test]
fn a_bus_fault_is_a_transfer_fault_and_clearing_it_recovers() {
    let (mut probe, _stats) = driver_on(UsbModel::None);
    probe
        .write_ap(u32::from(AP_CSW), CSW_SIZE32 | CSW_ADDRINC_SINGLE)
        .unwrap();
    probe
        .write_ap(u32::from(AP_TAR), RAM_BASE + RAM_SIZE)
        .unwrap();
    assert!(matches!(
        probe.read_ap(u32::from(AP_DRW)),
        Err(ProbeError::TransferFault(_))
    ));
    let ctrl_stat = probe.read_dp(u32::from(DP_CTRL_STAT)).unwrap();
    assert_ne!(ctrl_stat & STICKYERR, 0);
    probe.write_dp(u32::from(DP_ABORT), STKERRCLR).unwrap();
    probe.write_ap(u32::from(AP_TAR), RAM_BASE).unwrap();
    probe.write_ap(u32::from(AP_DRW), 0x1234_5678).unwrap();
    probe.write_ap(u32::from(AP_TAR), RAM_BASE).unwrap();
    assert_eq!(probe.read_ap(u32::from(AP_DRW)), Ok(0x1234_5678));
}

#[test]
fn a_deferred_write_fault_reaches_the_next_read() {
    let (mut probe, _stats) = driver_on(UsbModel::None);
    probe
        .write_ap(u32::from(AP_CSW), CSW_SIZE32 | CSW_ADDRINC_SINGLE)
        .unwrap();
    probe
        .write_ap(u32::from(AP_TAR), RAM_BASE + RAM_SIZE)
        .unwrap();
    assert_eq!(probe.write_ap(u32::from(AP_DRW), 1), Ok(()));
    let error = probe.read_dp(u32::from(DP_CTRL_STAT)).unwrap_err();
    assert!(
        matches!(&error, ProbeError::TransferFault(m) if m.contains("earlier request")),
        "{error:?}"
    );
    probe.write_dp(u32::from(DP_ABORT), STKERRCLR).unwrap();
    assert_eq!(probe.read_dp(u32::from(DP_IDR)), Ok(DPIDR_VALUE));
}

#[test]
fn reset_and_sequences_reach_the_firmware() {
    let (mut probe, _stats) = driver_on(UsbModel::None);
    probe.assert_reset(true).unwrap();
    assert_eq!(probe.is_reset_asserted(), Ok(true));
    probe.assert_reset(false).unwrap();
    assert_eq!(probe.is_reset_asserted(), Ok(false));
    probe.reset().unwrap();
    let idle = [crate::probe::SwdSequence {
        cycles: 8,
        bits: Some(0),
    }];
    assert_eq!(probe.swd_sequence(&idle).map(|r| r.status), Ok(0));
    assert!(matches!(
        probe.jtag_sequence(8, false, true, 0),
        Err(ProbeError::Unsupported(_))
    ));
    probe.close().unwrap();
}

#[test]
fn paged_reads_pack_tar_writes_with_the_reads_and_return_each_page_in_order() {
    let (mut probe, stats) = driver_on(UsbModel::HsBulk);
    probe
        .write_ap(u32::from(AP_CSW), CSW_SIZE32 | CSW_ADDRINC_SINGLE)
        .unwrap();
    let words: Vec<u32> = (0..2048u32).map(|i| i.wrapping_mul(0x9E37_79B9)).collect();
    let pages = [(RAM_BASE, 1024), (RAM_BASE + 4096, 1024)];
    // TAR auto-increment wraps at the 4 KiB page: write page by page.
    for (&(address, _), page) in pages.iter().zip(words.chunks(1024)) {
        probe.write_ap(u32::from(AP_TAR), address).unwrap();
        probe.write_ap_multiple(u32::from(AP_DRW), page).unwrap();
    }
    let packets_before = stats.get().packets;
    let paged = probe
        .read_ap_pages(u32::from(AP_TAR), u32::from(AP_DRW), &pages)
        .unwrap();
    assert!(paged == words, "paged read differs from what was written");
    // 127 words fill a 512-byte reply; the TAR writes ride along with the
    // reads instead of taking packets of their own.
    let packets = stats.get().packets - packets_before;
    assert_eq!(packets, 2048_u64.div_ceil(127), "{:?}", stats.get());
    assert_kept_to_the_packet_limits(&stats, 8);
}
