//! One client connection: LF framing of what it sends, in-order response
//! slots, and the bounded write queue.
//!
//! Requests are answered in the order they arrived even though some are
//! answered at once (`hello`, `readprop`) and others only when the probe
//! worker is done. Every request gets a ticket; a response waits in its slot
//! until every earlier one is ready, then moves to the write queue.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::TcpStream;

use super::memory_handles::MemoryHandles;
use super::traffic::RequestTag;
use crate::arbiter::Ticket;

/// How much is read from the socket per `read` call.
pub const READ_CHUNK: usize = 64 * 1024;

/// A complete line taken from the read buffer, or a line that was too long.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Line(Vec<u8>),
    /// A line exceeded the limit; what was received of it has been dropped
    /// and the rest will be skipped up to its LF.
    TooLong,
}

/// Splits a byte stream at LF with a cap on line length, so a peer that
/// never sends LF costs at most `max_line` bytes of memory.
#[derive(Debug)]
pub struct LineFramer {
    buf: Vec<u8>,
    /// Where the next search for LF starts (everything before has none).
    scanned: usize,
    max_line: usize,
    discarding: bool,
}

impl LineFramer {
    pub fn new(max_line: usize) -> Self {
        LineFramer {
            buf: Vec::new(),
            scanned: 0,
            max_line,
            discarding: false,
        }
    }

    /// Reads once from `src` through `scratch` into the buffer; returns the
    /// byte count (0 at EOF) and whether the read came back short, i.e. the
    /// socket had no more data at that moment.
    pub fn read_from(
        &mut self,
        src: &mut impl Read,
        scratch: &mut [u8],
    ) -> io::Result<(usize, bool)> {
        // Read no further than the limit allows: a line of max_line bytes plus
        // its LF fits, anything longer is known too long before it is stored.
        let room = (self.max_line + 1).saturating_sub(self.buf.len()).max(1);
        let want = room.min(scratch.len());
        let n = src.read(&mut scratch[..want])?;
        self.buf.extend_from_slice(&scratch[..n]);
        Ok((n, n < want))
    }

    /// Takes the next frame out of the buffer, if a whole one is there.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            let lf = self.buf[self.scanned..].iter().position(|&b| b == b'\n');
            match lf {
                Some(offset) => {
                    let end = self.scanned + offset;
                    let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                    self.scanned = 0;
                    if std::mem::take(&mut self.discarding) {
                        continue;
                    }
                    line.pop();
                    return Some(Frame::Line(line));
                }
                None if self.discarding => {
                    self.drop_buffer();
                    return None;
                }
                None if self.buf.len() > self.max_line => {
                    self.drop_buffer();
                    self.discarding = true;
                    return Some(Frame::TooLong);
                }
                None => {
                    self.scanned = self.buf.len();
                    if self.buf.is_empty() && self.buf.capacity() > READ_CHUNK {
                        self.buf = Vec::new();
                    }
                    return None;
                }
            }
        }
    }

    fn drop_buffer(&mut self) {
        // Release the memory too: this is the path a hostile peer drives.
        self.buf = Vec::new();
        self.scanned = 0;
    }
}

/// A response slot: the ticket of a request and, once known, its encoded
/// response line.
#[derive(Debug)]
struct Slot {
    ticket: Ticket,
    request_id: i64,
    response: Option<Vec<u8>>,
    /// What this slot counts in `ResponseQueue::held`.
    held: usize,
    tag: Option<RequestTag>,
}

/// Responses in request order, then bytes waiting for the socket.
#[derive(Debug, Default)]
pub struct ResponseQueue {
    slots: VecDeque<Slot>,
    next_ticket: Ticket,
    out: Vec<u8>,
    written: usize,
    /// Memory the slots stand for: the estimate given to `reserve` until a
    /// response is encoded, then its length until it moves to `out`.
    held: usize,
}

impl ResponseQueue {
    /// Reserves the next slot for the request with wire id `request_id`
    /// and returns its ticket. `held_bytes` is what the request may hold
    /// in memory until its response is written (its data and its longest
    /// response), so that backpressure applies before large responses
    /// exist, not once they have piled up.
    pub fn reserve(&mut self, request_id: i64, held_bytes: usize) -> Ticket {
        self.reserve_tagged(request_id, held_bytes, None)
    }

    /// [`Self::reserve`], keeping `tag` for [`Self::fill`] to hand back.
    pub fn reserve_tagged(
        &mut self,
        request_id: i64,
        held_bytes: usize,
        tag: Option<RequestTag>,
    ) -> Ticket {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.slots.push_back(Slot {
            ticket,
            request_id,
            response: None,
            held: held_bytes,
            tag,
        });
        self.held = self.held.saturating_add(held_bytes);
        ticket
    }

    /// Fills a reserved slot; moves every ready response at the front to the
    /// write buffer. Unknown tickets (a slot already gone) are ignored.
    /// `encode` gets the buffer to append to and the request's wire id.
    /// Returns the tag the slot was reserved with, if `encode` ran.
    pub fn fill(
        &mut self,
        ticket: Ticket,
        encode: impl FnOnce(&mut Vec<u8>, i64),
    ) -> Option<RequestTag> {
        let front = self.slots.front()?;
        let index = ticket.checked_sub(front.ticket)?;
        let index = usize::try_from(index).ok()?;
        let tag = if index == 0 {
            // The common case: the oldest request; encode straight into `out`.
            let slot = self.slots.pop_front()?;
            self.held = self.held.saturating_sub(slot.held);
            encode(&mut self.out, slot.request_id);
            slot.tag
        } else {
            let slot = self.slots.get_mut(index)?;
            if slot.response.is_some() {
                return None;
            }
            let mut line = Vec::new();
            encode(&mut line, slot.request_id);
            self.held = self.held.saturating_sub(slot.held) + line.len();
            slot.held = line.len();
            slot.response = Some(line);
            return slot.tag;
        };
        while let Some(Slot {
            response: Some(_), ..
        }) = self.slots.front()
        {
            if let Some(Slot {
                response: Some(line),
                held,
                ..
            }) = self.slots.pop_front()
            {
                self.held = self.held.saturating_sub(held);
                self.out.extend_from_slice(&line);
            }
        }
        tag
    }

    /// Requests that have no response yet.
    pub fn pending(&self) -> usize {
        self.slots.len()
    }

    /// Bytes encoded but not yet accepted by the socket.
    pub fn unwritten(&self) -> usize {
        self.out.len() - self.written
    }

    /// Bytes unwritten plus those held for requests not yet in the write
    /// buffer: what a client that stops reading costs the server.
    pub fn queued_bytes(&self) -> usize {
        self.unwritten().saturating_add(self.held)
    }

    /// Writes as much as the socket takes. `Ok(())` also when it would block.
    pub fn write_to(&mut self, dst: &mut impl Write) -> io::Result<()> {
        while self.written < self.out.len() {
            match dst.write(&self.out[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.written == self.out.len() {
            self.out.clear();
            self.written = 0;
            if self.out.capacity() > 4 * READ_CHUNK {
                self.out = Vec::new();
            }
        }
        Ok(())
    }
}

/// Everything the event loop keeps for one client.
#[derive(Debug)]
pub struct Connection {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub framer: LineFramer,
    pub responses: ResponseQueue,
    pub said_hello: bool,
    /// The memory handles this client obtained; they die with it.
    pub memory_handles: MemoryHandles,
    /// The peer sent EOF: answer what is pending, then close.
    pub read_closed: bool,
    /// Reading stopped for backpressure; the loop must resume it itself,
    /// as input already waiting raises no new edge-triggered event.
    pub input_paused: bool,
    /// The interest currently registered with the poll.
    pub interest: Option<mio::Interest>,
    pub last_activity: std::time::Instant,
    pub connected_at: std::time::Instant,
}

impl Connection {
    pub fn new(stream: TcpStream, peer: SocketAddr, max_line: usize) -> Self {
        Connection {
            stream,
            peer,
            framer: LineFramer::new(max_line),
            responses: ResponseQueue::default(),
            said_hello: false,
            memory_handles: MemoryHandles::default(),
            read_closed: false,
            input_paused: false,
            interest: None,
            last_activity: std::time::Instant::now(),
            connected_at: std::time::Instant::now(),
        }
    }

    /// Whether everything asked has been answered and sent.
    pub fn is_drained(&self) -> bool {
        self.responses.pending() == 0 && self.responses.unwritten() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framer_with(max_line: usize, input: &[u8]) -> (LineFramer, Vec<Frame>) {
        let mut framer = LineFramer::new(max_line);
        let mut src = input;
        let mut frames = Vec::new();
        let mut scratch = vec![0; 7];
        while framer.read_from(&mut src, &mut scratch).unwrap().0 > 0 {
            while let Some(f) = framer.next_frame() {
                frames.push(f);
            }
        }
        (framer, frames)
    }

    #[test]
    fn lines_are_split_at_lf_across_reads() {
        let (_, frames) = framer_with(100, b"a\nbc\n\nd");
        assert_eq!(
            frames,
            vec![
                Frame::Line(b"a".to_vec()),
                Frame::Line(b"bc".to_vec()),
                Frame::Line(b"".to_vec())
            ]
        );
    }

    #[test]
    fn over_long_line_is_reported_once_and_skipped_to_its_lf() {
        let mut input = vec![b'x'; 50];
        input.extend_from_slice(b"\nok\n");
        let (framer, frames) = framer_with(10, &input);
        assert_eq!(frames, vec![Frame::TooLong, Frame::Line(b"ok".to_vec())]);
        assert!(framer.buf.capacity() <= 11 + READ_CHUNK);
    }

    #[test]
    fn line_of_exactly_the_limit_is_accepted() {
        let mut input = vec![b'y'; 10];
        input.push(b'\n');
        let (_, frames) = framer_with(10, &input);
        assert_eq!(frames, vec![Frame::Line(vec![b'y'; 10])]);
    }

    #[test]
    fn framer_never_buffers_more_than_the_limit() {
        let mut framer = LineFramer::new(1000);
        let mut src = std::io::repeat(b'z');
        let mut too_long = 0;
        let mut scratch = vec![0; READ_CHUNK];
        for _ in 0..100 {
            framer.read_from(&mut src, &mut scratch).unwrap();
            assert!(framer.buf.len() <= 1001);
            while let Some(f) = framer.next_frame() {
                assert_eq!(f, Frame::TooLong);
                too_long += 1;
            }
        }
        assert_eq!(too_long, 1);
    }

    #[test]
    fn responses_leave_in_ticket_order() {
        let mut q = ResponseQueue::default();
        let a = q.reserve(7, 0);
        let b = q.reserve(8, 0);
        let c = q.reserve(9, 0);
        q.fill(c, |o, id| {
            o.extend_from_slice(format!("c{id}\n").as_bytes())
        });
        q.fill(b, |o, id| {
            o.extend_from_slice(format!("b{id}\n").as_bytes())
        });
        assert_eq!(q.unwritten(), 0);
        q.fill(a, |o, id| {
            o.extend_from_slice(format!("a{id}\n").as_bytes())
        });
        let mut sink = Vec::new();
        q.write_to(&mut sink).unwrap();
        assert_eq!(sink, b"a7\nb8\nc9\n");
        assert_eq!(q.pending(), 0);
    }

    #[test]
    fn unknown_ticket_is_ignored() {
        let mut q = ResponseQueue::default();
        let a = q.reserve(1, 0);
        q.fill(a + 5, |o, _| o.extend_from_slice(b"x\n"));
        q.fill(a, |o, _| o.extend_from_slice(b"a\n"));
        q.fill(a, |o, _| o.extend_from_slice(b"again\n"));
        let mut sink = Vec::new();
        q.write_to(&mut sink).unwrap();
        assert_eq!(sink, b"a\n");
    }

    #[test]
    fn held_bytes_count_until_the_response_reaches_the_write_buffer() {
        let mut q = ResponseQueue::default();
        let a = q.reserve(1, 100);
        let b = q.reserve(2, 1000);
        assert_eq!(q.queued_bytes(), 1100);
        q.fill(b, |o, _| o.extend_from_slice(b"b\n"));
        assert_eq!(q.queued_bytes(), 102, "b's estimate gives way to its line");
        q.fill(a, |o, _| o.extend_from_slice(b"a\n"));
        assert_eq!(q.queued_bytes(), 4, "both lines wait for the socket");
        q.write_to(&mut Vec::new()).unwrap();
        assert_eq!(q.queued_bytes(), 0);
    }
}
