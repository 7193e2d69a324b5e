//! Typed reading of one request's arguments, each from its raw JSON text.
//!
//! Every failure is a complete status-1 message naming the argument and the
//! request: `invalid argument 'addr' of read_dp: expected an unsigned 32-bit
//! integer, got -1`.

use serde_json::value::RawValue;

use super::literal::{self, shown};

/// The arguments of one request whose count has already been checked;
/// `params` names them for error messages, by position.
pub struct Args<'a> {
    pub request: &'static str,
    pub params: &'static [&'static str],
    pub values: &'a [&'a RawValue],
    pub max_block_elements: usize,
}

/// A problem with one argument, before it is dressed with names.
pub type Problem = String;

pub fn expected(what: &str, text: &str) -> Problem {
    format!("expected {what}, got {}", shown(text))
}

impl<'a> Args<'a> {
    /// The full status-1 message for a problem with argument `index`.
    pub fn invalid(&self, index: usize, problem: Problem) -> String {
        let name = self.params.get(index).copied().unwrap_or("?");
        format!("invalid argument '{name}' of {}: {problem}", self.request)
    }

    /// Parses argument `index` with `parse`. A missing argument (impossible
    /// after the count check) is reported rather than indexed.
    pub fn read<T>(
        &self,
        index: usize,
        parse: impl FnOnce(&'a str) -> Result<T, Problem>,
    ) -> Result<T, String> {
        match self.values.get(index) {
            Some(raw) => parse(raw.get()).map_err(|problem| self.invalid(index, problem)),
            None => Err(self.invalid(index, "missing".to_string())),
        }
    }

    pub fn u32(&self, index: usize) -> Result<u32, String> {
        self.read(index, parse_u32)
    }

    pub fn u64(&self, index: usize) -> Result<u64, String> {
        self.read(index, |text| {
            literal::unsigned(text).ok_or_else(|| expected("an unsigned 64-bit integer", text))
        })
    }

    pub fn i64(&self, index: usize) -> Result<i64, String> {
        self.read(index, |text| {
            literal::signed(text).ok_or_else(|| expected("a signed 64-bit integer", text))
        })
    }

    /// An integer in `min..=max`.
    pub fn ranged(&self, index: usize, min: u64, max: u64) -> Result<u64, String> {
        self.read(index, |text| parse_ranged(text, min, max))
    }

    pub fn boolean(&self, index: usize) -> Result<bool, String> {
        self.read(index, |text| {
            literal::boolean(text).ok_or_else(|| expected("a boolean", text))
        })
    }

    pub fn string(&self, index: usize) -> Result<String, String> {
        self.read(index, |text| {
            literal::string(text)
                .map(|s| s.into_owned())
                .ok_or_else(|| expected("a string", text))
        })
    }

    /// An element count for a block request, bounded by the decode limit.
    pub fn count(&self, index: usize) -> Result<u32, String> {
        let limit = self.max_block_elements;
        self.read(index, |text| {
            let count = parse_u32(text)?;
            if usize::try_from(count).map_or(true, |c| c > limit) {
                return Err(format!("{count} exceeds the limit of {limit} elements"));
            }
            Ok(count)
        })
    }

    /// A list whose elements each parse with `element`, at most the decode
    /// limit long. Elements are read one at a time from the text, so a
    /// megabyte of data costs no allocation beyond the result.
    pub fn list<T>(
        &self,
        index: usize,
        mut element: impl FnMut(&'a str) -> Result<T, Problem>,
    ) -> Result<Vec<T>, String> {
        let limit = self.max_block_elements;
        self.read(index, |text| {
            let mut items = Vec::new();
            for_each_element(text, limit, |position, item| {
                let value = element(item).map_err(|p| format!("element {position}: {p}"))?;
                items.push(value);
                Ok(())
            })?;
            Ok(items)
        })
    }
}

pub fn parse_u32(text: &str) -> Result<u32, Problem> {
    literal::unsigned(text)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| expected("an unsigned 32-bit integer", text))
}

pub fn parse_u8(text: &str) -> Result<u8, Problem> {
    literal::unsigned(text)
        .and_then(|v| u8::try_from(v).ok())
        .ok_or_else(|| expected("an integer from 0 to 255", text))
}

pub fn parse_ranged(text: &str, min: u64, max: u64) -> Result<u64, Problem> {
    literal::unsigned(text)
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| expected(&format!("an integer from {min} to {max}"), text))
}

/// Calls `each` with the position and raw text of every element of the JSON
/// list `text`, stopping at the first problem or after `limit` elements.
pub fn for_each_element<'a>(
    text: &'a str,
    limit: usize,
    mut each: impl FnMut(usize, &'a str) -> Result<(), Problem>,
) -> Result<(), Problem> {
    // A raw value has no surrounding whitespace, so a list is `[...]`.
    let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
        return Err(expected("a list", text));
    };
    for (position, element) in ListElements::new(inner).enumerate() {
        if position == limit {
            return Err(format!("more than {limit} elements"));
        }
        each(position, element)?;
    }
    Ok(())
}

/// The elements of a list's inside, split at its top-level commas.
///
/// A plain byte scan instead of a second JSON parse: the text was validated
/// as JSON when the request was split, so only strings and nesting need
/// tracking, and a megabyte data list splits at memory speed.
struct ListElements<'a> {
    rest: Option<&'a str>,
}

impl<'a> ListElements<'a> {
    fn new(inner: &'a str) -> Self {
        let is_empty = trim_json_whitespace(inner).is_empty();
        ListElements {
            rest: (!is_empty).then_some(inner),
        }
    }
}

impl<'a> Iterator for ListElements<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        for (index, byte) in rest.bytes().enumerate() {
            if in_string {
                match byte {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' => depth = depth.saturating_sub(1),
                // An ASCII comma is a char boundary, so both slices are sound.
                b',' if depth == 0 => {
                    self.rest = rest.get(index + 1..);
                    return rest.get(..index).map(trim_json_whitespace);
                }
                _ => {}
            }
        }
        self.rest = None;
        Some(trim_json_whitespace(rest))
    }
}

fn trim_json_whitespace(text: &str) -> &str {
    // Byte positions of ASCII whitespace are char boundaries.
    let is_space = |byte: u8| matches!(byte, b' ' | b'\t' | b'\n' | b'\r');
    let start = text
        .bytes()
        .position(|b| !is_space(b))
        .unwrap_or(text.len());
    let end = text
        .bytes()
        .rposition(|b| !is_space(b))
        .map_or(start, |last| last + 1);
    text.get(start..end).unwrap_or("")
}
