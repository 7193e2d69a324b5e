//! Transfers that fail part-way through a packet: the count and the
//! acknowledge of the reply are those the emulated firmware gives for the
//! same packet, and the sticky flags a FAULT leaves are the faulting
//! client's alone (docs/protocol.md, Sharing, rule 11): it sees STICKYERR
//! and has its AP transfers refused until it writes ABORT; a pyOCD client
//! and another DAP client beside it never do.

use std::time::Duration;

use probeshare::probe::DebugProbe;
use probeshare::server::Limits;
use probeshare::sim::dap_firmware::UsbModel;
use serde_json::json;

use crate::common::Client;
use crate::dap::*;
use crate::support::*;

/// Sends each packet to the port and to the firmware alone, after the same
/// session set-up, and asserts the replies are the same bytes.
fn answers_as_firmware(packets: &[Vec<u8>]) {
    answers_as_firmware_behind(DapServer::start(), packets);
}

fn answers_as_firmware_behind(server: DapServer, packets: &[Vec<u8>]) {
    let mut dap = RawDap::session(server.dap_addr());
    let mut firmware = Firmware::session();
    for (i, packet) in packets.iter().enumerate() {
        assert_eq!(
            dap.call(packet),
            firmware.call(packet),
            "packet {i}: {packet:02x?}"
        );
    }
}

/// A match read of CTRL/STAT: does its STICKYERR read as `value`? (The
/// rest of CTRL/STAT is the debug port's, shared: READOK, say, follows
/// whoever read last.)
fn sticky_is(value: u32) -> Vec<u8> {
    transfer(&[
        (dp_write(0) | MATCH_MASK, Some(STICKYERR)),
        (dp_read(DP_CTRL_STAT) | MATCH_VALUE, Some(value)),
    ])
}

fn word_csw() -> Vec<u8> {
    transfer(&[
        (dp_write(DP_SELECT), Some(0)),
        (ap_write(AP_CSW), Some(CSW_WORD_INCREMENT)),
    ])
}

#[test]
fn a_read_of_unmapped_memory_faults_with_the_firmwares_count() {
    answers_as_firmware(&[
        word_csw(),
        // TAR, a good read, TAR to nowhere, the faulting read, one more.
        transfer(&[
            (ap_write(AP_TAR), Some(RAM_BASE)),
            (ap_read(AP_DRW), None),
            (ap_write(AP_TAR), Some(UNMAPPED)),
            (ap_read(AP_DRW), None),
            (dp_read(DP_IDR), None),
        ]),
        // STICKYERR is up; AP transfers are refused, DP ones work.
        sticky_is(STICKYERR),
        transfer(&[(dp_read(DP_IDR), None), (ap_read(AP_CSW), None)]),
        block_read(ap_read(AP_DRW), 4),
        // ABORT clears it.
        vec![DAP_WRITE_ABORT, 0, STKERRCLR as u8, 0, 0, 0],
        sticky_is(0),
        transfer(&[(ap_read(AP_TAR), None)]),
    ]);
}

#[test]
fn a_block_read_of_unmapped_memory_faults_with_the_firmwares_count() {
    answers_as_firmware(&[
        word_csw(),
        transfer(&[(ap_write(AP_TAR), Some(UNMAPPED))]),
        block_read(ap_read(AP_DRW), 16),
        transfer(&[(dp_write(DP_ABORT), Some(STKERRCLR))]),
        sticky_is(0),
    ]);
}

/// Reads filling more than one of the probe's packets, as OpenOCD packs
/// them (DAP_Transfer): the packets after the faulting one are in flight
/// when the fault is learnt, and their replies, to the same command, must
/// not answer the next requests.
#[test]
fn a_long_transfer_that_faults_at_once_leaves_the_next_packets_their_own_replies() {
    let full_speed = DapServer::start_on(
        UsbModel::FsHid,
        Limits {
            register_window: Duration::from_secs(60),
            ..Limits::default()
        },
    );
    answers_as_firmware_behind(
        full_speed,
        &[
            word_csw(),
            transfer(&[(ap_write(AP_TAR), Some(UNMAPPED))]),
            transfer(&[(ap_read(AP_DRW), None); 250]),
            block_read(ap_read(AP_DRW), 250),
            transfer(&[(dp_read(DP_IDR), None)]),
            transfer(&[(dp_write(DP_ABORT), Some(STKERRCLR))]),
            sticky_is(0),
            transfer(&[(dp_read(DP_IDR), None)]),
        ],
    );
}

#[test]
fn a_write_to_unmapped_memory_faults_with_the_firmwares_count() {
    answers_as_firmware(&[
        word_csw(),
        // The write faults; the firmware stops there.
        transfer(&[
            (ap_write(AP_TAR), Some(UNMAPPED)),
            (ap_write(AP_DRW), Some(1)),
        ]),
        sticky_is(STICKYERR),
        transfer(&[(dp_write(DP_ABORT), Some(STKERRCLR))]),
        block_write(ap_write(AP_DRW), &[1, 2, 3]),
        sticky_is(STICKYERR),
        transfer(&[(dp_write(DP_ABORT), Some(STKERRCLR))]),
        sticky_is(0),
    ]);
}

#[test]
fn a_write_fault_is_reported_in_its_own_packet_when_packets_are_pipelined() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut firmware = Firmware::session();
    let packets = vec![
        word_csw(),
        transfer(&[
            (ap_write(AP_TAR), Some(UNMAPPED)),
            (ap_write(AP_DRW), Some(1)),
        ]),
        transfer(&[(dp_read(DP_IDR), None)]),
        sticky_is(STICKYERR),
        transfer(&[(dp_write(DP_ABORT), Some(STKERRCLR))]),
        sticky_is(0),
    ];
    dap.send_all(&packets);
    for (i, packet) in packets.iter().enumerate() {
        assert_eq!(dap.recv(), firmware.call(packet), "packet {i}");
    }
}

#[test]
fn a_value_mismatch_ends_the_reply_as_the_firmwares() {
    // The port compares once, after the packet ran (no match retries); the
    // reply stops at the mismatch as the firmware's does. (Transfers after
    // the mismatch have run all the same: reads here, so the replies agree.)
    answers_as_firmware(&[
        transfer(&[
            (dp_write(0) | MATCH_MASK, Some(0xFFFF_FFFF)),
            (dp_read(DP_IDR) | MATCH_VALUE, Some(DPIDR_VALUE)),
            (dp_read(DP_IDR) | MATCH_VALUE, Some(0)),
            (dp_read(DP_IDR), None),
        ]),
        transfer(&[
            (dp_read(DP_IDR), None),
            (dp_write(0) | MATCH_MASK, Some(0x0000_FFFF)),
            (
                dp_read(DP_IDR) | MATCH_VALUE,
                Some(0xFFFF_0000 | (DPIDR_VALUE & 0xFFFF)),
            ),
            (dp_read(DP_IDR) | MATCH_VALUE, Some(1)),
            (dp_read(DP_CTRL_STAT), None),
        ]),
    ]);
}

#[test]
fn timestamps_are_not_sent_by_a_port_without_a_timer() {
    // The port does not announce a timer (DAP_Info 0xF0 bit 5), as the
    // firmware does not: a timestamp request adds nothing to the reply, so
    // a packet of timestamped reads still fits the packet size.
    let reads: Vec<(u8, Option<u32>)> = (0..255).map(|_| (dp_read(DP_IDR) | 0x80, None)).collect();
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let reply = dap.call(&transfer(&reads));
    assert_eq!(reply[..3], [DAP_TRANSFER, 255, ACK_OK]);
    assert_eq!(reply.len(), 3 + 255 * 4);
    assert!(words(&reply, 3).iter().all(|&w| w == DPIDR_VALUE));
    answers_as_firmware(&[transfer(&[
        (dp_read(DP_IDR) | 0x80, None),
        (dp_write(DP_SELECT) | 0x80, Some(0)),
    ])]);
}

/// A DAP client's CTRL/STAT.
fn dap_ctrl_stat(dap: &mut RawDap) -> u32 {
    let reply = dap.call(&transfer(&[(dp_read(DP_CTRL_STAT), None)]));
    assert_eq!(reply[..3], [DAP_TRANSFER, 1, ACK_OK]);
    words(&reply, 3)[0]
}

/// A DAP client's read of the AP's IDR: its reply header and the word.
fn dap_idr(dap: &mut RawDap) -> (Vec<u8>, Option<u32>) {
    let reply = dap.call(&transfer(&[
        (dp_write(DP_SELECT), Some(0xF0)),
        (ap_read(AP_IDR), None),
        (dp_write(DP_SELECT), Some(0)),
    ]));
    let word = (reply.len() >= 7).then(|| words(&reply[..7], 3)[0]);
    (reply[..3].to_vec(), word)
}

#[test]
fn a_faulting_dap_clients_sticky_flags_are_its_own() {
    let server = DapServer::start();
    let mut faulting = RawDap::session(server.dap_addr());
    let mut other = RawDap::session(server.dap_addr());
    let mut pyocd = Client::session(server.pyocd_addr());
    power_up(&mut pyocd);
    write_ap(&mut pyocd, AP_CSW, CSW_WORD);

    faulting.call(&word_csw());
    let fault = faulting.call(&transfer(&[
        (ap_write(AP_TAR), Some(UNMAPPED)),
        (ap_read(AP_DRW), None),
    ]));
    assert_eq!(fault, [DAP_TRANSFER, 1, ACK_FAULT]);

    for round in 0..3u32 {
        // The faulting client sees STICKYERR and its AP reads are refused.
        assert_ne!(dap_ctrl_stat(&mut faulting) & STICKYERR, 0, "round {round}");
        assert_eq!(dap_idr(&mut faulting).0, [DAP_TRANSFER, 1, ACK_FAULT]);
        // The others never see it, and their transfers go through.
        assert_eq!(dap_ctrl_stat(&mut other) & STICKYERR, 0, "round {round}");
        assert_eq!(
            dap_idr(&mut other),
            (vec![DAP_TRANSFER, 3, ACK_OK], Some(AHB_AP_IDR))
        );
        assert_eq!(read_dp(&mut pyocd, DP_CTRL_STAT) & STICKYERR, 0);
        assert_eq!(read_ap(&mut pyocd, AP_IDR), AHB_AP_IDR);
        write_ap(&mut pyocd, AP_TAR, RAM_BASE + 0x300);
        write_ap(&mut pyocd, AP_DRW, 0xAB00 + round);
        assert_eq!(read_ap(&mut pyocd, AP_DRW), 0xAB00 + round);
    }

    // DAP_WriteABORT clears the faulting client's flags.
    assert_eq!(
        faulting.call(&[DAP_WRITE_ABORT, 0, STKERRCLR as u8, 0, 0, 0]),
        [DAP_WRITE_ABORT, DAP_OK]
    );
    assert_eq!(dap_ctrl_stat(&mut faulting) & STICKYERR, 0);
    assert_eq!(
        dap_idr(&mut faulting),
        (vec![DAP_TRANSFER, 3, ACK_OK], Some(AHB_AP_IDR))
    );
}

#[test]
fn an_abort_written_in_a_transfer_clears_the_flags_too() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    dap.call(&word_csw());
    dap.call(&transfer(&[
        (ap_write(AP_TAR), Some(UNMAPPED)),
        (ap_read(AP_DRW), None),
    ]));
    assert_ne!(dap_ctrl_stat(&mut dap) & STICKYERR, 0);
    let reply = dap.call(&transfer(&[
        (dp_write(DP_ABORT), Some(STKERRCLR)),
        (dp_read(DP_CTRL_STAT), None),
    ]));
    assert_eq!(reply[..3], [DAP_TRANSFER, 2, ACK_OK]);
    assert_eq!(words(&reply, 3)[0] & STICKYERR, 0);
}

#[test]
fn a_pyocd_clients_fault_is_never_seen_by_a_dap_client() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut pyocd = Client::session(server.pyocd_addr());
    power_up(&mut pyocd);
    write_ap(&mut pyocd, AP_CSW, CSW_WORD);
    write_ap(&mut pyocd, AP_TAR, UNMAPPED);
    pyocd.err("read_ap", json!([AP_DRW]), 12);
    assert_eq!(dap_ctrl_stat(&mut dap) & STICKYERR, 0);
    assert_eq!(
        dap_idr(&mut dap),
        (vec![DAP_TRANSFER, 3, ACK_OK], Some(AHB_AP_IDR))
    );
    assert_ne!(read_dp(&mut pyocd, DP_CTRL_STAT) & STICKYERR, 0);
}

#[test]
fn the_driver_over_the_port_gets_a_fault_as_a_local_probe_would() {
    let server = DapServer::start();
    let mut probe = memory_driver(server.dap_addr(), CSW_WORD);
    probe.write_ap(AP_TAR, UNMAPPED).unwrap();
    let error = probe.read_ap(AP_DRW).expect_err("a FAULT");
    assert!(
        matches!(error, probeshare::probe::ProbeError::TransferFault(_)),
        "{error:?}"
    );
    assert_ne!(probe.read_dp(DP_CTRL_STAT).unwrap() & STICKYERR, 0);
    probe.write_dp(DP_ABORT, STKERRCLR).unwrap();
    assert_eq!(probe.read_dp(DP_CTRL_STAT).unwrap() & STICKYERR, 0);
    assert_eq!(probe.read_ap(AP_IDR).unwrap(), AHB_AP_IDR);
}
