//! What the DAP port tests share: a server on port 0 serving the virtual
//! target on both ports, the project's own CMSIS-DAP driver as a DAP
//! client over TCP, a raw packet client for what the driver never sends,
//! packet builders, and the emulated firmware alone, to hear how firmware
//! answers the same packets.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use probeshare::cmsis_dap::tcp::{
    encode_packet, Header, TcpTransport, HEADER_LEN, SIGNATURE, TYPE_REQUEST, TYPE_RESPONSE,
};
use probeshare::cmsis_dap::{CmsisDapProbe, ProbeIdentity, Transport};
use probeshare::probe::{DebugProbe, ProtocolRequest, WireProtocol};
use probeshare::server::{self, Limits, ServerConfig, ServerHandle};
use probeshare::sim::bus::AccessSize;
use probeshare::sim::dap_firmware::{
    FirmwareConfig, PlugHandle, SharedTarget, SimDapFirmware, StatsHandle, UsbModel,
};
use probeshare::sim::{SwdTarget, VirtualProbe, VIRTUAL_DESCRIPTION};

use crate::common::DEADLINE;
use crate::support::{AP_CSW, AP_TAR, DP_CTRL_STAT, POWER_UP_REQUESTS};

/// The packet size and count the DAP port announces.
pub const PORT_PACKET_SIZE: usize = 1024;
pub const PORT_PACKET_COUNT: u8 = 4;

/// Command ids.
pub const DAP_INFO: u8 = 0x00;
pub const DAP_HOST_STATUS: u8 = 0x01;
pub const DAP_CONNECT: u8 = 0x02;
pub const DAP_DISCONNECT: u8 = 0x03;
pub const DAP_TRANSFER_CONFIGURE: u8 = 0x04;
pub const DAP_TRANSFER: u8 = 0x05;
pub const DAP_TRANSFER_BLOCK: u8 = 0x06;
pub const DAP_WRITE_ABORT: u8 = 0x08;
pub const DAP_DELAY: u8 = 0x09;
pub const DAP_RESET_TARGET: u8 = 0x0A;
pub const DAP_SWJ_PINS: u8 = 0x10;
pub const DAP_SWJ_CLOCK: u8 = 0x11;
pub const DAP_SWJ_SEQUENCE: u8 = 0x12;
pub const DAP_SWD_CONFIGURE: u8 = 0x13;
pub const DAP_SWD_SEQUENCE: u8 = 0x1D;
pub const DAP_INVALID: u8 = 0xFF;
pub const DAP_OK: u8 = 0x00;
pub const DAP_ERROR: u8 = 0xFF;

/// Transfer acknowledges.
pub const ACK_OK: u8 = 0x01;
pub const ACK_FAULT: u8 = 0x04;
pub const VALUE_MISMATCH: u8 = 0x10;

/// Transfer request bits.
const APNDP: u8 = 1 << 0;
const RNW: u8 = 1 << 1;
pub const MATCH_VALUE: u8 = 1 << 4;
pub const MATCH_MASK: u8 = 1 << 5;

/// The request byte of a DP read of register `addr` (A\[3:2\]).
pub fn dp_read(addr: u32) -> u8 {
    RNW | a32(addr)
}
pub fn dp_write(addr: u32) -> u8 {
    a32(addr)
}
pub fn ap_read(addr: u32) -> u8 {
    APNDP | RNW | a32(addr)
}
pub fn ap_write(addr: u32) -> u8 {
    APNDP | a32(addr)
}
fn a32(addr: u32) -> u8 {
    (addr & 0xC) as u8
}

/// A DAP_Transfer of `(request, data)` pairs (data for writes and match
/// reads).
pub fn transfer(requests: &[(u8, Option<u32>)]) -> Vec<u8> {
    let mut packet = vec![DAP_TRANSFER, 0, requests.len() as u8];
    for (request, data) in requests {
        packet.push(*request);
        if let Some(data) = data {
            packet.extend(data.to_le_bytes());
        }
    }
    packet
}

pub fn block_read(request: u8, count: u16) -> Vec<u8> {
    let mut packet = vec![DAP_TRANSFER_BLOCK, 0];
    packet.extend(count.to_le_bytes());
    packet.push(request);
    packet
}

pub fn block_write(request: u8, values: &[u32]) -> Vec<u8> {
    let mut packet = vec![DAP_TRANSFER_BLOCK, 0];
    packet.extend((values.len() as u16).to_le_bytes());
    packet.push(request);
    for value in values {
        packet.extend(value.to_le_bytes());
    }
    packet
}

/// The words of a reply, from byte `from` on.
pub fn words(reply: &[u8], from: usize) -> Vec<u32> {
    reply[from..]
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect()
}

/// A server serving the virtual target on a pyOCD port and a DAP port.
pub struct DapServer {
    pub handle: ServerHandle,
    pub target: SharedTarget,
    pub stats: StatsHandle,
    pub plug: PlugHandle,
}

impl DapServer {
    pub fn start() -> DapServer {
        DapServer::start_with(Limits {
            register_window: Duration::from_secs(60),
            ..Limits::default()
        })
    }

    /// A server with these limits (`start` sets only a register window
    /// long enough that no test depends on the machine's speed to finish a
    /// core register transfer, as `common::start_server`).
    pub fn start_with(limits: Limits) -> DapServer {
        DapServer::start_on(UsbModel::None, limits)
    }

    /// A server whose virtual probe has the packets and timing of `usb`
    /// (several packets in flight, of 64 bytes on full-speed HID).
    pub fn start_on(usb: UsbModel, limits: Limits) -> DapServer {
        let sim = VirtualProbe::new("sim", VIRTUAL_DESCRIPTION, FirmwareConfig::for_model(usb))
            .expect("virtual probe");
        let handle = server::spawn_with_dap(
            TcpListener::bind("127.0.0.1:0").expect("bind port 0"),
            Some(TcpListener::bind("127.0.0.1:0").expect("bind port 0")),
            sim.probe,
            ServerConfig {
                limits,
                ..ServerConfig::default()
            },
        )
        .expect("server starts");
        DapServer {
            handle,
            target: sim.target,
            stats: sim.stats,
            plug: sim.plug,
        }
    }

    pub fn dap_addr(&self) -> SocketAddr {
        self.handle.dap_addr().expect("the DAP port is served")
    }

    pub fn pyocd_addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    /// A word of the target's memory, read behind the server's back.
    pub fn memory_word(&self, addr: u32) -> u32 {
        self.target
            .lock()
            .bus_mut()
            .read(addr, AccessSize::Word)
            .expect("mapped")
    }

    pub fn set_memory_word(&self, addr: u32, value: u32) {
        self.target
            .lock()
            .bus_mut()
            .write(addr, AccessSize::Word, value)
            .expect("mapped");
    }
}

/// The project's CMSIS-DAP driver, a client of the DAP port.
pub type Driver = CmsisDapProbe<TcpTransport>;

/// The driver on a new connection to the DAP port; it has read DAP_Info.
pub fn driver(addr: SocketAddr) -> Driver {
    let transport = TcpTransport::connect(addr).expect("connect to the DAP port");
    let identity = ProbeIdentity {
        unique_id: "dap-port".to_owned(),
        ..ProbeIdentity::default()
    };
    CmsisDapProbe::new(transport, identity).expect("DAP_Info through the DAP port")
}

/// A driver opened, connected with SWD and with the debug port powered up.
pub fn driver_session(addr: SocketAddr) -> Driver {
    let mut probe = driver(addr);
    probe.open().expect("open");
    let wire = probe
        .connect(ProtocolRequest::Specific(WireProtocol::Swd))
        .expect("connect");
    assert_eq!(wire, WireProtocol::Swd);
    probe
        .write_dp(DP_CTRL_STAT, POWER_UP_REQUESTS)
        .expect("power-up");
    probe
}

/// A driver session with a 32-bit CSW (incrementing when `increment`).
pub fn memory_driver(addr: SocketAddr, csw: u32) -> Driver {
    let mut probe = driver_session(addr);
    probe.write_ap(AP_CSW, csw).expect("CSW");
    probe
}

/// Reads a word through `probe`: TAR, then DRW.
pub fn driver_read_word(probe: &mut Driver, addr: u32) -> u32 {
    probe.write_ap(AP_TAR, addr).expect("TAR");
    probe.read_ap(crate::support::AP_DRW).expect("DRW read")
}

/// A raw client of the DAP port: packets as given, replies as they come.
pub struct RawDap {
    pub stream: TcpStream,
}

impl RawDap {
    pub fn connect(addr: SocketAddr) -> RawDap {
        let stream = TcpStream::connect(addr).expect("connect to the DAP port");
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        RawDap { stream }
    }

    /// A raw client connected with SWD and the debug port powered up.
    pub fn session(addr: SocketAddr) -> RawDap {
        let mut dap = RawDap::connect(addr);
        assert_eq!(dap.call(&[DAP_CONNECT, 1]), [DAP_CONNECT, 1]);
        let power_up = transfer(&[(dp_write(DP_CTRL_STAT), Some(POWER_UP_REQUESTS))]);
        assert_eq!(dap.call(&power_up), [DAP_TRANSFER, 1, ACK_OK]);
        dap
    }

    /// Sends one request packet without waiting.
    pub fn send(&mut self, payload: &[u8]) {
        let mut bytes = Vec::new();
        encode_packet(&mut bytes, TYPE_REQUEST, payload);
        self.send_bytes(&bytes);
    }

    /// Sends several request packets in one write.
    pub fn send_all(&mut self, payloads: &[Vec<u8>]) {
        let mut bytes = Vec::new();
        for payload in payloads {
            encode_packet(&mut bytes, TYPE_REQUEST, payload);
        }
        self.send_bytes(&bytes);
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// The next reply's payload; fails on a bad header, EOF or the deadline.
    pub fn recv(&mut self) -> Vec<u8> {
        let mut header = [0u8; HEADER_LEN];
        self.stream
            .read_exact(&mut header)
            .expect("a reply within the deadline");
        let header = Header::parse(&header);
        assert_eq!(header.signature, SIGNATURE, "reply signature");
        assert_eq!(header.packet_type, TYPE_RESPONSE, "reply type");
        let mut payload = vec![0u8; usize::from(header.length)];
        self.stream.read_exact(&mut payload).expect("reply payload");
        payload
    }

    pub fn call(&mut self, payload: &[u8]) -> Vec<u8> {
        self.send(payload);
        self.recv()
    }

    /// True once the server has closed this connection (EOF or reset),
    /// false if it answers or stays silent until the deadline.
    pub fn is_closed_by_server(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self.stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        }
    }
}

/// The emulated firmware alone, on a fresh virtual target of its own: how
/// CMSIS-DAP firmware answers a packet, to compare the port with.
pub struct Firmware {
    firmware: SimDapFirmware,
}

impl Firmware {
    pub fn new() -> Firmware {
        Firmware::with_packet_size(512)
    }

    /// Firmware taking packets of up to `size` bytes (the DAP port's own
    /// size, say).
    pub fn with_packet_size(size: u16) -> Firmware {
        let config = FirmwareConfig {
            packet_size: size,
            ..FirmwareConfig::for_model(UsbModel::None)
        };
        Firmware {
            firmware: SimDapFirmware::new(SwdTarget::cortex_m(), config),
        }
    }

    pub fn call(&mut self, payload: &[u8]) -> Vec<u8> {
        self.firmware
            .write_packet(payload)
            .expect("firmware takes it");
        let mut reply = vec![0u8; 4096];
        let n = self
            .firmware
            .read_packet(&mut reply, DEADLINE)
            .expect("firmware answers");
        reply.truncate(n);
        reply
    }

    /// Connected with SWD and powered up, as [`RawDap::session`].
    pub fn session() -> Firmware {
        Firmware::new().connected()
    }

    /// This firmware connected with SWD and powered up.
    pub fn connected(mut self) -> Firmware {
        let firmware = &mut self;
        assert_eq!(firmware.call(&[DAP_CONNECT, 1]), [DAP_CONNECT, 1]);
        let power_up = transfer(&[(dp_write(DP_CTRL_STAT), Some(POWER_UP_REQUESTS))]);
        assert_eq!(firmware.call(&power_up), [DAP_TRANSFER, 1, ACK_OK]);
        self
    }
}
