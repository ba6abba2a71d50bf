//! The gateway's Prometheus series, labeled by endpoint and status only, never by tenant or
//! with anything from a prompt. The server installs the recorder and serves `GET /metrics`.

use std::time::Duration;

/// The gateway's own time per call (time in the gateway minus time waiting on providers).
pub const OVERHEAD: &str = "datapact_gateway_overhead_seconds";
/// Calls through the gateway, by endpoint and status.
pub const CALLS: &str = "datapact_gateway_requests_total";

/// The time one call's personal data scan took (every text of the request), in seconds.
pub const PII_SCAN: &str = "datapact_gateway_pii_scan_seconds";

/// The CPU time one call's scan ran on its thread, in seconds: its wall time less the time the
/// thread waited for a core (preempted by other threads or processes). Beside [`PII_SCAN`] it
/// tells the scan's own work from a busy machine's queueing. Not recorded where the platform has
/// no per-thread CPU clock.
pub const PII_SCAN_CPU: &str = "datapact_gateway_pii_scan_cpu_seconds";

/// Records one call's scan, its wall time and, where known, its CPU time; calls of up to 4 KiB
/// apart, so the figure for prompts of a few kilobytes is not mixed with long documents'.
pub fn pii_scan(bytes: usize, took: Duration, cpu: Option<Duration>) {
    let size = if bytes <= 4096 { "le_4k" } else { "gt_4k" };
    metrics::histogram!(PII_SCAN, "size" => size).record(took.as_secs_f64());
    if let Some(cpu) = cpu {
        metrics::histogram!(PII_SCAN_CPU, "size" => size).record(cpu.as_secs_f64());
    }
}

/// The CPU time the calling thread has run so far (`CLOCK_THREAD_CPUTIME_ID`), where the
/// platform has it. Two readings on the same thread bracket the work between them.
pub fn thread_cpu_time() -> Option<Duration> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "freebsd"
    ))]
    {
        // The fallible call: a kernel without the clock gives no figure rather than a panic.
        use rustix::time::{ClockId, DynamicClockId, clock_gettime_dynamic};
        let t = clock_gettime_dynamic(DynamicClockId::Known(ClockId::ThreadCPUTime)).ok()?;
        let secs = u64::try_from(t.tv_sec).ok()?;
        let nanos = u32::try_from(t.tv_nsec).ok()?;
        Some(Duration::new(secs, nanos))
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "freebsd"
    )))]
    {
        None
    }
}

/// The CPU time the calling thread ran since `started` (a [`thread_cpu_time`] reading taken on
/// this same thread), where both readings exist.
pub fn thread_cpu_since(started: Option<Duration>) -> Option<Duration> {
    Some(thread_cpu_time()?.saturating_sub(started?))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The clock counts this thread's running time only: work moves it, sleeping barely does,
    /// and it never runs ahead of the wall clock.
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "freebsd"
    ))]
    #[test]
    fn thread_cpu_time_counts_work_not_waiting() {
        let wall = std::time::Instant::now();
        let started = thread_cpu_time();
        assert!(started.is_some());
        let mut x = 0u64;
        while wall.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let worked = thread_cpu_since(started).unwrap_or_default();
        assert!(worked > Duration::ZERO, "{worked:?}");
        assert!(worked <= wall.elapsed() + Duration::from_millis(1), "{worked:?}");

        let before_sleep = thread_cpu_time();
        std::thread::sleep(Duration::from_millis(100));
        let slept = thread_cpu_since(before_sleep).unwrap_or_default();
        assert!(slept < Duration::from_millis(20), "{slept:?}");
    }

    #[test]
    fn no_start_no_figure() {
        assert_eq!(thread_cpu_since(None), None);
    }
}
