//! The gateway's Prometheus series, labeled by endpoint and status only, never by tenant or
//! with anything from a prompt. The server installs the recorder and serves `GET /metrics`.

use std::time::Duration;

/// The gateway's own time per call (time in the gateway minus time waiting on providers).
pub const OVERHEAD: &str = "datapact_gateway_overhead_seconds";
/// Calls through the gateway, by endpoint and status.
pub const CALLS: &str = "datapact_gateway_requests_total";

/// The time one call's personal data scan took (every text of the request), in seconds.
pub const PII_SCAN: &str = "datapact_gateway_pii_scan_seconds";

/// Records one call's scan; calls of up to 4 KiB apart, so the figure for prompts of a few
/// kilobytes is not mixed with long documents'.
pub fn pii_scan(bytes: usize, took: Duration) {
    let size = if bytes <= 4096 { "le_4k" } else { "gt_4k" };
    metrics::histogram!(PII_SCAN, "size" => size).record(took.as_secs_f64());
}

/// Records one gateway call.
pub fn gateway_call(endpoint: &'static str, status: datapact_audit::CallStatus, streamed: bool, overhead: Duration) {
    let status = match status {
        datapact_audit::CallStatus::Allowed => "allowed",
        datapact_audit::CallStatus::Masked => "masked",
        datapact_audit::CallStatus::Blocked => "blocked",
        datapact_audit::CallStatus::Error => "error",
    };
    let streamed = if streamed { "true" } else { "false" };
    metrics::counter!(CALLS, "endpoint" => endpoint, "status" => status, "streamed" => streamed).increment(1);
    metrics::histogram!(OVERHEAD, "endpoint" => endpoint, "streamed" => streamed).record(overhead.as_secs_f64());
}
