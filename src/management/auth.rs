//! Who may change the farm through the management interface.
//!
//! Reading (GET and HEAD: `/probes`, `/metrics`, a probe's `clients`, ...)
//! needs only an address the allow-list permits. Any other method is a
//! change (kick, disable, enable, unplug, replug, and whatever route is
//! added later: a route that changes anything must not be a GET), and
//! when a token is configured it needs `Authorization: Bearer TOKEN` too,
//! on every address, loopback included; without one it is answered 401
//! with `WWW-Authenticate: Bearer`, before any route is looked at. The
//! check is made on the method, in one place ([`Access::refusal`]), so no
//! route can forget it.
//!
//! Without a token, changes are open to whoever the allow-list lets in,
//! which is safe only where nobody else can reach the interface: the
//! server refuses to listen on anything but loopback without a token
//! unless told `allow_unauthenticated` ([`Access::check_listen`]).

use std::io;
use std::net::SocketAddr;

use tiny_http::{Header, Method};

use super::routes::Answer;
use crate::config::{BearerToken, Management};

/// The realm named in `WWW-Authenticate`.
const REALM: &str = "probeshare";

/// What the management interface asks of requests that change anything.
#[derive(Clone, Debug, Default)]
pub struct Access {
    token: Option<BearerToken>,
    allow_unauthenticated: bool,
}

impl Access {
    /// As `[management]` says.
    pub fn from_config(management: &Management) -> Access {
        Access {
            token: management.token.clone(),
            allow_unauthenticated: management.allow_unauthenticated,
        }
    }

    /// Changes need `token`.
    pub fn with_token(token: BearerToken) -> Access {
        Access {
            token: Some(token),
            allow_unauthenticated: false,
        }
    }

    /// No token, even on an address other machines reach.
    pub fn unauthenticated() -> Access {
        Access {
            token: None,
            allow_unauthenticated: true,
        }
    }

    /// Refuses `listen` if other machines can reach it while changes
    /// would need no token (and that was not allowed explicitly).
    pub fn check_listen(&self, listen: SocketAddr) -> io::Result<()> {
        if listen.ip().is_loopback() || self.token.is_some() || self.allow_unauthenticated {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "refusing to serve the management interface on {listen} without a token: \
                 other machines can reach it (set [management] token or token_file, or \
                 allow_unauthenticated = true)"
            ),
        ))
    }

    /// `None` if a request with `method` and `headers` may go on to its
    /// route; else its 401 answer.
    pub fn refusal(&self, method: &Method, headers: &[Header]) -> Option<Answer> {
        let token = self.token.as_ref()?;
        if !changes_anything(method) {
            return None;
        }
        let presented = headers
            .iter()
            .filter(|header| header.field.equiv("Authorization"))
            .find_map(|header| bearer_credentials(header.value.as_str()));
        match presented {
            None => Some(Answer::unauthorized(
                "this request changes the farm: send Authorization: Bearer TOKEN",
                format!("Bearer realm=\"{REALM}\""),
            )),
            Some(presented) if token.matches(presented.as_bytes()) => None,
            Some(_) => Some(Answer::unauthorized(
                "the bearer token is wrong",
                format!("Bearer realm=\"{REALM}\", error=\"invalid_token\""),
            )),
        }
    }
}

/// Whether a request with `method` may change something: everything but
/// GET and HEAD.
pub fn changes_anything(method: &Method) -> bool {
    !matches!(method, Method::Get | Method::Head)
}

/// The credentials of an `Authorization: Bearer ...` value (the scheme's
/// case does not matter), or `None` for another scheme.
fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "s3cret-token-0123456789";

    fn access() -> Access {
        Access::with_token(BearerToken::parse(TOKEN).expect("a token"))
    }

    fn authorization(value: &str) -> Vec<Header> {
        vec![Header::from_bytes("authorization", value).expect("a header")]
    }

    #[test]
    fn reading_needs_no_token_and_changing_needs_the_right_one() {
        let access = access();
        assert!(access.refusal(&Method::Get, &[]).is_none());
        assert!(access.refusal(&Method::Head, &[]).is_none());
        for method in [Method::Post, Method::Delete, Method::Put, Method::Patch] {
            assert!(access.refusal(&method, &[]).is_some(), "{method} without");
        }
        let right = format!("Bearer {TOKEN}");
        assert!(access
            .refusal(&Method::Post, &authorization(&right))
            .is_none());
        let lower = format!("bearer {TOKEN}");
        assert!(access
            .refusal(&Method::Post, &authorization(&lower))
            .is_none());
        for wrong in [
            format!("Bearer {TOKEN}x"),
            "Bearer ".to_string(),
            format!("Basic {TOKEN}"),
            TOKEN.to_string(),
        ] {
            assert!(
                access
                    .refusal(&Method::Post, &authorization(&wrong))
                    .is_some(),
                "{wrong}"
            );
        }
    }

    #[test]
    fn without_a_token_everything_goes_through() {
        assert!(Access::default().refusal(&Method::Post, &[]).is_none());
    }

    #[test]
    fn a_reachable_address_needs_a_token_or_an_explicit_permission() {
        let anywhere: SocketAddr = "0.0.0.0:5580".parse().unwrap();
        let loopback: SocketAddr = "127.0.0.1:5580".parse().unwrap();
        assert!(Access::default().check_listen(loopback).is_ok());
        let refused = Access::default().check_listen(anywhere).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::PermissionDenied);
        assert!(refused.to_string().contains("allow_unauthenticated"));
        assert!(access().check_listen(anywhere).is_ok());
        assert!(Access::unauthenticated().check_listen(anywhere).is_ok());
    }
}
