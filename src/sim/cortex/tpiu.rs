//! The Cortex-M4 TPIU at 0xE0040000 (a CoreSight trace sink, part 0x9A1),
//! present so that discovery finds what an M4 ROM table lists. There is no
//! trace port behind it: its registers keep what is written and nothing
//! is ever output.
//!
//! - Port sizes 1 to 4 are supported (SSPSR 0xF); CSPSR resets to 1 bit.
//! - ACPR has a 13-bit prescaler; SPPR resets to Manchester (1).
//! - The formatter is stopped and never busy (FFSR reads FtNonStop only);
//!   FFCR keeps EnFCont and TrigIn (reset 0x102).
//! - DEVID 0xCA1 says asynchronous SWO in Manchester and NRZ (UART) modes
//!   is supported; DEVTYPE says trace sink, port (0x11). As a class 0x9
//!   component it has a DEVARCH register, which reads 0: no architecture.
//! - In the debug reset domain: a system reset changes nothing.

use super::id::{ComponentClass, ComponentId, PIDR4};

pub const TPIU_BASE: u32 = 0xE004_0000;
pub const TPIU_ID: ComponentId = ComponentId {
    part: 0x9A1,
    revision: 0,
    class: ComponentClass::CoreSight,
};

pub const TPIU_SSPSR: u32 = 0x000;
pub const TPIU_CSPSR: u32 = 0x004;
pub const TPIU_ACPR: u32 = 0x010;
pub const TPIU_SPPR: u32 = 0x0F0;
pub const TPIU_FFSR: u32 = 0x300;
pub const TPIU_FFCR: u32 = 0x304;
pub const TPIU_DEVARCH: u32 = 0xFBC;
pub const TPIU_DEVID: u32 = 0xFC8;
pub const TPIU_DEVTYPE: u32 = 0xFCC;

const SUPPORTED_PORT_SIZES: u32 = 0xF;
const ACPR_PRESCALER: u32 = 0x1FFF;
const SPPR_TXMODE: u32 = 0b11;
const SPPR_MANCHESTER: u32 = 0b01;
const FFSR_FTNONSTOP: u32 = 1 << 3;
/// EnFCont (1) and TrigIn (8).
const FFCR_WRITABLE: u32 = 0x102;
pub const DEVID_VALUE: u32 = 0xCA1;
pub const DEVTYPE_TRACE_SINK_PORT: u32 = 0x11;

#[derive(Debug)]
pub struct Tpiu {
    current_port_size: u32,
    prescaler: u32,
    pin_protocol: u32,
    formatter_control: u32,
}

impl Tpiu {
    /// As at power-on.
    pub fn new() -> Tpiu {
        Tpiu {
            current_port_size: 1,
            prescaler: 0,
            pin_protocol: SPPR_MANCHESTER,
            formatter_control: FFCR_WRITABLE,
        }
    }

    fn read_word(&self, offset: u32) -> u32 {
        match offset {
            TPIU_SSPSR => SUPPORTED_PORT_SIZES,
            TPIU_CSPSR => self.current_port_size,
            TPIU_ACPR => self.prescaler,
            TPIU_SPPR => self.pin_protocol,
            TPIU_FFSR => FFSR_FTNONSTOP,
            TPIU_FFCR => self.formatter_control,
            TPIU_DEVID => DEVID_VALUE,
            TPIU_DEVTYPE => DEVTYPE_TRACE_SINK_PORT,
            PIDR4.. => TPIU_ID.register(offset).unwrap_or(0),
            // DEVARCH and everything unimplemented.
            _ => 0,
        }
    }

    fn write_word(&mut self, offset: u32, value: u32) {
        match offset {
            // One supported size, as a one-hot bit; anything else is ignored.
            TPIU_CSPSR if value.count_ones() == 1 && value & SUPPORTED_PORT_SIZES != 0 => {
                self.current_port_size = value
            }
            TPIU_ACPR => self.prescaler = value & ACPR_PRESCALER,
            TPIU_SPPR => self.pin_protocol = value & SPPR_TXMODE,
            TPIU_FFCR => self.formatter_control = value & FFCR_WRITABLE,
            _ => {}
        }
    }
}

impl Default for Tpiu {
    fn default() -> Tpiu {
        Tpiu::new()
    }
}

super::word_register_device!(Tpiu);
