//! The control for the OpenOCD tests: the emulated CMSIS-DAP firmware that
//! `--probe sim` drives, served straight to one OpenOCD in the framing of
//! OpenOCD's `cmsis-dap` `tcp` backend, with no probeshare in between.
//!
//! A script that passes against this bridge and fails against the server's
//! DAP port fails because of the server (or of what the server announces
//! differently), not because of OpenOCD, the virtual target or the script.
//! The bridge answers one packet at a time in order, as firmware does; it
//! serves one connection and ends with it.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use probeshare::cmsis_dap::Transport;
use probeshare::sim::dap_firmware::{FirmwareConfig, SimDapFirmware, UsbModel};
use probeshare::sim::SwdTarget;

use super::framing::{Header, HEADER_LEN, REQUEST, RESPONSE};

/// What the server's DAP port announces (issue 11): the bridge's firmware
/// says the same, so OpenOCD batches its work alike on both.
pub const PACKET_SIZE: u16 = 1024;
pub const PACKET_COUNT: u8 = 4;

/// How long the bridge waits for OpenOCD to connect.
const ACCEPT_DEADLINE: Duration = Duration::from_secs(60);
/// How long the emulated firmware may take to answer one packet.
const RESPONSE_DEADLINE: Duration = Duration::from_secs(5);

/// A bridge serving one connection on 127.0.0.1.
pub struct FirmwareBridge {
    addr: SocketAddr,
    served: Option<JoinHandle<Result<usize, String>>>,
}

impl FirmwareBridge {
    /// Listens on a free port; the firmware (a fresh Cortex-M) is made
    /// when OpenOCD connects.
    pub fn start() -> FirmwareBridge {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let served = std::thread::spawn(move || serve(listener));
        FirmwareBridge {
            addr,
            served: Some(served),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the connection to end; returns how many packets were
    /// answered, or what went wrong.
    pub fn finish(mut self) -> Result<usize, String> {
        let served = self.served.take().expect("finished once");
        served
            .join()
            .map_err(|_| "bridge thread panicked".to_string())?
    }
}

fn serve(listener: TcpListener) -> Result<usize, String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if started.elapsed() > ACCEPT_DEADLINE {
                    return Err(format!("nobody connected within {ACCEPT_DEADLINE:?}"));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(format!("accept: {e}")),
        }
    };
    drop(listener);
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut config = FirmwareConfig::for_model(UsbModel::None);
    config.packet_size = PACKET_SIZE;
    config.packet_count = PACKET_COUNT;
    let mut firmware = SimDapFirmware::new(SwdTarget::cortex_m(), config);
    relay(stream, &mut firmware)
}

/// Answers packets until the client closes the connection.
fn relay(mut stream: TcpStream, firmware: &mut SimDapFirmware) -> Result<usize, String> {
    let mut answered = 0;
    let mut response = vec![0u8; usize::from(PACKET_SIZE)];
    loop {
        let mut header = [0u8; HEADER_LEN];
        match stream.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(answered),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(answered),
            Err(e) => return Err(format!("reading a header: {e}")),
        }
        let header = Header::parse(&header)
            .filter(|h| h.kind == REQUEST)
            .ok_or_else(|| format!("not a request header: {header:02x?}"))?;
        let mut packet = vec![0u8; usize::from(header.len)];
        stream
            .read_exact(&mut packet)
            .map_err(|e| format!("reading a {}-byte packet: {e}", header.len))?;
        firmware
            .write_packet(&packet)
            .map_err(|e| format!("firmware refused {packet:02x?}: {e}"))?;
        let len = firmware
            .read_packet(&mut response, RESPONSE_DEADLINE)
            .map_err(|e| format!("firmware did not answer {packet:02x?}: {e}"))?;
        let mut framed = Header::new(RESPONSE, len).bytes().to_vec();
        framed.extend_from_slice(&response[..len]);
        if stream.write_all(&framed).is_err() {
            return Ok(answered);
        }
        answered += 1;
    }
}
