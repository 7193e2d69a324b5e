//! CMSIS-DAP probes: the command set, a transfer queue that batches
//! register accesses into full packets, and the [`DebugProbe`] driver on
//! top, all generic over a packet [`Transport`].
//!
//! Three transports implement it: USB bulk (CMSIS-DAP v2, rusb), USB HID
//! (v1, hidapi), and the emulated firmware in front of the virtual target,
//! so `--probe sim` runs through exactly the driver code hardware does.
//! Facts and layouts: `docs/reference/cmsis-dap.md`.
//!
//! [`DebugProbe`]: crate::probe::DebugProbe

pub mod commands;
pub mod identity;
pub mod link;
pub mod pipeline;
pub mod probe;
pub mod queue;
pub mod tcp;
#[cfg(test)]
mod tests;
pub mod usb;

pub use identity::{DapInfo, ProbeIdentity};
pub use probe::CmsisDapProbe;

use std::time::Duration;

/// Why a packet could not be moved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No reply within the timeout.
    #[error("no reply from the probe within {0:?}")]
    Timeout(Duration),
    /// The device is gone (unplugged, USB reset): the probe is lost.
    #[error("probe disconnected: {0}")]
    Disconnected(String),
    /// Any other USB or HID failure.
    #[error("USB error: {0}")]
    Io(String),
}

/// Moves whole CMSIS-DAP packets to and from a probe. One `write_packet`
/// is one command packet; one `read_packet` is one response packet. Up to
/// the probe's packet count may be written before their replies are read.
pub trait Transport: Send {
    /// Sends one command packet (at most the packet size; HID pads it).
    fn write_packet(&mut self, packet: &[u8]) -> Result<(), TransportError>;
    /// Receives one response packet into `buf`; returns its length.
    fn read_packet(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError>;
    /// The packet size to use until DAP_Info says otherwise.
    fn initial_packet_size(&self) -> usize;
    /// Told the packet size DAP_Info reported (HID pads reports to it).
    fn set_packet_size(&mut self, _size: usize) {}
}

/// A boxed transport (what USB discovery hands out) is a transport.
impl<T: Transport + ?Sized> Transport for Box<T> {
    fn write_packet(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        (**self).write_packet(packet)
    }

    fn read_packet(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        (**self).read_packet(buf, timeout)
    }

    fn initial_packet_size(&self) -> usize {
        (**self).initial_packet_size()
    }

    fn set_packet_size(&mut self, size: usize) {
        (**self).set_packet_size(size)
    }
}
