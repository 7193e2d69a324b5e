//! Every command the DAP port serves, one client at a time: through the
//! project's CMSIS-DAP driver where it sends the command, as raw packets
//! where it does not. Where the port answers as firmware does, the reply
//! is compared with the emulated firmware's own answer to the same packet.

use probeshare::probe::{Capability, DebugProbe, SwdSequence, WireProtocol};
use probeshare::sim::cortex::debug::S_RESET_ST;
use probeshare::sim::cortex::scs::{DHCSR, SCS_BASE};
use serde_json::json;

use crate::common::{wait_until, Client};
use crate::dap::*;
use crate::support::*;

const DHCSR_ADDR: u32 = SCS_BASE + DHCSR;

/// The string of a DAP_Info reply (`00 len bytes… 00`).
fn info_string(reply: &[u8]) -> String {
    assert_eq!(reply[0], DAP_INFO, "{reply:02x?}");
    let len = usize::from(reply[1]);
    assert_eq!(reply.len(), 2 + len, "length byte of {reply:02x?}");
    assert_eq!(reply.last(), Some(&0), "NUL-terminated: {reply:02x?}");
    String::from_utf8(reply[2..reply.len() - 1].to_vec()).expect("UTF-8")
}

#[test]
fn dap_info_names_the_server_and_the_served_probe_and_its_packets() {
    let server = DapServer::start();
    let mut dap = RawDap::connect(server.dap_addr());
    assert_eq!(info_string(&dap.call(&[DAP_INFO, 0x01])), "probeshare");
    assert_eq!(
        info_string(&dap.call(&[DAP_INFO, 0x02])),
        "probeshare CMSIS-DAP over TCP"
    );
    assert_eq!(info_string(&dap.call(&[DAP_INFO, 0x03])), "sim", "serial");
    assert_eq!(info_string(&dap.call(&[DAP_INFO, 0x04])), "2.1.0");
    assert_eq!(
        info_string(&dap.call(&[DAP_INFO, 0x09])),
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(dap.call(&[DAP_INFO, 0xF0]), [DAP_INFO, 1, 0x01], "SWD only");
    assert_eq!(
        dap.call(&[DAP_INFO, 0xFE]),
        [DAP_INFO, 1, PORT_PACKET_COUNT]
    );
    let size = (PORT_PACKET_SIZE as u16).to_le_bytes();
    assert_eq!(dap.call(&[DAP_INFO, 0xFF]), [DAP_INFO, 2, size[0], size[1]]);
    // No target device strings, no timer, no SWO buffer: length 0.
    for id in [0x05, 0x06, 0x07, 0x08, 0xF1, 0xFB, 0xFD] {
        assert_eq!(dap.call(&[DAP_INFO, id]), [DAP_INFO, 0], "info {id:#04x}");
    }
    // DAP_Info needs no probe: nothing was opened for it.
    assert_eq!(server.handle.status().open_count, 0);
}

#[test]
fn the_driver_reads_the_ports_info_as_a_probes() {
    let server = DapServer::start();
    let probe = driver(server.dap_addr());
    let info = probe.info();
    assert_eq!(info.supported_wire_protocols, [WireProtocol::Swd]);
    assert_eq!(
        info.firmware_version.as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    for capability in [
        Capability::SwjSequence,
        Capability::SwdSequence,
        Capability::BankedDpRegisters,
    ] {
        assert!(info.capabilities.contains(&capability), "{capability:?}");
    }
    assert!(!info.capabilities.contains(&Capability::JtagSequence));
    assert!(!probe.has_swo());
}

#[test]
fn the_driver_opens_connects_and_reads_registers_through_the_port() {
    let server = DapServer::start();
    // open: DAP_HostStatus, DAP_TransferConfigure, DAP_SWD_Configure;
    // connect: DAP_Connect, DAP_SWJ_Clock.
    let mut probe = driver_session(server.dap_addr());
    assert_eq!(probe.read_dp(DP_IDR).unwrap(), DPIDR_VALUE);
    let ctrl_stat = probe.read_dp(DP_CTRL_STAT).unwrap();
    assert_eq!(ctrl_stat & POWER_UP_ACKS, POWER_UP_ACKS, "{ctrl_stat:#x}");
    assert_eq!(probe.read_ap(AP_IDR).unwrap(), AHB_AP_IDR);
    probe.set_clock(4_000_000).expect("DAP_SWJ_Clock");
    probe.write_ap(AP_CSW, CSW_WORD).unwrap();
    assert_eq!(probe.read_ap(AP_CSW).unwrap() & 0x37, CSW_WORD & 0x37);
    probe.write_ap(AP_TAR, RAM_BASE + 0x40).unwrap();
    probe.write_ap(AP_DRW, 0xC0DE_0001).unwrap();
    assert_eq!(driver_read_word(&mut probe, RAM_BASE + 0x40), 0xC0DE_0001);
    assert_eq!(server.memory_word(RAM_BASE + 0x40), 0xC0DE_0001);
    assert_eq!(server.handle.status().open_count, 1);
    assert_eq!(server.handle.status().connect_count, 1);
    probe.disconnect().expect("DAP_Disconnect");
    wait_until("the wire to go down", || {
        server.handle.status().wire_protocol.is_none()
    });
}

#[test]
fn transfer_blocks_of_a_whole_packet_move_memory() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let base = RAM_BASE + 0x1000;
    // The most words a request packet carries: 5 header bytes, then words.
    let write_words = (PORT_PACKET_SIZE - 5) / 4;
    let values: Vec<u32> = (0..write_words as u32)
        .map(|i| 0x5A00_0000 | (i * 7))
        .collect();
    let write = block_write(ap_write(AP_DRW), &values);
    assert!(write.len() <= PORT_PACKET_SIZE && write.len() + 4 > PORT_PACKET_SIZE);
    let setup = transfer(&[
        (ap_write(AP_CSW), Some(CSW_WORD_INCREMENT)),
        (ap_write(AP_TAR), Some(base)),
    ]);
    assert_eq!(dap.call(&setup), [DAP_TRANSFER, 2, ACK_OK]);
    let count = (write_words as u16).to_le_bytes();
    assert_eq!(
        dap.call(&write),
        [DAP_TRANSFER_BLOCK, count[0], count[1], ACK_OK]
    );
    for (i, value) in values.iter().enumerate() {
        assert_eq!(server.memory_word(base + 4 * i as u32), *value, "word {i}");
    }
    // The most words a reply packet carries: 4 header bytes, then words.
    let read_words = (PORT_PACKET_SIZE - 4) / 4;
    server.set_memory_word(base + 4 * write_words as u32, 0xEEEE_0001);
    assert_eq!(
        dap.call(&transfer(&[(ap_write(AP_TAR), Some(base))])),
        [DAP_TRANSFER, 1, ACK_OK]
    );
    let reply = dap.call(&block_read(ap_read(AP_DRW), read_words as u16));
    assert_eq!(reply.len(), PORT_PACKET_SIZE, "a whole packet");
    let count = (read_words as u16).to_le_bytes();
    assert_eq!(reply[..4], [DAP_TRANSFER_BLOCK, count[0], count[1], ACK_OK]);
    let mut expected = values.clone();
    expected.push(0xEEEE_0001);
    assert_eq!(words(&reply, 4), expected);
}

#[test]
fn the_driver_moves_blocks_of_many_packets_with_several_in_flight() {
    let server = DapServer::start();
    let mut probe = memory_driver(server.dap_addr(), CSW_WORD_INCREMENT);
    let base = RAM_BASE + 0x4000;
    // 1000 words (within the AHB-AP's 4 KiB auto-increment page): four or
    // more TransferBlock packets each way, up to four in flight.
    let values: Vec<u32> = (0..1000u32).map(|i| i.wrapping_mul(0x0101_0101)).collect();
    probe.write_ap(AP_TAR, base).unwrap();
    probe.write_ap_multiple(AP_DRW, &values).unwrap();
    probe.flush().unwrap();
    probe.write_ap(AP_TAR, base).unwrap();
    assert_eq!(probe.read_ap_multiple(AP_DRW, 1000).unwrap(), values);
    assert_eq!(server.memory_word(base + 4 * 999), values[999]);
}

#[test]
fn dp_and_ap_transfers_answer_as_firmware_does() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut firmware = Firmware::session();
    let packets = [
        // DPIDR, SELECT to bank 0xF, the AP's IDR (0xFC), RDBUFF (the
        // posted read's value again).
        transfer(&[
            (dp_read(DP_IDR), None),
            (dp_write(DP_SELECT), Some(0xF0)),
            (ap_read(AP_IDR), None),
            (dp_read(0xC), None),
        ]),
        // Back to bank 0: CSW written and read back, TAR, a word written
        // and read through DRW, CTRL/STAT.
        transfer(&[
            (dp_write(DP_SELECT), Some(0)),
            (ap_write(AP_CSW), Some(CSW_WORD)),
            (ap_read(AP_CSW), None),
            (ap_write(AP_TAR), Some(RAM_BASE + 0x80)),
            (ap_write(AP_DRW), Some(0x1234_5678)),
            (ap_read(AP_DRW), None),
            (ap_read(AP_TAR), None),
            (dp_read(DP_CTRL_STAT), None),
        ]),
        // A TransferBlock of DP reads, and an empty DAP_Transfer.
        block_read(dp_read(DP_IDR), 3),
        transfer(&[]),
    ];
    for packet in &packets {
        assert_eq!(dap.call(packet), firmware.call(packet), "{packet:02x?}");
    }
    assert_eq!(server.memory_word(RAM_BASE + 0x80), 0x1234_5678);
}

#[test]
fn value_match_reads_compare_under_the_mask_as_firmware_does() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut firmware = Firmware::session();
    let packets = [
        // Mask the top half, match DPIDR's: a match, no data.
        transfer(&[
            (dp_write(0) | MATCH_MASK, Some(0xFFFF_0000)),
            (
                dp_read(DP_IDR) | MATCH_VALUE,
                Some(DPIDR_VALUE & 0xFFFF_0000),
            ),
            (dp_read(DP_IDR), None),
        ]),
        // The mask persists; a value that does not match ends the packet.
        transfer(&[
            (dp_read(DP_IDR), None),
            (dp_read(DP_IDR) | MATCH_VALUE, Some(0x1234_0000)),
            (dp_read(DP_IDR), None),
        ]),
        // An AP match read: power-up acknowledged, under a CTRL/STAT mask.
        transfer(&[
            (dp_write(0) | MATCH_MASK, Some(POWER_UP_ACKS)),
            (dp_read(DP_CTRL_STAT) | MATCH_VALUE, Some(POWER_UP_ACKS)),
            (dp_write(DP_SELECT), Some(0xF0)),
            (
                ap_read(AP_IDR) | MATCH_VALUE,
                Some(AHB_AP_IDR & POWER_UP_ACKS),
            ),
        ]),
    ];
    for packet in &packets {
        assert_eq!(dap.call(packet), firmware.call(packet), "{packet:02x?}");
    }
}

#[test]
fn sequences_the_clock_and_the_configure_commands_answer_as_firmware_does() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut firmware = Firmware::session();
    let packets: Vec<Vec<u8>> = vec![
        // DAP_TransferConfigure: idle 0, 80 WAIT retries, no match retries.
        vec![DAP_TRANSFER_CONFIGURE, 0, 80, 0, 0, 0],
        // DAP_SWD_Configure: turnaround 1, no data phase.
        vec![DAP_SWD_CONFIGURE, 0],
        // DAP_HostStatus: connected LED on, running LED off.
        vec![DAP_HOST_STATUS, 0, 1],
        vec![DAP_HOST_STATUS, 1, 0],
        // DAP_Delay 100 µs.
        vec![DAP_DELAY, 100, 0],
        // DAP_SWJ_Clock 4 MHz.
        vec![DAP_SWJ_CLOCK, 0x00, 0x09, 0x3D, 0x00],
        // Line reset (51 ones, 0 bits), JTAG-to-SWD, line reset, idle.
        vec![
            DAP_SWJ_SEQUENCE,
            51,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0x07,
        ],
        vec![DAP_SWJ_SEQUENCE, 16, 0x9E, 0xE7],
        vec![
            DAP_SWJ_SEQUENCE,
            51,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0x07,
        ],
        vec![DAP_SWJ_SEQUENCE, 8, 0x00],
        // 256 bits (count 0).
        [vec![DAP_SWJ_SEQUENCE, 0], vec![0xFF; 32]].concat(),
        // DAP_SWD_Sequence: 8 cycles out, 4 in, 64 in.
        vec![DAP_SWD_SEQUENCE, 3, 0x08, 0xA5, 0x84, 0x80],
        // After the line resets, the DP answers again.
        transfer(&[(dp_read(DP_IDR), None)]),
    ];
    for packet in &packets {
        assert_eq!(dap.call(packet), firmware.call(packet), "{packet:02x?}");
    }
}

#[test]
fn the_driver_sends_swj_and_swd_sequences_through_the_port() {
    let server = DapServer::start();
    let mut probe = driver_session(server.dap_addr());
    // pyOCD's line reset: 51 cycles from 56 one-bits; then JTAG-to-SWD.
    probe.swj_sequence(51, &[0xFF; 7]).expect("line reset");
    probe.swj_sequence(16, &[0x9E, 0xE7]).expect("JTAG-to-SWD");
    probe.swj_sequence(51, &[0xFF; 7]).expect("line reset");
    probe.swj_sequence(8, &[0]).expect("idle cycles");
    assert_eq!(probe.read_dp(DP_IDR).unwrap(), DPIDR_VALUE);
    let reply = probe
        .swd_sequence(&[
            SwdSequence {
                cycles: 8,
                bits: Some(0xA5),
            },
            SwdSequence {
                cycles: 12,
                bits: None,
            },
        ])
        .expect("DAP_SWD_Sequence");
    assert_eq!(reply.status, 0);
    assert_eq!(reply.captured, [vec![0xFF, 0x0F]], "SWDIO pulled up");
}

#[test]
fn a_clock_the_probe_refuses_is_a_dap_error() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut firmware = Firmware::session();
    let zero_hz = [DAP_SWJ_CLOCK, 0, 0, 0, 0];
    assert_eq!(dap.call(&zero_hz), [DAP_SWJ_CLOCK, DAP_ERROR]);
    assert_eq!(firmware.call(&zero_hz), [DAP_SWJ_CLOCK, DAP_ERROR]);
    assert_eq!(
        dap.call(&transfer(&[(dp_read(DP_IDR), None)]))[..3],
        [DAP_TRANSFER, 1, ACK_OK]
    );
}

/// DAP_SWJ_Pins driving (`select` nRESET) or only reading nRESET.
fn swj_pins(output: u8, select: u8) -> Vec<u8> {
    vec![DAP_SWJ_PINS, output, select, 0, 0, 0, 0]
}

const NRESET: u8 = 0x80;

#[test]
fn swj_pins_assert_read_back_and_release_nreset_for_every_client() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut pyocd = Client::session(server.pyocd_addr());

    let asserted = dap.call(&swj_pins(0, NRESET));
    assert_eq!(asserted.len(), 2);
    assert_eq!(asserted[0], DAP_SWJ_PINS);
    assert_eq!(asserted[1] & NRESET, 0, "nRESET reads low: {asserted:02x?}");
    assert!(server.target.lock().nreset_asserted());
    assert_eq!(dap.call(&swj_pins(0, 0))[1] & NRESET, 0, "read back");
    assert_eq!(pyocd.ok("is_reset_asserted", json!([])), json!(true));

    let released = dap.call(&swj_pins(NRESET, NRESET));
    assert_eq!(released[1] & NRESET, NRESET, "{released:02x?}");
    assert!(!server.target.lock().nreset_asserted());
    assert_eq!(dap.call(&swj_pins(0, 0))[1] & NRESET, NRESET);
    assert_eq!(pyocd.ok("is_reset_asserted", json!([])), json!(false));

    // The driver's own nRESET control goes the same way.
    let mut probe = driver_session(server.dap_addr());
    probe.assert_reset(true).unwrap();
    assert!(probe.is_reset_asserted().unwrap());
    assert_eq!(dap.call(&swj_pins(0, 0))[1] & NRESET, 0);
    probe.assert_reset(false).unwrap();
    assert!(!probe.is_reset_asserted().unwrap());
}

/// Reads DHCSR through `dap` (32-bit CSW, TAR, DRW).
fn dap_dhcsr(dap: &mut RawDap) -> u32 {
    let reply = dap.call(&transfer(&[
        (dp_write(DP_SELECT), Some(0)),
        (ap_write(AP_CSW), Some(CSW_WORD)),
        (ap_write(AP_TAR), Some(DHCSR_ADDR)),
        (ap_read(AP_DRW), None),
    ]));
    assert_eq!(reply[..3], [DAP_TRANSFER, 4, ACK_OK]);
    words(&reply, 3)[0]
}

fn pyocd_dhcsr(pyocd: &mut Client) -> u32 {
    write_ap(pyocd, AP_CSW, CSW_WORD);
    write_ap(pyocd, AP_TAR, DHCSR_ADDR);
    read_ap(pyocd, AP_DRW)
}

#[test]
fn reset_target_pulses_nreset_and_every_client_sees_the_reset() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut other = RawDap::session(server.dap_addr());
    let mut pyocd = Client::session(server.pyocd_addr());
    power_up(&mut pyocd);
    // S_RESET_ST of the power-on reset, read away by each client.
    dap_dhcsr(&mut dap);
    dap_dhcsr(&mut other);
    pyocd_dhcsr(&mut pyocd);
    assert_eq!(dap_dhcsr(&mut dap) & S_RESET_ST, 0);

    // Execute = 1: the port's reset is an nRESET pulse.
    assert_eq!(dap.call(&[DAP_RESET_TARGET]), [DAP_RESET_TARGET, DAP_OK, 1]);
    assert!(!server.target.lock().nreset_asserted(), "released");
    for (who, dhcsr) in [
        ("the resetting client", dap_dhcsr(&mut dap)),
        ("another DAP client", dap_dhcsr(&mut other)),
        ("a pyOCD client", pyocd_dhcsr(&mut pyocd)),
    ] {
        assert_ne!(dhcsr & S_RESET_ST, 0, "{who}: {dhcsr:#x}");
    }
    assert_eq!(dap_dhcsr(&mut dap) & S_RESET_ST, 0, "cleared by the read");
}

#[test]
fn swj_pins_reset_is_seen_by_every_client() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut pyocd = Client::session(server.pyocd_addr());
    power_up(&mut pyocd);
    dap_dhcsr(&mut dap);
    pyocd_dhcsr(&mut pyocd);
    dap.call(&swj_pins(0, NRESET));
    dap.call(&swj_pins(NRESET, NRESET));
    assert_ne!(pyocd_dhcsr(&mut pyocd) & S_RESET_ST, 0, "pyOCD");
    assert_ne!(dap_dhcsr(&mut dap) & S_RESET_ST, 0, "the DAP client");
}

#[test]
fn write_abort_is_a_dp_abort_write() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut firmware = Firmware::session();
    let abort = [DAP_WRITE_ABORT, 0, 0x1E, 0, 0, 0];
    assert_eq!(dap.call(&abort), [DAP_WRITE_ABORT, DAP_OK]);
    assert_eq!(firmware.call(&abort), [DAP_WRITE_ABORT, DAP_OK]);
}

#[test]
fn an_unknown_command_is_answered_with_the_single_byte_0xff() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let mut firmware = Firmware::session();
    // JTAG commands (not served: SWD only), SWO, vendor commands, and ids
    // CMSIS-DAP does not define.
    for packet in [
        vec![0x14, 1, 0x01, 0x00],
        vec![0x15, 1, 4],
        vec![0x16, 0],
        vec![0x17, 0],
        vec![0x42],
        vec![0x80, 1, 2, 3],
        vec![0xF0],
        vec![0xFF],
    ] {
        assert_eq!(dap.call(&packet), [DAP_INVALID], "{packet:02x?}");
    }
    assert_eq!(firmware.call(&[0x42]), [DAP_INVALID]);
    // The connection goes on.
    assert_eq!(
        dap.call(&transfer(&[(dp_read(DP_IDR), None)])),
        firmware.call(&transfer(&[(dp_read(DP_IDR), None)]))
    );
}

#[test]
fn a_transfer_of_many_drw_reads_takes_few_probe_packets() {
    // OpenOCD reads memory as DAP_Transfer packets of a TAR write and a
    // long run of DRW reads. Read one by one, each read would be a probe
    // round trip; as a run they go out as DAP_TransferBlock packets.
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let base = RAM_BASE + 0x5000;
    for i in 0..254u32 {
        server.set_memory_word(base + 4 * i, 0xD000_0000 | i);
    }
    assert_eq!(
        dap.call(&transfer(&[(ap_write(AP_CSW), Some(CSW_WORD_INCREMENT))]))[..3],
        [DAP_TRANSFER, 1, ACK_OK]
    );
    let mut requests = vec![(ap_write(AP_TAR), Some(base))];
    requests.extend((0..254).map(|_| (ap_read(AP_DRW), None)));
    let before = server.stats.get().packets;
    let reply = dap.call(&transfer(&requests));
    let packets = server.stats.get().packets - before;
    assert_eq!(reply[..3], [DAP_TRANSFER, 255, ACK_OK]);
    let expected: Vec<u32> = (0..254).map(|i| 0xD000_0000 | i).collect();
    assert_eq!(words(&reply, 3), expected);
    // The TAR write and two DAP_TransferBlocks of the 512-byte probe.
    assert!(packets <= 4, "{packets} probe packets");
}

#[test]
fn a_request_of_exactly_the_packet_size_is_served() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    let base = RAM_BASE + 0x2000;
    let setup = transfer(&[
        (ap_write(AP_CSW), Some(CSW_WORD_INCREMENT)),
        (ap_write(AP_TAR), Some(base)),
    ]);
    assert_eq!(dap.call(&setup), [DAP_TRANSFER, 2, ACK_OK]);
    // 3 header bytes, 204 writes of 5 bytes and one read of 1: 1024.
    let mut requests: Vec<(u8, Option<u32>)> = (0..204)
        .map(|i| (ap_write(AP_DRW), Some(0x7700_0000 | i)))
        .collect();
    requests.push((dp_read(DP_IDR), None));
    let exact = transfer(&requests);
    assert_eq!(exact.len(), PORT_PACKET_SIZE);
    let reply = dap.call(&exact);
    assert_eq!(reply[..3], [DAP_TRANSFER, 205, ACK_OK]);
    assert_eq!(words(&reply, 3), [DPIDR_VALUE]);
    assert_eq!(server.memory_word(base + 4 * 203), 0x7700_0000 | 203);
}
