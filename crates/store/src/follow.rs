//! Keeps a node's in-memory registry in step with what every node writes to PostgreSQL.
//!
//! A node builds its registry from [`PostgresStore::load_at`] (a snapshot and the change feed's
//! position in it), then [`follow`]s the feed from there: each change names an entity, which is
//! read again whole and put into the registry. Changes are applied in feed order, each exactly
//! when read, and a change that cannot be read (the database is away) is retried, never skipped,
//! so the registry converges on the database whatever happens in between. A node's own writes
//! come back through the feed too, which is harmless: putting the same state twice is a no-op.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use datapact_governance::Registry;

use crate::postgres::PostgresStore;
use crate::{Change, Entity, StoreError};

/// How long a change that cannot be read waits before it is read again.
const RETRY_EVERY: Duration = Duration::from_millis(200);

/// A running follower; stops when dropped.
pub struct Follower {
    applied: Arc<AtomicI64>,
    /// Told after every change applied, so a waiter need not poll.
    moved: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Follower {
    /// The sequence number of the newest change applied to the registry.
    pub fn applied(&self) -> i64 {
        self.applied.load(Ordering::SeqCst)
    }

    /// Waits until the follower has applied `target` or `within` has passed; returns whether
    /// it has.
    pub async fn wait_for(&self, target: i64, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            // Registered before the check, so an apply between the two is not missed.
            let moved = self.moved.notified();
            if self.applied() >= target {
                return true;
            }
            if tokio::time::timeout_at(deadline, moved).await.is_err() {
                return self.applied() >= target;
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Applies every change after `from` to `registry` as it commits (within the feed's bound:
/// a notification, or at worst [`crate::RECONCILE_EVERY`]).
pub fn follow(store: PostgresStore, registry: Arc<Registry>, from: i64) -> Follower {
    let applied = Arc::new(AtomicI64::new(from));
    let seen = Arc::clone(&applied);
    let moved = Arc::new(tokio::sync::Notify::new());
    let tell = Arc::clone(&moved);
    let task = tokio::spawn(async move {
        let mut feed = store.watch(from);
        while let Some(change) = feed.recv().await {
            loop {
                match apply(&store, &registry, &change).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::warn!(seq = change.seq, error = %e, "cannot read a changed entity; retried");
                        tokio::time::sleep(RETRY_EVERY).await;
                    }
                }
            }
            seen.store(change.seq, Ordering::SeqCst);
            tell.notify_waiters();
        }
    });
    Follower { applied, moved, task }
}

/// Reads the changed entity and puts it into the registry.
async fn apply(store: &PostgresStore, registry: &Registry, change: &Change) -> Result<(), StoreError> {
    let found = match change.entity {
        Entity::Org => store.org(&change.id).await?.map(|o| registry.put_org(o)),
        Entity::Tenant => store.tenant(&change.id).await?.map(|t| registry.put_tenant(t)),
        Entity::Key => store.key(&change.id).await?.map(|k| registry.put_key(k)),
    };
    if found.is_none() {
        // Nothing is ever deleted from governance state: a change naming nothing was written
        // by hand or by a newer version. Nothing to apply.
        tracing::warn!(seq = change.seq, entity = ?change.entity, "a change names an entity that is not stored");
    }
    Ok(())
}
