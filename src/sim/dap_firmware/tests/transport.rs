//! The firmware as a packet transport: size limits, the packet window,
//! read timeouts, and the USB latency model in virtual time.

use std::time::Duration;

use crate::cmsis_dap::{Transport, TransportError};
use crate::sim::target::SwdTarget;

use super::support::{exchange, powered_probe, probe_on, read};
use crate::sim::dap_firmware::{Clock, FirmwareConfig, SimDapFirmware, UsbModel, VirtualClock};

const INFO_PACKET_COUNT: [u8; 2] = [0x00, 0xFE];
const SECOND: Duration = Duration::from_secs(1);

fn probe_for(usb: UsbModel) -> (SimDapFirmware, VirtualClock) {
    probe_on(SwdTarget::cortex_m(), FirmwareConfig::for_model(usb))
}

/// Keeps the packet window full for `packets` DAP_Info commands and
/// returns the virtual time each response arrived.
fn stream(probe: &mut SimDapFirmware, clock: &VirtualClock, packets: usize) -> Vec<Duration> {
    let window = usize::from(probe.config().packet_count);
    let mut arrivals = Vec::new();
    let mut written = 0;
    while arrivals.len() < packets {
        while written < packets && written - arrivals.len() < window {
            probe.write_packet(&INFO_PACKET_COUNT).unwrap();
            written += 1;
        }
        read(probe);
        arrivals.push(clock.now());
    }
    arrivals
}

#[test]
fn commands_longer_than_the_packet_size_are_refused() {
    let (mut probe, _clock) = probe_for(UsbModel::FsHid);
    let mut too_long = vec![0x00, 0x01];
    too_long.resize(65, 0);
    assert!(matches!(
        probe.write_packet(&too_long),
        Err(TransportError::Io(_))
    ));
    assert!(matches!(
        probe.write_packet(&[]),
        Err(TransportError::Io(_))
    ));
    assert_eq!(probe.stats().get().refused_packets, 2);
    let mut buf = [0; 64];
    assert_eq!(
        probe.read_packet(&mut buf, SECOND),
        Err(TransportError::Timeout(SECOND))
    );
    too_long.truncate(64);
    probe.write_packet(&too_long).unwrap();
}

#[test]
fn responses_come_back_in_command_order() {
    let (mut probe, _clock) = probe_for(UsbModel::HsBulk);
    probe.write_packet(&[0x00, 0xFE]).unwrap();
    probe.write_packet(&[0x00, 0xFF]).unwrap();
    probe.write_packet(&[0x03]).unwrap();
    assert_eq!(read(&mut probe), [0x00, 0x01, 0x08]);
    assert_eq!(read(&mut probe), [0x00, 0x02, 0x00, 0x02]);
    assert_eq!(read(&mut probe), [0x03, 0x00]);
}

#[test]
fn packets_beyond_the_packet_count_are_counted_as_window_overruns() {
    let (mut probe, _clock) = probe_for(UsbModel::FsHid);
    let stats = probe.stats();
    for _ in 0..4 {
        probe.write_packet(&INFO_PACKET_COUNT).unwrap();
    }
    assert_eq!(stats.get().max_outstanding, 4);
    assert_eq!(stats.get().window_overruns, 0);
    probe.write_packet(&INFO_PACKET_COUNT).unwrap();
    assert_eq!(stats.get().max_outstanding, 5);
    assert_eq!(stats.get().window_overruns, 1);
    for _ in 0..5 {
        assert_eq!(read(&mut probe)[..3], [0x00, 0x01, 0x04]);
    }
    assert_eq!(stats.get().packets, 5);
}

#[test]
fn transfer_abort_has_no_response_and_takes_no_window_slot() {
    let (mut probe, _clock) = probe_for(UsbModel::None);
    probe.write_packet(&[0x07]).unwrap();
    probe.write_packet(&[0x03]).unwrap();
    assert_eq!(read(&mut probe), [0x03, 0x00]);
    assert_eq!(probe.stats().get().max_outstanding, 1);
}

#[test]
fn full_speed_hid_answers_at_most_one_packet_per_millisecond() {
    let (mut probe, clock) = probe_for(UsbModel::FsHid);
    let arrivals = stream(&mut probe, &clock, 100);
    for pair in arrivals.windows(2) {
        assert_eq!(pair[1] - pair[0], Duration::from_millis(1));
    }
    assert_eq!(clock.now(), Duration::from_millis(100));
}

#[test]
fn high_speed_bulk_answers_one_packet_per_microframe() {
    let (mut probe, clock) = probe_for(UsbModel::HsBulk);
    stream(&mut probe, &clock, 80);
    assert_eq!(clock.now(), Duration::from_millis(10));
}

#[test]
fn a_lone_hid_command_is_answered_in_the_frame_after_the_one_that_carried_it() {
    let (mut probe, clock) = probe_for(UsbModel::FsHid);
    clock.advance(Duration::from_micros(300));
    exchange(&mut probe, &INFO_PACKET_COUNT);
    assert_eq!(clock.now(), Duration::from_millis(2));
}

#[test]
fn without_a_bus_responses_are_ready_at_once() {
    let (mut probe, clock) = probe_for(UsbModel::None);
    stream(&mut probe, &clock, 50);
    assert_eq!(clock.now(), Duration::ZERO);
}

#[test]
fn dap_delay_holds_the_response_back() {
    let (mut probe, clock) = probe_for(UsbModel::None);
    assert_eq!(exchange(&mut probe, &[0x09, 0x88, 0x13]), [0x09, 0x00]);
    assert_eq!(clock.now(), Duration::from_millis(5));
}

#[test]
fn a_response_not_ready_within_the_timeout_stays_queued() {
    let (mut probe, clock) = probe_for(UsbModel::FsHid);
    probe.write_packet(&INFO_PACKET_COUNT).unwrap();
    let mut buf = [0; 64];
    let short = Duration::from_micros(500);
    assert_eq!(
        probe.read_packet(&mut buf, short),
        Err(TransportError::Timeout(short))
    );
    assert_eq!(clock.now(), short);
    assert_eq!(probe.read_packet(&mut buf, SECOND), Ok(64));
    assert_eq!(buf[..3], [0x00, 0x01, 0x04]);
}

#[test]
fn reading_with_nothing_in_flight_times_out() {
    let (mut probe, clock) = probe_for(UsbModel::None);
    let mut buf = [0; 512];
    assert_eq!(
        probe.read_packet(&mut buf, SECOND),
        Err(TransportError::Timeout(SECOND))
    );
    assert_eq!(clock.now(), SECOND);
}

#[test]
fn hid_responses_are_whole_reports() {
    let (mut probe, _clock) = probe_for(UsbModel::FsHid);
    let response = exchange(&mut probe, &[0x03]);
    let mut expected = vec![0x03, 0x00];
    expected.resize(64, 0);
    assert_eq!(response, expected);
}

#[test]
fn a_buffer_too_small_for_the_response_is_an_overflow() {
    let (mut probe, _clock) = probe_for(UsbModel::FsHid);
    probe.write_packet(&[0x03]).unwrap();
    let mut buf = [0; 16];
    assert!(matches!(
        probe.read_packet(&mut buf, SECOND),
        Err(TransportError::Io(_))
    ));
}

#[test]
fn responses_longer_than_the_packet_size_are_cut() {
    let mut probe = powered_probe();
    // 128 words need 516 bytes of response; the packet holds 512.
    let read_128_words = [0x06, 0x00, 0x80, 0x00, 0x0F];
    let response = exchange(&mut probe, &read_128_words);
    assert_eq!(response.len(), 512);
    assert_eq!(probe.stats().get().truncated_responses, 1);
}

#[test]
fn the_initial_packet_size_is_the_report_or_endpoint_size() {
    assert_eq!(probe_for(UsbModel::FsHid).0.initial_packet_size(), 64);
    assert_eq!(probe_for(UsbModel::None).0.initial_packet_size(), 512);
    let big_bulk = FirmwareConfig {
        packet_size: 1024,
        ..FirmwareConfig::for_model(UsbModel::HsBulk)
    };
    let probe = probe_on(SwdTarget::cortex_m(), big_bulk).0;
    assert_eq!(probe.initial_packet_size(), 512);
}

#[test]
fn packet_size_and_count_are_clamped_to_what_a_firmware_can_be_built_with() {
    let config = FirmwareConfig {
        packet_size: 16,
        packet_count: 0,
        ..FirmwareConfig::for_model(UsbModel::None)
    };
    let mut probe = probe_on(SwdTarget::cortex_m(), config).0;
    assert_eq!(
        exchange(&mut probe, &[0x00, 0xFF]),
        [0x00, 0x02, 0x40, 0x00]
    );
    assert_eq!(exchange(&mut probe, &[0x00, 0xFE]), [0x00, 0x01, 0x01]);
}

#[test]
fn an_unbounded_timeout_waits_for_the_response() {
    let (mut probe, clock) = probe_for(UsbModel::FsHid);
    probe.write_packet(&[0x03]).unwrap();
    let mut buf = [0; 64];
    assert_eq!(probe.read_packet(&mut buf, Duration::MAX), Ok(64));
    assert_eq!(clock.now(), Duration::from_millis(1));
}

#[test]
fn extra_latency_delays_every_response_by_that_much() {
    let config = FirmwareConfig {
        extra_latency: Duration::from_millis(200),
        ..FirmwareConfig::for_model(UsbModel::None)
    };
    let (mut probe, clock) = probe_on(SwdTarget::cortex_m(), config);
    let mut buf = [0; 512];
    probe.write_packet(&INFO_PACKET_COUNT).unwrap();
    assert_eq!(
        probe.read_packet(&mut buf, Duration::from_millis(199)),
        Err(TransportError::Timeout(Duration::from_millis(199)))
    );
    read(&mut probe);
    assert_eq!(clock.now(), Duration::from_millis(200));
    probe.write_packet(&INFO_PACKET_COUNT).unwrap();
    read(&mut probe);
    assert_eq!(clock.now(), Duration::from_millis(400));
}

#[test]
fn an_unplugged_probe_reports_disconnected_for_queued_and_new_packets() {
    let (mut probe, _clock) = probe_for(UsbModel::HsBulk);
    probe.write_packet(&INFO_PACKET_COUNT).unwrap();
    let plug = probe.plug_handle();
    plug.unplug();
    let mut buf = [0u8; 512];
    assert!(matches!(
        probe.read_packet(&mut buf, SECOND),
        Err(TransportError::Disconnected(_))
    ));
    assert!(matches!(
        probe.write_packet(&INFO_PACKET_COUNT),
        Err(TransportError::Disconnected(_))
    ));
    plug.replug();
    probe.write_packet(&INFO_PACKET_COUNT).unwrap();
    assert_eq!(read(&mut probe)[..2], [0x00, 0x01]);
}
