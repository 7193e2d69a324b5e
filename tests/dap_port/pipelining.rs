//! Several packets written before any reply is read, as OpenOCD keeps up
//! to three in flight: every one is answered, in the order sent, whether
//! the port answers it itself or the probe does, and whatever mix of
//! commands they are.

use crate::dap::*;
use crate::support::*;

#[test]
fn pipelined_packets_are_answered_in_order() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut firmware = Firmware::session();
    let base = RAM_BASE + 0x800;
    let values: Vec<u32> = (0..40u32).map(|i| 0xFACE_0000 | i).collect();
    let packets = vec![
        transfer(&[
            (dp_write(DP_SELECT), Some(0)),
            (ap_write(AP_CSW), Some(CSW_WORD_INCREMENT)),
            (ap_write(AP_TAR), Some(base)),
        ]),
        block_write(ap_write(AP_DRW), &values),
        vec![DAP_HOST_STATUS, 1, 1],
        transfer(&[(ap_write(AP_TAR), Some(base)), (dp_read(DP_IDR), None)]),
        vec![0x42],
        block_read(ap_read(AP_DRW), 40),
        vec![DAP_DELAY, 1, 0],
        transfer(&[(ap_read(AP_TAR), None), (dp_read(DP_CTRL_STAT), None)]),
        vec![DAP_SWJ_SEQUENCE, 8, 0],
        transfer(&[
            (ap_write(AP_TAR), Some(base + 4 * 39)),
            (ap_read(AP_DRW), None),
        ]),
    ];
    dap.send_all(&packets);
    for (i, packet) in packets.iter().enumerate() {
        assert_eq!(
            dap.recv(),
            firmware.call(packet),
            "reply {i} to {packet:02x?}"
        );
    }
}

#[test]
fn many_more_packets_than_the_packet_count_are_all_answered_in_order() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let base = RAM_BASE + 0x2000;
    let mut packets = vec![transfer(&[
        (ap_write(AP_CSW), Some(CSW_WORD)),
        (ap_write(AP_TAR), Some(base)),
    ])];
    // 64 writes of DRW (TAR fixed), each followed by a read of it, and
    // DAP_Info answered by the port itself in between.
    for i in 0..64u32 {
        packets.push(transfer(&[(ap_write(AP_DRW), Some(i * 3))]));
        packets.push(vec![DAP_INFO, 0xFE]);
        packets.push(transfer(&[(ap_read(AP_DRW), None)]));
    }
    dap.send_all(&packets);
    assert_eq!(dap.recv(), [DAP_TRANSFER, 2, ACK_OK]);
    for i in 0..64u32 {
        assert_eq!(dap.recv(), [DAP_TRANSFER, 1, ACK_OK], "write {i}");
        assert_eq!(dap.recv(), [DAP_INFO, 1, PORT_PACKET_COUNT], "info {i}");
        let read = dap.recv();
        assert_eq!(read[..3], [DAP_TRANSFER, 1, ACK_OK], "read {i}");
        assert_eq!(words(&read, 3), [i * 3], "read {i}");
    }
}

#[test]
fn a_first_packet_that_opens_the_probe_keeps_its_place() {
    // A client's first probe request brings the probe's open with it;
    // packets before and after it still come back in order.
    let server = DapServer::start();
    let mut dap = RawDap::connect(server.dap_addr());
    let packets = vec![
        vec![DAP_INFO, 0xFF],
        vec![DAP_CONNECT, 1],
        vec![DAP_INFO, 0xFE],
        transfer(&[(dp_read(DP_IDR), None)]),
        vec![DAP_DISCONNECT],
        vec![DAP_INFO, 0x04],
    ];
    dap.send_all(&packets);
    let size = (PORT_PACKET_SIZE as u16).to_le_bytes();
    assert_eq!(dap.recv(), [DAP_INFO, 2, size[0], size[1]]);
    assert_eq!(dap.recv(), [DAP_CONNECT, 1]);
    assert_eq!(dap.recv(), [DAP_INFO, 1, PORT_PACKET_COUNT]);
    let read = dap.recv();
    assert_eq!(words(&read, 3), [DPIDR_VALUE], "{read:02x?}");
    assert_eq!(dap.recv(), [DAP_DISCONNECT, DAP_OK]);
    assert_eq!(dap.recv(), b"\x00\x062.1.0\x00");
}

#[test]
fn transfer_abort_has_no_reply_and_takes_no_place() {
    // DAP_TransferAbort is answered by nothing, as firmware answers it.
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    dap.send_all(&[
        vec![0x07],
        transfer(&[(dp_read(DP_IDR), None)]),
        vec![0x07],
        vec![DAP_INFO, 0xFE],
    ]);
    let read = dap.recv();
    assert_eq!(read[..3], [DAP_TRANSFER, 1, ACK_OK], "{read:02x?}");
    assert_eq!(dap.recv(), [DAP_INFO, 1, PORT_PACKET_COUNT]);
}
