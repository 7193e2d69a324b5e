//! How a block is cut into runs of transfers: at auto-increment page
//! boundaries (one TAR write each), and, for a byte block, into the bytes
//! before the first word boundary, whole words, and the bytes after.

/// A byte block's parts: bytes before the first word boundary, whole
/// words, bytes after the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ByteBlock {
    pub(super) head: u32,
    pub(super) words: u32,
    pub(super) tail: u32,
}

impl ByteBlock {
    pub(super) fn split(addr: u32, count: u32) -> ByteBlock {
        let head = ((4 - (addr & 3)) & 3).min(count);
        let words = (count - head) / 4;
        let tail = count - head - words * 4;
        ByteBlock { head, words, tail }
    }

    pub(super) fn middle_start(self, addr: u32) -> u32 {
        addr.wrapping_add(self.head)
    }

    pub(super) fn tail_start(self, addr: u32) -> u32 {
        self.middle_start(addr)
            .wrapping_add(self.words.wrapping_mul(4))
    }
}

/// Splits `bytes` bytes from `addr` at multiples of `page`: each piece is
/// one TAR write and one run of transfers. The caller
/// has checked that the range ends within the 32-bit address space.
pub(super) fn pages(addr: u32, bytes: u64, page: u32) -> impl Iterator<Item = (u32, u32)> {
    let mut at = u64::from(addr);
    let end = at + bytes;
    let page = u64::from(page.max(1));
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let page_end = (at / page + 1) * page;
        let piece = page_end.min(end) - at;
        let start = at as u32;
        at += piece;
        Some((start, piece as u32))
    })
}
