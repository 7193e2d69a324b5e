//! The sizes of a HID device's input and output reports, from its report
//! descriptor: the CMSIS-DAP v1 packet size is the report size, and every
//! report written must be padded to it (Atmel EDBG answers nothing until a
//! whole 512-byte report has arrived).
//!
//! A report's size is the sum, over its Input (or Output) main items, of
//! Report Size × Report Count in effect at each item. The descriptor comes
//! from the device, so every read is bounds-checked and every sum checked.

use std::collections::BTreeMap;

/// Why a report descriptor could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DescriptorError {
    #[error("report descriptor item at byte {0} runs past the end")]
    Truncated(usize),
    #[error("report descriptor pushes more than {MAX_PUSH_DEPTH} global states")]
    TooDeep,
    #[error("report descriptor has a Pop without a Push at byte {0}")]
    UnbalancedPop(usize),
    #[error("report descriptor declares a report larger than 4 GiB")]
    TooLarge,
}

/// Report sizes in bytes; with report IDs, those of the largest report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportSizes {
    pub input: usize,
    pub output: usize,
    /// True when the descriptor uses Report ID items (CMSIS-DAP never does).
    pub uses_report_ids: bool,
}

const MAX_PUSH_DEPTH: usize = 16;
const LONG_ITEM_PREFIX: u8 = 0xfe;

// Item types (bits 3..2 of the prefix) and the tags this parser needs.
const TYPE_MAIN: u8 = 0;
const TYPE_GLOBAL: u8 = 1;
const MAIN_INPUT: u8 = 0x8;
const MAIN_OUTPUT: u8 = 0x9;
const GLOBAL_REPORT_SIZE: u8 = 0x7;
const GLOBAL_REPORT_ID: u8 = 0x8;
const GLOBAL_REPORT_COUNT: u8 = 0x9;
const GLOBAL_PUSH: u8 = 0xa;
const GLOBAL_POP: u8 = 0xb;

#[derive(Clone, Copy, Default)]
struct GlobalState {
    report_size: u32,
    report_count: u32,
    report_id: u8,
}

/// Bits accumulated per report ID: (input, output).
#[derive(Default)]
struct Totals {
    reports: BTreeMap<u8, (u64, u64)>,
}

impl Totals {
    fn add(&mut self, report_id: u8, input: bool, bits: u64) -> Result<(), DescriptorError> {
        let entry = self.reports.entry(report_id).or_default();
        let total = if input { &mut entry.0 } else { &mut entry.1 };
        *total = total
            .checked_add(bits)
            .filter(|&t| t <= u64::from(u32::MAX) * 8)
            .ok_or(DescriptorError::TooLarge)?;
        Ok(())
    }

    fn largest(&self, pick: impl Fn(&(u64, u64)) -> u64) -> usize {
        let bits = self.reports.values().map(pick).max().unwrap_or(0);
        usize::try_from(bits.div_ceil(8)).unwrap_or(usize::MAX)
    }
}

/// Reads the input and output report sizes out of `descriptor`.
pub fn parse_report_sizes(descriptor: &[u8]) -> Result<ReportSizes, DescriptorError> {
    let mut state = GlobalState::default();
    let mut stack: Vec<GlobalState> = Vec::new();
    let mut totals = Totals::default();
    let mut uses_report_ids = false;
    let mut offset = 0;
    while let Some(&prefix) = descriptor.get(offset) {
        if prefix == LONG_ITEM_PREFIX {
            // Long items carry nothing about sizes: skip prefix, size, tag, data.
            let size = *descriptor
                .get(offset + 1)
                .ok_or(DescriptorError::Truncated(offset))?;
            offset = skip(descriptor, offset, 3 + usize::from(size))?;
            continue;
        }
        let data_len = match prefix & 0x3 {
            3 => 4,
            n => usize::from(n),
        };
        let data = descriptor
            .get(offset + 1..offset + 1 + data_len)
            .ok_or(DescriptorError::Truncated(offset))?;
        let value = data
            .iter()
            .rev()
            .fold(0u32, |acc, &byte| (acc << 8) | u32::from(byte));
        let (item_type, tag) = ((prefix >> 2) & 0x3, prefix >> 4);
        match (item_type, tag) {
            (TYPE_MAIN, MAIN_INPUT | MAIN_OUTPUT) => {
                let bits = u64::from(state.report_size) * u64::from(state.report_count);
                totals.add(state.report_id, tag == MAIN_INPUT, bits)?;
            }
            (TYPE_GLOBAL, GLOBAL_REPORT_SIZE) => state.report_size = value,
            (TYPE_GLOBAL, GLOBAL_REPORT_COUNT) => state.report_count = value,
            (TYPE_GLOBAL, GLOBAL_REPORT_ID) => {
                uses_report_ids = true;
                state.report_id = u8::try_from(value).unwrap_or(u8::MAX);
            }
            (TYPE_GLOBAL, GLOBAL_PUSH) => {
                if stack.len() == MAX_PUSH_DEPTH {
                    return Err(DescriptorError::TooDeep);
                }
                stack.push(state);
            }
            (TYPE_GLOBAL, GLOBAL_POP) => {
                state = stack.pop().ok_or(DescriptorError::UnbalancedPop(offset))?;
            }
            _ => {}
        }
        offset += 1 + data_len;
    }
    Ok(ReportSizes {
        input: totals.largest(|r| r.0),
        output: totals.largest(|r| r.1),
        uses_report_ids,
    })
}

fn skip(descriptor: &[u8], offset: usize, length: usize) -> Result<usize, DescriptorError> {
    let end = offset + length;
    if end > descriptor.len() {
        return Err(DescriptorError::Truncated(offset));
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vendor collection with `count`-byte input, output and feature
    /// reports, the shape CMSIS-DAP firmware uses. `count` is sent as a
    /// two-byte item to exercise multi-byte data.
    fn cmsis_dap_descriptor(count: u16) -> Vec<u8> {
        let [low, high] = count.to_le_bytes();
        vec![
            0x06, 0x00, 0xff, // Usage Page (vendor 0xFF00)
            0x09, 0x01, // Usage (1)
            0xa1, 0x01, // Collection (Application)
            0x15, 0x00, // Logical Minimum (0)
            0x26, 0xff, 0x00, // Logical Maximum (255)
            0x75, 0x08, // Report Size (8)
            0x96, low, high, // Report Count (count)
            0x09, 0x01, // Usage (1)
            0x81, 0x02, // Input (Data, Var, Abs)
            0x96, low, high, // Report Count (count)
            0x09, 0x01, // Usage (1)
            0x91, 0x02, // Output (Data, Var, Abs)
            0x95, 0x01, // Report Count (1)
            0x09, 0x01, // Usage (1)
            0xb1, 0x02, // Feature: not a packet
            0xc0, // End Collection
        ]
    }

    #[test]
    fn full_speed_cmsis_dap_reports_are_64_bytes() {
        let sizes = parse_report_sizes(&cmsis_dap_descriptor(64)).unwrap();
        assert_eq!(
            sizes,
            ReportSizes {
                input: 64,
                output: 64,
                uses_report_ids: false
            }
        );
    }

    #[test]
    fn edbg_and_high_speed_report_sizes_are_read() {
        assert_eq!(
            parse_report_sizes(&cmsis_dap_descriptor(512))
                .unwrap()
                .output,
            512
        );
        assert_eq!(
            parse_report_sizes(&cmsis_dap_descriptor(1024))
                .unwrap()
                .input,
            1024
        );
    }

    #[test]
    fn sizes_of_several_items_add_up_and_bits_round_up_to_bytes() {
        let descriptor = [
            0x75, 0x01, 0x95, 0x03, 0x81, 0x02, // 3 bits in
            0x75, 0x08, 0x95, 0x02, 0x81, 0x02, // 16 bits in
            0x75, 0x04, 0x95, 0x01, 0x91, 0x02, // 4 bits out
        ];
        let sizes = parse_report_sizes(&descriptor).unwrap();
        assert_eq!((sizes.input, sizes.output), (3, 1));
    }

    #[test]
    fn with_report_ids_the_largest_report_counts() {
        let descriptor = [
            0x75, 0x08, // Report Size (8)
            0x85, 0x01, 0x95, 0x10, 0x81, 0x02, // ID 1: 16 bytes in
            0x85, 0x02, 0x95, 0x20, 0x81, 0x02, // ID 2: 32 bytes in
        ];
        let sizes = parse_report_sizes(&descriptor).unwrap();
        assert_eq!(sizes.input, 32);
        assert!(sizes.uses_report_ids);
    }

    #[test]
    fn push_and_pop_restore_report_size_and_count() {
        let descriptor = [
            0x75, 0x08, 0x95, 0x40, // 8 × 64
            0xa4, // Push
            0x75, 0x01, 0x95, 0x01, // 1 × 1
            0xb4, // Pop
            0x91, 0x02, // Output uses 8 × 64 again
        ];
        assert_eq!(parse_report_sizes(&descriptor).unwrap().output, 64);
    }

    #[test]
    fn long_items_are_skipped() {
        let descriptor = [
            0xfe, 0x02, 0x10, 0xaa, 0xbb, // long item, 2 data bytes
            0x75, 0x08, 0x95, 0x40, 0x81, 0x02,
        ];
        assert_eq!(parse_report_sizes(&descriptor).unwrap().input, 64);
    }

    #[test]
    fn descriptor_cut_inside_an_item_is_an_error_not_a_panic() {
        let mut descriptor = cmsis_dap_descriptor(64);
        descriptor.truncate(16); // inside "Report Count (count)"
        assert_eq!(
            parse_report_sizes(&descriptor),
            Err(DescriptorError::Truncated(14))
        );
        assert_eq!(
            parse_report_sizes(&[0xfe, 0x05, 0x00, 0x01]),
            Err(DescriptorError::Truncated(0))
        );
        assert_eq!(
            parse_report_sizes(&[0xfe]),
            Err(DescriptorError::Truncated(0))
        );
    }

    #[test]
    fn hostile_push_pop_and_sizes_are_errors() {
        assert_eq!(
            parse_report_sizes(&[0xb4]),
            Err(DescriptorError::UnbalancedPop(0))
        );
        assert_eq!(
            parse_report_sizes(&[0xa4; 17]),
            Err(DescriptorError::TooDeep)
        );
        let huge = [
            0x77, 0xff, 0xff, 0xff, 0xff, // Report Size (u32::MAX)
            0x97, 0xff, 0xff, 0xff, 0xff, // Report Count (u32::MAX)
            0x81, 0x02,
        ];
        assert_eq!(parse_report_sizes(&huge), Err(DescriptorError::TooLarge));
    }

    #[test]
    fn empty_descriptor_has_no_reports() {
        assert_eq!(parse_report_sizes(&[]), Ok(ReportSizes::default()));
    }
}
