//! The per-peer connection limit (`--max-connections-per-peer`): one
//! address cannot take every connection of a probe. Its connections on
//! both ports (pyOCD and the DAP port) count together; another address,
//! here a second loopback address, still gets in.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};

use serde_json::Value;
use socket2::{Domain, Socket, Type};

use crate::common::{wait_until, Client, ServerProcess, DEADLINE};

/// A TCP connection to `to` from the loopback address `from`.
fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let local: IpAddr = from.parse().expect("an address");
    socket
        .bind(&SocketAddr::new(local, 0).into())
        .expect("bind to a loopback address");
    socket.connect(&to.into()).expect("connect");
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    stream
}

/// Says hello on `stream`; the answer, or `None` if the server closed it.
fn hello(stream: &TcpStream) -> Option<Value> {
    let mut writer = stream.try_clone().expect("clone");
    // A refused peer may be closed before this write lands.
    let _ = writer.write_all(b"{\"id\": 1, \"request\": \"hello\", \"arguments\": [1]}\n");
    let mut line = String::new();
    match BufReader::new(stream.try_clone().expect("clone")).read_line(&mut line) {
        Ok(n) if n > 0 => Some(serde_json::from_str(&line).expect("JSON")),
        _ => None,
    }
}

fn admitted(stream: &TcpStream) -> bool {
    hello(stream).is_some_and(|answer| answer["status"] == 0 && answer["id"] == 1)
}

/// Asks the DAP port for DAP_Info's product name and waits for the reply,
/// so the connection is surely counted by then.
fn dap_round_trip(stream: &mut TcpStream) {
    stream
        .write_all(&[0x44, 0x41, 0x50, 0x00, 2, 0, 1, 0, 0x00, 0x02])
        .expect("send");
    let mut header = [0u8; 8];
    stream.read_exact(&mut header).expect("DAP reply");
    let length = usize::from(u16::from_le_bytes([header[4], header[5]]));
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload).expect("DAP payload");
}

#[test]
fn one_address_is_held_to_its_share_over_both_ports_and_another_address_gets_in() {
    let server = ServerProcess::start(&[
        "--max-connections",
        "10",
        "--max-connections-per-peer",
        "2",
        "--dap-port",
        "0",
    ]);
    // Logged just after the pyOCD port's line, which `start` waits for.
    let dap_line = "Serving CMSIS-DAP for OpenOCD (sim) on ";
    wait_until("the DAP port's log line", || {
        server.log.lock().unwrap().contains(dap_line)
    });
    let dap_addr: SocketAddr = {
        let log = server.log.lock().unwrap().clone();
        log.lines()
            .find_map(|line| line.split(dap_line).nth(1))
            .and_then(|addr| addr.trim().parse().ok())
            .unwrap_or_else(|| panic!("no DAP port in the log:\n{log}"))
    };

    let mut first = Client::hello(server.addr);
    let mut dap = TcpStream::connect(dap_addr).expect("DAP port");
    dap.set_read_timeout(Some(DEADLINE)).unwrap();
    dap_round_trip(&mut dap);

    // 127.0.0.1 holds two: a third is told why and closed.
    let refused = connect_from("127.0.0.1", server.addr);
    let answer = hello(&refused).expect("a refusal before the close");
    assert_eq!(answer["status"], 1, "{answer}");
    assert_eq!(answer["id"], -1, "{answer}");
    assert_eq!(
        answer["error"], "too many connections from your address",
        "{answer}"
    );
    assert!(hello(&refused).is_none(), "the refused peer is closed");

    // Another address has a share of its own, and is held to it too.
    let others: Vec<TcpStream> = (0..2)
        .map(|_| connect_from("127.0.0.2", server.addr))
        .collect();
    for other in &others {
        assert!(admitted(other), "127.0.0.2 gets its own two");
    }
    assert!(!admitted(&connect_from("127.0.0.2", server.addr)));

    // The first address's clients are served all along; one leaving frees
    // a place for that address.
    first.ok("readprop", serde_json::json!(["unique_id"]));
    drop(dap);
    let mut again = None;
    wait_until("127.0.0.1 to get its freed place", || {
        let stream = connect_from("127.0.0.1", server.addr);
        again = admitted(&stream).then_some(stream);
        again.is_some()
    });
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("it holds 2 connections already"), "{log}");
}
