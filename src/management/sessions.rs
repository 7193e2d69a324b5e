//! The management interface's session paths (docs/sessions.md):
//!
//! - `GET /sessions`: every open session of every probe;
//! - `GET /probes/{id}/sessions`: the probe's (at most one);
//! - `POST /probes/{id}/sessions` with `{"holder": NAME, "ttl_secs": N,
//!   "preempt": false}`: opens one, 201 with
//!   `{"session", "port", "dap_port", "expires", ...}`; 409 while another
//!   session holds the probe or other clients use it (naming them);
//! - `GET` and `DELETE /probes/{id}/sessions/{sid}`: shows or closes it;
//! - `POST /probes/{id}/sessions/{sid}/renew`, optionally with
//!   `{"ttl_secs": N}`: expires that long from now (default: its own time
//!   to live).
//!
//! The session's ports are bound here, on the probe's own address, to
//! ports the system picks, and handed to the probe's server, which decides
//! whether the session opens; a refused session's ports are closed again.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tiny_http::Method;

use super::routes::{client_json, not_allowed, Answer};
use super::ProbeRow;
use crate::server::{SessionId, SessionInfo, SessionRefusal, SessionRequest};

/// The longest time to live a session may ask for (a week).
pub const MAX_TTL_SECS: u64 = 7 * 24 * 3600;
/// The longest holder name.
pub const MAX_HOLDER_CHARS: usize = 200;

/// Answers the session paths; `None` for any other path.
pub fn route(method: &Method, path: &str, body: &[u8], rows: &[ProbeRow]) -> Option<Answer> {
    if path == "/sessions" {
        return Some(match method {
            Method::Get | Method::Head => Answer::with_status(200, all_sessions(rows)),
            _ => not_allowed("GET, HEAD"),
        });
    }
    let rest = path.strip_prefix("/probes/")?;
    let mut parts = rest.split('/');
    let (id, "sessions") = (parts.next()?, parts.next()?) else {
        return None;
    };
    let session = parts.next();
    let action = parts.next();
    if parts.next().is_some() {
        return Some(Answer::error(404, "no such path"));
    }
    let row = rows.iter().find(|row| row.probe.to_string() == id);
    Some(match (session, action) {
        (None, None) => probe_sessions(method, row, body),
        (Some(session), None) => one_session(method, row, session),
        (Some(session), Some("renew")) => renew(method, row, session, body),
        _ => Answer::error(404, "no such path"),
    })
}

fn all_sessions(rows: &[ProbeRow]) -> Value {
    rows.iter()
        .filter_map(|row| {
            let session = row.served.as_ref()?.status.get().session?;
            Some(session_json(row, &session))
        })
        .collect()
}

/// `/probes/{id}/sessions`.
fn probe_sessions(method: &Method, row: Option<&ProbeRow>, body: &[u8]) -> Answer {
    let Some(row) = row else {
        return Answer::error(404, "no such probe");
    };
    match method {
        Method::Get | Method::Head => {
            let session = row.served.as_ref().and_then(|s| s.status.get().session);
            let list: Vec<Value> = session.iter().map(|s| session_json(row, s)).collect();
            Answer::with_status(200, Value::Array(list))
        }
        Method::Post => open(row, body),
        _ => not_allowed("GET, HEAD, POST"),
    }
}

/// What opening a session takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    holder: String,
    ttl_secs: u64,
    #[serde(default)]
    preempt: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RenewBody {
    ttl_secs: Option<u64>,
}

fn open(row: &ProbeRow, body: &[u8]) -> Answer {
    let body: OpenBody = match serde_json::from_slice(body) {
        Ok(body) => body,
        Err(e) => return Answer::error(400, &format!("invalid session request: {e}")),
    };
    if let Err(why) = check_holder(&body.holder).and(check_ttl(body.ttl_secs)) {
        return Answer::error(400, &why);
    }
    let Some(served) = &row.served else {
        return Answer::error(409, "the probe is not served");
    };
    let bind = || TcpListener::bind(SocketAddr::new(row.bind.ip(), 0));
    let listener = match bind() {
        Ok(listener) => listener,
        Err(e) => return Answer::error(503, &format!("cannot open a session port: {e}")),
    };
    let dap_listener = match row.dap_port.map(|_| bind()).transpose() {
        Ok(listener) => listener,
        Err(e) => return Answer::error(503, &format!("cannot open a session DAP port: {e}")),
    };
    let request = SessionRequest {
        holder: body.holder,
        ttl: Duration::from_secs(body.ttl_secs),
        preempt: body.preempt,
        listener,
        dap_listener,
    };
    match served.sessions.open(request) {
        Ok(info) => Answer::with_status(201, session_json(row, &info)),
        Err(refusal) => refused(row, refusal),
    }
}

/// `/probes/{id}/sessions/{sid}`.
fn one_session(method: &Method, row: Option<&ProbeRow>, session: &str) -> Answer {
    let (row, id) = match find(row, session) {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    match method {
        Method::Get | Method::Head => {
            let current = row.served.as_ref().and_then(|s| s.status.get().session);
            match current.filter(|info| info.id == id) {
                Some(info) => Answer::with_status(200, session_json(row, &info)),
                None => Answer::error(404, "no such session"),
            }
        }
        Method::Delete => {
            let result = row.served.as_ref().map(|s| s.sessions.close(id));
            match result {
                Some(Ok(info)) => {
                    let mut answer = session_json(row, &info);
                    answer["state"] = "closed".into();
                    Answer::with_status(200, answer)
                }
                Some(Err(refusal)) => refused(row, refusal),
                None => Answer::error(404, "no such session"),
            }
        }
        _ => not_allowed("GET, HEAD, DELETE"),
    }
}

fn renew(method: &Method, row: Option<&ProbeRow>, session: &str, body: &[u8]) -> Answer {
    if *method != Method::Post {
        return not_allowed("POST");
    }
    let (row, id) = match find(row, session) {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let body: RenewBody = if body.iter().all(u8::is_ascii_whitespace) {
        RenewBody::default()
    } else {
        match serde_json::from_slice(body) {
            Ok(body) => body,
            Err(e) => return Answer::error(400, &format!("invalid renewal: {e}")),
        }
    };
    if let Some(Err(why)) = body.ttl_secs.map(check_ttl) {
        return Answer::error(400, &why);
    }
    let ttl = body.ttl_secs.map(Duration::from_secs);
    match row.served.as_ref().map(|s| s.sessions.renew(id, ttl)) {
        Some(Ok(info)) => Answer::with_status(200, session_json(row, &info)),
        Some(Err(refusal)) => refused(row, refusal),
        None => Answer::error(404, "no such session"),
    }
}

/// The probe and the session number of a path.
fn find<'a>(row: Option<&'a ProbeRow>, session: &str) -> Result<(&'a ProbeRow, SessionId), Answer> {
    let row = row.ok_or_else(|| Answer::error(404, "no such probe"))?;
    let id = session
        .parse()
        .map(SessionId)
        .map_err(|_| Answer::error(404, "no such session"))?;
    Ok((row, id))
}

fn refused(row: &ProbeRow, refusal: SessionRefusal) -> Answer {
    let message = refusal.to_string();
    match refusal {
        SessionRefusal::Reserved(info) => Answer::with_status(
            409,
            json!({ "error": message, "session": session_json(row, &info) }),
        ),
        SessionRefusal::InUse(peers) => {
            // As the server's loop last published them: at most a turn old.
            let listed = row.served.as_ref().map(|s| s.status.get().client_list);
            let clients: Vec<Value> = listed
                .unwrap_or_default()
                .iter()
                .filter(|client| peers.contains(&client.peer))
                .map(client_json)
                .collect();
            Answer::with_status(409, json!({ "error": message, "clients": clients }))
        }
        SessionRefusal::NoSuchSession => Answer::error(404, &message),
        SessionRefusal::NotServing => Answer::error(409, &message),
    }
}

fn check_holder(holder: &str) -> Result<(), String> {
    let length = holder.chars().count();
    if length == 0 || length > MAX_HOLDER_CHARS || holder.chars().any(char::is_control) {
        return Err(format!(
            "invalid holder: 1 to {MAX_HOLDER_CHARS} characters, no control characters"
        ));
    }
    Ok(())
}

fn check_ttl(ttl_secs: u64) -> Result<(), String> {
    if !(1..=MAX_TTL_SECS).contains(&ttl_secs) {
        return Err(format!(
            "invalid ttl_secs {ttl_secs}: 1 to {MAX_TTL_SECS} seconds"
        ));
    }
    Ok(())
}

pub fn session_json(row: &ProbeRow, info: &SessionInfo) -> Value {
    json!({
        "session": info.id.0,
        "probe": row.probe.to_string(),
        "holder": info.holder,
        "port": info.port,
        "dap_port": info.dap_port,
        "expires": humantime::format_rfc3339_seconds(info.expires).to_string(),
        "ttl_secs": info.ttl.as_secs(),
        "clients": info.clients,
    })
}
