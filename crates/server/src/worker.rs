//! The `datapact.worker` lease: which node does the deployment's background work (jobs,
//! terminations, sweeps, dataset builds).

use std::time::Duration;

use crate::state::AppState;

/// Whether this node does the deployment's background work now: always on SQLite; on a
/// shared database while it holds (and renews, every tick) the `datapact.worker` lease. A
/// holder that dies stops renewing; another node takes over when the lease expires.
pub(crate) async fn holds_lease(state: &AppState, tick: Duration) -> bool {
    if !state.shared() {
        return true;
    }
    let ttl = (tick * 10).max(Duration::from_secs(15));
    match state.store.lease("datapact.worker", &holder(state), ttl).await {
        Ok(held) => held,
        Err(e) => {
            tracing::warn!(error = %e, "cannot renew the worker lease; standing by");
            false
        }
    }
}

/// Renews the worker lease from inside long background work (a dataset build): whether this
/// node still holds it (always on SQLite).
pub(crate) async fn renew_lease(state: &AppState) -> bool {
    holds_lease(state, Duration::from_millis(state.config.lifecycle.tick_millis)).await
}

/// This node's name as the lease's holder.
pub(crate) fn holder(state: &AppState) -> String {
    format!("{}/worker", state.node)
}
