//! The dataset builder's own cost per record (everything but reading the vault and deciding):
//! filters, PII minimization, dedup, the per-tenant shard, the digest. Records of about 1 KiB
//! of mixed text (the PII evaluation corpus's templates, several samples per record), 1,000
//! tenants, on one thread and on two (the PII scans of a page of 1,000 records split between
//! them).
//!
//! Run: `cargo bench -p datapact-training --bench build`
//! (`DATAPACT_BENCH_RECORDS` sets the number of records, default 100,000.)

use std::time::Instant;

use datapact_governance::{Catalog, DataKind, RecordId, TenantId};
use datapact_pii::Analyzer;
use datapact_training::{Builder, Candidate, Considered, DatasetSpec};

fn main() {
    let n: usize = std::env::var("DATAPACT_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    // About 1 KiB each: consecutive corpus samples joined until the record is that long.
    let samples = datapact_pii::eval::corpus(n * 10, 7);
    let mut texts = Vec::with_capacity(n);
    let mut it = samples.iter();
    for _ in 0..n {
        let mut t = String::with_capacity(1100);
        while t.len() < 1000 {
            match it.next() {
                Some(s) => {
                    t.push_str(&s.text);
                    t.push('\n');
                }
                None => break,
            }
        }
        texts.push(t);
    }
    let tenants: Vec<TenantId> = (0..1000).map(|_| TenantId::generate()).collect();
    let ids: Vec<RecordId> = (0..n).map(|_| RecordId::generate()).collect();
    let cats = vec!["user.content".to_string()];
    let bytes: usize = texts.iter().map(String::len).sum();
    let analyzer = Analyzer::new();
    datapact_pii::warm_up();
    for (label, product, purpose, pii) in [
        (
            "pii off (a customer's fine-tuning)",
            "ixp",
            "third_party_finetune",
            "off",
        ),
        (
            "pii mask (vendor training)",
            "communications-mining",
            "vendor_training",
            "mask",
        ),
    ] {
        for threads in [1, 2] {
            for_each_tenant_spec(&tenants, product, purpose, pii, |spec, tenant_of| {
                let mut b = Builder::new(spec, &analyzer, &[7; 32]);
                let start = Instant::now();
                let mut included = 0u64;
                // In batches of 1,000, as a build reads pages of records.
                for (page, texts) in texts.chunks(1000).enumerate() {
                    let batch: Vec<(Candidate<'_>, bool, &[datapact_governance::Reason])> = texts
                        .iter()
                        .enumerate()
                        .map(|(j, text)| {
                            let i = page * 1000 + j;
                            let c = Candidate {
                                id: ids[i],
                                tenant: tenant_of(i),
                                data_kind: DataKind::DesignTime,
                                categories: &cats,
                                content: text.as_bytes(),
                            };
                            (c, true, &[][..])
                        })
                        .collect();
                    for considered in b.consider_all(&batch, threads) {
                        if let Considered::Included(item) = considered {
                            included += 1;
                            std::hint::black_box(item.line());
                        }
                    }
                }
                let secs = start.elapsed().as_secs_f64();
                let s = b.summary();
                println!(
                    "{label}, {threads} thread(s): {n} records of {:.0} bytes on average, {included} included, {} masked spans: {:.0} records/s ({:.1} MB/s)",
                    bytes as f64 / n as f64,
                    s.counts.pii_masked.values().sum::<u64>(),
                    n as f64 / secs,
                    bytes as f64 / secs / 1e6
                );
            });
        }
    }
}

/// Runs `f` with a spec of `purpose` over `product` and which tenant each record belongs to (a
/// third-party fine-tuning dataset holds one tenant, so all its records are that tenant's).
fn for_each_tenant_spec(
    tenants: &[TenantId],
    product: &str,
    purpose: &str,
    pii: &str,
    f: impl FnOnce(&datapact_training::ValidSpec, &dyn Fn(usize) -> TenantId),
) {
    let one = purpose == "third_party_finetune";
    let mut v = serde_json::json!({"name": "bench", "product": product, "purpose": purpose, "region": "eu",
                                   "minimization": {"pii": pii, "dedup": true}});
    if one {
        v["tenants"] = serde_json::json!([tenants[0].to_string()]);
    }
    let spec = serde_json::from_value::<DatasetSpec>(v)
        .expect("spec")
        .validate(&Catalog::builtin().expect("catalog"), &["eu".to_string()])
        .expect("valid");
    if one {
        f(&spec, &|_| tenants[0]);
    } else {
        f(&spec, &|i| tenants[i % tenants.len()]);
    }
}
