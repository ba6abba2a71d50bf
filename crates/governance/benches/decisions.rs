//! In-process decisions with 10,000 organizations and 100,000 tenants loaded.
//!
//! Two measurements: criterion's mean time per decision, and a latency distribution
//! (p50/p99/p99.9/max) from timing 1,000,000 individual decisions over random tenants,
//! products and purposes, which is what the p99 target is about.
//!
//! Run: `cargo bench -p datapact-governance --bench decisions`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::Criterion;
use datapact_governance::settings::AiToggles;
use datapact_governance::{
    AiSettings, Catalog, DataKind, DecisionRequest, KeyId, OptOut, OptOutId, Org, OrgId, OrgStatus, Plan, Purpose,
    Registry, SettingKey, Snapshot, Tenant, TenantId,
};
use time::OffsetDateTime;

const ORGS: usize = 10_000;
const TENANTS_PER_ORG: usize = 10;

/// A small deterministic generator, so every run decides the same questions.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn world() -> (Registry, Vec<TenantId>, Vec<String>) {
    let catalog = Catalog::builtin().expect("built-in catalog");
    let products: Vec<String> = catalog.products().iter().map(|p| p.id.clone()).collect();
    let now = OffsetDateTime::now_utc();
    let mut rng = Lcg(42);
    let plans = [Plan::Free, Plan::Standard, Plan::Advanced, Plan::Enterprise];
    let regions = ["eu", "us", "jp"];
    let mut orgs = Vec::with_capacity(ORGS);
    let mut tenants = Vec::with_capacity(ORGS * TENANTS_PER_ORG);
    for i in 0..ORGS {
        let id = OrgId::generate();
        let region = regions[i % regions.len()].to_string();
        let mut ai = AiSettings::default();
        if i % 5 == 0 {
            ai.genai_enabled = Some(false);
            ai.products.insert(
                products[rng.below(products.len())].clone(),
                AiToggles {
                    genai_enabled: Some(true),
                    ..Default::default()
                },
            );
        }
        if i % 17 == 0 {
            ai.locked = Some([SettingKey::GenaiEnabled].into());
        }
        let opt_outs = (0..(i % 3))
            .map(|k| OptOut {
                id: OptOutId::generate(),
                org: id,
                ticket: format!("SUP-{i}-{k}"),
                requested_by: "dpo".into(),
                products: (k == 1).then(|| vec![products[rng.below(products.len())].clone()]),
                effective_at: now - time::Duration::days(1),
                recorded_by: KeyId::generate(),
                recorded_at: now,
                revoked_at: (k == 0).then_some(now),
                revoked_by: None,
            })
            .collect();
        orgs.push(Org {
            id,
            name: format!("org {i}"),
            plan: plans[i % plans.len()],
            region: region.clone(),
            baa: i % 7 == 0,
            contract_forbids_training: i % 11 == 0,
            allow_cross_region_llm: i % 13 == 0,
            status: if i % 101 == 0 {
                OrgStatus::Terminating
            } else {
                OrgStatus::Active
            },
            created_at: now,
            updated_at: now,
            termination_due_at: None,
            ai_limits: Default::default(),
            opt_outs,
            ai,
            tenants: vec![],
        });
        for j in 0..TENANTS_PER_ORG {
            let mut ai = AiSettings::default();
            if j % 4 == 0 {
                ai.genai_enabled = Some(j % 8 == 0);
            }
            tenants.push(Tenant {
                id: TenantId::generate(),
                org: id,
                name: format!("tenant {i}.{j}"),
                region: region.clone(),
                created_at: now,
                ai,
                grants: vec![],
                retention: vec![],
            });
        }
    }
    let ids = tenants.iter().map(|t| t.id).collect();
    let regions = regions.iter().map(|r| r.to_string()).collect();
    let reg = Registry::load(
        Arc::new(catalog),
        regions,
        Snapshot {
            orgs,
            tenants,
            keys: vec![],
        },
    )
    .expect("registry");
    (reg, ids, products)
}

struct Question {
    tenant: TenantId,
    product: usize,
    purpose: Purpose,
    kind: Option<DataKind>,
    region: Option<&'static str>,
}

fn questions(ids: &[TenantId], products: usize, n: usize) -> Vec<Question> {
    let mut rng = Lcg(7);
    (0..n)
        .map(|_| Question {
            tenant: ids[rng.below(ids.len())],
            product: rng.below(products),
            purpose: Purpose::ALL[rng.below(Purpose::ALL.len())],
            kind: [None, Some(DataKind::DesignTime), Some(DataKind::RunTime)][rng.below(3)],
            region: [None, None, None, Some("us")][rng.below(4)],
        })
        .collect()
}

fn ask<'a>(q: &Question, products: &'a [String]) -> DecisionRequest<'a> {
    DecisionRequest {
        tenant: q.tenant,
        product: &products[q.product],
        purpose: q.purpose,
        data_kind: q.kind,
        region: q.region,
    }
}

fn latency_distribution(reg: &Registry, ids: &[TenantId], products: &[String]) {
    const N: usize = 1_000_000;
    let qs = questions(ids, products.len(), N);
    let now = OffsetDateTime::now_utc();
    // Warm up caches and the allocator.
    for q in qs.iter().take(100_000) {
        black_box(reg.decide(&ask(q, products), now).ok());
    }
    let mut hist = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).expect("histogram");
    let mut allowed = 0usize;
    let start = Instant::now();
    for q in &qs {
        let t = Instant::now();
        let d = reg.decide(&ask(q, products), now);
        let ns = t.elapsed().as_nanos() as u64;
        if let Ok(d) = black_box(d) {
            allowed += d.allowed as usize;
        }
        hist.saturating_record(ns.max(1));
    }
    let total = start.elapsed();
    println!(
        "decide latency over {N} random decisions ({} orgs, {} tenants): p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns; {:.0} decisions/s on one core; {:.1}% allowed",
        ORGS,
        ids.len(),
        hist.value_at_quantile(0.50),
        hist.value_at_quantile(0.99),
        hist.value_at_quantile(0.999),
        hist.max(),
        N as f64 / total.as_secs_f64(),
        allowed as f64 * 100.0 / N as f64,
    );
}

fn main() {
    let t = Instant::now();
    let (reg, ids, products) = world();
    let (o, n) = reg.counts();
    println!("loaded {o} organizations and {n} tenants in {:?}", t.elapsed());
    latency_distribution(&reg, &ids, &products);

    let mut c = Criterion::default().configure_from_args();
    let qs = questions(&ids, products.len(), 4096);
    let now = OffsetDateTime::now_utc();
    let mut i = 0usize;
    c.bench_function("decide/random_tenant_product_purpose", |b| {
        b.iter(|| {
            i = (i + 1) & 4095;
            black_box(reg.decide(&ask(&qs[i], &products), now).ok())
        })
    });
    let genai = Question {
        tenant: ids[12345],
        product: 10,
        purpose: Purpose::Genai,
        kind: None,
        region: None,
    };
    c.bench_function("decide/genai_with_settings", |b| {
        b.iter(|| black_box(reg.decide(&ask(&genai, &products), now).ok()))
    });
    c.bench_function("availability/all_28_products", |b| {
        b.iter(|| black_box(reg.availability(ids[777], now).ok()))
    });
    c.final_summary();
}
