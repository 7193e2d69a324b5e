//! CMSIS-DAP v2: command and response packets over the bulk endpoints of
//! the probe's vendor interface, with rusb.
//!
//! One command is one bulk OUT transfer, one response one bulk IN transfer
//! read with a buffer of exactly the DAP packet size (a larger buffer would
//! wait for more after a response that fills a whole number of USB
//! packets). A command shorter than the packet size that fills a whole
//! number of USB packets is followed by a zero-length packet, else the
//! probe would wait for the rest of its transfer.

use std::time::Duration;

use rusb::{Context, DeviceHandle};

use super::{enumerate, BulkInterface, UDEV_HINT, USB_TIMEOUT};
use crate::cmsis_dap::{Transport, TransportError};

/// The DAP packet size assumed before DAP_Info answers (what high-speed
/// probes use; full-speed ones answer in shorter transfers).
const DEFAULT_PACKET_SIZE: usize = 512;

/// Stale responses a probe may still hold from a previous session; reading
/// is bounded so a babbling device cannot stall the open.
const MAX_STALE_PACKETS: usize = 64;
const STALE_READ_TIMEOUT: Duration = Duration::from_millis(1);

/// An open, claimed CMSIS-DAP v2 interface.
pub struct BulkTransport {
    handle: DeviceHandle<Context>,
    interface: BulkInterface,
    packet_size: usize,
    /// Receives responses when the caller's buffer is smaller than a packet.
    scratch: Vec<u8>,
}

impl BulkTransport {
    /// Opens the device at `bus`/`port_path` and claims `interface`.
    pub fn open(
        bus: u8,
        port_path: &[u8],
        interface: &BulkInterface,
    ) -> Result<BulkTransport, TransportError> {
        let context = Context::new()
            .map_err(|error| TransportError::Io(format!("USB unavailable: {error}")))?;
        let device = enumerate::find_device(&context, bus, port_path)
            .map_err(|error| opening_error(error, "the probe is no longer on that USB port"))?;
        let handle = device
            .open()
            .map_err(|error| opening_error(error, "the probe was unplugged"))?;
        BulkTransport::claim(handle, interface)
    }

    /// Claims `interface` of an open device and discards stale responses.
    pub fn claim(
        handle: DeviceHandle<Context>,
        interface: &BulkInterface,
    ) -> Result<BulkTransport, TransportError> {
        handle
            .claim_interface(interface.number)
            .map_err(|error| opening_error(error, "the probe was unplugged"))?;
        let mut transport = BulkTransport {
            handle,
            interface: *interface,
            packet_size: DEFAULT_PACKET_SIZE.max(usize::from(interface.in_max_packet)),
            scratch: Vec::new(),
        };
        transport.discard_stale_responses();
        Ok(transport)
    }

    /// The SWO streaming endpoint, if the probe has one.
    pub fn swo_endpoint(&self) -> Option<u8> {
        self.interface.swo_endpoint
    }

    fn discard_stale_responses(&mut self) {
        let mut buf = vec![0; self.packet_size];
        for _ in 0..MAX_STALE_PACKETS {
            if self
                .handle
                .read_bulk(self.interface.in_endpoint, &mut buf, STALE_READ_TIMEOUT)
                .is_err()
            {
                break;
            }
        }
    }
}

impl Drop for BulkTransport {
    fn drop(&mut self) {
        // The device may be gone already; nothing to do about a failure.
        let _ = self.handle.release_interface(self.interface.number);
    }
}

impl Transport for BulkTransport {
    fn write_packet(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        let endpoint = self.interface.out_endpoint;
        let written = self
            .handle
            .write_bulk(endpoint, packet, USB_TIMEOUT)
            .map_err(|error| transfer_error(error, USB_TIMEOUT))?;
        if written != packet.len() {
            return Err(TransportError::Io(format!(
                "bulk OUT took {written} of {} bytes",
                packet.len()
            )));
        }
        if needs_zero_length_packet(
            packet.len(),
            self.packet_size,
            usize::from(self.interface.out_max_packet),
        ) {
            self.handle
                .write_bulk(endpoint, &[], USB_TIMEOUT)
                .map_err(|error| transfer_error(error, USB_TIMEOUT))?;
        }
        Ok(())
    }

    fn read_packet(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        // libusb waits forever on a zero timeout.
        let timeout = timeout.max(Duration::from_millis(1));
        let endpoint = self.interface.in_endpoint;
        if let Some(packet) = buf.get_mut(..self.packet_size) {
            return self
                .handle
                .read_bulk(endpoint, packet, timeout)
                .map_err(|error| transfer_error(error, timeout));
        }
        self.scratch.resize(self.packet_size, 0);
        let length = self
            .handle
            .read_bulk(endpoint, &mut self.scratch, timeout)
            .map_err(|error| transfer_error(error, timeout))?;
        let capacity = buf.len();
        match (buf.get_mut(..length), self.scratch.get(..length)) {
            (Some(target), Some(response)) => {
                target.copy_from_slice(response);
                Ok(length)
            }
            _ => Err(TransportError::Io(format!(
                "a {length}-byte response does not fit a {capacity}-byte buffer"
            ))),
        }
    }

    fn initial_packet_size(&self) -> usize {
        self.packet_size
    }

    fn set_packet_size(&mut self, size: usize) {
        if size > 0 {
            self.packet_size = size;
        }
    }
}

/// Whether a command of `length` bytes needs a zero-length packet after it:
/// it is shorter than the DAP packet size (so the probe does not know it is
/// complete) and a whole number of the OUT endpoint's USB packets (so no
/// short packet ended it).
pub fn needs_zero_length_packet(length: usize, packet_size: usize, max_packet: usize) -> bool {
    length > 0 && length < packet_size && max_packet > 0 && length.is_multiple_of(max_packet)
}

fn transfer_error(error: rusb::Error, timeout: Duration) -> TransportError {
    match error {
        rusb::Error::NoDevice => TransportError::Disconnected(error.to_string()),
        rusb::Error::Timeout => TransportError::Timeout(timeout),
        other => TransportError::Io(other.to_string()),
    }
}

fn opening_error(error: rusb::Error, gone: &str) -> TransportError {
    match error {
        rusb::Error::NoDevice => TransportError::Disconnected(gone.to_owned()),
        rusb::Error::Access => TransportError::Io(format!("permission denied; {UDEV_HINT}")),
        rusb::Error::Busy => TransportError::Io(
            "the probe's CMSIS-DAP interface is claimed by another program".to_owned(),
        ),
        other => TransportError::Io(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_filling_whole_usb_packets_below_packet_size_gets_zero_length_packet() {
        assert!(needs_zero_length_packet(64, 512, 64));
        assert!(needs_zero_length_packet(128, 512, 64));
        assert!(needs_zero_length_packet(512, 1024, 512));
    }

    #[test]
    fn short_or_full_size_commands_need_no_zero_length_packet() {
        assert!(!needs_zero_length_packet(63, 512, 64));
        assert!(!needs_zero_length_packet(2, 512, 512));
        assert!(!needs_zero_length_packet(64, 64, 64));
        assert!(!needs_zero_length_packet(512, 512, 64));
        assert!(!needs_zero_length_packet(0, 512, 64));
        assert!(!needs_zero_length_packet(64, 512, 0));
    }

    #[test]
    fn usb_errors_map_to_transport_errors() {
        let timeout = Duration::from_millis(5);
        assert!(matches!(
            transfer_error(rusb::Error::NoDevice, timeout),
            TransportError::Disconnected(_)
        ));
        assert_eq!(
            transfer_error(rusb::Error::Timeout, timeout),
            TransportError::Timeout(timeout)
        );
        assert!(matches!(
            transfer_error(rusb::Error::Pipe, timeout),
            TransportError::Io(_)
        ));
        let denied = opening_error(rusb::Error::Access, "gone");
        assert!(
            denied.to_string().contains("69-probeshare.rules"),
            "{denied}"
        );
    }
}
