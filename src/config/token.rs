//! The management interface's bearer token (`[management] token` or
//! `token_file`): a secret that is never shown (its `Debug` and `config
//! check` hide it) and is compared in constant time, so the time an
//! answer takes tells a guesser nothing about how much of a guess was
//! right. The comparison is `subtle`'s `ConstantTimeEq`; it returns early
//! only on a length mismatch, which gives away the length alone.

use std::fmt;
use std::path::Path;

use subtle::ConstantTimeEq;

/// Fewer characters than this are too easy to guess for a token that
/// guards the farm.
pub const MIN_TOKEN_LENGTH: usize = 16;

/// A bearer token, as RFC 6750 allows it: letters, digits and
/// `-._~+/`, then optional `=` padding.
#[derive(Clone)]
pub struct BearerToken(Vec<u8>);

impl BearerToken {
    /// Checks `text` as a token; the problem otherwise, without the text
    /// (it may be a secret with a typo).
    pub fn parse(text: &str) -> Result<BearerToken, String> {
        let body = text.trim_end_matches('=');
        let valid = !body.is_empty()
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
        if !valid {
            return Err("is not a bearer token: use letters, digits and -._~+/ \
                        (no spaces), then optional = padding"
                .into());
        }
        if text.len() < MIN_TOKEN_LENGTH {
            return Err(format!(
                "is {} characters long; use at least {MIN_TOKEN_LENGTH} \
                 (`openssl rand -hex 32` makes a good one)",
                text.len()
            ));
        }
        Ok(BearerToken(text.as_bytes().to_vec()))
    }

    /// Reads the token from `path`: the file's text without its trailing
    /// line break or spaces.
    pub fn read(path: &Path) -> Result<BearerToken, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot be read: {e}"))?;
        BearerToken::parse(text.trim_end())
    }

    /// The `Authorization` header's value that presents this token, for a
    /// client of the management interface.
    pub fn authorization(&self) -> String {
        format!("Bearer {}", String::from_utf8_lossy(&self.0))
    }

    /// Whether `presented` is this token, in time that depends on
    /// `presented`'s length only.
    pub fn matches(&self, presented: &[u8]) -> bool {
        self.0.ct_eq(presented).into()
    }
}

impl PartialEq for BearerToken {
    fn eq(&self, other: &BearerToken) -> bool {
        self.matches(&other.0)
    }
}

impl Eq for BearerToken {}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(hidden)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn only_the_very_token_matches() {
        let token = BearerToken::parse(TOKEN).expect("a token");
        assert!(token.matches(TOKEN.as_bytes()));
        let mut last_wrong = TOKEN.as_bytes().to_vec();
        *last_wrong.last_mut().unwrap() ^= 1;
        assert!(!token.matches(&last_wrong));
        assert!(!token.matches(&TOKEN.as_bytes()[..TOKEN.len() - 1]));
        assert!(!token.matches(format!("{TOKEN}0").as_bytes()));
        assert!(!token.matches(b""));
    }

    #[test]
    fn a_short_or_malformed_token_is_refused_without_being_echoed() {
        let short = BearerToken::parse("abc123").unwrap_err();
        assert!(short.contains("at least 16"), "{short}");
        for bad in [
            "",
            "has a space in it 0123456789",
            "quote\"0123456789abcdef",
        ] {
            let problem = BearerToken::parse(bad).unwrap_err();
            assert!(problem.contains("not a bearer token"), "{problem}");
            assert!(bad.is_empty() || !problem.contains(bad), "{problem}");
        }
        assert!(BearerToken::parse("AbC-._~+/0123456789==").is_ok());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = BearerToken::parse(TOKEN).unwrap();
        assert!(!format!("{token:?}").contains(TOKEN));
    }

    #[test]
    fn a_token_file_is_read_without_its_line_break() {
        let path = std::env::temp_dir().join(format!("probeshare-token-{}", std::process::id()));
        std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
        let token = BearerToken::read(&path).expect("read");
        std::fs::remove_file(&path).unwrap();
        assert!(token.matches(TOKEN.as_bytes()));
        let missing = BearerToken::read(&path).unwrap_err();
        assert!(missing.starts_with("cannot be read"), "{missing}");
    }
}
