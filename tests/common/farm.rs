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
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
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
