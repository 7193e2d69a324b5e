//! Rule 9, CSW: each client's transfer size is its own. pyOCD writes a
//! MEM-AP's CSW once and skips rewriting it while its cached value is
//! unchanged, so a client that chose bytes must move bytes even after
//! another client chose words or halfwords.
//!
//! Each client writes CSW (AddrInc off) exactly once and writes TAR before
//! every DRW access. The test thread makes the calls one after the other,
//! so TAR is always the accessing client's own and only the transfer size
//! can go wrong.

use crate::common::Client;
use crate::steps::*;
use crate::support::*;

/// One client's way of moving data: its CSW, its RAM, its element size.
struct Sized {
    name: &'static str,
    csw: u32,
    base: u32,
    bytes: u32,
}

impl Sized {
    fn address(&self, element: u32) -> u32 {
        self.base + element * self.bytes
    }

    /// Element `element` as it travels in DRW: in its byte lanes.
    fn value(&self, element: u32) -> u32 {
        let lanes = 8 * (self.address(element) & 3);
        match self.bytes {
            1 => (0xA0 + element) << lanes,
            2 => (0xC000 + element) << lanes,
            _ => 0xB000_0000 + element,
        }
    }
}

const ELEMENTS: u32 = 4;
const FILLING: u32 = 0xFFFF_FFFF;

#[test]
fn each_client_keeps_its_own_transfer_size() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let sizes = [
        Sized {
            name: "bytes",
            csw: CSW_BYTE,
            base: RAM_BASE + 0x100,
            bytes: 1,
        },
        Sized {
            name: "words",
            csw: CSW_WORD,
            base: RAM_BASE + 0x200,
            bytes: 4,
        },
        Sized {
            name: "halfwords",
            csw: CSW_HALFWORD,
            base: RAM_BASE + 0x300,
            bytes: 2,
        },
    ];
    let mut clients: Vec<Client> = sizes.iter().map(|_| powered_session(addr)).collect();
    for sized in &sizes {
        fill(addr, sized.base, 4, FILLING);
    }
    // CSW once per client; the last one written is the halfwords'.
    for (client, sized) in clients.iter_mut().zip(&sizes) {
        write_ap(client, AP_CSW, sized.csw);
    }

    for element in 0..ELEMENTS {
        for (client, sized) in clients.iter_mut().zip(&sizes) {
            write_ap(client, AP_TAR, sized.address(element));
            write_ap(client, AP_DRW, sized.value(element));
        }
    }
    for element in 0..ELEMENTS {
        for (client, sized) in clients.iter_mut().zip(&sizes) {
            write_ap(client, AP_TAR, sized.address(element));
            let what = format!(
                "{}: element {element} at {:#x} read back",
                sized.name,
                sized.address(element)
            );
            assert_word(read_ap(client, AP_DRW), sized.value(element), &what);
        }
    }
    for (client, sized) in clients.iter_mut().zip(&sizes) {
        let what = format!("{}: CSW read", sized.name);
        assert_word(read_ap(client, AP_CSW), sized.csw | CSW_READ_EXTRA, &what);
    }

    // And on the bus each write had its own size: no neighbouring byte
    // was touched.
    assert_eq!(
        words_at(addr, RAM_BASE + 0x100, 4),
        [0xA3A2_A1A0, FILLING, FILLING, FILLING],
        "bytes"
    );
    assert_eq!(
        words_at(addr, RAM_BASE + 0x200, 4),
        [0xB000_0000, 0xB000_0001, 0xB000_0002, 0xB000_0003],
        "words"
    );
    assert_eq!(
        words_at(addr, RAM_BASE + 0x300, 4),
        [0xC001_C000, 0xC003_C002, FILLING, FILLING],
        "halfwords"
    );
}
