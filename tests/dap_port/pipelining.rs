//! Several packets written before any reply is read, as OpenOCD keeps up
//! to three in flight: every one is answered, in the order sent, whether
//! the port answers it itself or the probe does, and whatever mix of
//! commands they are. The probe keeps a client's queued packets in its
//! transfer pipeline together; a fault part-way through one of them
//! leaves every reply as the firmware gives it for the packets one by
//! one, and two clients pipelining at once each get their own words.

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

/// The words 0.. of a recognisable pattern.
fn pattern(count: usize, seed: u32) -> Vec<u32> {
    (0..count as u32)
        .map(|i| i.wrapping_mul(0x9E37_79B9) ^ seed)
        .collect()
}

/// DAP_Transfer: a TAR write, then `count` reads of DRW.
fn tar_and_reads(address: u32, count: usize) -> Vec<u8> {
    let mut requests = vec![(ap_write(AP_TAR), Some(address))];
    requests.extend((0..count).map(|_| (ap_read(AP_DRW), None)));
    transfer(&requests)
}

#[test]
fn pipelined_packets_with_a_fault_part_way_answer_as_firmware_one_by_one() {
    // Large packets, so the probe packs several into its USB packets; the
    // fourth faults at its twelfth transfer; the fifth meets STICKYERR;
    // the later ones run after ABORT. Every reply byte is the firmware's,
    // every word the one written.
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut firmware = Firmware::with_packet_size(1024).connected();
    let base = RAM_BASE + 0x1000;
    let values = pattern(250, 0x5EED_0000);
    let mut faulting = vec![(ap_write(AP_TAR), Some(base + 40))];
    faulting.extend((0..10).map(|_| (ap_read(AP_DRW), None)));
    faulting.push((ap_write(AP_TAR), Some(UNMAPPED)));
    faulting.extend((0..5).map(|_| (ap_read(AP_DRW), None)));
    faulting.push((dp_read(DP_IDR), None));
    let packets = vec![
        transfer(&[
            (dp_write(DP_SELECT), Some(0)),
            (ap_write(AP_CSW), Some(CSW_WORD_INCREMENT)),
            (ap_write(AP_TAR), Some(base)),
        ]),
        block_write(ap_write(AP_DRW), &values),
        tar_and_reads(base, 250),
        transfer(&faulting),
        transfer(&[
            (dp_read(DP_IDR), None),
            (ap_read(AP_CSW), None),
            (dp_read(DP_IDR), None),
        ]),
        vec![DAP_WRITE_ABORT, 0, STKERRCLR as u8, 0, 0, 0],
        tar_and_reads(base + 4, 249),
        block_read(ap_read(AP_DRW), 200),
    ];
    dap.send_all(&packets);
    let replies: Vec<Vec<u8>> = packets.iter().map(|_| dap.recv()).collect();
    for (i, (packet, reply)) in packets.iter().zip(&replies).enumerate() {
        assert_eq!(*reply, firmware.call(packet), "reply {i}");
    }
    assert_eq!(replies[3][..3], [DAP_TRANSFER, 12, ACK_FAULT]);
    assert_eq!(words(&replies[3], 3), values[10..20]);
    assert_eq!(words(&replies[2], 3), values);
    assert_eq!(words(&replies[6], 3), values[1..]);
    // The block read goes on from where packet 6's reads left TAR.
    assert_eq!(replies[7][..4], [DAP_TRANSFER_BLOCK, 200, 0, ACK_OK]);
}

#[test]
fn two_clients_pipelining_packets_at_once_each_get_their_own_words() {
    // Each client keeps its packets in flight: TAR and a block write of
    // its own region, its own CSW, then reads of it in DAP_Transfers;
    // rounds of it, the two clients at once on one probe.
    let server = DapServer::start();
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        for (client, region) in [(0u32, RAM_BASE + 0x4000), (1, RAM_BASE + 0x6000)] {
            let (server, barrier) = (&server, &barrier);
            scope.spawn(move || {
                let mut dap = RawDap::session(server.dap_addr());
                barrier.wait();
                for round in 0..20u32 {
                    let values = pattern(200, client << 24 | round << 16);
                    let packets = vec![
                        transfer(&[
                            (dp_write(DP_SELECT), Some(0)),
                            (ap_write(AP_CSW), Some(CSW_WORD_INCREMENT)),
                            (ap_write(AP_TAR), Some(region)),
                        ]),
                        block_write(ap_write(AP_DRW), &values),
                        tar_and_reads(region, 200),
                        tar_and_reads(region + 400, 100),
                    ];
                    dap.send_all(&packets);
                    assert_eq!(dap.recv(), [DAP_TRANSFER, 3, ACK_OK]);
                    assert_eq!(dap.recv(), [DAP_TRANSFER_BLOCK, 200, 0, ACK_OK]);
                    let read = dap.recv();
                    assert_eq!(read[..3], [DAP_TRANSFER, 201, ACK_OK]);
                    assert_eq!(words(&read, 3), values, "client {client} round {round}");
                    let read = dap.recv();
                    assert_eq!(read[..3], [DAP_TRANSFER, 101, ACK_OK]);
                    assert_eq!(words(&read, 3), values[100..], "client {client}");
                }
            });
        }
    });
}

#[test]
fn the_drivers_own_pipeline_over_the_port_gets_what_it_gets_from_the_firmware() {
    // The project's CMSIS-DAP driver as the DAP client, keeping up to the
    // port's packet count of its groups in flight; the same groups on the
    // driver over the emulated firmware, one operation at a time.
    use probeshare::probe::{
        DebugProbe, Op, OpOutput, ProtocolRequest, SequenceOutput, WireProtocol,
    };
    use probeshare::sim::dap_firmware::{FirmwareConfig, UsbModel};

    let values = pattern(300, 0xD00D_0000);
    let base = RAM_BASE + 0x2000;
    let groups: Vec<Vec<Op>> = vec![
        vec![
            Op::WriteAp {
                addr: AP_CSW,
                value: CSW_WORD_INCREMENT,
            },
            Op::WriteAp {
                addr: AP_TAR,
                value: base,
            },
            Op::WriteApMultiple {
                addr: AP_DRW,
                values: values.clone(),
            },
            Op::ReadDp(DP_IDR),
        ],
        vec![
            Op::WriteAp {
                addr: AP_TAR,
                value: base + 8,
            },
            Op::ReadApMultiple {
                addr: AP_DRW,
                count: 290,
            },
            Op::WriteAp {
                addr: AP_TAR,
                value: UNMAPPED,
            },
            Op::ReadAp(AP_DRW),
        ],
        vec![Op::ReadDp(DP_IDR), Op::ReadAp(AP_CSW)],
        vec![
            Op::WriteDp {
                addr: DP_ABORT,
                value: STKERRCLR,
            },
            Op::WriteAp {
                addr: AP_TAR,
                value: base,
            },
            Op::ReadApMultiple {
                addr: AP_DRW,
                count: 300,
            },
        ],
    ];
    let server = DapServer::start();
    let mut client = driver_session(server.dap_addr());
    let pipeline = client.pipeline().expect("the driver pipelines");
    for group in &groups {
        pipeline.issue(group);
    }
    while pipeline.advance() {}
    let got: Vec<SequenceOutput> = std::iter::from_fn(|| pipeline.take_finished()).collect();

    let mut local = probeshare::sim::virtual_driver(
        "local",
        "local",
        FirmwareConfig::for_model(UsbModel::None),
    )
    .expect("a driver on the firmware");
    local.open().unwrap();
    local
        .connect(ProtocolRequest::Specific(WireProtocol::Swd))
        .unwrap();
    local.write_dp(DP_CTRL_STAT, POWER_UP_REQUESTS).unwrap();
    let expected: Vec<SequenceOutput> = groups
        .iter()
        .map(|ops| {
            SequenceOutput::run(ops, |op| {
                let mut memaps = probeshare::memap::MemAps::default();
                probeshare::worker::execute(&mut local, &mut memaps, op)
            })
        })
        .collect();
    assert_eq!(got.len(), 4);
    for (i, (got, expected)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(got.outputs, expected.outputs, "group {i}");
        assert_eq!(
            got.failure.as_ref().map(std::mem::discriminant),
            expected.failure.as_ref().map(std::mem::discriminant),
            "group {i}"
        );
    }
    assert_eq!(got[1].outputs[1], OpOutput::Words(values[2..292].to_vec()));
    assert_eq!(got[3].outputs[2], OpOutput::Words(values));
}
