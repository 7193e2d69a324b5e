//! Every way a transfer can fail, which error it becomes, and that request
//! and reply stay paired afterwards.

use super::mock::{MockTransport, Script};
use crate::cmsis_dap::commands::transfer::Register;
use crate::cmsis_dap::link::Link;
use crate::cmsis_dap::queue::TransferQueue;
use crate::cmsis_dap::TransportError;
use crate::probe::ProbeError;

const DPIDR: Register = Register::dp(0x0);
const DRW: Register = Register::ap(0xC);
const READ_DPIDR: [u8; 4] = [0x05, 0x00, 0x01, 0x02];
const DPIDR_OK: [u8; 7] = [0x05, 0x01, 0x01, 0x77, 0x14, 0xA0, 0x2B];

fn setup(packet_count: usize) -> (TransferQueue, Link<MockTransport>, Script) {
    let script = Script::new();
    let link = Link::new(script.transport(64));
    (TransferQueue::new(64, packet_count), link, script)
}

/// The queue still works: a DPIDR read goes out and comes back.
fn assert_usable(queue: &mut TransferQueue, link: &mut Link<MockTransport>, script: &Script) {
    script.exchange(&READ_DPIDR, &DPIDR_OK);
    assert_eq!(queue.read(link, DPIDR), Ok(0x2BA0_1477));
    script.assert_done();
}

fn read_dpidr_answered(reply: &[u8]) -> Result<u32, ProbeError> {
    let (mut queue, mut link, script) = setup(4);
    script.exchange(&READ_DPIDR, reply);
    let result = queue.read(&mut link, DPIDR);
    script.assert_done();
    assert_usable(&mut queue, &mut link, &script);
    result
}

#[test]
fn each_ack_becomes_its_probe_error() {
    assert!(matches!(
        read_dpidr_answered(&[0x05, 0x00, 0x02]),
        Err(ProbeError::TransferTimeout(m)) if m.contains("WAIT") && m.contains("DP read 0x0")
    ));
    assert!(matches!(
        read_dpidr_answered(&[0x05, 0x00, 0x04]),
        Err(ProbeError::TransferFault(_))
    ));
    assert!(matches!(
        read_dpidr_answered(&[0x05, 0x00, 0x07]),
        Err(ProbeError::Transfer(m)) if m.contains("no ACK")
    ));
    assert!(matches!(
        read_dpidr_answered(&[0x05, 0x00, 0x08]),
        Err(ProbeError::Transfer(m)) if m.contains("protocol error")
    ));
    assert!(matches!(
        read_dpidr_answered(&[0x05, 0x00, 0x05]),
        Err(ProbeError::Transfer(m)) if m.contains("invalid ACK")
    ));
    assert_eq!(read_dpidr_answered(&DPIDR_OK), Ok(0x2BA0_1477));
}

#[test]
fn ok_with_fewer_transfers_than_asked_is_a_probe_error() {
    let (mut queue, mut link, script) = setup(4);
    queue.write(&mut link, Register::dp(0x8), 0).unwrap();
    script.exchange(
        &[0x05, 0x00, 0x02, 0x08, 0, 0, 0, 0, 0x02],
        &[0x05, 0x01, 0x01],
    );
    assert!(matches!(
        queue.read(&mut link, DPIDR),
        Err(ProbeError::Probe(_))
    ));
    assert_usable(&mut queue, &mut link, &script);
}

#[test]
fn a_fault_drains_every_packet_still_in_flight() {
    let (mut queue, mut link, script) = setup(4);
    let block = [0x06, 0x00, 0x0F, 0x00, 0x0F];
    let mut good = vec![0x06, 0x0F, 0x00, 0x01];
    good.extend([0u8; 60]);
    script
        .write(&block)
        .write(&block)
        .write(&block)
        .reply(&[0x06, 0x03, 0x00, 0x04])
        .reply(&good)
        .reply(&[0x06, 0x00, 0x00, 0x04]);
    let result = queue.read_block(&mut link, DRW, 45);
    assert!(matches!(result, Err(ProbeError::TransferFault(m)) if m.contains("AP read 0xc")));
    script.assert_done();
    assert!(queue.is_empty());
    assert_usable(&mut queue, &mut link, &script);
}

#[test]
fn a_deferred_write_error_goes_to_the_next_read_and_says_so() {
    let (mut queue, mut link, script) = setup(4);
    queue.begin_request();
    queue
        .write(&mut link, Register::ap(0x4), 0xE000_EDF0)
        .unwrap();
    queue.begin_request();
    script.exchange(
        &[0x05, 0x00, 0x02, 0x05, 0xF0, 0xED, 0x00, 0xE0, 0x02],
        &[0x05, 0x00, 0x04],
    );
    let error = queue.read(&mut link, DPIDR).unwrap_err();
    assert!(
        matches!(&error, ProbeError::TransferFault(m)
            if m.contains("AP write 0x4") && m.contains("earlier request")),
        "{error:?}"
    );
    assert_usable(&mut queue, &mut link, &script);
}

#[test]
fn a_failing_trailing_write_is_blamed_on_that_write() {
    // The probe confirms a last write with an RDBUFF read, so it reports
    // the failure with every transfer counted.
    let (mut queue, mut link, script) = setup(4);
    queue.write(&mut link, Register::dp(0x8), 0).unwrap();
    queue.write(&mut link, Register::ap(0x0), 1).unwrap();
    script.exchange(
        &[0x05, 0x00, 0x02, 0x08, 0, 0, 0, 0, 0x01, 1, 0, 0, 0],
        &[0x05, 0x02, 0x02],
    );
    let error = queue.flush(&mut link).unwrap_err();
    assert!(matches!(&error, ProbeError::TransferTimeout(m) if m.contains("AP write 0x0")));
    assert!(!matches!(&error, ProbeError::TransferTimeout(m) if m.contains("earlier")));
    assert_usable(&mut queue, &mut link, &script);
}

#[test]
fn a_write_that_must_wait_for_room_gets_an_earlier_packets_error() {
    let (mut queue, mut link, script) = setup(1);
    let values = [0u32; 20];
    let mut first = vec![0x06, 0x00, 14, 0x00, 0x0D];
    first.extend([0u8; 56]);
    script.write(&first).reply(&[0x06, 0x05, 0x00, 0x04]);
    let result = queue.write_block(&mut link, DRW, &values);
    assert!(matches!(result, Err(ProbeError::TransferFault(_))));
    script.assert_done();
    assert_usable(&mut queue, &mut link, &script);
}

#[test]
fn short_replies_are_errors_and_pairing_survives() {
    assert!(matches!(
        read_dpidr_answered(&[0x05]),
        Err(ProbeError::Probe(_))
    ));
    assert!(matches!(
        read_dpidr_answered(&[0x05, 0x01, 0x01, 0x77]),
        Err(ProbeError::Probe(_))
    ));
    assert!(matches!(
        read_dpidr_answered(&[]),
        Err(ProbeError::Probe(_))
    ));
}

#[test]
fn a_not_implemented_reply_is_unsupported() {
    assert_eq!(
        read_dpidr_answered(&[0xFF]),
        Err(ProbeError::Unsupported("DAP_Transfer"))
    );
}

#[test]
fn a_reply_to_another_command_resynchronises_before_the_next_request() {
    let (mut queue, mut link, script) = setup(4);
    script.exchange(&READ_DPIDR, &[0x06, 0x01, 0x00, 0x01]);
    assert!(matches!(
        queue.read(&mut link, DPIDR),
        Err(ProbeError::Probe(_))
    ));
    // Before the next request: a stray reply is read and dropped, then quiet.
    script.reply(&[0x05, 0x01, 0x01, 0, 0, 0, 0]).silence();
    assert_usable(&mut queue, &mut link, &script);
}

/// While the replies still owed after a failure are drained, one to
/// another command means the probe is a reply ahead or behind: the link
/// resynchronises before the next request, which then gets its own reply
/// and not the one left over.
#[test]
fn a_reply_to_another_command_while_draining_resynchronises() {
    let (mut queue, mut link, script) = setup(4);
    let block = [0x06, 0x00, 0x0F, 0x00, 0x0F];
    script
        .write(&block)
        .write(&block)
        .reply(&[0x06, 0x00, 0x00, 0x04])
        .reply(&[0x00, 0x01, 0x00]);
    assert!(matches!(
        queue.read_block(&mut link, DRW, 30),
        Err(ProbeError::TransferFault(_))
    ));
    // The second block's reply, late, is read and dropped before the next
    // request; then the probe is quiet.
    let mut late = vec![0x06, 0x0F, 0x00, 0x01];
    late.extend([0u8; 60]);
    script.reply(&late).silence();
    assert_usable(&mut queue, &mut link, &script);
}

#[test]
fn a_late_reply_is_discarded_and_the_next_request_gets_its_own() {
    let (mut queue, mut link, script) = setup(4);
    script.write(&READ_DPIDR).silence();
    let error = queue.read(&mut link, DPIDR).unwrap_err();
    assert!(
        matches!(&error, ProbeError::Probe(m) if m.contains("no reply")),
        "{error:?}"
    );
    script
        .reply(&[0x05, 0x01, 0x01, 0x11, 0x11, 0x11, 0x11])
        .silence();
    assert_usable(&mut queue, &mut link, &script);
}

#[test]
fn a_timeout_with_packets_in_flight_leaves_them_to_resynchronisation() {
    let (mut queue, mut link, script) = setup(4);
    let block = [0x06, 0x00, 0x0F, 0x00, 0x0F];
    script.write(&block).write(&block).silence();
    assert!(matches!(
        queue.read_block(&mut link, DRW, 30),
        Err(ProbeError::Probe(_))
    ));
    script.silence();
    assert_usable(&mut queue, &mut link, &script);
}

#[test]
fn a_lost_device_is_disconnected_without_further_reads() {
    let (mut queue, mut link, script) = setup(4);
    let block = [0x06, 0x00, 0x0F, 0x00, 0x0F];
    script
        .write(&block)
        .write(&block)
        .reply_error(TransportError::Disconnected("unplugged".into()));
    assert!(matches!(
        queue.read_block(&mut link, DRW, 30),
        Err(ProbeError::Disconnected(_))
    ));
    script.assert_done();
    script.write_fails(
        &READ_DPIDR,
        TransportError::Disconnected("unplugged".into()),
    );
    assert!(matches!(
        queue.read(&mut link, DPIDR),
        Err(ProbeError::Disconnected(_))
    ));
}

#[test]
fn losing_the_device_while_draining_reports_disconnected() {
    let (mut queue, mut link, script) = setup(4);
    let block = [0x06, 0x00, 0x0F, 0x00, 0x0F];
    script
        .write(&block)
        .write(&block)
        .reply(&[0x06, 0x00, 0x00, 0x04])
        .reply_error(TransportError::Disconnected("unplugged".into()));
    assert!(matches!(
        queue.read_block(&mut link, DRW, 30),
        Err(ProbeError::Disconnected(_))
    ));
    script.assert_done();
}

#[test]
fn a_usb_error_is_a_probe_error() {
    let (mut queue, mut link, script) = setup(4);
    script
        .write(&READ_DPIDR)
        .reply_error(TransportError::Io("pipe".into()));
    assert!(matches!(
        queue.read(&mut link, DPIDR),
        Err(ProbeError::Probe(m)) if m.contains("pipe")
    ));
    script.silence();
    assert_usable(&mut queue, &mut link, &script);
}
