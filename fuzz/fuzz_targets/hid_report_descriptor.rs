//! The HID report descriptor parser (`cmsis_dap::usb::parse_report_sizes`),
//! which reads what a HID device says about its reports to size every
//! CMSIS-DAP v1 packet: any bytes give sizes or an error, never a panic,
//! and the sizes fit in memory the way the descriptor's 32-bit report
//! counts allow.

#![no_main]

use libfuzzer_sys::fuzz_target;
use probeshare::cmsis_dap::usb::parse_report_sizes;

fuzz_target!(|data: &[u8]| {
    if let Ok(sizes) = parse_report_sizes(data) {
        let limit = u32::MAX as usize;
        assert!(sizes.input <= limit && sizes.output <= limit, "{sizes:?}");
    }
});
