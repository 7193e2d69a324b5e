//! How the transfer queue packs accesses into packets and how many packets
//! it keeps in flight.

use super::mock::{MockTransport, Script};
use crate::cmsis_dap::commands::transfer::Register;
use crate::cmsis_dap::link::Link;
use crate::cmsis_dap::queue::TransferQueue;

const DRW: Register = Register::ap(0xC);
const CSW: Register = Register::ap(0x0);

fn setup(packet_size: usize, packet_count: usize) -> (TransferQueue, Link<MockTransport>, Script) {
    let script = Script::new();
    let link = Link::new(script.transport(packet_size));
    (TransferQueue::new(packet_size, packet_count), link, script)
}

/// A DAP_TransferBlock read request of `count` words from DRW.
fn block_read(count: u16) -> Vec<u8> {
    let [lo, hi] = count.to_le_bytes();
    vec![0x06, 0x00, lo, hi, 0x0F]
}

/// Its reply: `count` words numbered from `first`.
fn block_read_reply(first: u32, count: u16) -> Vec<u8> {
    let [lo, hi] = count.to_le_bytes();
    let mut reply = vec![0x06, lo, hi, 0x01];
    for value in first..first + u32::from(count) {
        reply.extend(value.to_le_bytes());
    }
    reply
}

#[test]
fn writes_wait_for_a_read_and_travel_with_it_in_one_packet() {
    let (mut queue, mut link, script) = setup(64, 4);
    queue
        .write(&mut link, Register::dp(0x8), 0x0000_00F0)
        .unwrap();
    queue.write(&mut link, CSW, 0x2300_0052).unwrap();
    script.assert_done();
    script.exchange(
        &[
            0x05, 0x00, 0x03, //
            0x08, 0xF0, 0x00, 0x00, 0x00, //
            0x01, 0x52, 0x00, 0x00, 0x23, //
            0x0F,
        ],
        &[0x05, 0x03, 0x01, 0x78, 0x56, 0x34, 0x12],
    );
    assert_eq!(queue.read(&mut link, DRW), Ok(0x1234_5678));
    script.assert_done();
}

#[test]
fn a_transfer_packet_leaves_when_the_next_write_does_not_fit() {
    // 64-byte packets hold 3 header bytes and twelve 5-byte writes.
    let (mut queue, mut link, script) = setup(64, 4);
    for value in 0..12 {
        queue.write(&mut link, CSW, value).unwrap();
    }
    script.assert_done();
    let mut full = vec![0x05, 0x00, 12];
    for value in 0u32..12 {
        full.push(0x01);
        full.extend(value.to_le_bytes());
    }
    script.write(&full);
    queue.write(&mut link, CSW, 12).unwrap();
    script.assert_done();
    script
        .write(&[0x05, 0x00, 0x01, 0x01, 12, 0, 0, 0])
        .reply(&[0x05, 12, 0x01])
        .reply(&[0x05, 0x01, 0x01]);
    queue.flush(&mut link).unwrap();
    script.assert_done();
}

#[test]
fn a_transfer_packet_holds_at_most_255_accesses() {
    let (mut queue, mut link, script) = setup(2048, 4);
    let write = [0x04, 0x00, 0x00, 0x00, 0x50];
    let mut first = vec![0x05, 0x00, 255];
    (0..255).for_each(|_| first.extend(write));
    // The 256th write sends the first 255 (1278 bytes, well within 2048).
    script.write(&first);
    for _ in 0..256 {
        queue
            .write(&mut link, Register::dp(0x4), 0x5000_0000)
            .unwrap();
    }
    script.assert_done();
    let mut second = vec![0x05, 0x00, 1];
    second.extend(write);
    script
        .write(&second)
        .reply(&[0x05, 255, 0x01])
        .reply(&[0x05, 1, 0x01]);
    queue.flush(&mut link).unwrap();
    script.assert_done();
}

#[test]
fn block_reads_split_at_the_packet_size_and_all_go_out_before_replies() {
    // 64-byte replies carry 4 header bytes and 15 words.
    let (mut queue, mut link, script) = setup(64, 4);
    script
        .write(&block_read(15))
        .write(&block_read(15))
        .write(&block_read(10))
        .reply(&block_read_reply(0, 15))
        .reply(&block_read_reply(15, 15))
        .reply(&block_read_reply(30, 10));
    let values = queue.read_block(&mut link, DRW, 40).unwrap();
    assert_eq!(values, (0..40).collect::<Vec<u32>>());
    script.assert_done();
}

#[test]
fn block_writes_split_at_the_packet_size() {
    // 64-byte requests carry 5 header bytes and 14 words.
    let (mut queue, mut link, script) = setup(64, 4);
    let values: Vec<u32> = (0..30).collect();
    let packet = |words: &[u32]| {
        let mut bytes = vec![0x06, 0x00, words.len() as u8, 0x00, 0x0D];
        words.iter().for_each(|w| bytes.extend(w.to_le_bytes()));
        bytes
    };
    script
        .write(&packet(&values[..14]))
        .write(&packet(&values[14..28]))
        .write(&packet(&values[28..]));
    queue.write_block(&mut link, DRW, &values).unwrap();
    script.assert_done();
    script
        .reply(&[0x06, 14, 0, 0x01])
        .reply(&[0x06, 14, 0, 0x01])
        .reply(&[0x06, 2, 0, 0x01]);
    queue.flush(&mut link).unwrap();
    script.assert_done();
}

#[test]
fn with_packet_count_1_each_reply_is_read_before_the_next_packet() {
    let (mut queue, mut link, script) = setup(64, 1);
    script
        .exchange(&block_read(15), &block_read_reply(0, 15))
        .exchange(&block_read(15), &block_read_reply(15, 15))
        .exchange(&block_read(1), &block_read_reply(30, 1));
    let values = queue.read_block(&mut link, DRW, 31).unwrap();
    assert_eq!(values.len(), 31);
    script.assert_done();
}

#[test]
fn with_packet_count_8_eight_packets_are_in_flight_at_most() {
    let (mut queue, mut link, script) = setup(64, 8);
    (0..8).for_each(|_| {
        script.write(&block_read(15));
    });
    for packet in 0..10u32 {
        script.reply(&block_read_reply(packet * 15, 15));
        if packet < 2 {
            script.write(&block_read(15));
        }
    }
    let values = queue.read_block(&mut link, DRW, 150).unwrap();
    assert_eq!(values, (0..150).collect::<Vec<u32>>());
    script.assert_done();
}

#[test]
fn queued_writes_go_out_before_a_block_and_their_replies_are_read() {
    let (mut queue, mut link, script) = setup(64, 4);
    queue
        .write(&mut link, Register::ap(0x4), 0x2000_0000)
        .unwrap();
    script
        .write(&[0x05, 0x00, 0x01, 0x05, 0x00, 0x00, 0x00, 0x20])
        .write(&block_read(2))
        .reply(&[0x05, 0x01, 0x01])
        .reply(&block_read_reply(7, 2));
    assert_eq!(queue.read_block(&mut link, DRW, 2), Ok(vec![7, 8]));
    script.assert_done();
}

#[test]
fn empty_blocks_and_flushes_send_nothing() {
    let (mut queue, mut link, script) = setup(64, 4);
    assert_eq!(queue.read_block(&mut link, DRW, 0), Ok(vec![]));
    queue.write_block(&mut link, DRW, &[]).unwrap();
    queue.flush(&mut link).unwrap();
    assert!(queue.is_empty());
    script.assert_done();
}

/// `is_empty` (which decides whether the packet count may still change)
/// sees both a packet being filled and packets in flight.
#[test]
fn the_queue_is_empty_only_with_nothing_filled_or_in_flight() {
    let (mut queue, mut link, script) = setup(64, 4);
    queue.write(&mut link, CSW, 0x2300_0052).unwrap();
    assert!(!queue.is_empty(), "a write being filled");
    script
        .write(&[0x05, 0x00, 0x01, 0x01, 0x52, 0x00, 0x00, 0x23])
        .write(&[0x06, 0x00, 0x01, 0x00, 0x0D, 0x07, 0x00, 0x00, 0x00]);
    queue.write_block(&mut link, DRW, &[7]).unwrap();
    assert!(!queue.is_empty(), "packets in flight, nothing filled");
    script
        .reply(&[0x05, 0x01, 0x01])
        .reply(&[0x06, 0x01, 0x00, 0x01]);
    queue.flush(&mut link).unwrap();
    assert!(queue.is_empty());
    script.assert_done();
}
