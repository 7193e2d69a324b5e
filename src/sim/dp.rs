//! The SW-DP's registers (ADIv5.2, DPv1), as seen through A\[3:2\].
//!
//! The DP identifies as a Cortex-M3/M4 SW-DP (DPIDR 0x2BA01477: version 1,
//! not MINDP). Being DPv1 it banks address 0x4 through SELECT.DPBANKSEL:
//! bank 0 is CTRL/STAT, bank 1 is DLCR; the DPv2 banks (TARGETID, DLPIDR,
//! EVENTSTAT) do not exist on a DPv1 and read as zero, writes ignored.
//!
//! Power: each power-up request in CTRL/STAT is acknowledged at once, and
//! dropping the request drops the acknowledge. No debug reset is modelled:
//! CDBGRSTACK simply follows CDBGRSTREQ. TRNCNT and MASKLANE are kept as
//! written; MASKLANE picks the byte lanes of pushed compare and verify
//! (TRNMODE 0b10 and 0b01), which are modelled; TRNCNT drives nothing.
//!
//! This type holds state only; the rules that involve the APs (which
//! transactions fault, what sets which sticky flag) live in the target.

/// Byte addresses of the DP registers (A\[3:2\] << 2).
pub const DP_IDR: u8 = 0x0;
pub const DP_ABORT: u8 = 0x0;
pub const DP_CTRL_STAT: u8 = 0x4;
pub const DP_SELECT: u8 = 0x8;
/// Reading address 0x8 returns RESEND, the last AP or RDBUFF read again.
pub const DP_RESEND: u8 = 0x8;
pub const DP_RDBUFF: u8 = 0xC;

pub const DPIDR_VALUE: u32 = 0x2BA0_1477;

// CTRL/STAT fields.
pub const ORUNDETECT: u32 = 1 << 0;
pub const STICKYORUN: u32 = 1 << 1;
pub const TRNMODE_MASK: u32 = 0b11 << 2;
pub const STICKYCMP: u32 = 1 << 4;
pub const STICKYERR: u32 = 1 << 5;
pub const READOK: u32 = 1 << 6;
pub const WDATAERR: u32 = 1 << 7;
pub const MASKLANE_MASK: u32 = 0xF << 8;
pub const TRNCNT_MASK: u32 = 0xFFF << 12;
pub const CDBGRSTREQ: u32 = 1 << 26;
pub const CDBGRSTACK: u32 = 1 << 27;
pub const CDBGPWRUPREQ: u32 = 1 << 28;
pub const CDBGPWRUPACK: u32 = 1 << 29;
pub const CSYSPWRUPREQ: u32 = 1 << 30;
pub const CSYSPWRUPACK: u32 = 1 << 31;

// ABORT fields.
pub const DAPABORT: u32 = 1 << 0;
pub const STKCMPCLR: u32 = 1 << 1;
pub const STKERRCLR: u32 = 1 << 2;
pub const WDERRCLR: u32 = 1 << 3;
pub const ORUNERRCLR: u32 = 1 << 4;

// SELECT fields (ADIv5: APv1 addressing).
pub const SELECT_APSEL_MASK: u32 = 0xFF << 24;
pub const SELECT_APBANKSEL_MASK: u32 = 0xF << 4;
pub const SELECT_DPBANKSEL_MASK: u32 = 0xF;

/// DLCR: bit 6 reads as one, TURNROUND (bits 9:8) is read/write.
const DLCR_RES1: u32 = 1 << 6;
const DLCR_TURNROUND_MASK: u32 = 0b11 << 8;

const CTRL_STAT_WRITABLE: u32 = ORUNDETECT
    | TRNMODE_MASK
    | MASKLANE_MASK
    | TRNCNT_MASK
    | CDBGRSTREQ
    | CDBGPWRUPREQ
    | CSYSPWRUPREQ;
const REQUESTS: u32 = CDBGRSTREQ | CDBGPWRUPREQ | CSYSPWRUPREQ;
/// Any of these set makes the DP fault every AP transaction.
pub const STICKY_FLAGS: u32 = STICKYORUN | STICKYCMP | STICKYERR | WDATAERR;
/// SELECT bits 23:8 are reserved; a write does not keep them.
const SELECT_IMPLEMENTED: u32 = SELECT_APSEL_MASK | SELECT_APBANKSEL_MASK | SELECT_DPBANKSEL_MASK;

/// What an AP write does, from CTRL/STAT.TRNMODE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransferMode {
    Normal,
    /// The write becomes a read; STICKYCMP is set if the value differs.
    PushedVerify,
    /// The write becomes a read; STICKYCMP is set if the value matches.
    PushedCompare,
}

#[derive(Debug)]
pub(crate) struct DebugPort {
    /// The writable CTRL/STAT fields, as last written.
    control: u32,
    /// The sticky flags and READOK, which only the DP itself sets.
    status: u32,
    select: u32,
    dlcr: u32,
    /// The result of the last AP read: what RDBUFF and RESEND return.
    read_buffer: u32,
}

impl DebugPort {
    /// A DP as at power-on: nothing requested, no flags, SELECT zero.
    pub(crate) fn new() -> DebugPort {
        DebugPort {
            control: 0,
            status: 0,
            select: 0,
            dlcr: DLCR_RES1,
            read_buffer: 0,
        }
    }

    /// A DP register read; the DP itself never answers anything but OK.
    pub(crate) fn read(&mut self, addr: u8) -> u32 {
        match addr & 0xC {
            DP_IDR => DPIDR_VALUE,
            DP_CTRL_STAT => match self.select & SELECT_DPBANKSEL_MASK {
                0 => self.ctrl_stat(),
                1 => self.dlcr,
                _ => 0,
            },
            DP_RESEND => self.read_buffer,
            _ => {
                // RDBUFF: reading it starts nothing and changes nothing but
                // READOK, which records that this read was answered OK.
                self.status |= READOK;
                self.read_buffer
            }
        }
    }

    pub(crate) fn write(&mut self, addr: u8, value: u32) {
        match addr & 0xC {
            DP_ABORT => self.abort(value),
            DP_CTRL_STAT => match self.select & SELECT_DPBANKSEL_MASK {
                0 => self.control = value & CTRL_STAT_WRITABLE,
                1 => self.dlcr = DLCR_RES1 | (value & DLCR_TURNROUND_MASK),
                _ => {}
            },
            DP_SELECT => self.select = value & SELECT_IMPLEMENTED,
            // 0xC is reserved for writes on a DPv1 (TARGETSEL is DPv2).
            _ => {}
        }
    }

    fn ctrl_stat(&self) -> u32 {
        let acknowledges = (self.control & REQUESTS) << 1;
        self.control | self.status | acknowledges
    }

    fn abort(&mut self, value: u32) {
        // DAPABORT cancels an AP transaction in progress; none ever is, as
        // every access completes before its acknowledge.
        let clears = [
            (STKCMPCLR, STICKYCMP),
            (STKERRCLR, STICKYERR),
            (WDERRCLR, WDATAERR),
            (ORUNERRCLR, STICKYORUN),
        ];
        for (request, flag) in clears {
            if value & request != 0 {
                self.status &= !flag;
            }
        }
    }

    pub(crate) fn sticky_flag_set(&self) -> bool {
        self.status & STICKY_FLAGS != 0
    }

    pub(crate) fn debug_powered_up(&self) -> bool {
        self.ctrl_stat() & CDBGPWRUPACK != 0
    }

    pub(crate) fn apsel(&self) -> u8 {
        (self.select >> 24) as u8
    }

    /// The AP register an access at A\[3:2\] = `addr` reaches: APBANKSEL
    /// from SELECT above A\[3:2\] from the request.
    pub(crate) fn ap_register(&self, addr: u8) -> u8 {
        (self.select & SELECT_APBANKSEL_MASK) as u8 | (addr & 0xC)
    }

    pub(crate) fn transfer_mode(&self) -> TransferMode {
        match (self.control & TRNMODE_MASK) >> 2 {
            0b01 => TransferMode::PushedVerify,
            0b10 => TransferMode::PushedCompare,
            // 0b11 is reserved; it behaves as a normal transfer here.
            _ => TransferMode::Normal,
        }
    }

    /// The byte lanes a pushed compare looks at, from MASKLANE.
    pub(crate) fn compare_mask(&self) -> u32 {
        (0..4)
            .filter(|lane| self.control & (1 << (8 + lane)) != 0)
            .fold(0, |mask, lane| mask | (0xFF << (8 * lane)))
    }

    /// An AP read answered OK with `value`.
    pub(crate) fn ap_read_completed(&mut self, value: u32) {
        self.read_buffer = value;
        self.status |= READOK;
    }

    /// An AP transaction answered FAULT; `flag` is the sticky flag its
    /// cause sets (none when it was refused for an earlier sticky flag).
    pub(crate) fn ap_faulted(&mut self, flag: u32, was_read: bool) {
        self.status |= flag;
        if was_read {
            self.status &= !READOK;
        }
        self.note_overrun();
    }

    /// An AP transaction answered WAIT.
    pub(crate) fn ap_waited(&mut self) {
        self.note_overrun();
    }

    pub(crate) fn set_sticky(&mut self, flag: u32) {
        self.status |= flag & STICKY_FLAGS;
    }

    /// With overrun detection on, a transaction that is not answered OK
    /// means the debugger's pipelined requests overran the DP.
    fn note_overrun(&mut self) {
        if self.control & ORUNDETECT != 0 {
            self.status |= STICKYORUN;
        }
    }
}
