//! One connection's answers: a slot per request in arrival order, then the
//! bytes waiting for the socket.
//!
//! Requests are answered in the order they arrived even though some are
//! answered at once (by the front end) and others only when the probe
//! worker is done. Every request gets a ticket; a response waits in its slot
//! until every earlier one is ready, then moves to the write buffer. A slot
//! is filled once: a second answer for the same ticket, or one for a ticket
//! never given, is ignored, so a front end's encoder runs at most once per
//! request.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::time::Instant;

use super::front_end::READ_CHUNK;
use crate::ids::Ticket;

/// A request's name and arrival, kept with its response slot until it is
/// answered, for the metrics.
#[derive(Clone, Copy, Debug)]
pub struct RequestTag {
    pub name: &'static str,
    pub framed_at: Instant,
}

/// A response slot: the ticket of a request and, once known, its encoded
/// response.
#[derive(Debug)]
struct Slot {
    ticket: Ticket,
    /// The front end's key for the request (pyOCD: its wire id).
    key: i64,
    response: Option<Vec<u8>>,
    /// What this slot counts in `ResponseQueue::held`.
    held: usize,
    tag: RequestTag,
}

/// Responses in request order, then bytes waiting for the socket.
#[derive(Debug, Default)]
pub struct ResponseQueue {
    slots: VecDeque<Slot>,
    /// The number of the next ticket: tickets count up from 0.
    next_ticket: u64,
    out: Vec<u8>,
    written: usize,
    /// Memory the slots stand for: the estimate given to `reserve` until a
    /// response is encoded, then its length until it moves to `out`.
    held: usize,
}

impl ResponseQueue {
    /// Reserves the next slot for the request the front end knows by `key`
    /// and returns its ticket. `held_bytes` is what the request may hold
    /// in memory until its response is written (its data and its longest
    /// response), so that backpressure applies before large responses
    /// exist, not once they have piled up. `tag` comes back from
    /// [`Self::fill`].
    pub fn reserve(&mut self, key: i64, held_bytes: usize, tag: RequestTag) -> Ticket {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        self.slots.push_back(Slot {
            ticket,
            key,
            response: None,
            held: held_bytes,
            tag,
        });
        self.held = self.held.saturating_add(held_bytes);
        ticket
    }

    /// Fills a reserved slot; moves every ready response at the front to the
    /// write buffer. Unknown tickets (a slot already filled or gone) are
    /// ignored. `encode` gets the buffer to append to and the request's key.
    /// Returns the slot's tag and what `encode` returned, if it ran.
    pub fn fill<R>(
        &mut self,
        ticket: Ticket,
        encode: impl FnOnce(&mut Vec<u8>, i64) -> R,
    ) -> Option<(RequestTag, R)> {
        let front = self.slots.front()?;
        let index = ticket.0.checked_sub(front.ticket.0)?;
        let index = usize::try_from(index).ok()?;
        let filled = if index == 0 {
            // The common case: the oldest request; encode straight into `out`.
            let slot = self.slots.pop_front()?;
            self.held = self.held.saturating_sub(slot.held);
            (slot.tag, encode(&mut self.out, slot.key))
        } else {
            let slot = self.slots.get_mut(index)?;
            if slot.response.is_some() {
                return None;
            }
            let mut line = Vec::new();
            let encoded = encode(&mut line, slot.key);
            self.held = self.held.saturating_sub(slot.held) + line.len();
            slot.held = line.len();
            slot.response = Some(line);
            return Some((slot.tag, encoded));
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
        Some(filled)
    }

    /// The tickets of the requests that have no response yet, oldest first.
    pub fn unanswered(&self) -> Vec<Ticket> {
        self.slots
            .iter()
            .filter(|slot| slot.response.is_none())
            .map(|slot| slot.ticket)
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reserve(q: &mut ResponseQueue, key: i64, held_bytes: usize) -> Ticket {
        let tag = RequestTag {
            name: "test",
            framed_at: Instant::now(),
        };
        q.reserve(key, held_bytes, tag)
    }

    #[test]
    fn responses_leave_in_ticket_order() {
        let mut q = ResponseQueue::default();
        let a = reserve(&mut q, 7, 0);
        let b = reserve(&mut q, 8, 0);
        let c = reserve(&mut q, 9, 0);
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
        let a = reserve(&mut q, 1, 0);
        q.fill(Ticket(a.0 + 5), |o, _| o.extend_from_slice(b"x\n"));
        q.fill(a, |o, _| o.extend_from_slice(b"a\n"));
        q.fill(a, |o, _| o.extend_from_slice(b"again\n"));
        let mut sink = Vec::new();
        q.write_to(&mut sink).unwrap();
        assert_eq!(sink, b"a\n");
    }

    #[test]
    fn held_bytes_count_until_the_response_reaches_the_write_buffer() {
        let mut q = ResponseQueue::default();
        let a = reserve(&mut q, 1, 100);
        let b = reserve(&mut q, 2, 1000);
        assert_eq!(q.queued_bytes(), 1100);
        q.fill(b, |o, _| o.extend_from_slice(b"b\n"));
        assert_eq!(q.queued_bytes(), 102, "b's estimate gives way to its line");
        q.fill(a, |o, _| o.extend_from_slice(b"a\n"));
        assert_eq!(q.queued_bytes(), 4, "both lines wait for the socket");
        q.write_to(&mut Vec::new()).unwrap();
        assert_eq!(q.queued_bytes(), 0);
    }
}
