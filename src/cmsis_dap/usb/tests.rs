//! Discovery rules on constructed devices: which ones are probes, through
//! which interface, under which id, and what is reported when one cannot
//! be used.

use super::*;

fn endpoint(address: u8, transfer: TransferKind, max_packet_size: u16) -> EndpointInfo {
    EndpointInfo {
        address,
        transfer,
        max_packet_size,
    }
}

fn vendor_interface(
    number: u8,
    string: Option<&str>,
    endpoints: Vec<EndpointInfo>,
) -> InterfaceInfo {
    InterfaceInfo {
        number,
        class: 0xff,
        subclass: 0x00,
        string: string.map(str::to_owned),
        endpoints,
    }
}

/// Bulk OUT 0x01, bulk IN 0x81, SWO bulk IN 0x82: the reference layout.
fn v2_interface(number: u8, string: Option<&str>) -> InterfaceInfo {
    vendor_interface(
        number,
        string,
        vec![
            endpoint(0x01, TransferKind::Bulk, 512),
            endpoint(0x81, TransferKind::Bulk, 512),
            endpoint(0x82, TransferKind::Bulk, 512),
        ],
    )
}

fn hid_interface(number: u8, string: Option<&str>) -> InterfaceInfo {
    InterfaceInfo {
        number,
        class: 0x03,
        subclass: 0x00,
        string: string.map(str::to_owned),
        endpoints: vec![
            endpoint(0x83, TransferKind::Interrupt, 64),
            endpoint(0x03, TransferKind::Interrupt, 64),
        ],
    }
}

fn device(
    (vid, pid): (u16, u16),
    product: Option<&str>,
    serial: Option<&str>,
    interfaces: Vec<InterfaceInfo>,
) -> DeviceDescriptorInfo {
    DeviceDescriptorInfo {
        vid,
        pid,
        class: 0xef,
        serial: serial.map(str::to_owned),
        product: product.map(str::to_owned),
        manufacturer: Some("Maker".to_owned()),
        bus: 1,
        port_path: vec![2, 3],
        interfaces,
        access: Access::Granted,
    }
}

fn hid_node(
    path: &str,
    (vid, pid): (u16, u16),
    serial: Option<&str>,
    usage_page: u16,
    interface_number: u8,
) -> HidDeviceInfo {
    HidDeviceInfo {
        path: path.to_owned(),
        vid,
        pid,
        serial: serial.map(str::to_owned),
        product: None,
        manufacturer: None,
        usage_page,
        interface_number: Some(interface_number),
        usb_path: Some("1-2.3".to_owned()),
        access: Access::Granted,
    }
}

const UNKNOWN_ID: (u16, u16) = (0x1234, 0x5678);

#[test]
fn v2_probe_named_only_in_its_interface_string_is_found() {
    let mcu_link = device(
        (0xc251, 0xf00b),
        Some("MCU-LINK"),
        Some("ABCD"),
        vec![v2_interface(0, Some("MCU-LINK CMSIS-DAP"))],
    );
    let found = assemble(&[mcu_link], &[]);
    assert_eq!(found.problems, Vec::<String>::new());
    let [probe] = found.probes.as_slice() else {
        panic!("{found:?}");
    };
    assert_eq!(probe.serial, "ABCD");
    assert_eq!(probe.usb_path.as_deref(), Some("1-2.3"));
    assert_eq!(
        probe.interface,
        ProbeInterface::V2Bulk {
            bus: 1,
            port_path: vec![2, 3],
            interface: BulkInterface {
                number: 0,
                out_endpoint: 0x01,
                in_endpoint: 0x81,
                swo_endpoint: Some(0x82),
                out_max_packet: 512,
                in_max_packet: 512,
            },
        }
    );
}

#[test]
fn vendor_interface_without_cmsis_dap_string_or_in_wrong_order_is_not_v2() {
    let unnamed = device(
        UNKNOWN_ID,
        Some("CMSIS-DAP"),
        Some("S"),
        vec![v2_interface(0, None)],
    );
    assert_eq!(match_usb_device(&unnamed).unwrap().v2, None);
    let in_first = vendor_interface(
        0,
        Some("CMSIS-DAP"),
        vec![
            endpoint(0x81, TransferKind::Bulk, 64),
            endpoint(0x01, TransferKind::Bulk, 64),
        ],
    );
    let swapped = device(UNKNOWN_ID, None, Some("S"), vec![in_first]);
    assert_eq!(match_usb_device(&swapped).unwrap().v2, None);
    assert_eq!(assemble(&[swapped], &[]), Discovery::default());
}

#[test]
fn hid_probe_named_in_its_product_string_is_found_through_hidraw() {
    let daplink = device(
        UNKNOWN_ID,
        Some("DAPLink CMSIS-DAP"),
        Some("0240"),
        vec![hid_interface(3, None)],
    );
    let node = hid_node("/dev/hidraw2", UNKNOWN_ID, Some("0240"), 0xff00, 3);
    let found = assemble(&[daplink], &[node]);
    let [probe] = found.probes.as_slice() else {
        panic!("{found:?}");
    };
    assert_eq!(
        probe.interface,
        ProbeInterface::V1Hid {
            path: "/dev/hidraw2".into(),
            interface_number: Some(3)
        }
    );
    assert_eq!(probe.protocol_label(), "v1 (HID)");
}

#[test]
fn probe_offering_v1_and_v2_is_listed_once_through_v2() {
    let both = device(
        (0x0d28, 0x0204),
        Some("DAPLink CMSIS-DAP"),
        Some("0240"),
        vec![
            hid_interface(3, Some("CMSIS-DAP v1")),
            v2_interface(4, Some("CMSIS-DAP v2")),
        ],
    );
    let node = hid_node("/dev/hidraw2", (0x0d28, 0x0204), Some("0240"), 0xff00, 3);
    let found = assemble(&[both], &[node]);
    assert_eq!(found.probes.len(), 1, "{found:?}");
    assert!(matches!(
        found.probes[0].interface,
        ProbeInterface::V2Bulk { .. }
    ));
}

#[test]
fn lpc_link2_uses_only_its_vendor_usage_page_collection() {
    let lpc_link2 = device(
        (0x1fc9, 0x0090),
        Some("LPC-LINK2 CMSIS-DAP V5.361"),
        Some("I2CYQKJT"),
        vec![hid_interface(0, None)],
    );
    let other_collection = hid_node(
        "/dev/hidraw4",
        (0x1fc9, 0x0090),
        Some("I2CYQKJT"),
        0x0001,
        0,
    );
    let dap_collection = hid_node(
        "/dev/hidraw5",
        (0x1fc9, 0x0090),
        Some("I2CYQKJT"),
        0xff00,
        0,
    );
    let found = assemble(
        std::slice::from_ref(&lpc_link2),
        &[other_collection.clone(), dap_collection],
    );
    assert_eq!(found.probes.len(), 1);
    assert!(matches!(
        &found.probes[0].interface,
        ProbeInterface::V1Hid { path, .. } if path == "/dev/hidraw5"
    ));
    let without_vendor_page = assemble(&[lpc_link2], &[other_collection]);
    assert!(without_vendor_page.probes.is_empty());
    assert!(
        without_vendor_page.problems[0].contains("no hidraw node"),
        "{without_vendor_page:?}"
    );
}

#[test]
fn among_several_hid_interfaces_only_the_cmsis_dap_one_is_used() {
    let probe = device(
        UNKNOWN_ID,
        Some("Some CMSIS-DAP"),
        Some("S1"),
        vec![
            hid_interface(0, Some("Keyboard")),
            hid_interface(1, Some("CMSIS-DAP")),
        ],
    );
    assert_eq!(match_usb_device(&probe).unwrap().v1_interfaces, vec![1]);
    let keyboard_node = hid_node("/dev/hidraw0", UNKNOWN_ID, Some("S1"), 0x0001, 0);
    let found = assemble(
        std::slice::from_ref(&probe),
        std::slice::from_ref(&keyboard_node),
    );
    assert!(found.probes.is_empty());
    let dap_node = hid_node("/dev/hidraw1", UNKNOWN_ID, Some("S1"), 0xff00, 1);
    let found = assemble(&[probe], &[keyboard_node, dap_node]);
    assert_eq!(found.probes.len(), 1);
}

#[test]
fn probe_without_serial_gets_an_id_from_its_usb_port_and_is_flagged() {
    let mut no_serial = device(
        (0x2e8a, 0x000c),
        Some("Debugprobe on Pico (CMSIS-DAP)"),
        None,
        vec![v2_interface(0, Some("CMSIS-DAP v2 Interface"))],
    );
    no_serial.serial = Some(String::new());
    let found = assemble(&[no_serial], &[]);
    assert_eq!(found.probes[0].serial, "2e8a:000c@1-2.3");
    assert!(found.probes[0].serial_is_generated);
}

#[test]
fn probe_that_cannot_be_opened_is_listed_with_the_udev_fix() {
    let mut denied = device(
        (0xc251, 0xf00b),
        Some("MCU-LINK"),
        Some("ABCD"),
        vec![v2_interface(0, Some("MCU-LINK CMSIS-DAP"))],
    );
    denied.access = Access::Denied;
    let found = assemble(&[denied], &[]);
    let problem = found.probes[0].open_problem.as_deref().unwrap();
    assert!(problem.contains("permission denied"), "{problem}");
    assert!(problem.contains("config/69-probeshare.rules"), "{problem}");
    assert_eq!(found.problems.len(), 1);
    assert!(found.problems[0].starts_with("probe ABCD: permission denied"));
}

#[test]
fn known_probe_whose_strings_cannot_be_read_is_reported_not_skipped() {
    let mut unreadable = device((0x04b4, 0xf155), None, None, vec![v2_interface(0, None)]);
    unreadable.access = Access::Denied;
    let found = assemble(&[unreadable], &[]);
    assert!(found.probes.is_empty());
    assert!(found.problems[0].contains("04b4:f155"), "{found:?}");
    assert!(found.problems[0].contains("permission denied"), "{found:?}");
}

#[test]
fn hidraw_node_that_cannot_be_opened_carries_the_udev_fix() {
    let daplink = device(
        (0x0d28, 0x0204),
        Some("DAPLink CMSIS-DAP"),
        Some("0240"),
        vec![hid_interface(3, None)],
    );
    let mut node = hid_node("/dev/hidraw2", (0x0d28, 0x0204), Some("0240"), 0xff00, 3);
    node.access = Access::Denied;
    let found = assemble(&[daplink], &[node]);
    assert!(found.probes[0]
        .open_problem
        .as_deref()
        .unwrap()
        .contains("udevadm"));
}

#[test]
fn devices_that_are_not_cmsis_dap_are_skipped() {
    let keyboard = device(
        UNKNOWN_ID,
        Some("USB Keyboard"),
        Some("K"),
        vec![hid_interface(0, None)],
    );
    let mut hub = device(
        UNKNOWN_ID,
        Some("CMSIS-DAP hub"),
        None,
        vec![v2_interface(0, Some("CMSIS-DAP"))],
    );
    hub.class = 0x09;
    let wch_riscv_mode = device(
        (0x1a86, 0x8010),
        Some("WCH-Link"),
        Some("W"),
        vec![hid_interface(0, None)],
    );
    let keyboard_node = hid_node("/dev/hidraw0", UNKNOWN_ID, Some("K"), 0x0001, 0);
    let found = assemble(&[keyboard, hub, wch_riscv_mode], &[keyboard_node]);
    assert_eq!(found, Discovery::default());
}

#[test]
fn wch_link_special_cases() {
    let wch_link_e = device(
        (0x1a86, 0x8012),
        Some("WCH-Link"),
        Some("W1"),
        vec![v2_interface(0, None)],
    );
    assert!(match_usb_device(&wch_link_e).unwrap().v2.is_some());
    let wch_link = device(
        UNKNOWN_ID,
        Some("WCH-Link"),
        Some("W2"),
        vec![hid_interface(2, None)],
    );
    assert_eq!(match_usb_device(&wch_link).unwrap().v1_interfaces, vec![2]);
    let garbled_strings = device(
        (0x1a86, 0x8011),
        Some("WCH-Link"),
        Some("W3"),
        vec![
            hid_interface(1, Some("WCH CMSIS-DAP")),
            hid_interface(2, Some("\u{fffd}")),
        ],
    );
    assert_eq!(
        match_usb_device(&garbled_strings).unwrap().v1_interfaces,
        vec![1, 2]
    );
}

#[test]
fn old_daplink_with_cdc_device_class_is_accepted() {
    let mut old = device(
        (0x0d28, 0x0204),
        Some("Mbed CMSIS-DAP"),
        Some("0240"),
        vec![hid_interface(3, None)],
    );
    old.class = 0x02;
    assert!(match_usb_device(&old).is_some());
    let mut other_cdc = device(
        UNKNOWN_ID,
        Some("Mbed CMSIS-DAP"),
        Some("x"),
        vec![hid_interface(3, None)],
    );
    other_cdc.class = 0x02;
    assert_eq!(match_usb_device(&other_cdc), None);
}

#[test]
fn hidraw_probe_without_usb_view_is_judged_by_product_and_known_id() {
    let mut named = hid_node("/dev/hidraw1", UNKNOWN_ID, Some("N1"), 0xff00, 0);
    named.product = Some("CMSIS-DAP".into());
    named.usb_path = None;
    let known = hid_node("/dev/hidraw2", (0x03eb, 0x2141), None, 0xff00, 0);
    let stranger = hid_node("/dev/hidraw3", UNKNOWN_ID, Some("N3"), 0xff00, 0);
    let found = assemble(&[], &[named.clone(), named, known, stranger]);
    let serials: Vec<&str> = found.probes.iter().map(|p| p.serial.as_str()).collect();
    assert_eq!(serials, ["N1", "03eb:2141@1-2.3"]);
    assert!(found.probes[1].serial_is_generated);
}

#[test]
fn probes_sharing_a_serial_are_reported() {
    let mut first = device(
        UNKNOWN_ID,
        None,
        Some("SAME"),
        vec![v2_interface(0, Some("CMSIS-DAP"))],
    );
    let mut second = first.clone();
    second.port_path = vec![4];
    first.port_path = vec![5];
    let found = assemble(&[first, second], &[]);
    assert_eq!(found.probes.len(), 2);
    assert!(found
        .problems
        .iter()
        .any(|p| p.contains("2 probes report the same serial number SAME")));
}

#[test]
fn discovery_without_usb_reports_it_missing_instead_of_panicking() {
    let found = super::discover_under(std::path::Path::new("/nonexistent/usb"));
    assert!(
        found
            .problems
            .iter()
            .any(|p| p.starts_with("USB unavailable: /nonexistent/usb does not exist")),
        "{found:?}"
    );
    assert!(found
        .probes
        .iter()
        .all(|p| matches!(p.interface, ProbeInterface::V1Hid { .. })));
    for probe in &found.probes {
        assert!(!probe.serial.is_empty());
    }
}

#[test]
fn hidraw_node_of_a_device_usb_rules_out_stays_out() {
    let mut cdc = device(
        UNKNOWN_ID,
        Some("CMSIS-DAP"),
        Some("C"),
        vec![hid_interface(0, None)],
    );
    cdc.class = 0x02;
    let mut node = hid_node("/dev/hidraw0", UNKNOWN_ID, Some("C"), 0xff00, 0);
    node.product = Some("CMSIS-DAP".into());
    assert_eq!(
        assemble(&[cdc], std::slice::from_ref(&node)),
        Discovery::default()
    );
    assert_eq!(assemble(&[], &[node]).probes.len(), 1);
}
