//! LF framing of pyOCD's JSON lines, with a hard cap on line length.
//!
//! A peer that never sends LF costs at most `max_line` bytes: reading
//! stops at the limit, the line is reported too long once, and the rest of
//! it is skipped up to its LF.

use std::io::{self, Read};

use crate::server::front_end::READ_CHUNK;

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
}
