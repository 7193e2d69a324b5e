//! The virtual target as `--probe sim` serves it ([`virtual_driver`]: the
//! CMSIS-DAP driver on the emulated firmware in front of the target), as a
//! [`DebugProbe`]: lifecycle, AP addressing with SELECT caching, and how
//! acknowledges become probe errors.

use std::time::Duration;

use crate::cmsis_dap::probe::TRANSFER_CONFIGURATION;
use crate::cmsis_dap::CmsisDapProbe;
use crate::probe::{Capability, DebugProbe, ProbeError, ProtocolRequest, WireProtocol};

use crate::sim::dap_firmware::{FirmwareConfig, SimDapFirmware, UsbModel, PRODUCT_NAME};
use crate::sim::dp::{
    CDBGPWRUPREQ, CSYSPWRUPREQ, DPIDR_VALUE, DP_ABORT, DP_CTRL_STAT, DP_IDR, DP_SELECT, STKERRCLR,
};
use crate::sim::mem_ap::{
    AHB_AP_IDR, AP_CSW, AP_DRW, AP_IDR, AP_TAR, CSW_ADDRINC_SINGLE, CSW_SIZE32,
};
use crate::sim::target::RAM_BASE;
use crate::sim::{virtual_driver, VIRTUAL_DESCRIPTION};

type VirtualDriver = CmsisDapProbe<SimDapFirmware>;

fn not_open() -> ProbeError {
    ProbeError::Probe("probe is not open".to_owned())
}

fn not_connected() -> ProbeError {
    ProbeError::Probe("probe is not connected".to_owned())
}

/// A virtual target as served, whose resets do not pause.
fn new_probe(unique_id: &str) -> VirtualDriver {
    let firmware = FirmwareConfig::for_model(UsbModel::None);
    let mut probe = virtual_driver(unique_id, VIRTUAL_DESCRIPTION, firmware).unwrap();
    probe.set_reset_timing(Duration::ZERO, Duration::ZERO);
    probe
}

/// An open, connected probe with the debug domain powered up.
fn ready_probe() -> VirtualDriver {
    let mut probe = new_probe("sim0");
    probe.open().unwrap();
    assert_eq!(
        probe.connect(ProtocolRequest::Default),
        Ok(WireProtocol::Swd)
    );
    probe
        .write_dp(u32::from(DP_CTRL_STAT), CDBGPWRUPREQ | CSYSPWRUPREQ)
        .unwrap();
    probe
}

#[test]
fn info_describes_the_virtual_probe() {
    let probe = new_probe("abc123");
    let info = probe.info();
    assert_eq!(info.unique_id, "abc123");
    assert_eq!(info.vendor_name, "probeshare");
    assert_eq!(info.product_name, PRODUCT_NAME);
    assert_eq!(info.description, "probeshare virtual target");
    assert_eq!(info.supported_wire_protocols, [WireProtocol::Swd]);
    assert_eq!(
        info.capabilities,
        [
            Capability::SwjSequence,
            Capability::BankedDpRegisters,
            Capability::SwdSequence
        ]
    );
    assert!(!probe.has_swo());
}

#[test]
fn operations_on_a_closed_probe_fail_as_not_open() {
    let mut probe = new_probe("sim0");
    assert_eq!(probe.close(), Err(not_open()));
    assert_eq!(probe.connect(ProtocolRequest::Default), Err(not_open()));
    assert_eq!(probe.set_clock(1_000_000), Err(not_open()));
    assert_eq!(probe.is_reset_asserted(), Err(not_open()));
    assert_eq!(probe.flush(), Err(not_open()));
    assert_eq!(probe.read_dp(0), Err(not_open()));
    assert_eq!(probe.write_ap(0, 0), Err(not_open()));
}

#[test]
fn wire_operations_before_connect_fail_as_not_connected() {
    let mut probe = new_probe("sim0");
    probe.open().unwrap();
    assert_eq!(probe.read_dp(0), Err(not_connected()));
    assert_eq!(probe.write_dp(8, 0), Err(not_connected()));
    assert_eq!(probe.read_ap(0xFC), Err(not_connected()));
    assert_eq!(probe.read_ap_multiple(0xC, 2), Err(not_connected()));
    assert_eq!(probe.swj_sequence(8, &[0xFF]), Err(not_connected()));
    assert_eq!(probe.set_clock(4_000_000), Ok(()));
    assert_eq!(probe.transport().clock_hz(), 4_000_000);
}

#[test]
fn connect_brings_up_swd_and_refuses_jtag() {
    let mut probe = new_probe("sim0");
    probe.open().unwrap();
    assert_eq!(
        probe.connect(ProtocolRequest::Specific(WireProtocol::Jtag)),
        Err(ProbeError::Probe(
            "JTAG is not supported by this probe".to_owned()
        ))
    );
    assert_eq!(probe.read_dp(0), Err(not_connected()));
    assert_eq!(
        probe.connect(ProtocolRequest::Specific(WireProtocol::Swd)),
        Ok(WireProtocol::Swd)
    );
    assert_eq!(probe.read_dp(u32::from(DP_IDR)), Ok(DPIDR_VALUE));
}

#[test]
fn disconnect_and_close_take_the_wire_down() {
    let mut probe = ready_probe();
    probe.disconnect().unwrap();
    assert_eq!(probe.read_dp(0), Err(not_connected()));

    probe.connect(ProtocolRequest::Default).unwrap();
    probe.close().unwrap();
    probe.open().unwrap();
    assert_eq!(probe.read_dp(0), Err(not_connected()));
}

#[test]
fn read_ap_takes_apsel_and_bank_from_the_address() {
    let mut probe = ready_probe();
    assert_eq!(probe.read_ap(u32::from(AP_IDR)), Ok(AHB_AP_IDR));
    assert_eq!(probe.read_ap(0x0100_00FC), Ok(0x0288_0000), "the CTRL-AP");
    assert_eq!(probe.read_ap(0x0200_00FC), Ok(0), "no AP");
    assert_eq!(probe.read_ap(0x0000_0000), Ok(0x0300_0040));
}

#[test]
fn client_select_writes_are_tracked() {
    let mut probe = ready_probe();
    probe.read_ap(u32::from(AP_IDR)).unwrap();
    // pyOCD's DP layer writes SELECT itself; the adapter must not assume
    // its own bank 0xF selection is still in place.
    probe.write_dp(u32::from(DP_SELECT), 0).unwrap();
    assert_eq!(probe.read_ap(u32::from(AP_IDR)), Ok(AHB_AP_IDR));
}

#[test]
fn ap_selection_keeps_the_clients_dpbanksel() {
    let mut probe = ready_probe();
    probe.write_dp(u32::from(DP_SELECT), 1).unwrap();
    probe.read_ap(u32::from(AP_IDR)).unwrap();
    // A DP address names its bank (bits 7:4): 0x14 is DLCR, 0x4 CTRL/STAT,
    // whatever SELECT held before.
    assert_eq!(probe.read_dp(0x14), Ok(0x40));
    let ctrl_stat = probe.read_dp(u32::from(DP_CTRL_STAT)).unwrap();
    assert_eq!(ctrl_stat >> 28, 0xF, "{ctrl_stat:#x}");
}

#[test]
fn fault_ack_becomes_transfer_fault() {
    let mut probe = ready_probe();
    probe.write_ap(u32::from(AP_CSW), CSW_SIZE32).unwrap();
    probe.write_ap(u32::from(AP_TAR), 0x1000_0000).unwrap();
    assert!(matches!(
        probe.read_ap(u32::from(AP_DRW)),
        Err(ProbeError::TransferFault(_))
    ));
    assert!(matches!(
        probe.read_ap(u32::from(AP_CSW)),
        Err(ProbeError::TransferFault(_))
    ));
    probe.write_dp(u32::from(DP_ABORT), STKERRCLR).unwrap();
    assert!(probe.read_ap(u32::from(AP_CSW)).is_ok());
}

#[test]
fn wait_ack_becomes_transfer_timeout() {
    let mut probe = ready_probe();
    // One more WAIT than the firmware retries.
    let attempts = 1 + u32::from(TRANSFER_CONFIGURATION.wait_retry);
    probe
        .transport()
        .target()
        .lock()
        .inject_wait_responses(attempts);
    assert!(matches!(
        probe.read_ap(u32::from(AP_CSW)),
        Err(ProbeError::TransferTimeout(_))
    ));
}

#[test]
fn malformed_register_addresses_are_invalid_arguments() {
    let mut probe = ready_probe();
    // 0x10 and 0x24 name DP banks 1 and 2: valid addresses.
    for dp_addr in [0x2, 0x100, 0xFFFF_FFFC] {
        assert!(matches!(
            probe.read_dp(dp_addr),
            Err(ProbeError::InvalidArgument(_))
        ));
    }
    for ap_addr in [0x1, 0x100, 0x00FF_0000] {
        assert!(matches!(
            probe.read_ap(ap_addr),
            Err(ProbeError::InvalidArgument(_))
        ));
    }
}

#[test]
fn ap_multiple_transfers_stream_through_drw() {
    let mut probe = ready_probe();
    probe
        .write_ap(u32::from(AP_CSW), CSW_SIZE32 | CSW_ADDRINC_SINGLE)
        .unwrap();
    probe.write_ap(u32::from(AP_TAR), RAM_BASE).unwrap();
    probe
        .write_ap_multiple(u32::from(AP_DRW), &[1, 2, 3])
        .unwrap();
    probe.write_ap(u32::from(AP_TAR), RAM_BASE).unwrap();
    assert_eq!(
        probe.read_ap_multiple(u32::from(AP_DRW), 3),
        Ok(vec![1, 2, 3])
    );
    assert_eq!(probe.read_ap_multiple(u32::from(AP_DRW), 0), Ok(vec![]));
}

#[test]
fn swj_sequence_is_checked_against_its_bits() {
    let mut probe = ready_probe();
    assert_eq!(probe.swj_sequence(51, &[0xFF; 7]), Ok(()));
    assert_eq!(probe.swj_sequence(136, &[0; 17]), Ok(()));
    assert!(matches!(
        probe.swj_sequence(51, &[0xFF; 6]),
        Err(ProbeError::InvalidArgument(_))
    ));
    assert!(matches!(
        probe.swj_sequence(257, &[0; 33]),
        Err(ProbeError::InvalidArgument(_))
    ));
}

#[test]
fn reset_line_is_tracked_and_spares_the_debug_domain() {
    let mut probe = ready_probe();
    assert_eq!(probe.is_reset_asserted(), Ok(false));
    probe.assert_reset(true).unwrap();
    assert_eq!(probe.is_reset_asserted(), Ok(true));
    probe.assert_reset(false).unwrap();
    probe.reset().unwrap();
    assert_eq!(probe.is_reset_asserted(), Ok(false));
    assert_eq!(probe.read_ap(u32::from(AP_IDR)), Ok(AHB_AP_IDR));
}

#[test]
fn swo_is_unsupported() {
    let mut probe = ready_probe();
    assert_eq!(
        probe.swo_start(115_200),
        Err(ProbeError::Unsupported("SWO"))
    );
}
