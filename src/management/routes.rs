//! What each path of the management interface answers, as JSON.
//!
//! `GET /probes` gives one flat object per configured probe. Of the
//! fields a USB listing could add (VID:PID, firmware, USB path), none is
//! known to a server yet, so they are `null` rather than left out: a
//! consumer can rely on every key being there.

use serde_json::{json, Value};
use tiny_http::{Header, Method, Response, StatusCode};

use super::ProbeRow;
use crate::config::ProbeSelector;

/// An HTTP answer before it is turned into a response.
pub struct Answer {
    status: u16,
    body: Value,
    /// Methods the path takes, for a 405.
    allow: Option<&'static str>,
}

impl Answer {
    fn ok(body: Value) -> Answer {
        Answer {
            status: 200,
            body,
            allow: None,
        }
    }

    fn error(status: u16, message: &str) -> Answer {
        Answer {
            status,
            body: json!({ "error": message }),
            allow: None,
        }
    }

    pub fn forbidden() -> Answer {
        Answer::error(403, "your address is not in the allowed networks")
    }

    pub fn into_response(self) -> Response<std::io::Cursor<Vec<u8>>> {
        let mut body = self.body.to_string();
        body.push('\n');
        let mut response = Response::from_string(body)
            .with_status_code(StatusCode(self.status))
            .with_header(header("Content-Type", "application/json"));
        if let Some(allow) = self.allow {
            response = response.with_header(header("Allow", allow));
        }
        response
    }
}

fn header(name: &str, value: &str) -> Header {
    // Both are fixed ASCII strings of this module, which always parse.
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
}

/// Answers `method` on `url` (path and query) from `rows`.
pub fn answer(method: &Method, url: &str, rows: &[ProbeRow]) -> Answer {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let body = match path {
        "/healthz" => json!({ "status": "ok" }),
        "/probes" => Value::Array(rows.iter().map(probe_json).collect()),
        _ => return Answer::error(404, "no such path"),
    };
    if *method != Method::Get && *method != Method::Head {
        return Answer {
            allow: Some("GET, HEAD"),
            ..Answer::error(405, "method not allowed")
        };
    }
    Answer::ok(body)
}

fn probe_json(row: &ProbeRow) -> Value {
    let (kind, serial) = match &row.probe {
        ProbeSelector::Sim(_) => ("sim", None),
        ProbeSelector::Serial(serial) => ("cmsis-dap", Some(serial.clone())),
    };
    let served = row.served.as_ref();
    let status = served.map(|served| served.status.get());
    let status = status.as_ref();
    json!({
        "id": row.probe.to_string(),
        "serial": served.map(|s| s.info.unique_id.clone()).or(serial),
        "kind": kind,
        "vendor": served.map(|s| s.info.vendor_name.clone()),
        "product": served.map(|s| s.info.product_name.clone()),
        "description": served.map(|s| s.info.description.clone()),
        "vid_pid": null,
        "firmware": null,
        "usb_path": null,
        "port": row.port,
        "bind_address": row.bind.to_string(),
        "state": if served.is_some() { "present" } else { "absent" },
        "clients": status.map_or(0, |s| s.clients),
        "lock_holder": status.and_then(|s| s.lock_holder).map(|peer| peer.to_string()),
        "open_count": status.map_or(0, |s| s.open_count),
        "connect_count": status.map_or(0, |s| s.connect_count),
        "wire_protocol": status.and_then(|s| s.wire_protocol).map(|w| w.name()),
    })
}
