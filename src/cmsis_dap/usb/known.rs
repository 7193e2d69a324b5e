//! What marks a USB device as a CMSIS-DAP probe when its strings alone do
//! not: the known VID:PID list, the name test, and the vendors whose HID
//! probes carry extra HID collections. Facts from
//! `docs/reference/cmsis-dap.md` §1.

/// VID:PID pairs of probes that speak CMSIS-DAP whatever their strings say.
pub const KNOWN_PROBE_IDS: &[(u16, u16, &str)] = &[
    (0x0d28, 0x0204, "Arm DAPLink"),
    (0x03eb, 0x2111, "Microchip EDBG"),
    (0x03eb, 0x2140, "Microchip JTAGICE3"),
    (0x03eb, 0x2141, "Microchip Atmel-ICE"),
    (0x03eb, 0x2144, "Microchip Power Debugger"),
    (0x03eb, 0x2145, "Microchip mEDBG"),
    (0x03eb, 0x216c, "Microchip EDBGC"),
    (0x03eb, 0x2175, "Microchip nEDBG"),
    (0x04b4, 0xf138, "Cypress KitProg1"),
    (0x04b4, 0xf148, "Cypress KitProg2"),
    (0x04b4, 0xf151, "Cypress MiniProg4 (bulk)"),
    (0x04b4, 0xf152, "Cypress MiniProg4 (HID)"),
    (0x04b4, 0xf154, "Cypress KitProg3 (HID)"),
    (0x04b4, 0xf155, "Cypress KitProg3 (bulk)"),
    (0x04b4, 0xf166, "Cypress KitProg3 (bulk, 2 UARTs)"),
    (0xc251, 0x2750, "Keil ULINKplus"),
    (0x30cc, 0x9527, "Vega CMSIS-DAP"),
    (0x1fc9, 0x0090, "NXP LPC-Link2"),
    (0x1fc9, 0x0143, "NXP MCU-Link"),
    (0x1a86, 0x8011, "WCH-Link (DAP mode)"),
    (0x2a86, 0x8011, "WCH-Link clone (DAP mode)"),
    (0x1a86, 0x8012, "WCH-LinkE (DAP mode)"),
];

/// WCH-LinkE in DAP mode: its vendor interface has no CMSIS-DAP string,
/// yet it is the v2 interface.
pub const WCH_LINK_E_DAP: (u16, u16) = (0x1a86, 0x8012);

/// WCH-Link in RISC-V mode: also called "WCH-Link", but not CMSIS-DAP.
pub const WCH_LINK_RISCV: (u16, u16) = (0x1a86, 0x8010);

/// WCH-Link models in DAP mode, whose interface strings are unreliable.
const WCH_LINK_DAP: &[(u16, u16)] = &[(0x1a86, 0x8011), (0x2a86, 0x8011), (0x1a86, 0x8012)];

/// Probes with several HID collections, of which only the one on usage
/// page [`VENDOR_USAGE_PAGE`] is CMSIS-DAP.
pub const FILTER_BY_USAGE_PAGE: &[(u16, u16)] = &[
    (0x1fc9, 0x0090),
    (0x1fc9, 0x0143),
    (0x04b4, 0xf154),
    (0x04b4, 0xf155),
];

/// The vendor-defined HID usage page CMSIS-DAP reports live on.
pub const VENDOR_USAGE_PAGE: u16 = 0xff00;

/// Device classes a CMSIS-DAP probe may declare: per interface (0x00) or
/// miscellaneous with interface associations (0xEF).
pub const PROBE_DEVICE_CLASSES: &[u8] = &[0x00, 0xef];

/// Old "Mbed CMSIS-DAP" DAPLink firmware declares the CDC class (0x02).
const DAPLINK_CDC_CLASS: (u16, u16, u8) = (0x0d28, 0x0204, 0x02);

/// Whether `vid:pid` is on [`KNOWN_PROBE_IDS`].
pub fn is_known_probe(vid: u16, pid: u16) -> bool {
    KNOWN_PROBE_IDS
        .iter()
        .any(|&(v, p, _)| (v, p) == (vid, pid))
}

/// Whether `vid:pid` is a WCH-Link in DAP mode.
pub fn is_wch_link_dap(vid: u16, pid: u16) -> bool {
    WCH_LINK_DAP.contains(&(vid, pid))
}

/// Whether a product or interface string names CMSIS-DAP (both spellings
/// are in use).
pub fn names_cmsis_dap(text: &str) -> bool {
    text.contains("CMSIS-DAP") || text.contains("CMSIS_DAP")
}

/// Whether a product string marks the device as a probe: CMSIS-DAP by
/// name, or a WCH-Link (whose product string never says CMSIS-DAP).
pub fn product_names_probe(product: &str) -> bool {
    names_cmsis_dap(product) || product.contains("WCH-Link")
}

/// The device-class prefilter: composite or miscellaneous devices only,
/// plus old DAPLink firmware.
pub fn device_class_allowed(vid: u16, pid: u16, class: u8) -> bool {
    PROBE_DEVICE_CLASSES.contains(&class) || (vid, pid, class) == DAPLINK_CDC_CLASS
}

/// Whether only the vendor usage page of this probe's HID entries is
/// CMSIS-DAP.
pub fn filters_by_usage_page(vid: u16, pid: u16) -> bool {
    FILTER_BY_USAGE_PAGE.contains(&(vid, pid))
}
