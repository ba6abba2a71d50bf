//! What a node of a several-node deployment (PostgreSQL) has beyond one process: its name,
//! the change feed that keeps its registry current, and how far behind that feed it is.
//!
//! Work that must happen once per deployment (background jobs, due terminations, retention
//! sweeps, periodic checkpoints) runs on the node holding the `datapact.worker` lease; a
//! purge of one tenant runs under that tenant's purge lease, wherever it was asked for. Both
//! leases live in the database and expire when their holder stops renewing them, so another
//! node takes over from a dead one.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use datapact_store::{Follower, PostgresStore, Store, StoreError};

/// The name this process goes by in leases, `/readyz` and metrics.
pub fn node_name() -> String {
    if let Ok(n) = std::env::var("DATAPACT_NODE_NAME")
        && !n.trim().is_empty()
        && n.len() <= 64
    {
        return n.trim().to_string();
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("node-{}", &id[..8])
}

/// How long a lookup that missed waits for the change feed.
const CATCH_UP_PATIENCE: Duration = Duration::from_secs(1);

/// A node's place in a shared deployment.
pub struct Cluster {
    store: PostgresStore,
    follower: OnceLock<Follower>,
    /// When the newest catch-up after a miss started (see [`Cluster::catch_up`]).
    catching: tokio::sync::Mutex<Option<Instant>>,
    /// The deployment's live nodes as this node last counted them (see [`heartbeat`]).
    nodes: std::sync::atomic::AtomicU64,
    /// When this node was last known to keep up with the change feed (milliseconds since
    /// `born`); see [`Cluster::stale`].
    fresh_at_ms: std::sync::atomic::AtomicU64,
    born: Instant,
}

/// How long a node may go without being known to keep up with the change feed before it
/// refuses requests (503 `stale_state`) rather than answer from state that may be old.
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

impl Cluster {
    /// A node on `store`; its follower is attached once state is loaded.
    pub fn new(store: PostgresStore) -> Self {
        Self {
            store,
            follower: OnceLock::new(),
            catching: tokio::sync::Mutex::new(None),
            nodes: std::sync::atomic::AtomicU64::new(1),
            fresh_at_ms: std::sync::atomic::AtomicU64::new(0),
            born: Instant::now(),
        }
    }

    /// Notes that this node keeps up with the change feed now.
    fn mark_fresh(&self) {
        let ms = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.fresh_at_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long since this node was last known to keep up with the deployment's changes, when
    /// that is longer than [`STALE_AFTER`]: its registry may miss a revocation or an opt-out,
    /// so it answers nothing that depends on it. Checked on every request; measured by the
    /// [`heartbeat`] (which, if it cannot reach the database, stops renewing it).
    pub fn stale(&self) -> Option<std::time::Duration> {
        let now = u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        let age = std::time::Duration::from_millis(
            now.saturating_sub(self.fresh_at_ms.load(std::sync::atomic::Ordering::Relaxed)),
        );
        (age > STALE_AFTER).then_some(age)
    }

    /// A closure saying whether this node is stale, for the AI trust layer.
    pub fn staleness(self: &Arc<Self>) -> Arc<dyn Fn() -> bool + Send + Sync> {
        let me = Arc::clone(self);
        Arc::new(move || me.stale().is_some())
    }

    /// The deployment's live nodes as last counted by [`heartbeat`] (1 before the first count).
    pub fn nodes(&self) -> u64 {
        self.nodes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Attaches the follower that applies the change feed to this node's registry.
    pub fn attach(&self, follower: Follower) {
        let _ = self.follower.set(follower);
    }

    /// Measures how far the database's clock is ahead of this machine's (the midpoint of the
    /// round trip) and makes [`crate::clock::now`] follow it. A round trip over a second says
    /// nothing precise and is ignored.
    pub async fn measure_clock(&self) -> Result<i64, StoreError> {
        let before = time::OffsetDateTime::now_utc();
        let db = self.store.clock().await?;
        let after = time::OffsetDateTime::now_utc();
        let rtt = after - before;
        if rtt > time::Duration::SECOND {
            return Ok(crate::clock::clock_offset_us());
        }
        let offset: time::Duration = db - (before + rtt / 2);
        let us = i64::try_from(offset.whole_microseconds()).unwrap_or(0);
        let previous = crate::clock::clock_offset_us();
        crate::clock::set_clock_offset(us);
        if us.abs() > 1_000_000 && (previous - us).abs() > 1_000_000 {
            tracing::warn!(
                offset_ms = us / 1000,
                "this machine's clock differs from the database's; datapact dates everything by the database's"
            );
        }
        crate::metrics::clock_offset(us);
        Ok(us)
    }

    /// The newest change in the database.
    pub async fn latest_change(&self) -> Result<i64, StoreError> {
        self.store.latest_change().await
    }

    /// The newest change applied to this node's registry.
    pub fn applied(&self) -> i64 {
        self.follower.get().map_or(0, Follower::applied)
    }

    /// How many committed changes this node has not applied yet.
    pub async fn lag(&self) -> Result<i64, StoreError> {
        Ok((self.latest_change().await? - self.applied()).max(0))
    }

    /// After a lookup missed (a key, tenant or organization this node does not know): waits
    /// until this node has applied every change committed before the miss, so what was
    /// created through another node a moment ago is found. Misses at once share one catch-up;
    /// one that started after the miss answers for it.
    pub async fn catch_up(&self) {
        let missed = Instant::now();
        let mut last = self.catching.lock().await;
        if last.is_some_and(|started| started >= missed) {
            return;
        }
        *last = Some(Instant::now());
        if let Err(e) = self.caught_up(CATCH_UP_PATIENCE).await {
            tracing::warn!(error = %e, "cannot read the change feed's position");
        }
    }

    /// [`Cluster::catch_up`] from synchronous code on a runtime worker (a lookup in a guard);
    /// does nothing where the runtime cannot block in place.
    pub fn catch_up_blocking(&self) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return;
        }
        tokio::task::block_in_place(|| handle.block_on(self.catch_up()));
    }

    /// Waits (up to `patience`) until this node has applied every change committed so far.
    pub async fn caught_up(&self, patience: std::time::Duration) -> Result<bool, StoreError> {
        let target = self.latest_change().await?;
        match self.follower.get() {
            // Woken by the follower as it applies, not polling.
            Some(f) => Ok(f.wait_for(target, patience).await),
            None => Ok(self.applied() >= target),
        }
    }
}

/// A lease held in the database until this guard is dropped (then released) or, if this node
/// dies first, until it expires. While the guard lives the lease is renewed every third of its
/// time to live, so work that takes longer keeps it, and a dead holder's lease frees within
/// one time to live.
pub struct LeaseGuard {
    store: Arc<dyn Store>,
    name: String,
    holder: String,
    renew: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if let Some(r) = self.renew.take() {
            r.abort();
        }
        let (store, name, holder) = (
            Arc::clone(&self.store),
            std::mem::take(&mut self.name),
            std::mem::take(&mut self.holder),
        );
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.release(&name, &holder).await {
                    tracing::warn!(lease = %name, error = %e, "cannot release a lease; it expires by itself");
                }
            });
        }
    }
}

/// Why a lease was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another node held it for longer than the caller would wait.
    #[error("`{0}` is held by another node")]
    Busy(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Takes lease `name` for node `node`, waiting up to `patience` while another holds it. Each
/// taking has a holder name of its own (`node#n`), so releasing one never releases a later
/// taking by the same node.
pub async fn lease(
    store: &Arc<dyn Store>,
    name: &str,
    node: &str,
    ttl: Duration,
    patience: Duration,
) -> Result<LeaseGuard, LeaseError> {
    static TAKINGS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let holder = format!("{node}#{}", TAKINGS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let holder = holder.as_str();
    let start = Instant::now();
    loop {
        if store.lease(name, holder, ttl).await? {
            let renew = {
                let (store, name, holder) = (Arc::clone(store), name.to_string(), holder.to_string());
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(ttl / 3);
                    tick.tick().await;
                    loop {
                        tick.tick().await;
                        match store.lease(&name, &holder, ttl).await {
                            Ok(true) => {}
                            Ok(false) => {
                                tracing::warn!(lease = %name, "a lease was lost while held (this node stalled past its time to live)");
                                return;
                            }
                            Err(e) => tracing::warn!(lease = %name, error = %e, "cannot renew a lease"),
                        }
                    }
                })
            };
            return Ok(LeaseGuard {
                store: Arc::clone(store),
                name: name.to_string(),
                holder: holder.to_string(),
                renew: Some(renew),
            });
        }
        if start.elapsed() >= patience {
            return Err(LeaseError::Busy(name.to_string()));
        }
        // Short waits first: the usual holder is this node's previous taking, whose release
        // (spawned when its guard dropped) lands within a round trip; then longer ones.
        let wait = if start.elapsed() < Duration::from_millis(50) {
            2
        } else {
            20
        };
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
}

/// The lease each live node renews: `datapact.node/<node>`.
pub const NODE_LEASE_PREFIX: &str = "datapact.node/";
/// How long a node counts as live after its last renewal.
pub const NODE_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// How often a node renews its own lease and counts the others.
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Renews this node's lease every [`HEARTBEAT_EVERY`] and counts the live nodes, dividing the
/// gateway's request rates among them. Runs while the server runs, on a shared database only;
/// a count that fails keeps the last one (the database being away is answered elsewhere).
pub async fn heartbeat(state: std::sync::Arc<crate::AppState>, gateway: std::sync::Weak<datapact_gateway::Gateway>) {
    let Some(cluster) = state.cluster.as_ref() else {
        return;
    };
    let name = format!("{NODE_LEASE_PREFIX}{}", state.node);
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous_latest = 0;
    loop {
        tick.tick().await;
        let Some(gateway) = gateway.upgrade() else {
            return;
        };
        // Keeping up: everything committed by the previous heartbeat is applied by now (the
        // feed's bound is a notification, or the 500 ms reconcile).
        match tokio::time::timeout(HEARTBEAT_EVERY * 2, cluster.latest_change()).await {
            Ok(Ok(latest)) => {
                if cluster.applied() >= previous_latest {
                    cluster.mark_fresh();
                }
                previous_latest = latest;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot read the change feed's position"),
            Err(_) => tracing::warn!("the change feed's position did not come within two seconds"),
        }
        if let Err(e) = cluster.measure_clock().await {
            tracing::warn!(error = %e, "cannot read the database's clock");
        }
        if let Err(e) = state.store.lease(&name, &state.node, NODE_TTL).await {
            tracing::warn!(error = %e, "cannot renew this node's lease");
            continue;
        }
        match state.store.live_leases(NODE_LEASE_PREFIX).await {
            Ok(n) => {
                let n = n.max(1);
                cluster.nodes.store(n, std::sync::atomic::Ordering::Relaxed);
                gateway.limits.set_nodes(u32::try_from(n).unwrap_or(u32::MAX));
                crate::metrics::live_nodes(n);
            }
            Err(e) => tracing::warn!(error = %e, "cannot count the live nodes"),
        }
    }
}

/// Gives this node's lease up at shutdown, so the others divide rates among fewer nodes at
/// their next heartbeat instead of after the lease expires.
pub async fn leave(state: &crate::AppState) {
    if state.cluster.is_some()
        && let Err(e) = state
            .store
            .release(&format!("{NODE_LEASE_PREFIX}{}", state.node), &state.node)
            .await
    {
        tracing::warn!(error = %e, "cannot release this node's lease; it expires by itself");
    }
}
