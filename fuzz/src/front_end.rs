//! A front end driven as the server's loop drives one connection
//! (`server/connection.rs`): reads of varying sizes, every whole request
//! taken after each read, a ticket per request from the connection's
//! `ResponseQueue`, local answers filled at once, arbitrated ones when the
//! arbiter replies, and the worker running batches in between. What is
//! recorded lets a target check each answer against its request.

use std::collections::HashMap;
use std::io::Read;
use std::time::Instant;

use probeshare::ids::{ClientId, Ticket};
use probeshare::server::fuzzing::{
    AnswerStatus, FrontEnd, ProbeView, RequestTag, ResponseQueue, Route, READ_CHUNK,
};

use crate::bench::{ProbeBench, Reply};
use crate::input::Prng;

/// The one client of the front-end targets.
pub const CLIENT: ClientId = ClientId(1);

/// One request as the front end routed it, and its answer.
#[derive(Debug)]
pub struct Exchange {
    pub key: i64,
    pub name: &'static str,
    /// Whether the front end answered it itself (`Answer` or `Reject`).
    pub local: bool,
    /// Its answer's bytes and status, once answered.
    pub answer: Option<(Vec<u8>, AnswerStatus)>,
}

/// What a connection did, in request order, and the bytes it wrote.
#[derive(Debug, Default)]
pub struct Transcript {
    pub exchanges: Vec<Exchange>,
    pub written: Vec<u8>,
}

/// A byte stream that hands out at most a chosen number of bytes per read.
struct Chunked<'a> {
    rest: &'a [u8],
    prng: Prng,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Mostly small reads, sometimes whole buffers.
        let limit = match self.prng.below(4) {
            0 => buf.len(),
            _ => 1 + self.prng.below(64) as usize,
        };
        let n = limit.min(buf.len()).min(self.rest.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Ok(n)
    }
}

/// Feeds `stream` to `front_end` and answers everything; returns the
/// transcript. Panics where the loop's guarantees (one answer per
/// request, in order) would break.
pub fn serve(
    front_end: &mut dyn FrontEnd,
    bench: &mut ProbeBench,
    stream: &[u8],
    prng: Prng,
) -> Transcript {
    let info = bench.info();
    let mut schedule = prng.clone();
    let mut socket = Chunked { rest: stream, prng };
    let mut scratch = vec![0; READ_CHUNK];
    let mut queue = ResponseQueue::default();
    let mut transcript = Transcript::default();
    let mut index_of: HashMap<Ticket, usize> = HashMap::new();
    let mut replies = Vec::new();
    bench.arbiter.add_client(CLIENT);
    loop {
        let (n, _short) = front_end
            .read_from(&mut socket, &mut scratch)
            .expect("reading from a slice cannot fail");
        loop {
            let mut view = ProbeView::new(CLIENT, &info, &mut bench.arbiter);
            let Some(incoming) = front_end.next_request(&mut view) else {
                break;
            };
            let tag = RequestTag {
                name: incoming.name,
                framed_at: Instant::now(),
            };
            let ticket = queue.reserve(incoming.key, incoming.held, tag);
            index_of.insert(ticket, transcript.exchanges.len());
            transcript.exchanges.push(Exchange {
                key: incoming.key,
                name: incoming.name,
                local: !matches!(incoming.route, Route::Arbitrate(_)),
                answer: None,
            });
            match incoming.route {
                // A session's `stop` and `subscribe` are answered by the
                // loop as encoded (what follows a subscribe is the loop's
                // business, not the front end's).
                Route::Answer(encoded)
                | Route::Reject(encoded)
                | Route::EndSession(encoded)
                | Route::Subscribe {
                    answer: encoded, ..
                } => {
                    let filled = queue.fill(ticket, |out, _key| {
                        out.extend_from_slice(&encoded.bytes);
                    });
                    assert!(filled.is_some(), "a fresh ticket's slot refused its answer");
                    transcript.exchanges[index_of[&ticket]].answer =
                        Some((encoded.bytes, encoded.status));
                }
                Route::Arbitrate(request) => bench.arbiter.submit(CLIENT, ticket, request),
            }
        }
        // The end of the loop's turn: the arbiter decides, and the worker
        // may or may not have finished some batches by the next one.
        bench.poll(&mut replies);
        for _ in 0..schedule.below(3) {
            bench.run_batch();
        }
        answer(
            front_end,
            &mut queue,
            &mut transcript,
            &index_of,
            &mut replies,
        );
        if n == 0 {
            break;
        }
    }
    bench.settle(&mut replies);
    answer(
        front_end,
        &mut queue,
        &mut transcript,
        &index_of,
        &mut replies,
    );
    assert_eq!(
        queue.pending(),
        0,
        "requests left unanswered after the stream ended and the probe settled"
    );
    queue
        .write_to(&mut transcript.written)
        .expect("writing to a Vec cannot fail");
    bench.arbiter.remove_client(CLIENT);
    bench.settle(&mut replies);
    assert!(
        replies.is_empty(),
        "replies to a client that left: {replies:?}"
    );
    transcript
}

/// Encodes the arbiter's replies into their slots.
fn answer(
    front_end: &mut dyn FrontEnd,
    queue: &mut ResponseQueue,
    transcript: &mut Transcript,
    index_of: &HashMap<Ticket, usize>,
    replies: &mut Vec<Reply>,
) {
    for reply in replies.drain(..) {
        assert_eq!(reply.client, CLIENT, "a reply to a client that never was");
        let index = *index_of
            .get(&reply.ticket)
            .unwrap_or_else(|| panic!("a reply to ticket {} never given", reply.ticket.0));
        let exchange = &mut transcript.exchanges[index];
        assert!(!exchange.local, "the arbiter answered a local request");
        assert!(
            exchange.answer.is_none(),
            "ticket {} answered twice",
            reply.ticket.0
        );
        let filled = queue.fill(reply.ticket, |out, key| {
            let start = out.len();
            let status = front_end.encode(out, key, reply.outcome);
            (out[start..].to_vec(), status)
        });
        let Some((_, answer)) = filled else {
            panic!("the slot of ticket {} refused its answer", reply.ticket.0);
        };
        exchange.answer = Some(answer);
    }
}
