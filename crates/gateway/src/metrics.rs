//! The gateway's Prometheus series, labeled by endpoint and status only, never by tenant or
//! with anything from a prompt. The server installs the recorder and serves `GET /metrics`.

use std::time::Duration;

/// The gateway's own time per call (time in the gateway minus time waiting on providers).
pub const OVERHEAD: &str = "datapact_gateway_overhead_seconds";
/// Calls through the gateway, by endpoint and status.
pub const CALLS: &str = "datapact_gateway_requests_total";

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
