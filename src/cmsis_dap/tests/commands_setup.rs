//! Byte layouts of DAP_Info and the set-up, SWJ and SWO commands, written
//! out from the CMSIS-DAP specification.

use crate::cmsis_dap::commands::info::{
    Capabilities, DapCapabilities, DapVersion, InfoString, PacketCount, PacketSize, StringInfo,
};
use crate::cmsis_dap::commands::setup::*;
use crate::cmsis_dap::commands::swj::*;
use crate::cmsis_dap::commands::swo::*;
use crate::cmsis_dap::commands::{CommandId, DapCommand, ReplyError};
use crate::probe::{ProbeError, WireProtocol};

#[test]
fn info_requests_carry_the_info_id() {
    assert_eq!(PacketSize.request(), [0x00, 0xFF]);
    assert_eq!(PacketCount.request(), [0x00, 0xFE]);
    assert_eq!(Capabilities.request(), [0x00, 0xF0]);
    assert_eq!(
        InfoString(StringInfo::ProtocolVersion).request(),
        [0x00, 0x04]
    );
    assert_eq!(
        InfoString(StringInfo::FirmwareVersion).request(),
        [0x00, 0x09]
    );
    assert_eq!(InfoString(StringInfo::Vendor).request(), [0x00, 0x01]);
    assert_eq!(InfoString(StringInfo::Product).request(), [0x00, 0x02]);
    assert_eq!(InfoString(StringInfo::SerialNumber).request(), [0x00, 0x03]);
}

#[test]
fn info_numbers_are_little_endian_and_length_zero_means_unknown() {
    assert_eq!(
        PacketSize.parse_reply(&[0x00, 0x02, 0x00, 0x02]),
        Ok(Some(512))
    );
    assert_eq!(PacketSize.parse_reply(&[0x00, 0x00]), Ok(None));
    assert_eq!(PacketCount.parse_reply(&[0x00, 0x01, 0x08]), Ok(Some(8)));
    let caps = Capabilities.parse_reply(&[0x00, 0x02, 0x13, 0x01]).unwrap();
    assert_eq!(caps, DapCapabilities(0x0113));
    assert!(caps.swd() && caps.jtag() && caps.atomic_commands() && caps.usb_com_port());
    assert!(!caps.swo_uart() && !caps.swo_streaming());
}

#[test]
fn info_strings_stop_at_the_nul_and_empty_differs_from_absent() {
    let product = InfoString(StringInfo::Product);
    let reply = [
        0x00, 0x0A, b'C', b'M', b'S', b'I', b'S', b'-', b'D', b'A', b'P', 0,
    ];
    assert_eq!(
        product.parse_reply(&reply),
        Ok(Some("CMSIS-DAP".to_owned()))
    );
    assert_eq!(
        product.parse_reply(&[0x00, 0x01, 0x00]),
        Ok(Some(String::new()))
    );
    assert_eq!(product.parse_reply(&[0x00, 0x00]), Ok(None));
}

#[test]
fn info_with_a_length_past_the_reply_is_an_error() {
    let error = InfoString(StringInfo::Vendor).parse_reply(&[0x00, 0x09, b'A', b'R', b'M']);
    assert!(matches!(
        error,
        Err(ReplyError::Short {
            needed: 11,
            got: 5,
            ..
        })
    ));
    assert!(matches!(
        PacketSize.parse_reply(&[0x00, 0x01, 0x40]),
        Err(ReplyError::Malformed { .. })
    ));
    assert!(Capabilities.parse_reply(&[0x00, 0x00]).is_err());
}

#[test]
fn replies_to_other_commands_or_unimplemented_ones_are_errors() {
    assert_eq!(
        PacketSize.parse_reply(&[0xFF]),
        Err(ReplyError::NotImplemented(CommandId::Info))
    );
    assert_eq!(
        PacketSize.parse_reply(&[0x05, 0x02, 0x00, 0x02]),
        Err(ReplyError::WrongCommand {
            command: CommandId::Info,
            got: 0x05
        })
    );
    assert!(matches!(
        PacketSize.parse_reply(&[]),
        Err(ReplyError::Short { .. })
    ));
    let unsupported: ProbeError = ReplyError::NotImplemented(CommandId::SwdSequence).into();
    assert_eq!(unsupported, ProbeError::Unsupported("DAP_SWD_Sequence"));
}

#[test]
fn protocol_versions_parse_including_old_and_broken_forms() {
    let parse = |text| DapVersion::from_info(Some(text));
    assert_eq!(parse("2.1.0"), DapVersion::new(2, 1, 0));
    assert_eq!(parse("1.10"), DapVersion::new(1, 1, 0));
    assert_eq!(parse("1.2.0"), DapVersion::new(1, 2, 0));
    assert_eq!(parse("0254"), DapVersion::V2_0_0);
    assert_eq!(parse("0.02"), DapVersion::V1_0_0);
    assert_eq!(parse("banana"), DapVersion::V1_0_0);
    assert_eq!(parse("7.0.0"), DapVersion::V1_0_0);
    assert_eq!(DapVersion::from_info(None), DapVersion::V1_0_0);
    assert!(parse("1.2.0").has_swd_sequence() && !parse("1.10").has_swd_sequence());
    assert!(parse("2.0.0").has_swd_sequence());
    assert!(parse("1.3.0").has_firmware_version() && !parse("2.0.0").has_firmware_version());
}

#[test]
fn host_status_connect_disconnect_layouts() {
    let led = HostStatus {
        kind: HostStatusKind::Running,
        on: true,
    };
    assert_eq!(led.request(), [0x01, 0x01, 0x01]);
    assert_eq!(led.parse_reply(&[0x01, 0x00]), Ok(()));
    assert_eq!(Connect(WireProtocol::Swd).request(), [0x02, 0x01]);
    assert_eq!(Connect(WireProtocol::Jtag).request(), [0x02, 0x02]);
    let connect = Connect(WireProtocol::Swd);
    assert_eq!(
        connect.parse_reply(&[0x02, 0x01]),
        Ok(Some(WireProtocol::Swd))
    );
    assert_eq!(connect.parse_reply(&[0x02, 0x00]), Ok(None));
    assert!(connect.parse_reply(&[0x02, 0x07]).is_err());
    assert_eq!(Disconnect.request(), [0x03]);
    assert_eq!(
        Disconnect.parse_reply(&[0x03, 0xFF]),
        Err(ReplyError::Failed {
            command: CommandId::Disconnect,
            status: 0xFF
        })
    );
}

#[test]
fn transfer_and_wire_configuration_layouts() {
    let configure = TransferConfigure {
        idle_cycles: 2,
        wait_retry: 0x0150,
        match_retry: 0x0203,
    };
    assert_eq!(configure.request(), [0x04, 0x02, 0x50, 0x01, 0x03, 0x02]);
    assert_eq!(configure.parse_reply(&[0x04, 0x00]), Ok(()));
    let swd = SwdConfigure {
        turnaround: 2,
        always_data_phase: true,
    };
    assert_eq!(swd.request(), [0x13, 0x05]);
    let jtag = JtagConfigure {
        ir_lengths: vec![4, 5],
    };
    assert_eq!(jtag.request(), [0x15, 0x02, 0x04, 0x05]);
    let idcode = JtagIdcode { tap_index: 1 };
    assert_eq!(idcode.request(), [0x16, 0x01]);
    assert_eq!(
        idcode.parse_reply(&[0x16, 0x00, 0x77, 0x14, 0xA0, 0x2B]),
        Ok(0x2BA01477)
    );
    assert!(idcode.parse_reply(&[0x16, 0x00, 0x77]).is_err());
    let abort = WriteAbort {
        dap_index: 0,
        value: 0x1E,
    };
    assert_eq!(abort.request(), [0x08, 0x00, 0x1E, 0x00, 0x00, 0x00]);
    assert_eq!(ResetTarget.request(), [0x0A]);
    assert_eq!(ResetTarget.parse_reply(&[0x0A, 0x00, 0x01]), Ok(true));
    assert_eq!(ResetTarget.parse_reply(&[0x0A, 0x00, 0x00]), Ok(false));
}

#[test]
fn swj_clock_and_pins_layouts() {
    assert_eq!(
        SwjClock(4_000_000).request(),
        [0x11, 0x00, 0x09, 0x3D, 0x00]
    );
    assert_eq!(
        SwjPins::drive_reset(true).request(),
        [0x10, 0x00, 0x80, 0, 0, 0, 0]
    );
    assert_eq!(
        SwjPins::drive_reset(false).request(),
        [0x10, 0x80, 0x80, 0, 0, 0, 0]
    );
    assert_eq!(SwjPins::read().request(), [0x10, 0x00, 0x00, 0, 0, 0, 0]);
    assert_eq!(SwjPins::read().parse_reply(&[0x10, 0x8B]), Ok(0x8B));
    assert!(SwjPins::read().parse_reply(&[0x10]).is_err());
}

#[test]
fn swj_sequence_of_256_bits_encodes_its_count_as_zero() {
    let bits = [0xFF; 32];
    let sequence = SwjSequence::new(256, &bits).unwrap();
    let request = sequence.request();
    assert_eq!(request[..2], [0x12, 0x00]);
    assert_eq!(request.len(), 2 + 32);
    let jtag_to_swd = SwjSequence::new(16, &[0x9E, 0xE7]).unwrap();
    assert_eq!(jtag_to_swd.request(), [0x12, 0x10, 0x9E, 0xE7]);
    assert!(SwjSequence::new(0, &[]).is_none());
    assert!(SwjSequence::new(257, &[0; 40]).is_none());
    assert!(
        SwjSequence::new(9, &[0xFF]).is_none(),
        "9 bits need 2 bytes"
    );
}

#[test]
fn swj_sequence_splits_on_byte_boundaries_to_fit_packets() {
    let bits: Vec<u8> = (0..32).collect();
    let pieces = SwjSequence::split(251, &bits, 8 * 14).unwrap();
    let requests: Vec<Vec<u8>> = pieces.iter().map(|p| p.request()).collect();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0][..3], [0x12, 112, 0]);
    assert_eq!(requests[1][..3], [0x12, 112, 14]);
    assert_eq!(requests[2], [0x12, 27, 28, 29, 30, 31]);
    assert_eq!(SwjSequence::split(0, &[], 256).unwrap(), vec![]);
    assert!(SwjSequence::split(17, &[0, 0], 256).is_none());
}

#[test]
fn swo_layouts() {
    let transport = SwoTransport(SwoTransportKind::DataCommand);
    assert_eq!(transport.request(), [0x17, 0x01]);
    assert_eq!(SwoMode(SwoModeKind::Uart).request(), [0x18, 0x01]);
    let baud = SwoBaudrate(2_000_000);
    assert_eq!(baud.request(), [0x19, 0x80, 0x84, 0x1E, 0x00]);
    assert_eq!(
        baud.parse_reply(&[0x19, 0x40, 0x42, 0x0F, 0x00]),
        Ok(1_000_000)
    );
    assert_eq!(SwoControl { start: true }.request(), [0x1A, 0x01]);
    assert_eq!(SwoStatus.request(), [0x1B]);
    let (status, count) = SwoStatus.parse_reply(&[0x1B, 0x81, 0x10, 0, 0, 0]).unwrap();
    assert!(status.active() && status.overrun() && !status.stream_error());
    assert_eq!(count, 16);
    let data = SwoData { max_count: 60 };
    assert_eq!(data.request(), [0x1C, 0x3C, 0x00]);
    let (status, bytes) = data
        .parse_reply(&[0x1C, 0x01, 0x02, 0x00, 0xAA, 0xBB])
        .unwrap();
    assert!(status.active());
    assert_eq!(bytes, [0xAA, 0xBB]);
}

#[test]
fn swo_data_count_beyond_the_reply_or_the_request_is_an_error() {
    let data = SwoData { max_count: 60 };
    assert!(matches!(
        data.parse_reply(&[0x1C, 0x01, 0x05, 0x00, 0xAA]),
        Err(ReplyError::Short { .. })
    ));
    assert!(matches!(
        data.parse_reply(&[0x1C, 0x01, 0xFF, 0x00]),
        Err(ReplyError::Malformed { .. })
    ));
}
