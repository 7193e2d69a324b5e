//! SWO capture for [`CmsisDapProbe`]: UART (NRZ) mode only, trace data
//! polled with DAP_SWO_Data (the v2 streaming endpoint is not part of the
//! packet [`Transport`]).

use crate::probe::{ProbeError, ProbeResult};

use super::super::commands::swo::{
    SwoBaudrate, SwoControl, SwoData, SwoMode, SwoModeKind, SwoTransport, SwoTransportKind,
    SWO_DATA_REPLY_HEADER,
};
use super::super::Transport;
use super::CmsisDapProbe;

/// DAP_SWO_Data polls per `swo_read`: bounds the time one read holds the
/// probe while the target streams faster than it is read.
const MAX_POLLS_PER_READ: usize = 64;

impl<T: Transport> CmsisDapProbe<T> {
    fn ensure_swo(&self) -> ProbeResult<()> {
        if self.dap.capabilities.swo_uart() {
            Ok(())
        } else {
            Err(ProbeError::Unsupported("SWO"))
        }
    }

    /// Stops a running capture, configures UART mode at `baudrate` and
    /// starts capturing (which empties the probe's trace buffer).
    pub(super) fn start_swo(&mut self, baudrate: u32) -> ProbeResult<()> {
        self.ensure_swo()?;
        if self.swo_running {
            self.command(&SwoControl { start: false })?;
            self.swo_running = false;
        }
        self.command(&SwoTransport(SwoTransportKind::DataCommand))?;
        self.command(&SwoMode(SwoModeKind::Uart))?;
        let actual = self.command(&SwoBaudrate(baudrate))?;
        if actual == 0 {
            return Err(ProbeError::Probe(format!(
                "the probe cannot capture SWO at {baudrate} baud"
            )));
        }
        if actual != baudrate {
            log::warn!("SWO capture at {actual} baud, {baudrate} was asked for");
        }
        self.command(&SwoControl { start: true })?;
        self.swo_running = true;
        Ok(())
    }

    pub(super) fn stop_swo(&mut self) -> ProbeResult<()> {
        self.ensure_swo()?;
        self.command(&SwoControl { start: false })?;
        self.swo_running = false;
        Ok(())
    }

    /// Everything the probe has buffered (up to a bound per call).
    pub(super) fn read_swo(&mut self) -> ProbeResult<Vec<u8>> {
        self.ensure_swo()?;
        let room = self.dap.packet_size - SWO_DATA_REPLY_HEADER;
        let max_count = room.min(usize::from(u16::MAX)) as u16;
        let mut trace = Vec::new();
        for _ in 0..MAX_POLLS_PER_READ {
            let (status, data) = self.command(&SwoData { max_count })?;
            if status.overrun() {
                log::warn!("{}: SWO trace buffer overrun", self.info.unique_id);
            }
            let full = data.len() == usize::from(max_count);
            trace.extend(data);
            if !full {
                break;
            }
        }
        Ok(trace)
    }
}
