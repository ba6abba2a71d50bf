//! How a candidate record becomes a training item, or is left out with its reasons counted.
//!
//! The order of the steps is the order of their cost: the tenant, data kind and category
//! filters and the per-tenant cap look at metadata only; the decision point's answer is the
//! caller's (it decides with the record's tenant, product, data kind and the dataset's
//! region); the PII scan and the digest run only for records still in.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use datapact_governance::catalog::category_within;
use datapact_governance::{DataKind, Reason, ReasonCode, RecordId, TenantId};
use datapact_pii::{Analyzer, Operator, Options, Pseudonymizer, anonymize};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::spec::{PiiMinimization, ValidSpec};

/// A record offered to a dataset, as the vault holds it (content decrypted).
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The record.
    pub id: RecordId,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its data kind.
    pub data_kind: DataKind,
    /// Its data categories.
    pub categories: &'a [String],
    /// Its content.
    pub content: &'a [u8],
}

/// One line of a dataset: what a training job reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The record it came from.
    pub id: RecordId,
    /// The tenant's pseudonym in this dataset (never the tenant's id).
    pub shard: String,
    /// The record's data kind.
    pub data_kind: DataKind,
    /// The record's data categories.
    pub categories: Vec<String>,
    /// The content, minimized.
    pub content: String,
}

impl Item {
    /// The item as one NDJSON line (with its newline): what an export streams, and what the
    /// dataset's digest is computed over.
    pub fn line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

/// What became of a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Considered {
    /// In the dataset, as this item.
    Included(Item),
    /// Left out, with every reason code that applied.
    Excluded(Vec<String>),
    /// Its minimized content is already in the dataset.
    Deduplicated,
    /// Its tenant already has `max_records_per_tenant` items.
    Capped,
}

/// One tenant's part of a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantLine {
    /// The tenant.
    pub tenant: TenantId,
    /// Its pseudonym in this dataset.
    pub shard: String,
    /// Records of it included.
    pub included: u64,
}

/// What a build counted (a manifest shows them, summed over the tenants built).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    /// Records offered.
    pub candidates: u64,
    /// Items in the dataset.
    pub included: u64,
    /// Records left out.
    pub excluded_records: u64,
    /// Records left out, under each reason code they got (a record can count under several).
    pub excluded: BTreeMap<String, u64>,
    /// Records whose minimized content was already in.
    pub deduplicated: u64,
    /// Records left out by the per-tenant cap.
    pub capped: u64,
    /// Personal data replaced in included items, by entity type.
    pub pii_masked: BTreeMap<String, u64>,
}

impl Counts {
    /// Adds another build's counts (a dataset's tenants, built one at a time).
    pub fn merge(&mut self, other: &Counts) {
        self.candidates += other.candidates;
        self.included += other.included;
        self.excluded_records += other.excluded_records;
        for (k, v) in &other.excluded {
            *self.excluded.entry(k.clone()).or_default() += v;
        }
        self.deduplicated += other.deduplicated;
        self.capped += other.capped;
        for (k, v) in &other.pii_masked {
            *self.pii_masked.entry(k.clone()).or_default() += v;
        }
    }

    /// Counts `n` records left out for one reason, unread (another region's).
    pub fn exclude(&mut self, reason: &str, n: u64) {
        if n == 0 {
            return;
        }
        self.candidates += n;
        self.excluded_records += n;
        *self.excluded.entry(reason.to_string()).or_default() += n;
    }
}

/// The counts, one line per tenant with items, and the digest of the included items in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// What was counted.
    #[serde(flatten)]
    pub counts: Counts,
    /// Per tenant with items, in tenant order.
    pub tenants: Vec<TenantLine>,
    /// SHA-256 (hex) of the included items' NDJSON lines, in the order they were included.
    pub digest: String,
}

/// Builds one dataset: offer it every candidate, in a stable order, then take its summary.
pub struct Builder<'a> {
    spec: &'a ValidSpec,
    analyzer: &'a Analyzer,
    /// Keys the tenants' pseudonyms (one secret per dataset).
    shard_key: aws_lc_rs::hmac::Key,
    tenants: Option<BTreeSet<TenantId>>,
    seen: HashSet<[u8; 32]>,
    per_tenant: HashMap<TenantId, (String, u64)>,
    digest: Sha256,
    summary: Summary,
}

/// A content past the PII step.
enum Minimized {
    /// What enters, and the personal data masked in it.
    Kept(String, Vec<datapact_pii::Span>),
    /// Left out for the personal data in it.
    Dropped,
}

/// Own reason codes, beside the decision point's.
pub mod reasons {
    /// The record's tenant is not one the dataset names.
    pub const TENANT_NOT_REQUESTED: &str = "tenant_not_requested";
    /// The record's data kind is not one the dataset reads.
    pub const DATA_KIND_NOT_REQUESTED: &str = "data_kind_not_requested";
    /// No category of the record is within `categories.include`.
    pub const CATEGORY_NOT_INCLUDED: &str = "category_not_included";
    /// A category of the record is within `categories.exclude`.
    pub const CATEGORY_EXCLUDED: &str = "category_excluded";
    /// The content is not UTF-8 text.
    pub const NOT_TEXT: &str = "not_text";
    /// `minimization.pii = "drop"` and the PII engine found personal data.
    pub const PERSONAL_DATA_FOUND: &str = "personal_data_found";
    /// The decision point denied the use and gave no reason.
    pub const DENIED: &str = "denied";
    /// The organization's contract is ending or has ended.
    pub const ORG_NOT_ACTIVE: &str = "org_not_active";
    /// The record's tenant is in another region than the dataset's (never read).
    pub const OTHER_REGION: &str = "other_region";
}

impl<'a> Builder<'a> {
    /// A builder for `spec`, scanning with `analyzer`; `shard_secret` is the dataset's own
    /// (its tenants' pseudonyms mean nothing outside it).
    pub fn new(spec: &'a ValidSpec, analyzer: &'a Analyzer, shard_secret: &[u8; 32]) -> Self {
        Builder {
            spec,
            analyzer,
            shard_key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, shard_secret),
            tenants: spec.asked.tenants.as_ref().map(|t| t.iter().copied().collect()),
            seen: HashSet::new(),
            per_tenant: HashMap::new(),
            digest: Sha256::new(),
            summary: Summary::default(),
        }
    }

    /// The tenant's pseudonym in this dataset.
    pub fn shard_of(&self, tenant: TenantId) -> String {
        let tag = aws_lc_rs::hmac::sign(&self.shard_key, tenant.to_string().as_bytes());
        format!("shard_{}", hex::encode(&tag.as_ref()[..8]))
    }

    /// Offers one record, with the decision point's answer for it (`allowed`, and its reasons:
    /// the failures when denied).
    pub fn consider(&mut self, c: Candidate<'_>, allowed: bool, decision_reasons: &[Reason]) -> Considered {
        match self.precheck(&c, allowed, decision_reasons) {
            Err(why) => self.refuse(why),
            Ok(text) => {
                if self.over_cap(c.tenant) {
                    return self.admit(&c, None);
                }
                let minimized = self.minimize(text);
                self.admit(&c, Some(minimized))
            }
        }
    }

    /// Offers records in order, with their decisions; the PII scans run on up to `threads`
    /// threads, everything else in order, so the outcome is exactly that of offering them one
    /// by one (a record its tenant's cap would leave out is scanned all the same).
    pub fn consider_all(&mut self, batch: &[(Candidate<'_>, bool, &[Reason])], threads: usize) -> Vec<Considered> {
        let checked: Vec<Result<&str, Vec<String>>> = batch
            .iter()
            .map(|(c, allowed, reasons)| self.precheck(c, *allowed, reasons))
            .collect();
        let todo: Vec<(usize, &str)> = checked
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().ok().map(|t| (i, *t)))
            .collect();
        let mut minimized: Vec<Option<Minimized>> = (0..batch.len()).map(|_| None).collect();
        let threads = threads.clamp(1, 64);
        // Without a scan there is nothing worth a thread.
        if threads == 1 || todo.len() < 2 || self.spec.asked.minimization.pii == PiiMinimization::Off {
            for (i, text) in &todo {
                minimized[*i] = Some(self.minimize(text));
            }
        } else {
            let chunk = todo.len().div_ceil(threads);
            let this = &*self;
            let done: Vec<Vec<(usize, Minimized)>> = std::thread::scope(|scope| {
                let handles: Vec<_> = todo
                    .chunks(chunk)
                    .map(|part| {
                        scope.spawn(move || part.iter().map(|(i, t)| (*i, this.minimize(t))).collect::<Vec<_>>())
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
            });
            for (i, m) in done.into_iter().flatten() {
                minimized[i] = Some(m);
            }
        }
        let mut out = Vec::with_capacity(batch.len());
        for ((i, check), (c, _, _)) in checked.into_iter().enumerate().zip(batch) {
            out.push(match check {
                Err(why) => self.refuse(why),
                Ok(text) => match minimized[i].take() {
                    Some(m) => self.admit(c, if self.over_cap(c.tenant) { None } else { Some(m) }),
                    // A scanning thread that died: scanned here instead.
                    None => {
                        let m = (!self.over_cap(c.tenant)).then(|| self.minimize(text));
                        self.admit(c, m)
                    }
                },
            });
        }
        out
    }

    /// The checks on metadata and the decision: the content as text, or every reason to leave
    /// the record out.
    fn precheck<'c>(
        &self,
        c: &Candidate<'c>,
        allowed: bool,
        decision_reasons: &[Reason],
    ) -> Result<&'c str, Vec<String>> {
        let mut why: Vec<String> = Vec::new();
        if self.tenants.as_ref().is_some_and(|t| !t.contains(&c.tenant)) {
            why.push(reasons::TENANT_NOT_REQUESTED.into());
        }
        if !self.spec.data_kinds.contains(&c.data_kind) {
            why.push(reasons::DATA_KIND_NOT_REQUESTED.into());
        }
        let filter = &self.spec.asked.categories;
        if !filter.include.is_empty()
            && !c
                .categories
                .iter()
                .any(|cat| filter.include.iter().any(|scope| category_within(cat, scope)))
        {
            why.push(reasons::CATEGORY_NOT_INCLUDED.into());
        }
        if c.categories
            .iter()
            .any(|cat| filter.exclude.iter().any(|scope| category_within(cat, scope)))
        {
            why.push(reasons::CATEGORY_EXCLUDED.into());
        }
        if !allowed {
            why.extend(decision_reasons.iter().map(code_name));
            if decision_reasons.is_empty() {
                // A denial always has reasons; one without is still a denial.
                why.push(reasons::DENIED.into());
            }
        }
        let text = std::str::from_utf8(c.content);
        if text.is_err() {
            why.push(reasons::NOT_TEXT.into());
        }
        match text {
            Ok(t) if why.is_empty() => Ok(t),
            _ => Err(why),
        }
    }

    fn over_cap(&self, tenant: TenantId) -> bool {
        let cap = self.spec.asked.minimization.max_records_per_tenant;
        matches!((cap, self.per_tenant.get(&tenant)), (Some(cap), Some((_, n))) if *n >= cap)
    }

    /// The content as it would enter (`None`: dropped for the personal data in it), and what
    /// was masked.
    fn minimize(&self, text: &str) -> Minimized {
        match self.spec.asked.minimization.pii {
            PiiMinimization::Off => Minimized::Kept(text.to_string(), Vec::new()),
            mode => {
                let spans = self.analyzer.analyze(text, &Options::default());
                if spans.is_empty() {
                    Minimized::Kept(text.to_string(), spans)
                } else if mode == PiiMinimization::Drop {
                    Minimized::Dropped
                } else {
                    match anonymize(text, &spans, &Operator::Replace, &mut Pseudonymizer::new()) {
                        Ok(masked) => Minimized::Kept(masked, spans),
                        // Replace never fails; were it to, nothing unmasked enters.
                        Err(_) => Minimized::Dropped,
                    }
                }
            }
        }
    }

    /// Takes in a record past its checks: capped (`None`), dropped, a duplicate, or an item.
    fn admit(&mut self, c: &Candidate<'_>, minimized: Option<Minimized>) -> Considered {
        let (content, masked) = match minimized {
            None => {
                self.summary.counts.candidates += 1;
                self.summary.counts.capped += 1;
                return Considered::Capped;
            }
            Some(Minimized::Dropped) => return self.refuse(vec![reasons::PERSONAL_DATA_FOUND.into()]),
            Some(Minimized::Kept(content, masked)) => (content, masked),
        };
        self.summary.counts.candidates += 1;
        if self.spec.asked.minimization.dedup && !self.seen.insert(Sha256::digest(content.as_bytes()).into()) {
            self.summary.counts.deduplicated += 1;
            return Considered::Deduplicated;
        }
        for s in &masked {
            *self
                .summary
                .counts
                .pii_masked
                .entry(s.entity.as_str().to_string())
                .or_default() += 1;
        }
        let shard = match self.per_tenant.get_mut(&c.tenant) {
            Some((shard, n)) => {
                *n += 1;
                shard.clone()
            }
            None => {
                let shard = self.shard_of(c.tenant);
                self.per_tenant.insert(c.tenant, (shard.clone(), 1));
                shard
            }
        };
        let item = Item {
            id: c.id,
            shard,
            data_kind: c.data_kind,
            categories: c.categories.to_vec(),
            content,
        };
        self.digest.update(item.line());
        self.summary.counts.included += 1;
        Considered::Included(item)
    }

    fn refuse(&mut self, why: Vec<String>) -> Considered {
        self.summary.counts.candidates += 1;
        self.exclude(why)
    }

    fn exclude(&mut self, why: Vec<String>) -> Considered {
        self.summary.counts.excluded_records += 1;
        for code in &why {
            *self.summary.counts.excluded.entry(code.clone()).or_default() += 1;
        }
        Considered::Excluded(why)
    }

    /// The counts so far (the digest of the items so far).
    pub fn summary(&self) -> Summary {
        let mut s = self.summary.clone();
        let mut tenants: Vec<TenantLine> = self
            .per_tenant
            .iter()
            .map(|(t, (shard, n))| TenantLine {
                tenant: *t,
                shard: shard.clone(),
                included: *n,
            })
            .collect();
        tenants.sort_by_key(|l| l.tenant);
        s.tenants = tenants;
        s.digest = hex::encode(self.digest.clone().finalize());
        s
    }
}

/// A reason code's name in a dataset's counts: the decision point's wire name, except that an
/// organization whose contract is ending or ended counts as `org_not_active` and processing
/// outside the tenant's region as `other_region`.
pub fn code_name(r: &Reason) -> String {
    match r.code {
        ReasonCode::OrgTerminated | ReasonCode::OrgTerminating => return reasons::ORG_NOT_ACTIVE.into(),
        ReasonCode::RegionMismatch => return reasons::OTHER_REGION.into(),
        _ => {}
    }
    match serde_json::to_value(r.code) {
        Ok(serde_json::Value::String(s)) => s,
        _ => reasons::DENIED.into(),
    }
}

/// The digest a training job computes over what it read: SHA-256 of the NDJSON lines in order.
pub fn digest_of_lines<'l>(lines: impl IntoIterator<Item = &'l [u8]>) -> String {
    let mut d = Sha256::new();
    for l in lines {
        d.update(l);
    }
    hex::encode(d.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::DatasetSpec;
    use datapact_governance::{Catalog, ReasonCode};
    use serde_json::json;

    fn valid(v: serde_json::Value) -> ValidSpec {
        let mut base = json!({"name": "d", "product": "communications-mining",
                              "purpose": "vendor_training", "region": "eu"});
        for (k, x) in v.as_object().unwrap() {
            base[k] = x.clone();
        }
        serde_json::from_value::<DatasetSpec>(base)
            .unwrap()
            .validate(&Catalog::builtin().unwrap(), &["eu".to_string()])
            .unwrap()
    }

    fn cand<'a>(tenant: TenantId, cats: &'a [String], content: &'a str) -> Candidate<'a> {
        Candidate {
            id: RecordId::generate(),
            tenant,
            data_kind: DataKind::DesignTime,
            categories: cats,
            content: content.as_bytes(),
        }
    }

    #[test]
    fn personal_data_is_masked_and_counted_and_the_digest_is_the_lines() {
        let spec = valid(json!({}));
        let analyzer = Analyzer::new();
        let mut b = Builder::new(&spec, &analyzer, &[1; 32]);
        let t = TenantId::generate();
        let cats = vec!["user.content".to_string()];
        let text = "Please refund me, write to jane.roe@example.com or call +44 20 7946 0958.";
        let Considered::Included(item) = b.consider(cand(t, &cats, text), true, &[]) else {
            panic!("included")
        };
        assert!(!item.content.contains("jane.roe@example.com"), "{}", item.content);
        assert!(!item.content.contains("7946"), "{}", item.content);
        assert!(item.content.contains("<EMAIL_ADDRESS>"), "{}", item.content);
        assert!(item.shard.starts_with("shard_") && !item.shard.contains(&t.to_string()));
        let s = b.summary();
        assert_eq!(s.counts.included, 1);
        assert_eq!(s.counts.pii_masked.get("EMAIL_ADDRESS"), Some(&1));
        assert_eq!(s.digest, digest_of_lines([item.line().as_slice()]));
        assert_eq!(
            s.tenants,
            vec![TenantLine {
                tenant: t,
                shard: item.shard.clone(),
                included: 1
            }]
        );
    }

    #[test]
    fn every_reason_is_counted() {
        let spec = valid(
            json!({"categories": {"include": ["user"], "exclude": ["user.financial"]},
                                "minimization": {"pii": "drop", "max_records_per_tenant": 2}}),
        );
        let analyzer = Analyzer::new();
        let mut b = Builder::new(&spec, &analyzer, &[2; 32]);
        let t = TenantId::generate();
        let ok = vec!["user.content".to_string()];
        let fin = vec!["user.financial.iban".to_string()];
        let sys = vec!["system.logs".to_string()];
        let denied = [
            Reason::new(ReasonCode::OptedOut, "opted out"),
            Reason::new(ReasonCode::BaaInPlace, "baa"),
        ];
        assert_eq!(
            b.consider(cand(t, &ok, "a ticket"), false, &denied),
            Considered::Excluded(vec!["opted_out".into(), "baa_in_place".into()])
        );
        assert!(matches!(
            b.consider(cand(t, &fin, "x"), true, &[]),
            Considered::Excluded(_)
        ));
        assert!(matches!(
            b.consider(cand(t, &sys, "y"), true, &[]),
            Considered::Excluded(_)
        ));
        assert_eq!(
            b.consider(cand(t, &ok, "mail bob@example.org"), true, &[]),
            Considered::Excluded(vec!["personal_data_found".into()])
        );
        assert_eq!(
            b.consider(cand(t, &ok, "denied without a reason"), false, &[]),
            Considered::Excluded(vec!["denied".into()])
        );
        let mut run_time = cand(t, &ok, "z");
        run_time.data_kind = DataKind::RunTime;
        assert!(matches!(b.consider(run_time, true, &[]), Considered::Excluded(_)));
        let mut binary = cand(t, &ok, "");
        binary.content = &[0xff, 0xfe];
        assert_eq!(
            b.consider(binary, true, &[]),
            Considered::Excluded(vec!["not_text".into()])
        );
        assert!(matches!(
            b.consider(cand(t, &ok, "one"), true, &[]),
            Considered::Included(_)
        ));
        assert_eq!(b.consider(cand(t, &ok, "one"), true, &[]), Considered::Deduplicated);
        assert!(matches!(
            b.consider(cand(t, &ok, "two"), true, &[]),
            Considered::Included(_)
        ));
        assert_eq!(b.consider(cand(t, &ok, "three"), true, &[]), Considered::Capped);
        let s = b.summary();
        assert_eq!(
            (
                s.counts.candidates,
                s.counts.included,
                s.counts.excluded_records,
                s.counts.deduplicated,
                s.counts.capped
            ),
            (11, 2, 7, 1, 1)
        );
        let count = |k: &str| s.counts.excluded.get(k).copied().unwrap_or(0);
        assert_eq!(count("opted_out"), 1);
        assert_eq!(count("baa_in_place"), 1);
        assert_eq!(count(reasons::CATEGORY_EXCLUDED), 1);
        assert_eq!(count(reasons::CATEGORY_NOT_INCLUDED), 1);
        assert_eq!(count(reasons::PERSONAL_DATA_FOUND), 1);
        assert_eq!(count(reasons::DATA_KIND_NOT_REQUESTED), 1);
        assert_eq!(count(reasons::NOT_TEXT), 1);
        assert_eq!(count(reasons::DENIED), 1);
    }

    #[test]
    fn only_the_named_tenants_enter_and_shards_differ_per_dataset() {
        let (a, other) = (TenantId::generate(), TenantId::generate());
        let spec = valid(json!({"tenants": [a.to_string()]}));
        let analyzer = Analyzer::new();
        let mut b = Builder::new(&spec, &analyzer, &[3; 32]);
        let cats: Vec<String> = Vec::new();
        assert_eq!(
            b.consider(cand(other, &cats, "x"), true, &[]),
            Considered::Excluded(vec!["tenant_not_requested".into()])
        );
        let b2 = Builder::new(&spec, &analyzer, &[4; 32]);
        assert_ne!(b.shard_of(a), b2.shard_of(a));
        assert_eq!(b.shard_of(a), Builder::new(&spec, &analyzer, &[3; 32]).shard_of(a));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Offering a batch on several threads gives what offering it one by one gives.
        #[test]
        fn a_batch_is_the_same_as_one_by_one(
            rows in proptest::collection::vec((0usize..3, 0usize..4, proptest::bool::ANY, 0usize..6), 0..40),
            pii in proptest::sample::select(vec!["mask", "drop"]),
        ) {
            let spec = valid(json!({"categories": {"exclude": ["user.financial"]},
                                    "minimization": {"pii": pii, "max_records_per_tenant": 3}}));
            let analyzer = Analyzer::new();
            let tenants = [TenantId::generate(), TenantId::generate(), TenantId::generate()];
            let cats = [vec!["user.content".to_string()], vec!["user.financial".to_string()], Vec::new(), vec!["x".to_string()]];
            let texts = ["a note", "call me on +1 415 555 0134", "a note", "mail ann@example.net", "résumé ok", "the same note"];
            let denied = [Reason::new(ReasonCode::OptedOut, "no")];
            let batch: Vec<(Candidate<'_>, bool, &[Reason])> = rows
                .iter()
                .map(|&(t, c, allowed, x)| (cand(tenants[t], &cats[c], texts[x]), allowed, if allowed { &[][..] } else { &denied[..] }))
                .collect();
            let mut one = Builder::new(&spec, &analyzer, &[6; 32]);
            let each: Vec<Considered> = batch.iter().map(|(c, a, r)| one.consider(*c, *a, r)).collect();
            let mut all = Builder::new(&spec, &analyzer, &[6; 32]);
            proptest::prop_assert_eq!(all.consider_all(&batch, 2), each);
            proptest::prop_assert_eq!(all.summary(), one.summary());
        }

        /// Whatever the content, nothing the PII engine finds in it is in the item.
        #[test]
        fn no_found_personal_data_survives_masking(prefix in "[a-zA-Z ,.]{0,40}", user in "[a-z]{2,10}", n in 1000u32..9999) {
            let spec = valid(json!({"minimization": {"dedup": false}}));
            let analyzer = Analyzer::new();
            let mut b = Builder::new(&spec, &analyzer, &[5; 32]);
            let email = format!("{user}.{n}@example.com");
            let text = format!("{prefix} contact {email} today");
            let cats: Vec<String> = Vec::new();
            match b.consider(cand(TenantId::generate(), &cats, &text), true, &[]) {
                Considered::Included(item) => proptest::prop_assert!(!item.content.contains(&email), "{}", item.content),
                other => proptest::prop_assert!(false, "{other:?}"),
            }
        }
    }
}
