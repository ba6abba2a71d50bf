//! Unlearning debt: what a model owes once data it was trained on may no longer be used.
//!
//! Computed from lineage (which tenants' records each dataset holds, and how many: its
//! manifest) and what holds now: the decision point's answer for each of those tenants today,
//! and the events stored when they happened (a record deleted or changed, a tenant purged).
//! Nothing scans a dataset's items, so the debt is current the moment an opt-out, a BAA or a
//! purge is recorded. A dataset's debt is computed once and shared by every model trained on
//! it; a model's is the union of its datasets'.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use datapact_governance::TenantId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::manifest::{Dataset, ShardLine};

/// One reason a model owes retraining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtItem {
    /// Why (`opted_out`, `baa_in_place`, `contract_forbids_training`, `org_not_active`,
    /// `third_party_finetune_disabled`, `tenant_purged`, `record_deleted`, `record_modified`, …).
    pub reason: String,
    /// Records of the model's training data it concerns.
    pub records: u64,
    /// Tenants it concerns.
    pub tenants: u64,
    /// Since when (the earliest).
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

/// What a model owes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debt {
    /// Whether it owes retraining at all.
    pub owed: bool,
    /// Why, one item per reason, most records first.
    pub items: Vec<DebtItem>,
}

impl Debt {
    /// Records owed across reasons (a record under two reasons counts twice).
    pub fn weight(&self) -> u64 {
        self.items.iter().map(|i| i.records).sum()
    }
}

/// An event stored when it happened, counted: (reason, records, since).
pub type EventCount = (String, u64, OffsetDateTime);

/// What one or more datasets owe, by reason: records, tenants, since.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owed {
    by_reason: BTreeMap<String, (u64, BTreeSet<TenantId>, OffsetDateTime)>,
}

impl Owed {
    fn add(&mut self, reason: &str, records: u64, tenant: TenantId, since: OffsetDateTime) {
        let e = self
            .by_reason
            .entry(reason.to_string())
            .or_insert((0, BTreeSet::new(), since));
        e.0 += records;
        e.1.insert(tenant);
        e.2 = e.2.min(since);
    }

    /// What dataset `d` owes for the shards `keep` selects. `today` answers, for one shard,
    /// every reason its tenant's data may no longer be used now, with since when (empty: still
    /// usable); `events` holds the stored events by dataset and tenant.
    pub fn of_dataset(
        d: &Dataset,
        keep: impl Fn(&ShardLine) -> bool,
        mut today: impl FnMut(&ShardLine) -> Vec<(String, OffsetDateTime)>,
        events: &HashMap<(String, TenantId), Vec<EventCount>>,
    ) -> Owed {
        let mut owed = Owed::default();
        let built = d.built_at.unwrap_or(d.created_at);
        for s in d.shards.iter().filter(|s| s.included > 0 && keep(s)) {
            for (reason, since) in today(s) {
                owed.add(&reason, s.included, s.tenant, since.max(built));
            }
            if let Some(evs) = events.get(&(d.id.clone(), s.tenant)) {
                for (reason, n, since) in evs {
                    let records = if reason == REASON_TENANT_PURGED {
                        s.included
                    } else {
                        (*n).min(s.included)
                    };
                    owed.add(reason, records, s.tenant, *since);
                }
            }
        }
        owed
    }

    /// Adds what another dataset owes (a model trained on both owes both).
    pub fn merge(&mut self, other: &Owed) {
        for (reason, (records, tenants, since)) in &other.by_reason {
            let e = self
                .by_reason
                .entry(reason.clone())
                .or_insert((0, BTreeSet::new(), *since));
            e.0 += records;
            e.1.extend(tenants.iter().copied());
            e.2 = e.2.min(*since);
        }
    }

    /// As a debt: one item per reason, most records first.
    pub fn debt(&self) -> Debt {
        let mut items: Vec<DebtItem> = self
            .by_reason
            .iter()
            .map(|(reason, (records, tenants, since))| DebtItem {
                reason: reason.clone(),
                records: *records,
                tenants: tenants.len() as u64,
                since: *since,
            })
            .collect();
        items.sort_by(|a, b| b.records.cmp(&a.records).then_with(|| a.reason.cmp(&b.reason)));
        Debt {
            owed: !items.is_empty(),
            items,
        }
    }
}

/// A record a dataset holds was deleted.
pub const REASON_RECORD_DELETED: &str = "record_deleted";
/// A record a dataset holds was changed.
pub const REASON_RECORD_MODIFIED: &str = "record_modified";
/// A tenant whose data a dataset holds was purged.
pub const REASON_TENANT_PURGED: &str = "tenant_purged";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Counts, DatasetStatus};
    use crate::spec::{DatasetSpec, TrainingPurpose};
    use datapact_governance::OrgId;

    fn dataset(id: &str, shards: &[(TenantId, u64)]) -> Dataset {
        let built = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        Dataset {
            id: id.into(),
            request: DatasetSpec {
                name: "d".into(),
                product: "p".into(),
                purpose: TrainingPurpose::VendorTraining,
                region: "eu".into(),
                data_kinds: None,
                tenants: None,
                categories: Default::default(),
                minimization: Default::default(),
            },
            data_kinds: vec![],
            status: DatasetStatus::Ready,
            plan: shards.iter().map(|s| s.0).collect(),
            done: shards.len(),
            counts: Counts::default(),
            shards: shards
                .iter()
                .map(|(t, n)| ShardLine {
                    tenant: *t,
                    org: OrgId::generate(),
                    shard: "shard_0".into(),
                    included: *n,
                    digest: String::new(),
                })
                .collect(),
            digest: Some("00".into()),
            created_by: None,
            created_at: built,
            built_at: Some(built),
            created_entry: None,
            built_entry: None,
            error: None,
            shard_secret: String::new(),
        }
    }

    #[test]
    fn debt_sums_reasons_over_tenants_events_and_datasets() {
        let (a, b, c) = (TenantId::generate(), TenantId::generate(), TenantId::generate());
        let d1 = dataset("ds_1", &[(a, 10), (b, 5), (c, 0)]);
        let d2 = dataset("ds_2", &[(a, 7)]);
        let later = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
        let mut events = HashMap::new();
        events.insert(
            ("ds_1".to_string(), b),
            vec![
                (REASON_TENANT_PURGED.to_string(), 1, later),
                (REASON_RECORD_DELETED.to_string(), 99, later),
            ],
        );
        let today = |s: &ShardLine| {
            if s.tenant == a || s.tenant == c {
                vec![("opted_out".to_string(), later)]
            } else {
                vec![]
            }
        };
        let mut owed = Owed::of_dataset(&d1, |_| true, today, &events);
        owed.merge(&Owed::of_dataset(&d2, |_| true, today, &events));
        let d = owed.debt();
        assert!(d.owed);
        let get = |r: &str| d.items.iter().find(|i| i.reason == r).cloned().expect(r);
        // c put nothing in: it owes nothing; a's records in both datasets count, once as a tenant.
        assert_eq!(get("opted_out").records, 17);
        assert_eq!(get("opted_out").tenants, 1);
        assert_eq!(get(REASON_TENANT_PURGED).records, 5);
        // Never more than the tenant put in.
        assert_eq!(get(REASON_RECORD_DELETED).records, 5);
        assert_eq!(d.items[0].reason, "opted_out");
        assert_eq!(d.weight(), 27);
        // Only some shards (an organization's own view).
        let only_b = Owed::of_dataset(&d1, |s| s.tenant == b, today, &events).debt();
        assert!(only_b.items.iter().all(|i| i.reason != "opted_out"));
        let clean = Owed::of_dataset(&d1, |_| true, |_| vec![], &HashMap::new()).debt();
        assert!(!clean.owed && clean.items.is_empty());
    }
}
