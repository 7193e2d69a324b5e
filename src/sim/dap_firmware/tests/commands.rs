//! The general, SWJ and SWD commands, refusals, and the atomic commands:
//! request bytes in, response bytes out, as the CMSIS-DAP spec lays them.

use std::time::Duration;

use crate::cmsis_dap::{Transport, TransportError};
use crate::sim::dp::{DP_CTRL_STAT, STICKYERR};
use crate::sim::target::SwdTarget;

use super::support::{
    exchange, powered_probe, probe, probe_on, read, transfer, AP_READ_CSW, AP_READ_DRW,
    DP_READ_CTRL_STAT, DP_READ_IDR,
};
use crate::sim::dap_firmware::{FirmwareConfig, Port, UsbModel};

fn info_string(text: &str) -> Vec<u8> {
    let mut response = vec![0x00, text.len() as u8 + 1];
    response.extend(text.as_bytes());
    response.push(0);
    response
}

#[test]
fn dap_info_names_the_virtual_probe_and_its_version() {
    let config = FirmwareConfig {
        serial: "ABC123".to_owned(),
        ..FirmwareConfig::for_model(UsbModel::None)
    };
    let mut probe = probe_on(SwdTarget::cortex_m(), config).0;
    assert_eq!(
        exchange(&mut probe, &[0x00, 0x01]),
        info_string("probeshare")
    );
    assert_eq!(
        exchange(&mut probe, &[0x00, 0x02]),
        info_string("probeshare CMSIS-DAP (virtual)")
    );
    assert_eq!(exchange(&mut probe, &[0x00, 0x03]), info_string("ABC123"));
    assert_eq!(
        exchange(&mut probe, &[0x00, 0x04]),
        [0x00, 0x06, b'2', b'.', b'1', b'.', b'0', 0x00]
    );
    assert_eq!(exchange(&mut probe, &[0x00, 0x09]), info_string("0.1.0"));
}

#[test]
fn dap_info_reports_swd_and_atomic_commands_and_the_packet_window() {
    let mut probe = probe();
    assert_eq!(
        exchange(&mut probe, &[0x00, 0xF0]),
        [0x00, 0x02, 0x11, 0x00]
    );
    assert_eq!(exchange(&mut probe, &[0x00, 0xFE]), [0x00, 0x01, 0x08]);
    assert_eq!(
        exchange(&mut probe, &[0x00, 0xFF]),
        [0x00, 0x02, 0x00, 0x02]
    );
}

#[test]
fn dap_info_has_nothing_for_target_names_timer_swo_and_unknown_ids() {
    let mut probe = probe();
    for id in [0x05, 0x06, 0x07, 0x08, 0xF1, 0xFB, 0xFC, 0xFD, 0x42] {
        assert_eq!(
            exchange(&mut probe, &[0x00, id]),
            [0x00, 0x00],
            "id {id:#x}"
        );
    }
}

#[test]
fn a_serial_too_long_for_the_packet_is_cut_to_fit() {
    let config = FirmwareConfig {
        serial: "S".repeat(100),
        ..FirmwareConfig::for_model(UsbModel::None)
    };
    let config = FirmwareConfig {
        packet_size: 64,
        ..config
    };
    let mut probe = probe_on(SwdTarget::cortex_m(), config).0;
    let response = exchange(&mut probe, &[0x00, 0x03]);
    assert_eq!(response.len(), 64);
    assert_eq!(response[..2], [0x00, 62]);
    assert_eq!(response[63], 0);
}

#[test]
fn host_status_sets_the_leds_and_refuses_unknown_types() {
    let mut probe = probe();
    assert_eq!(exchange(&mut probe, &[0x01, 0x00, 0x01]), [0x01, 0x00]);
    assert_eq!(exchange(&mut probe, &[0x01, 0x01, 0x01]), [0x01, 0x00]);
    assert_eq!(probe.host_status(), (true, true));
    assert_eq!(exchange(&mut probe, &[0x01, 0x01, 0x00]), [0x01, 0x00]);
    assert_eq!(probe.host_status(), (true, false));
    assert_eq!(exchange(&mut probe, &[0x01, 0x02, 0x01]), [0x01, 0xFF]);
}

#[test]
fn connect_selects_swd_for_the_default_port_and_fails_jtag() {
    let mut probe = probe();
    assert_eq!(exchange(&mut probe, &[0x02, 0x02]), [0x02, 0x00]);
    assert_eq!(probe.port(), Port::Disabled);
    assert_eq!(exchange(&mut probe, &[0x02, 0x00]), [0x02, 0x01]);
    assert_eq!(probe.port(), Port::Swd);
    assert_eq!(exchange(&mut probe, &[0x02, 0x01]), [0x02, 0x01]);
    // A failed connect leaves the port as it was.
    assert_eq!(exchange(&mut probe, &[0x02, 0x02]), [0x02, 0x00]);
    assert_eq!(probe.port(), Port::Swd);
    assert_eq!(exchange(&mut probe, &[0x03]), [0x03, 0x00]);
    assert_eq!(probe.port(), Port::Disabled);
}

#[test]
fn transfer_configure_stores_idle_cycles_and_retry_counts() {
    let mut probe = probe();
    let defaults = probe.transfer_settings();
    assert_eq!((defaults.wait_retry, defaults.match_retry), (100, 0));
    let command = [0x04, 0x02, 0x96, 0x00, 0x05, 0x00];
    assert_eq!(exchange(&mut probe, &command), [0x04, 0x00]);
    let settings = probe.transfer_settings();
    assert_eq!(settings.idle_cycles, 2);
    assert_eq!(settings.wait_retry, 150);
    assert_eq!(settings.match_retry, 5);
}

#[test]
fn swj_clock_takes_any_frequency_but_zero() {
    let mut probe = probe();
    let one_megahertz = [0x11, 0x40, 0x42, 0x0F, 0x00];
    assert_eq!(exchange(&mut probe, &one_megahertz), [0x11, 0x00]);
    assert_eq!(probe.clock_hz(), 1_000_000);
    assert_eq!(exchange(&mut probe, &[0x11, 0, 0, 0, 0]), [0x11, 0xFF]);
    assert_eq!(probe.clock_hz(), 1_000_000);
}

#[test]
fn swj_sequence_takes_its_bits_and_reads_a_zero_count_as_256() {
    let mut probe = probe();
    let mut line_reset = vec![0x12, 51];
    line_reset.extend([0xFF; 7]);
    assert_eq!(exchange(&mut probe, &line_reset), [0x12, 0x00]);
    let mut long = vec![0x12, 0x00];
    long.extend([0x00; 31]);
    assert_eq!(
        exchange(&mut probe, &long),
        [0x12, 0xFF],
        "256 bits need 32 bytes"
    );
    long.push(0x00);
    assert_eq!(exchange(&mut probe, &long), [0x12, 0x00]);
}

#[test]
fn swd_configure_answers_ok() {
    let mut probe = probe();
    assert_eq!(exchange(&mut probe, &[0x13, 0x00]), [0x13, 0x00]);
}

#[test]
fn swd_sequence_returns_ones_for_undriven_input_cycles() {
    let mut probe = probe();
    // 8 output cycles with their byte, then 4 input cycles.
    let command = [0x1D, 0x02, 0x08, 0xA5, 0x84];
    assert_eq!(exchange(&mut probe, &command), [0x1D, 0x00, 0x0F]);
    // Zero cycles mean 64.
    let mut expected = vec![0x1D, 0x00];
    expected.extend([0xFF; 8]);
    assert_eq!(exchange(&mut probe, &[0x1D, 0x01, 0x80]), expected);
    assert_eq!(
        exchange(&mut probe, &[0x1D, 0x01, 0x10, 0xFF]),
        [0x1D, 0xFF]
    );
}

/// DAP_SWJ_Sequence of a line reset as pyOCD sends it: 51 cycles high,
/// then (separately) eight idle cycles.
const LINE_RESET: [u8; 9] = [0x12, 51, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
const IDLE: [u8; 3] = [0x12, 8, 0x00];

#[test]
fn swj_sequence_line_reset_leaves_the_dp_answering_only_dpidr() {
    let mut probe = powered_probe();
    let target = probe.target();
    assert_eq!(exchange(&mut probe, &LINE_RESET), [0x12, 0x00]);
    assert_eq!(exchange(&mut probe, &IDLE), [0x12, 0x00]);
    assert!(target.lock().in_line_reset_state());
    // No acknowledge: ACK 0b111, nothing completed.
    let ap_read = transfer(&[(AP_READ_CSW, None)]);
    assert_eq!(exchange(&mut probe, &ap_read), [0x05, 0x00, 0x07]);
    let ctrl_stat = transfer(&[(DP_READ_CTRL_STAT, None)]);
    assert_eq!(exchange(&mut probe, &ctrl_stat), [0x05, 0x00, 0x07]);
    // A DPIDR read is answered and ends the reset state; the read after it
    // in the same command is answered too.
    let dpidr_then_ap = transfer(&[(DP_READ_IDR, None), (AP_READ_CSW, None)]);
    let response = exchange(&mut probe, &dpidr_then_ap);
    assert_eq!(response[..7], [0x05, 0x02, 0x01, 0x77, 0x14, 0xA0, 0x2B]);
    assert!(!target.lock().in_line_reset_state());
}

#[test]
fn a_transfer_straight_after_the_high_run_is_not_seen() {
    let mut probe = powered_probe();
    assert_eq!(exchange(&mut probe, &LINE_RESET), [0x12, 0x00]);
    let dpidr = transfer(&[(DP_READ_IDR, None)]);
    assert_eq!(exchange(&mut probe, &dpidr), [0x05, 0x00, 0x07]);
    let mut answered = vec![0x05, 0x01, 0x01];
    answered.extend(0x2BA0_1477u32.to_le_bytes());
    assert_eq!(exchange(&mut probe, &dpidr), answered);
}

#[test]
fn swd_sequence_cycles_reach_the_line_too() {
    let mut probe = powered_probe();
    let target = probe.target();
    // 32 output cycles high, 20 input cycles (read high: the pull-up),
    // then 8 output cycles low.
    let command = [0x1D, 0x03, 0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0x94, 0x08, 0x00];
    assert_eq!(
        exchange(&mut probe, &command),
        [0x1D, 0x00, 0xFF, 0xFF, 0x0F]
    );
    assert!(target.lock().in_line_reset_state());
}

#[test]
fn sequences_reach_no_target_before_connect() {
    let mut probe = probe();
    let target = probe.target();
    assert_eq!(exchange(&mut probe, &LINE_RESET), [0x12, 0x00]);
    assert_eq!(exchange(&mut probe, &IDLE), [0x12, 0x00]);
    assert!(!target.lock().in_line_reset_state());
}

#[test]
fn swj_pins_drives_nreset_and_reads_it_back() {
    let mut probe = probe();
    let target = probe.target();
    let assert_reset = [0x10, 0x00, 0x80, 0, 0, 0, 0];
    assert_eq!(exchange(&mut probe, &assert_reset), [0x10, 0x2F]);
    assert!(target.lock().nreset_asserted());
    let release_reset = [0x10, 0x80, 0x80, 0, 0, 0, 0];
    assert_eq!(exchange(&mut probe, &release_reset), [0x10, 0xAF]);
    assert!(!target.lock().nreset_asserted());
    // SWCLK low, the rest untouched.
    let clock_low = [0x10, 0x00, 0x01, 0, 0, 0, 0];
    assert_eq!(exchange(&mut probe, &clock_low), [0x10, 0xAE]);
}

#[test]
fn reset_target_says_no_device_specific_sequence_ran() {
    let mut probe = probe();
    assert_eq!(exchange(&mut probe, &[0x0A]), [0x0A, 0x00, 0x00]);
}

#[test]
fn delay_answers_ok() {
    let mut probe = probe();
    assert_eq!(exchange(&mut probe, &[0x09, 0x10, 0x00]), [0x09, 0x00]);
}

#[test]
fn write_abort_clears_sticky_errors_once_connected() {
    let mut probe = probe();
    let clear_sticky_error = [0x08, 0x00, 0x04, 0x00, 0x00, 0x00];
    assert_eq!(exchange(&mut probe, &clear_sticky_error), [0x08, 0xFF]);
    assert_eq!(exchange(&mut probe, &[0x02, 0x01]), [0x02, 0x01]);
    // An AP read before power-up faults and sets STICKYERR.
    let unpowered_read = transfer(&[(AP_READ_DRW, None)]);
    assert_eq!(exchange(&mut probe, &unpowered_read), [0x05, 0x00, 0x04]);
    let target = probe.target();
    assert_ne!(target.lock().dp_read(DP_CTRL_STAT).unwrap() & STICKYERR, 0);
    assert_eq!(exchange(&mut probe, &clear_sticky_error), [0x08, 0x00]);
    assert_eq!(target.lock().dp_read(DP_CTRL_STAT).unwrap() & STICKYERR, 0);
}

#[test]
fn unimplemented_commands_answer_0xff() {
    let mut probe = probe();
    let jtag = [0x14, 0x15, 0x16];
    let swo = [0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1E];
    let uart = [0x1F, 0x20, 0x21, 0x22, 0x23];
    let others = [0x0B, 0x42, 0x80, 0x9F, 0xFF];
    for id in jtag.into_iter().chain(swo).chain(uart).chain(others) {
        assert_eq!(
            exchange(&mut probe, &[id, 0, 0, 0, 0]),
            [0xFF],
            "id {id:#x}"
        );
    }
}

#[test]
fn short_commands_answer_dap_error_and_change_nothing() {
    let mut probe = probe();
    assert_eq!(exchange(&mut probe, &[0x00]), [0x00, 0xFF]);
    assert_eq!(exchange(&mut probe, &[0x02]), [0x02, 0xFF]);
    assert_eq!(exchange(&mut probe, &[0x04, 0x01, 0x02]), [0x04, 0xFF]);
    assert_eq!(probe.transfer_settings().wait_retry, 100);
    assert_eq!(exchange(&mut probe, &[0x10, 0x00, 0x80]), [0x10, 0xFF]);
    assert!(!probe.target().lock().nreset_asserted());
    assert_eq!(exchange(&mut probe, &[0x02, 0x01]), [0x02, 0x01]);
    let two_transfers_one_given = [0x05, 0x00, 0x02, 0x04, 0x00, 0x00];
    assert_eq!(exchange(&mut probe, &two_transfers_one_given), [0x05, 0xFF]);
    let two_words_one_given = [0x06, 0x00, 0x02, 0x00, 0x0D, 1, 2, 3, 4];
    assert_eq!(exchange(&mut probe, &two_words_one_given), [0x06, 0xFF]);
}

#[test]
fn bytes_after_a_command_are_ignored() {
    let mut probe = probe();
    assert_eq!(exchange(&mut probe, &[0x03, 0xAA, 0xBB]), [0x03, 0x00]);
}

/// The spec's DAP_ExecuteCommands example: SWJ_Pins, Delay, SWJ_Pins.
#[test]
fn execute_commands_runs_each_command_and_concatenates_the_responses() {
    let mut probe = probe();
    let command = [
        0x7F, 0x03, // three commands
        0x10, 0x00, 0x80, 0, 0, 0, 0, // assert nRESET
        0x09, 0x64, 0x00, // 100 µs
        0x10, 0x80, 0x80, 0, 0, 0, 0, // release nRESET
    ];
    let expected = [0x7F, 0x03, 0x10, 0x2F, 0x09, 0x00, 0x10, 0xAF];
    assert_eq!(exchange(&mut probe, &command), expected);
}

#[test]
fn execute_commands_stops_at_a_command_it_cannot_parse() {
    let mut probe = probe();
    let command = [0x7F, 0x03, 0x09, 0x00, 0x00, 0x42, 0x09, 0x00, 0x00];
    assert_eq!(
        exchange(&mut probe, &command),
        [0x7F, 0x02, 0x09, 0x00, 0xFF]
    );
    assert_eq!(exchange(&mut probe, &[0x7F]), [0x7F, 0x00]);
}

/// The spec's DAP_QueueCommands example: three queued packets run, and
/// answer, when a packet without DAP_QueueCommands arrives.
#[test]
fn queued_commands_run_when_an_ordinary_packet_arrives() {
    let mut probe = probe();
    let target = probe.target();
    let queued: [&[u8]; 3] = [
        &[0x7E, 0x02, 0x10, 0x00, 0x80, 0, 0, 0, 0, 0x09, 0x01, 0x00],
        &[0x7E, 0x01, 0x10, 0x00, 0x80, 0, 0, 0, 0],
        &[0x7E, 0x01, 0x09, 0x01, 0x00],
    ];
    for packet in queued {
        probe.write_packet(packet).unwrap();
    }
    let mut buf = [0; 64];
    let timeout = Duration::from_millis(10);
    assert_eq!(
        probe.read_packet(&mut buf, timeout),
        Err(TransportError::Timeout(timeout))
    );
    assert!(!target.lock().nreset_asserted(), "nothing ran yet");
    probe.write_packet(&[0x10, 0x80, 0x80, 0, 0, 0, 0]).unwrap();
    assert_eq!(read(&mut probe), [0x7F, 0x02, 0x10, 0x2F, 0x09, 0x00]);
    assert_eq!(read(&mut probe), [0x7F, 0x01, 0x10, 0x2F]);
    assert_eq!(read(&mut probe), [0x7F, 0x01, 0x09, 0x00]);
    assert_eq!(read(&mut probe), [0x10, 0xAF]);
    assert!(!target.lock().nreset_asserted());
}
