//! What a served probe's loop counts for the metrics: requests by name and
//! status, answer latency, bytes, connections, lock waits, probe errors.
//!
//! Plain counters owned by the loop thread, so counting costs no lock; the
//! loop copies them into its published [`super::ProbeStatus`] only when
//! they changed since the last copy.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::probe::ProbeError;
use crate::protocol::{status_code, Failure, Reply};

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

/// Counters since the server started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Responses, by request name and wire status code.
    pub requests: BTreeMap<(&'static str, u8), u64>,
    /// Responses per latency bucket (not cumulative): one per bound of
    /// [`LATENCY_BOUNDS_SECONDS`], then the +Inf bucket. Latency runs from
    /// the request's line being framed to its response being encoded.
    pub latency_buckets: [u64; LATENCY_BOUNDS_NANOS.len() + 1],
    /// The sum of all latencies, in nanoseconds.
    pub latency_sum_nanos: u64,
    pub received_bytes: u64,
    pub sent_bytes: u64,
    /// Connections accepted (refused ones excluded).
    pub connections: u64,
    /// `lock` requests that found the lock held by another client.
    pub lock_waits: u64,
    /// Probe errors answered, by kind (see [`error_kind`]).
    pub probe_errors: BTreeMap<&'static str, u64>,
}

impl Traffic {
    /// Counts one response about to be encoded.
    pub fn record_answer(
        &mut self,
        request: &'static str,
        framed_at: Instant,
        result: &Result<Reply, Failure>,
    ) {
        let code = match result {
            Ok(_) => 0,
            Err(failure) => status_code(failure),
        };
        *self.requests.entry((request, code)).or_insert(0) += 1;
        if let Err(Failure::Probe(error)) = result {
            *self.probe_errors.entry(error_kind(error)).or_insert(0) += 1;
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
        let failed = Err(Failure::Probe(ProbeError::TransferFault("x".into())));
        traffic.record_answer("read_dp", long_ago, &failed);
        assert_eq!(traffic.latency_buckets[LATENCY_BOUNDS_NANOS.len()], 1);
        assert!(traffic.latency_sum_nanos >= 1_000_000_000);
        assert_eq!(traffic.probe_errors.get("fault"), Some(&1));
        assert_eq!(traffic.requests.get(&("read_dp", 12)), Some(&1));
    }
}
