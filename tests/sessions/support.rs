//! A farm of one virtual target with a DAP port and its management
//! interface, and the session calls the tests make through it.

use std::net::SocketAddr;

use serde_json::{json, Value};

use crate::common::farm::{http, http_with_body, managed_farm};
use crate::common::{free_port, Client};
use probeshare::config::Config;
use probeshare::management::{ManagementServer, SharedFarm};

/// The probe's id in the management interface.
pub const PROBE: &str = "sim:alpha";

pub struct Bench {
    pub farm: SharedFarm,
    pub management: ManagementServer,
    pub config: Config,
}

impl Bench {
    /// `sim:alpha` on a free port, with a DAP port.
    pub fn start() -> Bench {
        Bench::start_with("")
    }

    /// The same, with more of the probe's configuration (`[probe.limits]`,
    /// say) after its entry.
    pub fn start_with(more: &str) -> Bench {
        let entry = format!(
            "[[probe]]\nserial = \"{PROBE}\"\nport = {}\ndap_port = {}\n{more}",
            free_port(),
            free_port()
        );
        let (farm, management, config) = managed_farm(&entry, false);
        Bench {
            farm,
            management,
            config,
        }
    }

    pub fn mgmt(&self) -> SocketAddr {
        self.management.local_addr()
    }

    /// The probe's own pyOCD port.
    pub fn probe_addr(&self) -> SocketAddr {
        let farm = self.farm.lock();
        let server = farm.server(&self.config.probes[0].probe).expect("served");
        server.local_addr()
    }

    /// The probe's own DAP port.
    pub fn dap_addr(&self) -> SocketAddr {
        let farm = self.farm.lock();
        let server = farm.server(&self.config.probes[0].probe).expect("served");
        server.dap_addr().expect("a DAP port")
    }

    /// `method path` with a JSON `body`; the status and the answer's JSON.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, text) = http_with_body(self.mgmt(), method, path, &body);
        let answer = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        (status, answer)
    }

    /// Opens a session; the status and the answer.
    pub fn open(&self, holder: &str, ttl_secs: u64, preempt: bool) -> (u16, Value) {
        let body = json!({"holder": holder, "ttl_secs": ttl_secs, "preempt": preempt});
        self.call("POST", &format!("/probes/{PROBE}/sessions"), Some(body))
    }

    /// Opens a session that must open.
    pub fn opened(&self, holder: &str, ttl_secs: u64) -> Session {
        let (status, answer) = self.open(holder, ttl_secs, false);
        assert_eq!(status, 201, "{answer}");
        Session(answer)
    }

    /// The probe's sessions as `GET /probes/{id}/sessions` lists them.
    pub fn sessions(&self) -> Value {
        let (status, text) = http(self.mgmt(), "GET", &format!("/probes/{PROBE}/sessions"));
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).expect("JSON")
    }
}

/// An open session as `POST` answered it.
pub struct Session(pub Value);

impl Session {
    pub fn id(&self) -> u64 {
        self.0["session"].as_u64().expect("a session id")
    }

    pub fn addr(&self) -> SocketAddr {
        let port = self.0["port"].as_u64().expect("a port") as u16;
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    pub fn dap_addr(&self) -> SocketAddr {
        let port = self.0["dap_port"].as_u64().expect("a DAP port") as u16;
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    pub fn path(&self) -> String {
        format!("/probes/{PROBE}/sessions/{}", self.id())
    }

    /// What an outsider is refused with.
    pub fn refusal(&self) -> String {
        let holder = self.0["holder"].as_str().expect("a holder");
        let expires = self.0["expires"].as_str().expect("an expiry");
        format!("probe reserved by {holder} until {expires}")
    }
}

/// Sends a session command line and returns its answer.
pub fn command(client: &mut Client, line: Value) -> Value {
    client.send_line(line.to_string().as_bytes());
    client.recv()
}
