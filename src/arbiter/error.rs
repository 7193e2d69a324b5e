//! Refusals the arbiter itself makes, before any hardware is touched.

use crate::probe::WireProtocol;

/// A request the sharing rules refuse. Nothing changes when one is returned.
///
/// Wire status: [`SharingError::is_probe_error`] says which of the two
/// applies (status 3 when true, status 1 otherwise); `protocol` does the
/// mapping.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SharingError {
    /// `unlock` while another client, or nobody, holds the lock: status 1.
    #[error("unlock by a client that does not hold the lock")]
    NotLockHolder,
    /// `close` by a client holding no `open` reference: status 1.
    #[error("close by a client that has not opened the probe")]
    CloseWithoutOpen,
    /// `disconnect` by a client holding no `connect` reference: status 1.
    #[error("disconnect by a client that is not connected")]
    DisconnectWithoutConnect,
    /// `connect` naming a protocol other than the one in place: status 3.
    /// The message is pyOCD's, word for word, because clients may match it.
    #[error("probe already connected using {0} protocol")]
    ProtocolConflict(WireProtocol),
}

impl SharingError {
    /// True when pyOCD reports this as a `ProbeError` (status 3), false for
    /// a general error (status 1).
    pub fn is_probe_error(&self) -> bool {
        matches!(self, SharingError::ProtocolConflict(_))
    }
}
