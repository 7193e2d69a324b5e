//! What a served probe's loop counts for the status and the metrics:
//! answers by status, requests by name and status, answer latency, bytes,
//! connections, lock waits, probe errors.
//!
//! Plain counters owned by the loop thread, so counting costs no lock; the
//! loop copies them into its published [`super::ProbeStatus`] only when
//! they changed since the last copy. Every answer is counted through
//! [`Ledger::count_answer`], whatever front end made it, and front ends
//! describe their answers in the one currency the counters know,
//! [`AnswerStatus`].

use std::collections::BTreeMap;
use std::time::Instant;

use crate::probe::ProbeError;
use crate::protocol::{status_code, Failure};

/// Upper bounds, in seconds, of the latency histogram's finite buckets;
/// one more bucket (+Inf) follows them.
pub const LATENCY_BOUNDS_SECONDS: [f64; 10] = [
    50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3,
];

/// Bucket bounds in nanoseconds, for counting without floating point.
const LATENCY_BOUNDS_NANOS: [u64; 10] = [
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    100_000_000,
];

/// The name counted for a line that is not a request (too long, undecodable).
pub const INVALID_REQUEST: &str = "invalid";

/// How one answer counts: its status code in pyOCD's numbering (0 is
/// success; [`status_code`] assigns the rest) and, for a probe error, its
/// kind. Every front end reports its answers this way, so the metrics of
/// all of them read alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnswerStatus {
    pub code: u8,
    /// The `kind` label of a probe error (see [`error_kind`]).
    pub probe_error: Option<&'static str>,
}

impl AnswerStatus {
    pub const SUCCESS: AnswerStatus = AnswerStatus {
        code: 0,
        probe_error: None,
    };

    /// How an answer that failed with `failure` counts.
    pub fn failed(failure: &Failure) -> AnswerStatus {
        AnswerStatus {
            code: status_code(failure),
            probe_error: match failure {
                Failure::Probe(error) => Some(error_kind(error)),
                _ => None,
            },
        }
    }
}

/// Everything the loop counts.
#[derive(Debug, Default)]
pub struct Ledger {
    /// The counters behind the metrics.
    pub traffic: Traffic,
}

impl Ledger {
    /// Counts one answer to a client of `front_end` as it is encoded: the
    /// one place answers are counted.
    pub fn count_answer(
        &mut self,
        front_end: &'static str,
        request: &'static str,
        framed_at: Instant,
        status: AnswerStatus,
    ) {
        self.traffic
            .record_answer(front_end, request, framed_at, status);
    }
}

/// Counters since the server started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Responses, by front end (its wire format's name), request name and
    /// wire status code.
    pub requests: BTreeMap<(&'static str, &'static str, u8), u64>,
    /// Responses per latency bucket (not cumulative): one per bound of
    /// [`LATENCY_BOUNDS_SECONDS`], then the +Inf bucket. Latency runs from
    /// the request's line being framed to its response being encoded.
    pub latency_buckets: [u64; LATENCY_BOUNDS_NANOS.len() + 1],
    /// The sum of all latencies, in nanoseconds.
    pub latency_sum_nanos: u64,
    pub received_bytes: u64,
    pub sent_bytes: u64,
    /// Connections accepted (refused ones excluded), by front end.
    pub connections: BTreeMap<&'static str, u64>,
    /// Connections refused at accept, by reason (`listener::REFUSED_*`).
    pub refused_connections: BTreeMap<&'static str, u64>,
    /// `lock` requests that found the lock held by another client.
    pub lock_waits: u64,
    /// Probe errors answered, by kind (`disconnected`, `transfer`,
    /// `timeout`, `fault` or `probe`).
    pub probe_errors: BTreeMap<&'static str, u64>,
}

impl Traffic {
    /// Counts one response as it is encoded.
    fn record_answer(
        &mut self,
        front_end: &'static str,
        request: &'static str,
        framed_at: Instant,
        status: AnswerStatus,
    ) {
        *self
            .requests
            .entry((front_end, request, status.code))
            .or_insert(0) += 1;
        if let Some(kind) = status.probe_error {
            *self.probe_errors.entry(kind).or_insert(0) += 1;
        }
        let nanos = u64::try_from(framed_at.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BOUNDS_NANOS
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(LATENCY_BOUNDS_NANOS.len());
        if let Some(count) = self.latency_buckets.get_mut(bucket) {
            *count += 1;
        }
        self.latency_sum_nanos = self.latency_sum_nanos.saturating_add(nanos);
    }
}

/// The `kind` label of a probe error.
pub fn error_kind(error: &ProbeError) -> &'static str {
    match error {
        ProbeError::Disconnected(_) => "disconnected",
        ProbeError::Transfer(_) => "transfer",
        ProbeError::TransferTimeout(_) => "timeout",
        ProbeError::TransferFault(_) => "fault",
        ProbeError::Probe(_) | ProbeError::Unsupported(_) | ProbeError::InvalidArgument(_) => {
            "probe"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_answer_lands_in_the_bucket_of_its_latency_and_counts_its_error_kind() {
        let mut traffic = Traffic::default();
        let long_ago = Instant::now() - Duration::from_secs(1);
        let failed = Failure::Probe(ProbeError::TransferFault("x".into()));
        traffic.record_answer("pyocd", "read_dp", long_ago, AnswerStatus::failed(&failed));
        assert_eq!(traffic.latency_buckets[LATENCY_BOUNDS_NANOS.len()], 1);
        assert!(traffic.latency_sum_nanos >= 1_000_000_000);
        assert_eq!(traffic.probe_errors.get("fault"), Some(&1));
        assert_eq!(traffic.requests.get(&("pyocd", "read_dp", 12)), Some(&1));
    }
}
