//! `CmsisDapProbe` from DAP_Info to connect, close, and the pin commands.

use super::mock::{connected_probe, identity, new_probe, script_open, Firmware, Script, FULL};
use crate::cmsis_dap::CmsisDapProbe;
use crate::probe::{Capability, DebugProbe, ProbeError, ProtocolRequest, WireProtocol};

const SWD_ONLY_V1: Firmware = Firmware {
    packet_size: 64,
    packet_count: 1,
    capabilities: 0x01,
    version: "1.10",
};
const JTAG_ONLY: Firmware = Firmware {
    packet_size: 512,
    packet_count: 8,
    capabilities: 0x02,
    version: "2.0.0",
};

#[test]
fn info_is_known_before_open_from_dap_info_and_identity() {
    let (probe, script) = new_probe(FULL);
    let info = probe.info();
    assert_eq!(info.unique_id, "SER123");
    assert_eq!(info.product_name, "Probe CMSIS-DAP");
    assert_eq!(
        info.supported_wire_protocols,
        [WireProtocol::Swd, WireProtocol::Jtag]
    );
    for capability in [
        Capability::SwjSequence,
        Capability::BankedDpRegisters,
        Capability::SwdSequence,
        Capability::JtagSequence,
        Capability::Swo,
    ] {
        assert!(info.capabilities.contains(&capability), "{capability:?}");
    }
    assert!(!info.capabilities.contains(&Capability::Apv2Addresses));
    assert_eq!(probe.dap_info().packet_count, 4);
    assert_eq!(probe.dap_info().firmware_version.as_deref(), Some("0.9"));
    assert_eq!(script.packet_size_told(), Some(64));
    assert!(probe.has_swo());
}

#[test]
fn an_old_swd_probe_offers_no_sequences_jtag_or_swo() {
    let (probe, _script) = new_probe(SWD_ONLY_V1);
    let info = probe.info();
    assert_eq!(info.supported_wire_protocols, [WireProtocol::Swd]);
    assert_eq!(
        info.capabilities,
        [Capability::SwjSequence, Capability::BankedDpRegisters]
    );
    assert!(!probe.has_swo());
}

#[test]
fn new_fails_cleanly_on_unusable_dap_info() {
    let script = Script::new();
    script.exchange(&[0x00, 0xFE], &[0xFF]);
    let result = CmsisDapProbe::new(script.transport(64), identity());
    assert!(matches!(result, Err(ProbeError::Unsupported("DAP_Info"))));

    let script = Script::new();
    script.exchange(&[0x00, 0xFE], &[0x00, 0x01, 0x01]);
    script.exchange(&[0x00, 0x04], &[0x00, 0x00]);
    script.exchange(&[0x00, 0xFF], &[0x00, 0x02, 0x08, 0x00]);
    let result = CmsisDapProbe::new(script.transport(64), identity());
    assert!(matches!(result, Err(ProbeError::Probe(m)) if m.contains("packet size of 8")));
    script.assert_done();
}

#[test]
fn operations_need_open_and_connect() {
    let (mut probe, script) = new_probe(FULL);
    assert!(matches!(probe.read_dp(0), Err(ProbeError::Probe(m)) if m.contains("not open")));
    assert!(matches!(probe.flush(), Err(ProbeError::Probe(_))));
    script_open(&script);
    probe.open().unwrap();
    assert!(matches!(probe.read_dp(0), Err(ProbeError::Probe(m)) if m.contains("not connected")));
    assert!(probe.swj_sequence(8, &[0xFF]).is_err());
    script.assert_done();
}

#[test]
fn default_connects_swd_by_port_1_and_disconnect_releases_it() {
    // `connected_probe` scripts DAP_Connect as [02 01]: never port 0.
    let (mut probe, script) = connected_probe(FULL);
    script.exchange(&[0x03], &[0x03, 0x00]);
    probe.disconnect().unwrap();
    assert!(matches!(probe.read_dp(0), Err(ProbeError::Probe(m)) if m.contains("not connected")));
    script.assert_done();
}

#[test]
fn default_on_a_jtag_only_probe_connects_jtag_with_one_tap() {
    let (mut probe, script) = new_probe(JTAG_ONLY);
    script_open(&script);
    probe.open().unwrap();
    script
        .exchange(&[0x02, 0x02], &[0x02, 0x02])
        .exchange(&[0x11, 0x40, 0x42, 0x0F, 0x00], &[0x11, 0x00])
        .exchange(&[0x15, 0x01, 0x04], &[0x15, 0x00]);
    assert_eq!(
        probe.connect(ProtocolRequest::Default),
        Ok(WireProtocol::Jtag)
    );
    script.assert_done();
}

#[test]
fn connecting_an_unsupported_or_refused_protocol_fails() {
    let (mut probe, script) = new_probe(SWD_ONLY_V1);
    script_open(&script);
    probe.open().unwrap();
    let jtag = ProtocolRequest::Specific(WireProtocol::Jtag);
    assert!(matches!(probe.connect(jtag), Err(ProbeError::Probe(m)) if m.contains("JTAG")));
    script.exchange(&[0x02, 0x01], &[0x02, 0x00]);
    let swd = ProtocolRequest::Specific(WireProtocol::Swd);
    assert!(matches!(probe.connect(swd), Err(ProbeError::Probe(m)) if m.contains("refused")));
    assert!(probe.read_dp(0).is_err(), "still not connected");
    script.assert_done();
}

#[test]
fn set_clock_is_sent_and_used_by_later_connects() {
    let (mut probe, script) = new_probe(FULL);
    script_open(&script);
    probe.open().unwrap();
    script.exchange(&[0x11, 0x00, 0x09, 0x3D, 0x00], &[0x11, 0x00]);
    probe.set_clock(4_000_000).unwrap();
    script
        .exchange(&[0x02, 0x01], &[0x02, 0x01])
        .exchange(&[0x11, 0x00, 0x09, 0x3D, 0x00], &[0x11, 0x00]);
    probe.connect(ProtocolRequest::Default).unwrap();
    script.exchange(&[0x11, 0x00, 0x00, 0x00, 0x00], &[0x11, 0xFF]);
    assert!(matches!(probe.set_clock(0), Err(ProbeError::Probe(_))));
    script.assert_done();
}

#[test]
fn reset_pulses_nreset_and_reads_it_back() {
    let (mut probe, script) = connected_probe(FULL);
    let assert = [0x10, 0x00, 0x80, 0, 0, 0, 0];
    let release = [0x10, 0x80, 0x80, 0, 0, 0, 0];
    let read = [0x10, 0x00, 0x00, 0, 0, 0, 0];
    script
        .exchange(&assert, &[0x10, 0x00])
        .exchange(&release, &[0x10, 0x80]);
    probe.reset().unwrap();
    script
        .exchange(&assert, &[0x10, 0x00])
        .exchange(&read, &[0x10, 0x03]);
    probe.assert_reset(true).unwrap();
    assert_eq!(probe.is_reset_asserted(), Ok(true));
    script
        .exchange(&release, &[0x10, 0x80])
        .exchange(&read, &[0x10, 0x83]);
    probe.assert_reset(false).unwrap();
    assert_eq!(probe.is_reset_asserted(), Ok(false));
    script.assert_done();
}

#[test]
fn swj_sequences_go_out_as_given_and_over_256_bits_are_refused() {
    let (mut probe, script) = connected_probe(FULL);
    let line_reset = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x07];
    script.exchange(
        &[0x12, 51, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x07],
        &[0x12, 0x00],
    );
    probe.swj_sequence(51, &line_reset).unwrap();
    let mut all = vec![0x12, 0x00];
    all.extend([0xA5; 32]);
    script.exchange(&all, &[0x12, 0x00]);
    probe.swj_sequence(256, &[0xA5; 32]).unwrap();
    assert!(matches!(
        probe.swj_sequence(257, &[0; 33]),
        Err(ProbeError::InvalidArgument(_))
    ));
    assert!(matches!(
        probe.swj_sequence(16, &[0]),
        Err(ProbeError::InvalidArgument(_))
    ));
    script.assert_done();
}

#[test]
fn close_releases_the_wire_even_after_a_deferred_error() {
    let (mut probe, script) = connected_probe(FULL);
    probe.write_dp(0x0, 0x1E).unwrap();
    script
        .exchange(
            &[0x05, 0x00, 0x01, 0x00, 0x1E, 0x00, 0x00, 0x00],
            &[0x05, 0x00, 0x04],
        )
        .exchange(&[0x03], &[0x03, 0x00])
        .exchange(&[0x01, 0x00, 0x00], &[0x01, 0x00]);
    probe.close().unwrap();
    assert!(matches!(probe.flush(), Err(ProbeError::Probe(m)) if m.contains("not open")));
    script.assert_done();
}

#[test]
fn a_lost_probe_makes_close_report_disconnected() {
    let (mut probe, script) = connected_probe(FULL);
    script.write_fails(
        &[0x03],
        crate::cmsis_dap::TransportError::Disconnected("gone".into()),
    );
    assert!(matches!(probe.close(), Err(ProbeError::Disconnected(_))));
    script.assert_done();
}
