//! What Communications Mining keeps in memory on a node: trained models by dataset and
//! version, the datasets being trained here, and the vendor's pre-labeler. Nothing here is
//! the truth (the vault and the store are); a miss is read again from them.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use datapact_mining::classifier::Model;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Models kept in memory.
const CACHED_MODELS: usize = 16;

/// The stored pre-labeler.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prelabeler {
    /// 1, 2, ...
    pub version: u32,
    /// When it was trained.
    #[serde(with = "time::serde::rfc3339")]
    pub trained_at: OffsetDateTime,
    /// The `vendor_training` dataset it learned from.
    pub dataset: String,
    /// Messages it learned from.
    pub examples: usize,
    /// Tenants whose messages it learned from.
    pub tenants: usize,
    /// Label id → leaf name it predicts.
    pub labels: Vec<(u32, String)>,
    /// Its entry in the training ledger.
    pub ledger_model: String,
    /// The model, serialized, base64.
    pub model: String,
}

/// A model in memory: (dataset, version) and the model.
type Cached = ((String, u32), Arc<Model>);

/// Models in memory, by dataset and version, and the datasets being trained.
#[derive(Default)]
pub struct Models {
    cache: Mutex<Vec<Cached>>,
    training: Arc<Mutex<BTreeSet<String>>>,
    /// Whether a training job runs on this node.
    job: Arc<std::sync::atomic::AtomicBool>,
    /// When the stored pre-labeler was last looked at, and what was found.
    prelabeler_seen: Mutex<Option<(std::time::Instant, Option<Prelabel>)>>,
}

/// The pre-labeler in memory.
pub type Prelabel = (Arc<Prelabeler>, Arc<Model>);

/// A dataset's training under way on this node; dropped, it is over.
pub struct Training {
    set: Arc<Mutex<BTreeSet<String>>>,
    dataset: String,
}

impl Drop for Training {
    fn drop(&mut self) {
        if let Ok(mut s) = self.set.lock() {
            s.remove(&self.dataset);
        }
    }
}

/// The one training job running on this node; dropped, the next may start.
pub struct JobSlot(Arc<std::sync::atomic::AtomicBool>);

impl Drop for JobSlot {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Models {
    /// Whether a training job runs on this node.
    pub fn job_running(&self) -> bool {
        self.job.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Takes the node's one slot for a training job; `None` when one runs.
    pub fn begin_job(&self) -> Option<JobSlot> {
        self.job
            .compare_exchange(
                false,
                true,
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
            )
            .ok()
            .map(|_| JobSlot(self.job.clone()))
    }

    /// Whether a dataset is being trained on this node.
    pub fn is_training(&self, dataset: &str) -> bool {
        self.training.lock().map(|s| s.contains(dataset)).unwrap_or(true)
    }

    /// Marks a dataset as being trained; `None` when it already is.
    pub fn begin_training(&self, dataset: &str) -> Option<Training> {
        let mut s = self.training.lock().ok()?;
        if !s.insert(dataset.to_string()) {
            return None;
        }
        Some(Training {
            set: self.training.clone(),
            dataset: dataset.to_string(),
        })
    }

    pub fn get(&self, dataset: &str, version: u32) -> Option<Arc<Model>> {
        let c = self.cache.lock().ok()?;
        c.iter()
            .find(|(k, _)| k.0 == dataset && k.1 == version)
            .map(|(_, m)| m.clone())
    }

    pub fn put(&self, dataset: &str, version: u32, m: Arc<Model>) {
        if let Ok(mut c) = self.cache.lock() {
            c.retain(|(k, _)| k.0 != dataset);
            c.push(((dataset.to_string(), version), m));
            let over = c.len().saturating_sub(CACHED_MODELS);
            c.drain(..over);
        }
    }

    /// The pre-labeler of this version, if in memory (however long ago it was looked up).
    pub fn prelabeler(&self, version: u32) -> Option<Prelabel> {
        let seen = self.prelabeler_seen.lock().ok()?;
        seen.as_ref()
            .and_then(|(_, p)| p.as_ref())
            .filter(|x| x.0.version == version)
            .cloned()
    }

    /// What the store held for the pre-labeler, if looked at within `ttl`.
    pub fn prelabeler_fresh(&self, ttl: std::time::Duration) -> Option<Option<Prelabel>> {
        let seen = self.prelabeler_seen.lock().ok()?;
        seen.as_ref()
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, p)| p.clone())
    }

    /// Notes what the store held for the pre-labeler just now.
    pub fn prelabeler_checked(&self, p: Option<Prelabel>) {
        if let Ok(mut seen) = self.prelabeler_seen.lock() {
            *seen = Some((std::time::Instant::now(), p));
        }
    }

    /// Forgets a dataset's models (it was purged or deleted).
    pub fn forget(&self, dataset: &str) {
        if let Ok(mut c) = self.cache.lock() {
            c.retain(|(k, _)| k.0 != dataset);
        }
    }
}
