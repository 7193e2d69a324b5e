//! Every failure maps to the status number pyOCD's client expects.

use crate::probe::ProbeError;
use crate::protocol::{status_code, Failure, SharingFailure};

#[test]
fn every_failure_has_its_wire_status() {
    let text = || "x".to_string();
    let cases = [
        (Failure::Request(text()), 1),
        (
            Failure::Sharing(SharingFailure {
                probe_error: false,
                message: text(),
            }),
            1,
        ),
        (
            Failure::Sharing(SharingFailure {
                probe_error: true,
                message: text(),
            }),
            3,
        ),
        (Failure::Probe(ProbeError::InvalidArgument(text())), 1),
        (Failure::Probe(ProbeError::Disconnected(text())), 2),
        (Failure::Probe(ProbeError::Probe(text())), 3),
        (Failure::Probe(ProbeError::Unsupported("SWO")), 3),
        (Failure::Probe(ProbeError::Transfer(text())), 10),
        (Failure::Probe(ProbeError::TransferTimeout(text())), 11),
        (Failure::Probe(ProbeError::TransferFault(text())), 12),
    ];
    for (failure, status) in cases {
        assert_eq!(status_code(&failure), status, "{failure:?}");
    }
}

#[test]
fn failure_message_is_the_error_text() {
    let failure = Failure::from(ProbeError::Unsupported("SWO"));
    assert_eq!(failure.to_string(), "SWO is not supported by this probe");
    let sharing = SharingFailure {
        probe_error: true,
        message: "probe already connected using SWD protocol".into(),
    };
    assert_eq!(
        Failure::from(sharing).to_string(),
        "probe already connected using SWD protocol"
    );
}
