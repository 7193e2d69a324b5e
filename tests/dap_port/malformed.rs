//! Packets the port cannot take. A command whose fields do not fit its
//! packet (too short, or bytes left over) is answered with its id and
//! DAP_ERROR, and the connection goes on. A header that cannot be trusted
//! (wrong signature or type, an empty packet, a payload longer than the
//! announced packet size) leaves no way to find the next packet: the
//! connection is closed unanswered, its references released. Nothing
//! else is hurt: other clients of both ports keep working throughout.

use std::io::Write;
use std::net::Shutdown;

use probeshare::cmsis_dap::tcp::{encode_packet, SIGNATURE, TYPE_REQUEST, TYPE_RESPONSE};
use probeshare::probe::WireProtocol;

use crate::common::{wait_until, Client};
use crate::dap::*;
use crate::support::*;

/// A pyOCD client and a DAP client that must not notice anything.
struct Bystanders {
    pyocd: Client,
    dap: RawDap,
}

impl Bystanders {
    fn join(server: &DapServer) -> Bystanders {
        let mut pyocd = Client::session(server.pyocd_addr());
        power_up(&mut pyocd);
        Bystanders {
            pyocd,
            dap: RawDap::session(server.dap_addr()),
        }
    }

    fn still_work(&mut self) {
        assert_eq!(read_dp(&mut self.pyocd, DP_IDR), DPIDR_VALUE);
        assert_eq!(read_ap(&mut self.pyocd, AP_IDR), AHB_AP_IDR);
        let reply = self.dap.call(&transfer(&[(dp_read(DP_IDR), None)]));
        assert_eq!(reply[..3], [DAP_TRANSFER, 1, ACK_OK]);
        assert_eq!(words(&reply, 3), [DPIDR_VALUE]);
    }
}

#[test]
fn a_command_too_short_or_too_long_for_its_fields_is_a_dap_error() {
    let server = DapServer::start();
    let mut others = Bystanders::join(&server);
    let mut dap = RawDap::session(server.dap_addr());
    let mut firmware = Firmware::session();
    let short = [
        // Two transfers announced, one there.
        vec![DAP_TRANSFER, 0, 2, dp_read(DP_IDR)],
        // A write without its data word.
        vec![DAP_TRANSFER, 0, 1, dp_write(DP_SELECT), 0, 0],
        // A block write of 3 words carrying 2.
        vec![
            DAP_TRANSFER_BLOCK,
            0,
            3,
            0,
            ap_write(AP_DRW),
            1,
            0,
            0,
            0,
            2,
            0,
            0,
            0,
        ],
        vec![DAP_SWJ_CLOCK, 1, 2],
        vec![DAP_SWJ_SEQUENCE, 16, 0xFF],
        vec![DAP_SWJ_PINS, 0, 0],
        vec![DAP_WRITE_ABORT, 0, 1],
        vec![DAP_INFO],
        vec![DAP_CONNECT],
    ];
    for packet in &short {
        let reply = dap.call(packet);
        assert_eq!(reply, [packet[0], DAP_ERROR], "{packet:02x?}");
        assert_eq!(firmware.call(packet), reply, "firmware: {packet:02x?}");
    }
    // Bytes beyond the command's fields: refused too (the firmware would
    // ignore them; the port does not guess what the client meant).
    for packet in [
        vec![DAP_CONNECT, 1, 9],
        vec![DAP_SWJ_CLOCK, 0, 0x09, 0x3D, 0, 0],
        vec![DAP_TRANSFER, 0, 1, dp_read(DP_IDR), 0],
    ] {
        assert_eq!(dap.call(&packet), [packet[0], DAP_ERROR], "{packet:02x?}");
    }
    // A block read whose reply would not fit the packet size.
    let too_many = ((PORT_PACKET_SIZE - 4) / 4 + 1) as u16;
    assert_eq!(
        dap.call(&block_read(ap_read(AP_DRW), too_many)),
        [DAP_TRANSFER_BLOCK, DAP_ERROR]
    );
    // Nothing ran, the connection goes on, nobody else noticed.
    let reply = dap.call(&transfer(&[(dp_read(DP_CTRL_STAT), None)]));
    assert_eq!(reply[..3], [DAP_TRANSFER, 1, ACK_OK]);
    assert_eq!(words(&reply, 3)[0] & STICKYERR, 0);
    others.still_work();
}

/// Sends `bytes` from a client connected with SWD and checks the server
/// closes it unanswered while `others` go on.
fn closes(server: &DapServer, others: &mut Bystanders, what: &str, bytes: &[u8]) {
    let mut bad = RawDap::session(server.dap_addr());
    bad.send_bytes(bytes);
    assert!(bad.is_closed_by_server(), "{what}: still open");
    wait_until("only the bystanders left", || {
        server.handle.status().clients == 2
    });
    others.still_work();
    // Its connect reference went with it.
    assert_eq!(server.handle.status().connect_count, 2, "{what}");
}

fn header(signature: u32, length: u16, packet_type: u8) -> Vec<u8> {
    let mut bytes = signature.to_le_bytes().to_vec();
    bytes.extend(length.to_le_bytes());
    bytes.extend([packet_type, 0]);
    bytes
}

#[test]
fn a_header_that_cannot_be_trusted_closes_the_connection_alone() {
    let server = DapServer::start();
    let mut others = Bystanders::join(&server);
    others.still_work();

    let over_long = PORT_PACKET_SIZE as u16 + 1;
    let mut bytes = header(SIGNATURE, over_long, TYPE_REQUEST);
    bytes.extend(vec![DAP_INFO; usize::from(over_long)]);
    closes(&server, &mut others, "an over-long packet", &bytes);

    let mut bytes = header(0x0050_4145, 2, TYPE_REQUEST);
    bytes.extend([DAP_INFO, 0xFF]);
    closes(&server, &mut others, "a wrong signature", &bytes);

    let mut bytes = header(SIGNATURE, 2, TYPE_RESPONSE);
    bytes.extend([DAP_INFO, 0xFF]);
    closes(&server, &mut others, "a response type", &bytes);

    closes(
        &server,
        &mut others,
        "an empty packet",
        &header(SIGNATURE, 0, TYPE_REQUEST),
    );

    closes(
        &server,
        &mut others,
        "a JSON line on the DAP port",
        b"{\"id\":1,\"request\":\"hello\",\"arguments\":[1]}\n",
    );
}

#[test]
fn good_packets_before_a_bad_header_are_answered_first() {
    let server = DapServer::start();
    let mut others = Bystanders::join(&server);
    let mut dap = RawDap::connect(server.dap_addr());
    let mut bytes = Vec::new();
    encode_packet(&mut bytes, TYPE_REQUEST, &[DAP_INFO, 0xFE]);
    encode_packet(&mut bytes, TYPE_REQUEST, &[DAP_CONNECT, 1]);
    bytes.extend(header(SIGNATURE, 9999, TYPE_REQUEST));
    dap.send_bytes(&bytes);
    assert_eq!(dap.recv(), [DAP_INFO, 1, PORT_PACKET_COUNT]);
    assert_eq!(dap.recv(), [DAP_CONNECT, 1]);
    assert!(dap.is_closed_by_server());
    others.still_work();
}

#[test]
fn a_packet_cut_short_by_the_peer_closing_is_dropped() {
    let server = DapServer::start();
    let mut others = Bystanders::join(&server);
    let mut dap = RawDap::session(server.dap_addr());
    let mut bytes = header(SIGNATURE, 100, TYPE_REQUEST);
    bytes.extend([DAP_TRANSFER, 0, 1]);
    dap.stream.write_all(&bytes).unwrap();
    dap.stream.shutdown(Shutdown::Write).unwrap();
    assert!(dap.is_closed_by_server(), "no reply, then EOF");
    wait_until("the client to be gone", || {
        server.handle.status().clients == 2
    });
    others.still_work();
}

#[test]
fn the_wire_goes_down_when_the_only_client_is_dropped_for_a_bad_header() {
    let server = DapServer::start();
    let mut dap = RawDap::session(server.dap_addr());
    wait_until("the wire up", || {
        server.handle.status().wire_protocol == Some(WireProtocol::Swd)
    });
    dap.send_bytes(&header(0, 4, TYPE_REQUEST));
    assert!(dap.is_closed_by_server());
    wait_until("the wire to go down and the probe to close", || {
        let status = server.handle.status();
        status.wire_protocol.is_none() && status.open_count == 0 && status.clients == 0
    });
    // A new client starts from scratch.
    let mut again = RawDap::session(server.dap_addr());
    let reply = again.call(&transfer(&[(dp_read(DP_IDR), None)]));
    assert_eq!(words(&reply, 3), [DPIDR_VALUE]);
}
