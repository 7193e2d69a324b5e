//! Reading JSON scalars from the exact text of an already-validated value.
//!
//! Arguments are decoded from their raw JSON text rather than through
//! serde's number visitors, because those cannot tell a float from an
//! integer too wide for 64 bits, and the error message should quote what the
//! client really sent. The text has passed serde_json's syntax check, so an
//! all-digit literal is a well-formed JSON integer.

use std::borrow::Cow;

/// The widest `swj_sequence` (and so the widest integer literal) we accept.
pub const MAX_SEQUENCE_BITS: usize = 256;
const MAX_SEQUENCE_BYTES: usize = MAX_SEQUENCE_BITS / 8;

/// Splits an integer literal into its sign and digits; `None` for anything
/// else (floats, strings, lists, ...).
fn integer_parts(text: &str) -> Option<(bool, &str)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let is_integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    is_integer.then_some((negative, digits))
}

fn digits_to_u64(digits: &str) -> Option<u64> {
    digits.bytes().try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// A non-negative integer that fits 64 bits. `-0` is 0, as Python reads it.
pub fn unsigned(text: &str) -> Option<u64> {
    let (negative, digits) = integer_parts(text)?;
    let value = digits_to_u64(digits)?;
    (!negative || value == 0).then_some(value)
}

/// An integer that fits a signed 64-bit value.
pub fn signed(text: &str) -> Option<i64> {
    let (negative, digits) = integer_parts(text)?;
    let magnitude = digits_to_u64(digits)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// A non-negative integer of at most [`MAX_SEQUENCE_BITS`] bits, as
/// little-endian bytes. Big literals are how pyOCD sends SWJ sequences (the
/// dormant wake-up is one 136-bit integer).
pub fn unsigned_wide(text: &str) -> Option<[u8; MAX_SEQUENCE_BYTES]> {
    let (negative, digits) = integer_parts(text)?;
    let mut bytes = [0u8; MAX_SEQUENCE_BYTES];
    for digit in digits.bytes() {
        // bytes = bytes * 10 + digit, carrying from the least significant byte.
        let mut carry = u32::from(digit - b'0');
        for byte in bytes.iter_mut() {
            let wide = u32::from(*byte) * 10 + carry;
            *byte = (wide & 0xff) as u8;
            carry = wide >> 8;
        }
        if carry != 0 {
            return None;
        }
    }
    (!negative || bytes.iter().all(|&b| b == 0)).then_some(bytes)
}

/// A boolean. Python's `bool` is an `int`, and pyOCD's own target code calls
/// `assert_reset(1)`, so the integers 0 and 1 are booleans too.
pub fn boolean(text: &str) -> Option<bool> {
    match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => match unsigned(text)? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        },
    }
}

/// The contents of a JSON string, borrowed unless it has escapes.
pub fn string(text: &str) -> Option<Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        // Validated JSON: without escapes the contents are the string itself.
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

/// The raw text for an error message: long values (a megabyte data list)
/// are cut short, on a character boundary.
pub fn shown(text: &str) -> Cow<'_, str> {
    const MAX_SHOWN_CHARS: usize = 40;
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((cut, _)) => Cow::Owned(format!("{}...", &text[..cut])),
        None => Cow::Borrowed(text),
    }
}
