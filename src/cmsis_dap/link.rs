//! [`Link`]: a [`Transport`] plus what it takes to keep requests and
//! replies paired when the probe misbehaves.
//!
//! A reply that does not come in time may still come later, and a reply to
//! the wrong command means one is left over somewhere. Either way the link
//! marks itself out of step, and before the next request it reads and
//! throws away whatever the probe still sends (short timeouts until
//! silence), so the next reply read is the next request's.

use std::time::Duration;

use crate::probe::{ProbeError, ProbeResult};

use super::commands::{DapCommand, ReplyError};
use super::{Transport, TransportError};

/// How long a reply may take by default. Generous: a packet of 255
/// transfers at a slow clock with WAIT retries takes a while, and a false
/// timeout costs a resynchronisation.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to listen for stray replies while resynchronising.
const STRAY_REPLY_TIMEOUT: Duration = Duration::from_millis(20);
/// Stray replies to accept before declaring the probe unusable.
const MAX_STRAY_REPLIES: usize = 64;

/// The probe error a transport failure becomes.
pub fn transport_error(error: TransportError, doing: &str) -> ProbeError {
    match error {
        TransportError::Disconnected(why) => ProbeError::Disconnected(why),
        TransportError::Timeout(after) => ProbeError::Probe(format!(
            "no reply from the probe to {doing} within {after:?}"
        )),
        TransportError::Io(why) => ProbeError::Probe(format!("USB error during {doing}: {why}")),
    }
}

pub struct Link<T: Transport> {
    transport: T,
    reply: Vec<u8>,
    timeout: Duration,
    out_of_step: bool,
    /// Why the device is gone, once the transport said so: a vanished USB
    /// device does not come back on the same handle, so every later
    /// request fails at once with the same reason.
    gone: Option<String>,
}

impl<T: Transport> Link<T> {
    pub fn new(transport: T) -> Link<T> {
        let size = transport.initial_packet_size();
        Link {
            transport,
            reply: vec![0; size],
            timeout: DEFAULT_REPLY_TIMEOUT,
            out_of_step: false,
            gone: None,
        }
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// How long [`Link::receive`] waits for a reply.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Adopts the packet size DAP_Info reported.
    pub fn set_packet_size(&mut self, size: usize) {
        self.reply.resize(size, 0);
        self.transport.set_packet_size(size);
    }

    /// Replies can no longer be matched to requests; resynchronise before
    /// the next request.
    pub fn mark_out_of_step(&mut self) {
        self.out_of_step = true;
    }

    pub fn is_out_of_step(&self) -> bool {
        self.out_of_step
    }

    /// Why the device is gone, if the transport has said it is.
    pub fn gone(&self) -> Option<&str> {
        self.gone.as_deref()
    }

    /// Forgets that the device was gone, to try it again (opening it).
    pub fn try_again(&mut self) {
        self.gone = None;
    }

    fn check_present(&self) -> ProbeResult<()> {
        match &self.gone {
            Some(why) => Err(ProbeError::Disconnected(why.clone())),
            None => Ok(()),
        }
    }

    /// Sends one request packet; `doing` names it for messages.
    pub fn send(&mut self, packet: &[u8], doing: &str) -> ProbeResult<()> {
        self.check_present()?;
        if self.out_of_step {
            self.resynchronise()?;
        }
        self.transport.write_packet(packet).map_err(|error| {
            // Whether it arrived is unknown: so is whether a reply will.
            self.note_transport_error(&error);
            transport_error(error, doing)
        })
    }

    /// Receives one reply packet. After a timeout the link is out of step.
    pub fn receive(&mut self, doing: &str) -> ProbeResult<&[u8]> {
        self.check_present()?;
        match self.transport.read_packet(&mut self.reply, self.timeout) {
            Ok(len) => Ok(&self.reply[..len.min(self.reply.len())]),
            Err(error) => {
                self.note_transport_error(&error);
                Err(transport_error(error, doing))
            }
        }
    }

    /// Sends a command and decodes its reply. The transfer queue must be
    /// empty (nothing in flight), or the reply read would be another's.
    pub fn command<C: DapCommand>(&mut self, command: &C) -> ProbeResult<C::Output> {
        let name = command.id().name();
        self.send(&command.request(), name)?;
        let bytes = self.receive(name)?;
        let decoded = command.parse_reply(bytes);
        self.note_reply_error(decoded.as_ref().err());
        Ok(decoded?)
    }

    /// Notes a bad reply: one to another command means pairing is lost.
    pub fn note_reply_error(&mut self, error: Option<&ReplyError>) {
        if error.is_some_and(ReplyError::breaks_pairing) {
            self.out_of_step = true;
        }
    }

    /// A reply may still come after a timeout or an I/O error; from a
    /// device that is gone, nothing will.
    fn note_transport_error(&mut self, error: &TransportError) {
        match error {
            TransportError::Disconnected(why) => self.gone = Some(why.clone()),
            _ => self.out_of_step = true,
        }
    }

    /// Reads and discards replies until the probe goes quiet.
    fn resynchronise(&mut self) -> ProbeResult<()> {
        for _ in 0..MAX_STRAY_REPLIES {
            match self
                .transport
                .read_packet(&mut self.reply, STRAY_REPLY_TIMEOUT)
            {
                Ok(len) => log::debug!("discarding a stray {len}-byte reply"),
                Err(TransportError::Timeout(_)) => {
                    self.out_of_step = false;
                    return Ok(());
                }
                Err(error) => {
                    self.note_transport_error(&error);
                    return Err(transport_error(error, "resynchronisation"));
                }
            }
        }
        Err(ProbeError::Probe(format!(
            "the probe sent more than {MAX_STRAY_REPLIES} replies nobody asked for"
        )))
    }
}
