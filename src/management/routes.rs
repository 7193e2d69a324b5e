//! What each path of the management interface answers, as JSON.
//!
//! `GET /probes` gives one flat object per probe: the configured ones,
//! then the unlisted ones served, with its port and its DAP port
//! (CMSIS-DAP over TCP for OpenOCD, `null` when it has none). A served USB probe shows what its USB
//! listing said (VID:PID as `0d28:0204`, USB path); fields not known are
//! `null` rather than left out, so a consumer can rely on every key being
//! there. `firmware` is the version DAP_Info reported, where it did.
//!
//! Per probe, `/probes/{id}/…` names it by the `id` of `/probes`:
//! `GET clients` lists its connections (each with its `front_end`:
//! `pyocd` or `cmsis-dap`, the port it came in through), `POST kick` drops them all, `POST
//! disable` and `POST enable` take it out of service and back; `POST
//! unplug` and `POST replug` pull a virtual target's cable and plug it back
//! in (409 for a USB probe), as hot-plug would see it.
//! Sessions have paths of their own (see [`super::sessions`]).
//! `GET /metrics` is the one answer that is not JSON (see [`super::metrics`]).

use serde_json::{json, Value};
use tiny_http::{Header, Method, Response, StatusCode};

use super::{metrics, sessions, Control, ProbeRow};
use crate::config::ProbeSelector;
use crate::server::ClientStatus;

/// An HTTP answer before it is turned into a response.
pub struct Answer {
    status: u16,
    body: Value,
    /// Sent instead of `body`, as plain text.
    text: Option<String>,
    /// Methods the path takes, for a 405.
    allow: Option<&'static str>,
}

impl Answer {
    fn ok(body: Value) -> Answer {
        Answer {
            status: 200,
            body,
            text: None,
            allow: None,
        }
    }

    pub(super) fn with_status(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body,
            text: None,
            allow: None,
        }
    }

    pub(super) fn error(status: u16, message: &str) -> Answer {
        Answer {
            status,
            body: json!({ "error": message }),
            text: None,
            allow: None,
        }
    }

    pub fn forbidden() -> Answer {
        Answer::error(403, "your address is not in the allowed networks")
    }

    pub fn into_response(self) -> Response<std::io::Cursor<Vec<u8>>> {
        let (body, content_type) = match self.text {
            Some(text) => (text, metrics::CONTENT_TYPE),
            None => (self.body.to_string() + "\n", "application/json"),
        };
        let mut response = Response::from_string(body)
            .with_status_code(StatusCode(self.status))
            .with_header(header("Content-Type", content_type));
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

/// Answers `method` on `url` (path and query), with the request's
/// `body`, from `rows`.
pub fn answer(
    method: &Method,
    url: &str,
    body: &[u8],
    rows: &[ProbeRow],
    control: &Control,
) -> Answer {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let readable = *method == Method::Get || *method == Method::Head;
    if let Some(answer) = sessions::route(method, path, body, rows) {
        return answer;
    }
    match path {
        "/healthz" if readable => Answer::ok(json!({ "status": "ok" })),
        "/probes" if readable => Answer::ok(Value::Array(rows.iter().map(probe_json).collect())),
        "/metrics" if readable => Answer {
            text: Some(metrics::render(rows)),
            ..Answer::ok(Value::Null)
        },
        "/healthz" | "/probes" | "/metrics" => not_allowed("GET, HEAD"),
        _ => match path
            .strip_prefix("/probes/")
            .and_then(|rest| rest.rsplit_once('/'))
        {
            Some((id, action)) => probe_action(method, id, action, rows, control),
            None => Answer::error(404, "no such path"),
        },
    }
}

pub(super) fn not_allowed(allow: &'static str) -> Answer {
    Answer {
        allow: Some(allow),
        ..Answer::error(405, "method not allowed")
    }
}

/// `/probes/{id}/{action}`.
fn probe_action(
    method: &Method,
    id: &str,
    action: &str,
    rows: &[ProbeRow],
    control: &Control,
) -> Answer {
    let wanted_method = match action {
        "clients" => "GET, HEAD",
        "kick" | "disable" | "enable" | "unplug" | "replug" => "POST",
        _ => return Answer::error(404, "no such path"),
    };
    let method_fits = match wanted_method {
        "POST" => *method == Method::Post,
        _ => *method == Method::Get || *method == Method::Head,
    };
    if !method_fits {
        return not_allowed(wanted_method);
    }
    let Some(row) = rows.iter().find(|row| row.probe.to_string() == id) else {
        return Answer::error(404, "no such probe");
    };
    let served = row.served.as_ref();
    match action {
        "clients" => {
            let clients = served
                .map(|s| s.status.get().client_list)
                .unwrap_or_default();
            Answer::ok(Value::Array(clients.iter().map(client_json).collect()))
        }
        "kick" => match served {
            Some(served) => {
                served.kicker.kick();
                Answer::ok(json!({ "kicked": served.status.get().clients }))
            }
            None => Answer::error(409, "the probe is not served"),
        },
        "unplug" | "replug" => {
            let plugged = action == "replug";
            changed(
                control.set_plugged(&row.probe, plugged),
                plugged_state(plugged),
            )
        }
        _ => {
            let enabled = action == "enable";
            changed(
                control.set_enabled(&row.probe, enabled),
                state_name(enabled),
            )
        }
    }
}

/// The answer to a change of the farm that leaves the probe in `state`.
fn changed(result: Option<Result<(), String>>, state: &str) -> Answer {
    match result {
        None => Answer::error(503, "this server cannot change the farm"),
        Some(Err(why)) => Answer::error(409, &why),
        Some(Ok(())) => Answer::ok(json!({ "state": state })),
    }
}

fn plugged_state(plugged: bool) -> &'static str {
    if plugged {
        "present"
    } else {
        "absent"
    }
}

fn state_name(enabled: bool) -> &'static str {
    if enabled {
        "present"
    } else {
        "disabled"
    }
}

pub(super) fn client_json(client: &ClientStatus) -> Value {
    json!({
        "session": client.session.map(|id| id.0),
        "peer": client.peer.to_string(),
        "front_end": client.front_end,
        "holds_lock": client.holds_lock,
        "open_count": client.open_count,
        "connect_count": client.connect_count,
        "connected_seconds": client.connected_at.elapsed().as_secs_f64(),
    })
}

fn probe_json(row: &ProbeRow) -> Value {
    let (kind, serial) = match &row.probe {
        ProbeSelector::Sim(_) => ("sim", None),
        ProbeSelector::Serial(serial) => ("cmsis-dap", Some(serial.clone())),
    };
    let served = row.served.as_ref();
    let status = served.map(|served| served.status.get());
    let status = status.as_ref();
    let usb = served.and_then(|served| served.usb.as_ref());
    json!({
        "id": row.probe.to_string(),
        "serial": served.map(|s| s.info.unique_id.clone()).or(serial),
        "kind": kind,
        "vendor": served.map(|s| s.info.vendor_name.clone()),
        "product": served.map(|s| s.info.product_name.clone()),
        "description": served.map(|s| s.info.description.clone()),
        "vid_pid": usb.map(|found| format!("{:04x}:{:04x}", found.vid, found.pid)),
        "firmware": served.and_then(|s| s.info.firmware_version.clone()),
        "usb_path": usb.and_then(|found| found.usb_path.clone()),
        "port": row.port,
        "dap_port": row.dap_port,
        "bind_address": row.bind.to_string(),
        "state": match (served.is_some(), row.disabled) {
            (_, true) => "disabled",
            (true, false) => "present",
            (false, false) => "absent",
        },
        "clients": status.map_or(0, |s| s.clients),
        "lock_holder": status.and_then(|s| s.lock_holder).map(|peer| peer.to_string()),
        "open_count": status.map_or(0, |s| s.open_count),
        "connect_count": status.map_or(0, |s| s.connect_count),
        "wire_protocol": status.and_then(|s| s.wire_protocol).map(|w| w.name()),
    })
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpListener};

    use super::*;
    use crate::cmsis_dap::usb::FoundProbe;
    use crate::management::ServedProbe;
    use crate::server::{self, ServerConfig};

    fn row_with_usb(usb: Option<FoundProbe>) -> (ProbeRow, server::ServerHandle) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let bind = listener.local_addr().expect("address");
        let handle = server::spawn(
            listener,
            crate::sim::virtual_probe("S1", crate::sim::dap_firmware::UsbModel::None)
                .expect("virtual probe"),
            ServerConfig::default(),
        )
        .expect("server");
        let served = ServedProbe {
            info: handle.info().clone(),
            status: handle.status_watch(),
            kicker: handle.kicker(),
            sessions: handle.session_control(),
            usb,
        };
        let row = ProbeRow {
            probe: ProbeSelector::Serial("S1".into()),
            port: bind.port(),
            dap_port: None,
            bind,
            served: Some(served),
            disabled: false,
        };
        (row, handle)
    }

    #[test]
    fn a_served_usb_probe_shows_its_vid_pid_and_usb_path() {
        let found = FoundProbe::daplink("S1", "1-2.3");
        let (row, handle) = row_with_usb(Some(found));
        let json = probe_json(&row);
        assert_eq!(json["vid_pid"], "0d28:0204");
        assert_eq!(json["usb_path"], "1-2.3");
        assert_eq!(json["kind"], "cmsis-dap");
        // The firmware version comes from DAP_Info of the served probe.
        assert_eq!(json["firmware"], crate::sim::dap_firmware::FIRMWARE_VERSION);
        handle.shutdown();
    }

    #[test]
    fn a_probe_without_a_usb_listing_keeps_the_usb_fields_null() {
        let (row, handle) = row_with_usb(None);
        let json = probe_json(&row);
        assert_eq!(json["vid_pid"], Value::Null);
        assert_eq!(json["usb_path"], Value::Null);
        handle.shutdown();
    }
}
