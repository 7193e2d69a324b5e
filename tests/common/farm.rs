//! A farm of virtual targets with its management interface, started as
//! `serve --config` starts them, and a minimal HTTP client for the
//! management tests.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use parking_lot::Mutex;

use probeshare::config::{self, Config};
use probeshare::farm::{self, Farm};
use probeshare::management::{ManagementServer, ProbeBoard, SharedFarm};

use super::{free_port, DEADLINE};

/// `[[probe]]` entries for virtual targets `sim:NAME`, each on a free port.
pub fn sim_entries(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| {
            format!(
                "[[probe]]\nserial = \"sim:{name}\"\nport = {}\n",
                free_port()
            )
        })
        .collect()
}

/// A farm of the entries `probes` (TOML) shared with its management
/// interface on a free port; with `watch_usb`, also its USB rescan.
pub fn managed_farm(probes: &str, watch_usb: bool) -> (SharedFarm, ManagementServer, Config) {
    let text = format!(
        "[management]\nlisten = \"127.0.0.1:{}\"\n{probes}",
        free_port()
    );
    let config = config::parse(&text, "test.toml").expect("valid configuration");
    let farm = Farm::start(&config).expect("farm starts");
    let board = ProbeBoard::new();
    board.publish(&farm, &config);
    let farm = Arc::new(Mutex::new(farm));
    if watch_usb {
        let board = board.clone();
        Farm::watch_usb(&farm, move |farm| board.publish(farm, farm.config()))
            .expect("rescan starts");
    }
    let management = ManagementServer::start_with_farm(
        config.management.listen,
        farm::client_filter(&config),
        board,
        farm.clone(),
    )
    .expect("management starts");
    (farm, management, config)
}

/// Sends one HTTP/1.1 request and returns the status code and body.
pub fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    http_with_body(addr, method, path, "")
}

/// [`http`] with a request body.
pub fn http_with_body(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status code");
    (status, body.to_string())
}

/// A client of a DAP port (CMSIS-DAP over TCP, as OpenOCD's `cmsis-dap`
/// driver with `cmsis-dap backend tcp` speaks it), with raw packets.
pub struct DapClient {
    pub stream: TcpStream,
}

impl DapClient {
    pub fn connect(addr: SocketAddr) -> DapClient {
        let stream = TcpStream::connect(addr).expect("connect to the DAP port");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        DapClient { stream }
    }

    /// Sends one command packet (the 8-byte header: "DAP\0", the payload
    /// length in little-endian, type 1 for a request, 0) and returns the
    /// reply's payload.
    pub fn command(&mut self, payload: &[u8]) -> Vec<u8> {
        let length = u16::try_from(payload.len()).expect("a short packet");
        let mut packet = vec![0x44, 0x41, 0x50, 0x00];
        packet.extend_from_slice(&length.to_le_bytes());
        packet.extend_from_slice(&[1, 0]);
        packet.extend_from_slice(payload);
        self.stream.write_all(&packet).expect("send");
        let mut header = [0u8; 8];
        self.stream.read_exact(&mut header).expect("a reply header");
        assert_eq!(header[..4], [0x44, 0x41, 0x50, 0x00], "signature");
        assert_eq!(header[6], 2, "a response packet");
        let mut reply = vec![0u8; usize::from(u16::from_le_bytes([header[4], header[5]]))];
        self.stream.read_exact(&mut reply).expect("the reply");
        reply
    }

    /// DAP_Info's product name (id 0x02).
    pub fn product(&mut self) -> String {
        let reply = self.command(&[0x00, 0x02]);
        assert_eq!(reply[0], 0x00, "{reply:?}");
        let string = reply[2..].strip_suffix(&[0]).expect("NUL-terminated");
        String::from_utf8_lossy(string).into_owned()
    }
}
