//! Reading a command's fields off the packet bytes, where running out of
//! bytes is an answer (`None`: the command is malformed), never a panic.

/// The unread rest of one command's bytes; multi-byte fields are
/// little-endian, as everywhere in CMSIS-DAP.
pub(super) struct Cursor<'a> {
    bytes: &'a [u8],
    consumed: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, consumed: 0 }
    }

    /// How many bytes the fields read so far took.
    pub(super) fn consumed(&self) -> usize {
        self.consumed
    }

    pub(super) fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        if len > self.bytes.len() {
            return None;
        }
        let (field, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        self.consumed += len;
        Some(field)
    }

    pub(super) fn u8(&mut self) -> Option<u8> {
        self.array().map(u8::from_le_bytes)
    }

    pub(super) fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    pub(super) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|field| field.try_into().ok())
    }
}
