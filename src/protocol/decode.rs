//! Splitting a request line into id, request name and raw arguments.
//!
//! One pass over the line keeps each field as a borrowed `RawValue` (the
//! argument list as up to [`MAX_ARITY`] of them) and validates the JSON; a
//! second pass per argument decodes it into its target type. Nothing builds
//! a `serde_json::Value` tree, and a megabyte data list is only allocated as
//! its final `Vec`.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

use super::args::Args;
use super::commands::{find_request, MAX_ARITY};
use super::literal::{self, shown};
use super::{DecodeLimits, Request, RequestError};

const INVALID_FORMAT: &str = "invalid request format";
const MISSING_ID: &str = "missing request ID";
const MISSING_REQUEST: &str = "missing request field";
const INVALID_ARGUMENTS_FORMAT: &str = "invalid request arguments format";
const UNKNOWN_REQUEST: &str = "unknown request type";
const WRONG_ARGUMENT_COUNT: &str = "malformed request; invalid number of arguments";

/// The id answered when the request's own is missing or unusable.
const UNKNOWN_ID: i64 = -1;

/// Decodes one request line (with or without its LF). Checks run in the
/// order pyOCD's server runs them, so the same bad line gets the same
/// message.
pub fn decode_request(line: &[u8], limits: &DecodeLimits) -> Result<Request, RequestError> {
    let fail = |id: i64, message: String| RequestError { id, message };
    let text = std::str::from_utf8(line).map_err(|_| fail(UNKNOWN_ID, INVALID_FORMAT.into()))?;
    let envelope: Envelope =
        serde_json::from_str(text).map_err(|_| fail(UNKNOWN_ID, INVALID_FORMAT.into()))?;

    let id_text = envelope
        .id
        .ok_or_else(|| fail(UNKNOWN_ID, MISSING_ID.into()))?
        .get();
    let id = literal::signed(id_text).ok_or_else(|| {
        let message = format!(
            "invalid request field 'id': expected a signed 64-bit integer, got {}",
            shown(id_text)
        );
        fail(UNKNOWN_ID, message)
    })?;

    let request = envelope
        .request
        .ok_or_else(|| fail(id, MISSING_REQUEST.into()))?;
    let arguments = match envelope.arguments {
        None => ArgumentList::default(),
        Some(Arguments::List(list)) => list,
        Some(Arguments::NotAList) => return Err(fail(id, INVALID_ARGUMENTS_FORMAT.into())),
    };
    let kind = literal::string(request.get())
        .and_then(|name| find_request(&name))
        .ok_or_else(|| fail(id, UNKNOWN_REQUEST.into()))?;
    if arguments.count != kind.params.len() {
        return Err(fail(id, WRONG_ARGUMENT_COUNT.into()));
    }

    let args = Args {
        request: kind.name,
        params: kind.params,
        values: arguments.values(),
        max_block_elements: limits.max_block_elements,
    };
    let command = (kind.build)(&args).map_err(|message| fail(id, message))?;
    Ok(Request { id, command })
}

/// The top-level object, each field kept as raw JSON.
struct Envelope<'a> {
    id: Option<&'a RawValue>,
    request: Option<&'a RawValue>,
    arguments: Option<Arguments<'a>>,
}

impl<'de> Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // deserialize_map, not a derived struct: a derive would also accept
        // a JSON array as the object.
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Envelope<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
        let mut envelope = Envelope {
            id: None,
            request: None,
            arguments: None,
        };
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Id => envelope.id = Some(map.next_value()?),
                Key::Request => envelope.request = Some(map.next_value()?),
                Key::Arguments => envelope.arguments = Some(map.next_value()?),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(envelope)
    }
}

/// A top-level key. Read through `visit_str`, so an escaped key
/// (`"\u0069d"`) is still `id`, as it is to Python.
enum Key {
    Id,
    Request,
    Arguments,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "id" => Key::Id,
            "request" => Key::Request,
            "arguments" => Key::Arguments,
            _ => Key::Other,
        })
    }
}

/// The `arguments` field: a list, or anything else (refused later, once
/// the id is known).
enum Arguments<'a> {
    List(ArgumentList<'a>),
    NotAList,
}

/// The first [`MAX_ARITY`] arguments as raw JSON, plus how many there were.
/// Elements past the largest arity are counted and skipped, not kept.
struct ArgumentList<'a> {
    raw: [&'a RawValue; MAX_ARITY],
    count: usize,
}

impl Default for ArgumentList<'_> {
    fn default() -> Self {
        ArgumentList {
            raw: [RawValue::NULL; MAX_ARITY],
            count: 0,
        }
    }
}

impl<'a> ArgumentList<'a> {
    fn values(&self) -> &[&'a RawValue] {
        self.raw.get(..self.count).unwrap_or(&[])
    }
}

impl<'de> Deserialize<'de> for Arguments<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ArgumentsVisitor)
    }
}

struct ArgumentsVisitor;

impl<'de> Visitor<'de> for ArgumentsVisitor {
    type Value = Arguments<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Arguments<'de>, A::Error> {
        let mut list = ArgumentList::default();
        loop {
            let more = match list.raw.get_mut(list.count) {
                Some(slot) => seq.next_element::<&'de RawValue>()?.map(|raw| *slot = raw),
                None => seq.next_element::<IgnoredAny>()?.map(|_| ()),
            };
            if more.is_none() {
                return Ok(Arguments::List(list));
            }
            list.count += 1;
        }
    }

    // With serde_json's arbitrary_precision a number arrives as a map.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Arguments<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Arguments::NotAList)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Arguments<'de>, E> {
        Ok(Arguments::NotAList)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Arguments<'de>, E> {
        Ok(Arguments::NotAList)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Arguments<'de>, E> {
        Ok(Arguments::NotAList)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Arguments<'de>, E> {
        Ok(Arguments::NotAList)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Arguments<'de>, E> {
        Ok(Arguments::NotAList)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Arguments<'de>, E> {
        Ok(Arguments::NotAList)
    }
}
