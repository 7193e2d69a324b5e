//! The USB link's timing: when a command reaches the firmware and when its
//! response reaches the host, for the bus the virtual probe pretends to sit
//! on. Only time is modelled; bytes arrive intact.
//!
//! A framed bus ([`UsbModel::FsHid`], [`UsbModel::HsBulk`]) moves at most
//! one transaction of up to the endpoint size per frame in each direction,
//! and a packet longer than that takes one frame per transaction. HID
//! pads every report to the packet size, so there every packet costs the
//! same. The rules, with `P` the frame period and boundaries at `k·P` from
//! the clock's epoch:
//! - a command written at `t` starts in the first frame at or after `t`
//!   that the OUT direction has free, and reaches the firmware in its last
//!   frame;
//! - the firmware runs commands one after another (DAP_Delay keeps it busy);
//! - a response goes IN from the first frame boundary strictly after the
//!   firmware finished, or later if IN is still busy, and is there for the
//!   host in its last frame.
//!
//! So a full-speed HID probe with 64-byte packets answers at most one
//! packet per millisecond (64 kB/s each way) however many are in flight,
//! and a lone command waits one to two frames for its answer.
//! [`UsbModel::None`] has no frames: a response is ready as soon as the
//! firmware is done.

use std::time::Duration;

/// Which USB link the virtual probe's packets travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsbModel {
    /// No bus: responses are ready at once (the fastest tests).
    None,
    /// CMSIS-DAP v1 on a full-speed HID interrupt endpoint: 64-byte
    /// transactions, one per 1 ms frame.
    FsHid,
    /// CMSIS-DAP v2 on a high-speed bulk endpoint: 512-byte transactions,
    /// modelled as one per 125 µs microframe.
    HsBulk,
}

impl UsbModel {
    /// The frame period, `None` on the frameless model.
    pub fn frame_period(self) -> Option<Duration> {
        match self {
            UsbModel::None => None,
            UsbModel::FsHid => Some(Duration::from_millis(1)),
            UsbModel::HsBulk => Some(Duration::from_micros(125)),
        }
    }

    /// The largest transaction of the endpoint (wMaxPacketSize).
    pub fn endpoint_size(self) -> usize {
        match self {
            UsbModel::FsHid => 64,
            UsbModel::None | UsbModel::HsBulk => 512,
        }
    }

    /// HID moves fixed-size reports: every packet is padded to the
    /// packet size, responses included.
    pub fn pads_reports(self) -> bool {
        self == UsbModel::FsHid
    }

    /// The packet size a typical probe on this bus reports.
    pub fn default_packet_size(self) -> u16 {
        match self {
            UsbModel::FsHid => 64,
            UsbModel::None | UsbModel::HsBulk => 512,
        }
    }

    /// The packet count a typical probe on this bus reports.
    pub fn default_packet_count(self) -> u8 {
        match self {
            UsbModel::FsHid => 4,
            UsbModel::None | UsbModel::HsBulk => 8,
        }
    }
}

/// The bus and the firmware's timeline: when each direction and the
/// firmware are next free.
#[derive(Debug)]
pub(super) struct UsbSchedule {
    model: UsbModel,
    packet_size: usize,
    out_free: Duration,
    in_free: Duration,
    firmware_free: Duration,
}

impl UsbSchedule {
    pub(super) fn new(model: UsbModel, packet_size: usize) -> UsbSchedule {
        UsbSchedule {
            model,
            packet_size,
            out_free: Duration::ZERO,
            in_free: Duration::ZERO,
            firmware_free: Duration::ZERO,
        }
    }

    /// When a command of `len` bytes written at `now` reaches the firmware.
    pub(super) fn command_delivered(&mut self, now: Duration, len: usize) -> Duration {
        let Some(period) = self.model.frame_period() else {
            return now;
        };
        let start = boundary_at_or_after(now, period).max(self.out_free);
        let frames = self.frames(len);
        self.out_free = start + period * frames;
        start + period * (frames - 1)
    }

    /// When the firmware is done with a command delivered at `delivered`
    /// that keeps it busy for `busy`.
    pub(super) fn executed(&mut self, delivered: Duration, busy: Duration) -> Duration {
        let done = delivered.max(self.firmware_free) + busy;
        self.firmware_free = done;
        done
    }

    /// When a response of `len` bytes, complete in the firmware at `done`,
    /// can be read by the host.
    pub(super) fn response_ready(&mut self, done: Duration, len: usize) -> Duration {
        let Some(period) = self.model.frame_period() else {
            return done;
        };
        let start = boundary_after(done, period).max(self.in_free);
        let frames = self.frames(len);
        self.in_free = start + period * frames;
        start + period * (frames - 1)
    }

    /// Frames one packet of `len` bytes occupies on the wire.
    fn frames(&self, len: usize) -> u32 {
        let wire_len = if self.model.pads_reports() {
            self.packet_size
        } else {
            len
        };
        let transactions = wire_len.div_ceil(self.model.endpoint_size()).max(1);
        u32::try_from(transactions).unwrap_or(u32::MAX)
    }
}

/// The first frame boundary at or after `t`.
fn boundary_at_or_after(t: Duration, period: Duration) -> Duration {
    let period_ns = period.as_nanos();
    frame_start(t.as_nanos().div_ceil(period_ns) * period_ns)
}

/// The first frame boundary strictly after `t`.
fn boundary_after(t: Duration, period: Duration) -> Duration {
    let period_ns = period.as_nanos();
    frame_start((t.as_nanos() / period_ns + 1) * period_ns)
}

fn frame_start(nanos: u128) -> Duration {
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}
