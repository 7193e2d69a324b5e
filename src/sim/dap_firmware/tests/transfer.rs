//! DAP_Transfer and DAP_TransferBlock against the virtual target: counts
//! and acknowledges as the reference firmware reports them, and memory
//! reached through the AHB-AP.

use crate::sim::bus::{AccessSize, MemoryBus, Ram};
use crate::sim::dp::DPIDR_VALUE;
use crate::sim::mem_ap::{CSW_ADDRINC_SINGLE, CSW_RESET, CSW_SIZE32};
use crate::sim::target::{SwdTarget, RAM_BASE};

use super::support::{
    exchange, powered_probe, probe, probe_on, transfer, AP_READ_CSW, AP_READ_DRW, AP_WRITE_CSW,
    AP_WRITE_DRW, AP_WRITE_TAR, DP_READ_CTRL_STAT, DP_READ_IDR, DP_WRITE_ABORT, DP_WRITE_CTRL_STAT,
    DP_WRITE_SELECT,
};
use crate::sim::dap_firmware::{FirmwareConfig, SimDapFirmware, UsbModel};

const WORD_CSW: u32 = CSW_RESET | CSW_SIZE32 | CSW_ADDRINC_SINGLE;
/// Powered up (both requests acknowledged), READOK from the RDBUFF read
/// that confirmed the power-up write.
const CTRL_STAT_POWERED: u32 = 0xF000_0040;

fn words(values: &[u32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect()
}

/// Points the AHB-AP at `address` for word accesses with auto-increment.
fn aim_at(probe: &mut SimDapFirmware, address: u32) {
    let setup = transfer(&[
        (DP_WRITE_SELECT, Some(0)),
        (AP_WRITE_CSW, Some(WORD_CSW)),
        (AP_WRITE_TAR, Some(address)),
    ]);
    assert_eq!(exchange(probe, &setup), [0x05, 0x03, 0x01]);
}

fn block_command(request: u8, count: u16, data: &[u32]) -> Vec<u8> {
    let mut command = vec![0x06, 0x00];
    command.extend(count.to_le_bytes());
    command.push(request);
    command.extend(words(data));
    command
}

#[test]
fn transfer_runs_reads_and_writes_in_order() {
    let mut probe = probe();
    exchange(&mut probe, &[0x02, 0x01]);
    let command = transfer(&[
        (DP_READ_IDR, None),
        (DP_WRITE_CTRL_STAT, Some(0x5000_0000)),
        (DP_READ_CTRL_STAT, None),
    ]);
    let mut expected = vec![0x05, 0x03, 0x01];
    expected.extend(words(&[DPIDR_VALUE, 0xF000_0000]));
    assert_eq!(exchange(&mut probe, &command), expected);
}

#[test]
fn a_transfer_ending_with_a_write_confirms_it_by_reading_rdbuff() {
    let mut probe = powered_probe();
    // READOK shows the RDBUFF read after the power-up write.
    let mut expected = vec![0x05, 0x01, 0x01];
    expected.extend(words(&[CTRL_STAT_POWERED]));
    let command = transfer(&[(DP_READ_CTRL_STAT, None)]);
    assert_eq!(exchange(&mut probe, &command), expected);
}

#[test]
fn transfer_stops_at_the_first_fault_and_counts_what_completed() {
    let mut probe = probe();
    exchange(&mut probe, &[0x02, 0x01]);
    // Before power-up an AP read faults; the DP read after it never runs.
    let command = transfer(&[
        (DP_READ_IDR, None),
        (AP_READ_DRW, None),
        (DP_READ_IDR, None),
    ]);
    let mut expected = vec![0x05, 0x01, 0x04];
    expected.extend(words(&[DPIDR_VALUE]));
    assert_eq!(exchange(&mut probe, &command), expected);
    // A faulting write reports FAULT with the count of writes before it.
    let writes = transfer(&[(DP_WRITE_SELECT, Some(0)), (AP_WRITE_CSW, Some(0))]);
    assert_eq!(exchange(&mut probe, &writes), [0x05, 0x01, 0x04]);
    let clear = transfer(&[(DP_WRITE_ABORT, Some(0x1E))]);
    assert_eq!(exchange(&mut probe, &clear), [0x05, 0x01, 0x01]);
}

#[test]
fn wait_is_retried_up_to_wait_retry_times() {
    let mut probe = powered_probe();
    let three_retries = [0x04, 0x00, 0x03, 0x00, 0x00, 0x00];
    assert_eq!(exchange(&mut probe, &three_retries), [0x04, 0x00]);
    let command = transfer(&[(DP_READ_IDR, None), (AP_READ_CSW, None)]);

    probe.target().lock().inject_wait_responses(3);
    let response = exchange(&mut probe, &command);
    assert_eq!(response[..3], [0x05, 0x02, 0x01], "four attempts suffice");

    probe.target().lock().inject_wait_responses(4);
    let mut expected = vec![0x05, 0x01, 0x02];
    expected.extend(words(&[DPIDR_VALUE]));
    assert_eq!(exchange(&mut probe, &command), expected);
}

#[test]
fn value_match_reads_until_the_masked_value_matches() {
    let mut probe = powered_probe();
    let matching = transfer(&[(0x20, Some(0xF000_0000)), (0x16, Some(0xF000_0000))]);
    assert_eq!(exchange(&mut probe, &matching), [0x05, 0x02, 0x01]);
    // The mask persists; a value that never comes reports a mismatch.
    let never = transfer(&[(0x16, Some(0x1000_0000)), (DP_READ_IDR, None)]);
    assert_eq!(exchange(&mut probe, &never), [0x05, 0x00, 0x11]);
}

#[test]
fn the_timestamp_bit_is_ignored_without_a_timer() {
    let mut probe = powered_probe();
    let mut expected = vec![0x05, 0x01, 0x01];
    expected.extend(words(&[DPIDR_VALUE]));
    let command = transfer(&[(0x80 | DP_READ_IDR, None)]);
    assert_eq!(exchange(&mut probe, &command), expected);
}

#[test]
fn transfers_do_nothing_before_connect() {
    let mut probe = probe();
    let command = transfer(&[(DP_WRITE_CTRL_STAT, Some(0x5000_0000))]);
    assert_eq!(exchange(&mut probe, &command), [0x05, 0x00, 0x00]);
    let block = block_command(AP_READ_DRW, 2, &[]);
    assert_eq!(exchange(&mut probe, &block), [0x06, 0x00, 0x00, 0x00]);
    exchange(&mut probe, &[0x02, 0x01]);
    let ctrl_stat = probe.target().lock().dp_read(0x4).unwrap();
    assert_eq!(ctrl_stat, 0, "the power-up request never reached the DP");
}

#[test]
fn transfer_block_writes_and_reads_ram_through_the_ahb_ap() {
    let mut probe = powered_probe();
    let data = [0x1111_1111, 0x2222_2222, 0x3333_3333, 0xDEAD_BEEF];
    aim_at(&mut probe, RAM_BASE);
    let write = block_command(AP_WRITE_DRW, 4, &data);
    assert_eq!(exchange(&mut probe, &write), [0x06, 0x04, 0x00, 0x01]);
    let in_ram = probe
        .target()
        .lock()
        .bus_mut()
        .read(RAM_BASE + 12, AccessSize::Word);
    assert_eq!(in_ram, Ok(0xDEAD_BEEF));

    aim_at(&mut probe, RAM_BASE);
    let mut expected = vec![0x06, 0x04, 0x00, 0x01];
    expected.extend(words(&data));
    let read = block_command(AP_READ_DRW, 4, &[]);
    assert_eq!(exchange(&mut probe, &read), expected);
}

#[test]
fn transfer_block_stops_at_a_bus_error_with_the_words_before_it() {
    let mut bus = MemoryBus::new();
    bus.map(RAM_BASE, 8, Box::new(Ram::new(8))).unwrap();
    bus.write(RAM_BASE + 4, AccessSize::Word, 0xCAFE_F00D)
        .unwrap();
    let config = FirmwareConfig::for_model(UsbModel::None);
    let mut probe = probe_on(SwdTarget::new(bus), config).0;
    exchange(&mut probe, &[0x02, 0x01]);
    let power_up = transfer(&[(DP_WRITE_CTRL_STAT, Some(0x5000_0000))]);
    exchange(&mut probe, &power_up);
    aim_at(&mut probe, RAM_BASE);
    let mut expected = vec![0x06, 0x02, 0x00, 0x04];
    expected.extend(words(&[0, 0xCAFE_F00D]));
    let read = block_command(AP_READ_DRW, 4, &[]);
    assert_eq!(exchange(&mut probe, &read), expected);
}

#[test]
fn transfer_block_of_no_words_does_nothing() {
    let mut probe = powered_probe();
    let empty = block_command(AP_WRITE_DRW, 0, &[]);
    assert_eq!(exchange(&mut probe, &empty), [0x06, 0x00, 0x00, 0x00]);
}

#[test]
fn stats_count_each_register_transfer_the_host_asked_for() {
    let mut probe = powered_probe();
    let stats = probe.stats();
    assert_eq!(stats.get().transfers, 1, "the power-up write");
    // Three transfers, not the RDBUFF read that confirms the last write.
    aim_at(&mut probe, RAM_BASE);
    assert_eq!(stats.get().transfers, 4);
    // Every word of a block is a transfer.
    let write = block_command(AP_WRITE_DRW, 4, &[1, 2, 3, 4]);
    exchange(&mut probe, &write);
    assert_eq!(stats.get().transfers, 8);
    // A match-mask write reaches no register; a value-match read counts once.
    let matching = transfer(&[(0x20, Some(0xF000_0000)), (0x16, Some(0xF000_0000))]);
    exchange(&mut probe, &matching);
    assert_eq!(stats.get().transfers, 9);
    // A WAIT-retried read counts once.
    probe.target().lock().inject_wait_responses(2);
    exchange(&mut probe, &transfer(&[(DP_READ_IDR, None)]));
    assert_eq!(stats.get().transfers, 10);
}

#[test]
fn stats_count_a_failed_transfer_but_none_after_it() {
    let mut probe = probe();
    exchange(&mut probe, &[0x02, 0x01]);
    // Before power-up the AP read faults and ends the command.
    let command = transfer(&[
        (DP_READ_IDR, None),
        (AP_READ_DRW, None),
        (DP_READ_IDR, None),
    ]);
    exchange(&mut probe, &command);
    assert_eq!(probe.stats().get().transfers, 2);
}
