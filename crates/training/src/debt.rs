//! Unlearning debt: what a model owes once data it was trained on may no longer be used.
//!
//! Computed from the model's lineage (which tenants' records went in, and how many) and what
//! holds now: the decision point's answer for each of those tenants today, and the events
//! stored when they happened (a record deleted or changed, a tenant purged). Nothing scans a
//! dataset, so the debt is current the moment an opt-out, a BAA or a purge is recorded.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use datapact_governance::TenantId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::manifest::{LineageDataset, LineageTenant, Model};

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

/// The model's debt. `today` answers, for one tenant of one dataset, every reason its data
/// may no longer be used now, with since when (empty: still usable); `events` holds the
/// stored events by dataset and tenant.
pub fn debt_of(
    model: &Model,
    mut today: impl FnMut(&LineageDataset, &LineageTenant) -> Vec<(String, OffsetDateTime)>,
    events: &HashMap<(String, TenantId), Vec<EventCount>>,
) -> Debt {
    // reason -> (records, tenants, since)
    let mut by_reason: BTreeMap<String, (u64, BTreeSet<TenantId>, OffsetDateTime)> = BTreeMap::new();
    let mut add = |reason: &str, records: u64, tenant: TenantId, since: OffsetDateTime| {
        let e = by_reason
            .entry(reason.to_string())
            .or_insert((0, BTreeSet::new(), since));
        e.0 += records;
        e.1.insert(tenant);
        e.2 = e.2.min(since);
    };
    for d in &model.datasets {
        for t in d.tenants.iter().filter(|t| t.records > 0) {
            for (reason, since) in today(d, t) {
                add(&reason, t.records, t.tenant, since.max(d.built_at));
            }
            if let Some(evs) = events.get(&(d.id.clone(), t.tenant)) {
                for (reason, n, since) in evs {
                    let records = if reason == REASON_TENANT_PURGED {
                        t.records
                    } else {
                        (*n).min(t.records)
                    };
                    add(reason, records, t.tenant, *since);
                }
            }
        }
    }
    let mut items: Vec<DebtItem> = by_reason
        .into_iter()
        .map(|(reason, (records, tenants, since))| DebtItem {
            reason,
            records,
            tenants: tenants.len() as u64,
            since,
        })
        .collect();
    items.sort_by(|a, b| b.records.cmp(&a.records).then_with(|| a.reason.cmp(&b.reason)));
    Debt {
        owed: !items.is_empty(),
        items,
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
    use crate::manifest::LineageTenant;
    use crate::spec::TrainingPurpose;
    use datapact_governance::OrgId;

    fn model(tenants: &[(TenantId, u64)]) -> Model {
        let built = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        Model {
            id: "mdl_1".into(),
            name: "m".into(),
            version: "1".into(),
            product: "p".into(),
            purpose: TrainingPurpose::VendorTraining,
            region: "eu".into(),
            datasets: vec![LineageDataset {
                id: "ds_1".into(),
                name: "d".into(),
                digest: "00".into(),
                data_kinds: vec![],
                built_at: built,
                included: tenants.iter().map(|t| t.1).sum(),
                tenants: tenants
                    .iter()
                    .map(|(t, n)| LineageTenant {
                        tenant: *t,
                        org: OrgId::generate(),
                        records: *n,
                    })
                    .collect(),
            }],
            registered_by: None,
            registered_at: built,
            registered_entry: None,
        }
    }

    #[test]
    fn debt_sums_reasons_over_tenants_and_events() {
        let (a, b, c) = (TenantId::generate(), TenantId::generate(), TenantId::generate());
        let m = model(&[(a, 10), (b, 5), (c, 0)]);
        let later = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
        let mut events = HashMap::new();
        events.insert(
            ("ds_1".to_string(), b),
            vec![
                (REASON_TENANT_PURGED.to_string(), 1, later),
                (REASON_RECORD_DELETED.to_string(), 99, later),
            ],
        );
        let d = debt_of(
            &m,
            |_, t| {
                if t.tenant == a || t.tenant == c {
                    vec![("opted_out".to_string(), later)]
                } else {
                    vec![]
                }
            },
            &events,
        );
        assert!(d.owed);
        let get = |r: &str| d.items.iter().find(|i| i.reason == r).cloned().expect(r);
        // c put nothing in: it owes nothing.
        assert_eq!(get("opted_out").records, 10);
        assert_eq!(get("opted_out").tenants, 1);
        assert_eq!(get(REASON_TENANT_PURGED).records, 5);
        // Never more than the tenant put in.
        assert_eq!(get(REASON_RECORD_DELETED).records, 5);
        assert_eq!(d.items[0].reason, "opted_out");
        assert_eq!(d.weight(), 20);
        let clean = debt_of(&m, |_, _| vec![], &HashMap::new());
        assert!(!clean.owed && clean.items.is_empty());
    }
}
