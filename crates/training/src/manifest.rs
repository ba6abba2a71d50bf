//! What datapact keeps about a training dataset and a model: the dataset's manifest (its
//! request, status, counts and one line per tenant shard) and a model's lineage. Both are
//! stored as JSON documents; tenant ids appear here and never in what a training job reads.

use datapact_governance::{DataKind, OrgId, TenantId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub use crate::build::Counts;
use crate::spec::{DatasetSpec, TrainingPurpose};

/// Where a dataset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatasetStatus {
    /// The build is under way (resumed after a restart, on whichever node does the work).
    Building,
    /// Built: every shard is written and the digest is final.
    Ready,
    /// The build stopped on an error (see `error`); nothing of it is served.
    Failed,
}

impl DatasetStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetStatus::Building => "building",
            DatasetStatus::Ready => "ready",
            DatasetStatus::Failed => "failed",
        }
    }
}

/// One tenant's shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardLine {
    /// The tenant (never shown to a training job; the shard name stands for it).
    pub tenant: TenantId,
    /// Its organization.
    pub org: OrgId,
    /// The shard's pseudonym in this dataset.
    pub shard: String,
    /// Items in the shard.
    pub included: u64,
    /// SHA-256 (hex) of the shard's NDJSON lines in order.
    pub digest: String,
}

/// A dataset: the request, where the build is, and what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// `ds_…`.
    pub id: String,
    /// The request as given.
    pub request: DatasetSpec,
    /// The data kinds it reads, resolved.
    pub data_kinds: Vec<DataKind>,
    /// Where the build is.
    pub status: DatasetStatus,
    /// The tenants the build reads, in order (fixed when the dataset is asked for).
    pub plan: Vec<TenantId>,
    /// Tenants done (a prefix of `plan`).
    pub done: usize,
    /// What the tenants done so far counted.
    pub counts: Counts,
    /// One line per tenant done whose shard holds items, in `plan` order.
    pub shards: Vec<ShardLine>,
    /// The dataset's digest, when ready: see [`dataset_digest`].
    pub digest: Option<String>,
    /// The key id that asked for it.
    pub created_by: Option<String>,
    /// When it was asked for.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its build finished.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub built_at: Option<OffsetDateTime>,
    /// The audit entry of the request.
    pub created_entry: Option<u64>,
    /// The audit entry of the finished build.
    pub built_entry: Option<u64>,
    /// Why the build failed.
    pub error: Option<String>,
    /// The secret the shard pseudonyms are keyed with (hex; never shown).
    pub shard_secret: String,
}

impl Dataset {
    /// The shard secret as bytes.
    pub fn shard_secret(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Ok(b) = hex::decode(&self.shard_secret)
            && b.len() == 32
        {
            out.copy_from_slice(&b);
        }
        out
    }

    /// The purpose.
    pub fn purpose(&self) -> TrainingPurpose {
        self.request.purpose
    }

    /// Items the dataset holds of `tenant`.
    pub fn included_of(&self, tenant: TenantId) -> u64 {
        self.shards
            .iter()
            .filter(|s| s.tenant == tenant)
            .map(|s| s.included)
            .sum()
    }
}

/// A dataset's digest: SHA-256 (hex) over one line `shard:digest\n` per shard that holds items,
/// in the order the export streams them, each `digest` being SHA-256 (hex) of the shard's
/// NDJSON lines. A training job computes it from what it read ([`ExportDigest`]).
pub fn dataset_digest<'a>(shards: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut d = Sha256::new();
    for (shard, digest) in shards {
        d.update(shard.as_bytes());
        d.update(b":");
        d.update(digest.as_bytes());
        d.update(b"\n");
    }
    hex::encode(d.finalize())
}

/// Computes a dataset's digest from its export, line by line, as a training job would.
#[derive(Default)]
pub struct ExportDigest {
    shards: Vec<(String, String)>,
    current: Option<(String, Sha256)>,
}

impl ExportDigest {
    /// Takes one NDJSON line (with its newline); a line that is not an item is an error.
    pub fn line(&mut self, line: &[u8]) -> Result<(), String> {
        #[derive(Deserialize)]
        struct Shard<'a> {
            shard: &'a str,
        }
        let s: Shard<'_> = serde_json::from_slice(line).map_err(|e| format!("not an item: {e}"))?;
        match &mut self.current {
            Some((name, d)) if name == s.shard => d.update(line),
            _ => {
                self.finish_shard();
                let mut d = Sha256::new();
                d.update(line);
                self.current = Some((s.shard.to_string(), d));
            }
        }
        Ok(())
    }

    fn finish_shard(&mut self) {
        if let Some((name, d)) = self.current.take() {
            self.shards.push((name, hex::encode(d.finalize())));
        }
    }

    /// The digest of everything taken.
    pub fn finish(mut self) -> String {
        self.finish_shard();
        dataset_digest(self.shards.iter().map(|(a, b)| (a.as_str(), b.as_str())))
    }
}

/// One dataset a model was trained on, as the registration saw it. Which tenants' records
/// went in, and how many, is the dataset's manifest's (a ready dataset never changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageDataset {
    /// The dataset.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its digest.
    pub digest: String,
    /// When it was built.
    #[serde(with = "time::serde::rfc3339")]
    pub built_at: OffsetDateTime,
    /// Items in it.
    pub included: u64,
}

/// A registered model and what it was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// `mdl_…`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Version (one registration per name and version; registering it again replaces it).
    pub version: String,
    /// Product.
    pub product: String,
    /// Purpose.
    pub purpose: TrainingPurpose,
    /// Region.
    pub region: String,
    /// Its datasets.
    pub datasets: Vec<LineageDataset>,
    /// Who registered it.
    pub registered_by: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
    /// The audit entry of the registration.
    pub registered_entry: Option<u64>,
}

impl Model {
    /// The lineage of `d` as a model records it (`None` until `d` is ready).
    pub fn lineage_of(d: &Dataset) -> Option<LineageDataset> {
        Some(LineageDataset {
            id: d.id.clone(),
            name: d.request.name.clone(),
            digest: d.digest.clone()?,
            built_at: d.built_at?,
            included: d.counts.included,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_digest_is_the_manifest_digest() {
        let a1 = b"{\"id\":\"rec_1\",\"shard\":\"shard_a\",\"content\":\"x\"}\n".to_vec();
        let a2 = b"{\"id\":\"rec_2\",\"shard\":\"shard_a\",\"content\":\"y\"}\n".to_vec();
        let b1 = b"{\"id\":\"rec_3\",\"shard\":\"shard_b\",\"content\":\"z\"}\n".to_vec();
        let shard = |lines: &[&Vec<u8>]| crate::build::digest_of_lines(lines.iter().map(|l| l.as_slice()));
        let (da, db) = (shard(&[&a1, &a2]), shard(&[&b1]));
        let manifest = dataset_digest([("shard_a", da.as_str()), ("shard_b", db.as_str())]);
        let mut e = ExportDigest::default();
        for l in [&a1, &a2, &b1] {
            e.line(l).expect("item");
        }
        assert_eq!(e.finish(), manifest);
        // Another order, or a line missing, is another digest.
        let mut e = ExportDigest::default();
        for l in [&a1, &b1] {
            e.line(l).expect("item");
        }
        assert_ne!(e.finish(), manifest);
        assert!(ExportDigest::default().line(b"not json\n").is_err());
    }
}
