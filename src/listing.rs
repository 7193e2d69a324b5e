//! What `probeshare list` shows: one flat record per probe (the virtual
//! target first, then every CMSIS-DAP probe found, with what DAP_Info says
//! when the probe could be opened briefly), as text or JSON. Part of the
//! command line (a module of `main.rs`), not of the library.

use serde::Serialize;

use probeshare::cmsis_dap::usb::{
    open, read_dap_info, DapInfo, FoundProbe, ProbeInterface, USB_TIMEOUT,
};

/// One line of `probeshare list`; also its JSON object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ListedProbe {
    /// What `serve --probe` takes.
    pub serial: String,
    /// `sim`, `cmsis-dap-v1` or `cmsis-dap-v2`.
    pub kind: String,
    pub description: String,
    /// Four hex digits.
    pub vid: Option<String>,
    pub pid: Option<String>,
    pub vendor: Option<String>,
    pub product: Option<String>,
    /// e.g. `1-2.3`.
    pub usb_path: Option<String>,
    /// e.g. `/dev/hidraw3` (v1 only).
    pub hid_path: Option<String>,
    /// True when the probe has no serial number and `serial` was made up
    /// from its USB port.
    pub serial_is_generated: bool,
    pub firmware_version: Option<String>,
    pub protocol_version: Option<String>,
    pub packet_size: Option<u16>,
    pub packet_count: Option<u8>,
    /// Why the probe could not be opened or queried.
    pub problem: Option<String>,
}

impl ListedProbe {
    /// The built-in virtual target (`serve --probe sim`).
    pub fn virtual_target() -> ListedProbe {
        ListedProbe {
            serial: "sim".to_owned(),
            kind: "sim".to_owned(),
            description: "probeshare virtual Cortex-M target".to_owned(),
            ..ListedProbe::default()
        }
    }

    /// A found probe, opened briefly to ask DAP_Info (unless it is known
    /// not to open). A probe in use elsewhere is listed with that problem.
    pub fn query(found: &FoundProbe) -> ListedProbe {
        let info = match &found.open_problem {
            Some(problem) => Err(problem.clone()),
            None => open(found)
                .and_then(|mut transport| read_dap_info(transport.as_mut(), USB_TIMEOUT))
                .map_err(|error| format!("not queried: {error}")),
        };
        ListedProbe::describe(found, info)
    }

    /// A found probe with what DAP_Info said, or why it could not be asked.
    pub fn describe(found: &FoundProbe, info: Result<DapInfo, String>) -> ListedProbe {
        let (kind, hid_path) = match &found.interface {
            ProbeInterface::V1Hid { path, .. } => ("cmsis-dap-v1", Some(path.clone())),
            ProbeInterface::V2Bulk { .. } => ("cmsis-dap-v2", None),
        };
        let description = [found.vendor.as_deref(), found.product.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let (info, problem) = match info {
            Ok(info) => (info, None),
            Err(problem) => (DapInfo::default(), Some(problem)),
        };
        ListedProbe {
            serial: found.serial.clone(),
            kind: kind.to_owned(),
            description,
            vid: Some(format!("{:04x}", found.vid)),
            pid: Some(format!("{:04x}", found.pid)),
            vendor: found.vendor.clone(),
            product: found.product.clone(),
            usb_path: found.usb_path.clone(),
            hid_path,
            serial_is_generated: found.serial_is_generated,
            firmware_version: info.firmware_version,
            protocol_version: info.protocol_version,
            packet_size: info.packet_size,
            packet_count: info.packet_count,
            problem,
        }
    }
}

/// The human-readable listing: each probe, then the problems met.
pub fn render_text(probes: &[ListedProbe], problems: &[String]) -> String {
    let mut text = String::new();
    for probe in probes {
        text.push_str(&render_probe(probe));
    }
    if !probes.iter().any(|p| p.kind != "sim") {
        text.push_str("No CMSIS-DAP probe found on USB.\n");
    }
    if !problems.is_empty() {
        text.push_str("Problems:\n");
        for problem in problems {
            text.push_str(&format!("  {problem}\n"));
        }
    }
    text
}

fn render_probe(probe: &ListedProbe) -> String {
    if probe.kind == "sim" {
        return format!("{}: {} (built in)\n", probe.serial, probe.description);
    }
    let mut line = format!("{}:", probe.serial);
    if !probe.description.is_empty() {
        line.push_str(&format!(" {}", probe.description));
    }
    if let (Some(vid), Some(pid)) = (&probe.vid, &probe.pid) {
        line.push_str(&format!(" [{vid}:{pid}]"));
    }
    let protocol = if probe.kind == "cmsis-dap-v1" {
        "CMSIS-DAP v1 (HID)"
    } else {
        "CMSIS-DAP v2 (bulk)"
    };
    line.push_str(&format!(", {protocol}"));
    if let Some(path) = &probe.usb_path {
        line.push_str(&format!(", USB {path}"));
    }
    if let Some(path) = &probe.hid_path {
        line.push_str(&format!(", {path}"));
    }
    line.push('\n');
    let facts: Vec<String> = [
        probe
            .firmware_version
            .as_ref()
            .map(|v| format!("firmware {v}")),
        probe
            .protocol_version
            .as_ref()
            .map(|v| format!("protocol {v}")),
        probe.packet_size.map(|size| format!("packet size {size}")),
        probe
            .packet_count
            .map(|count| format!("packet count {count}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !facts.is_empty() {
        line.push_str(&format!("    {}\n", facts.join(", ")));
    }
    if probe.serial_is_generated {
        line.push_str(
            "    no USB serial number: this id holds only while the probe stays in this USB port\n",
        );
    }
    if let Some(problem) = &probe.problem {
        line.push_str(&format!("    {problem}\n"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use probeshare::cmsis_dap::usb::BulkInterface;

    fn bulk_probe() -> FoundProbe {
        FoundProbe {
            serial: "E6614C311B4B8B2A".into(),
            serial_is_generated: false,
            vid: 0x2e8a,
            pid: 0x000c,
            vendor: Some("Raspberry Pi".into()),
            product: Some("Debugprobe on Pico (CMSIS-DAP)".into()),
            interface: ProbeInterface::V2Bulk {
                bus: 1,
                port_path: vec![2, 3],
                interface: BulkInterface {
                    number: 0,
                    out_endpoint: 0x04,
                    in_endpoint: 0x85,
                    swo_endpoint: None,
                    out_max_packet: 64,
                    in_max_packet: 64,
                },
            },
            usb_path: Some("1-2.3".into()),
            open_problem: None,
        }
    }

    #[test]
    fn opened_probe_shows_identity_versions_and_packet_limits() {
        let info = DapInfo {
            firmware_version: Some("2.0.0".into()),
            protocol_version: Some("2.0.0".into()),
            packet_size: Some(64),
            packet_count: Some(2),
        };
        let listed = ListedProbe::describe(&bulk_probe(), Ok(info));
        let text = render_text(&[ListedProbe::virtual_target(), listed], &[]);
        assert_eq!(
            text,
            "sim: probeshare virtual Cortex-M target (built in)\n\
             E6614C311B4B8B2A: Raspberry Pi Debugprobe on Pico (CMSIS-DAP) [2e8a:000c], \
             CMSIS-DAP v2 (bulk), USB 1-2.3\n    \
             firmware 2.0.0, protocol 2.0.0, packet size 64, packet count 2\n"
        );
    }

    #[test]
    fn unopened_probe_shows_why_and_no_probe_is_said_plainly() {
        let listed = ListedProbe::describe(&bulk_probe(), Err("permission denied; fix".into()));
        assert_eq!(listed.problem.as_deref(), Some("permission denied; fix"));
        assert!(render_text(&[listed], &[]).contains("\n    permission denied; fix\n"));
        let alone = render_text(
            &[ListedProbe::virtual_target()],
            &["USB unavailable: x".into()],
        );
        assert!(
            alone.contains("No CMSIS-DAP probe found on USB.\nProblems:\n  USB unavailable: x\n")
        );
    }

    #[test]
    fn json_record_is_flat() {
        let listed = ListedProbe::describe(&bulk_probe(), Err("busy".into()));
        let value = serde_json::to_value(&listed).unwrap();
        let object = value.as_object().unwrap();
        assert!(object.values().all(|v| !v.is_object() && !v.is_array()));
        assert_eq!(object["kind"], "cmsis-dap-v2");
        assert_eq!(object["vid"], "2e8a");
        assert_eq!(object["usb_path"], "1-2.3");
    }
}
