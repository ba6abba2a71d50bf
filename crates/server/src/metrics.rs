//! Prometheus metrics (`GET /metrics`): counts and timings of the AI trust layer, labeled by
//! endpoint and status only, never by tenant or with anything from a prompt.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use datapact_gateway::metrics::{CALLS, OVERHEAD, PII_SCAN, PII_SCAN_CPU};

/// Bucket bounds fine enough around the 1 ms target to read a p99 against it.
const BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_2, 0.000_3, 0.000_4, 0.000_5, 0.000_75, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 1.0,
];

/// Bucket bounds for the personal data scan, fine around its 100 µs target for a 2 KB prompt.
const SCAN_BUCKETS: &[f64] = &[
    0.000_01, 0.000_02, 0.000_03, 0.000_04, 0.000_05, 0.000_06, 0.000_07, 0.000_08, 0.000_09, 0.000_1, 0.000_125,
    0.000_15, 0.000_2, 0.000_3, 0.000_5, 0.001, 0.01, 0.1,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How many committed changes of the deployment this node has not applied (a gauge).
pub const FEED_LAG: &str = "datapact_change_feed_lag";
/// The deployment's live nodes as this node counts them (a gauge; rates are divided by it).
pub const LIVE_NODES: &str = "datapact_live_nodes";

/// Installs the process-wide recorder once (several servers in one test process share it),
/// every series labeled with this node's name (`node`), so a deployment's nodes can be told
/// apart when scraped together.
pub fn install(node: &str) -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .add_global_label("node", node)
                .set_buckets_for_metric(Matcher::Full(OVERHEAD.into()), BUCKETS)
                .ok()?
                .set_buckets_for_metric(Matcher::Full(PII_SCAN.into()), SCAN_BUCKETS)
                .ok()?
                .set_buckets_for_metric(Matcher::Full(PII_SCAN_CPU.into()), SCAN_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Records this node's lag behind the change feed.
pub fn feed_lag(lag: i64) {
    metrics::gauge!(FEED_LAG).set(lag as f64);
}

/// How far the database's clock is ahead of this machine's (a gauge, in seconds).
pub const CLOCK_OFFSET: &str = "datapact_clock_offset_seconds";

/// Records how far the database's clock is ahead of this machine's.
pub fn clock_offset(us: i64) {
    metrics::gauge!(CLOCK_OFFSET).set(us as f64 / 1e6);
}

/// Records the deployment's live nodes as this node last counted them.
pub fn live_nodes(n: u64) {
    metrics::gauge!(LIVE_NODES).set(n as f64);
}

/// The metrics in Prometheus' text format.
pub fn render() -> String {
    match HANDLE.get().and_then(Option::as_ref) {
        Some(h) => {
            h.run_upkeep();
            h.render()
        }
        None => String::new(),
    }
}
