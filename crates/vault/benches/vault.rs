//! Vault benchmarks: AEAD throughput, batched encrypted ingest, reads with a purpose decision,
//! and the purge of a tenant with many records.
//!
//! Run: `cargo bench -p datapact-vault --bench vault`
//! (`DATAPACT_BENCH_PURGE_RECORDS` sets the purge size; default 1,000,000.)

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use datapact_governance::{
    AiSettings, Catalog, DataKind, DecisionRequest, OrgId, OrgStatus, Plan, Purpose, Registry, Snapshot, Tenant,
    TenantId,
};
use datapact_vault::crypto::{Aead, SecretKey};
use datapact_vault::{Content, MasterSecret, NewRecord, TenantRef, Vault, VaultOptions};
use time::OffsetDateTime;

fn open(dir: &std::path::Path) -> Vault {
    Vault::open(VaultOptions {
        data_dir: dir.to_path_buf(),
        regions: vec![("eu".into(), None), ("us".into(), None)],
        master: MasterSecret::KeyFile(dir.join("master.key")),
        max_content_bytes: 1 << 20,
        storage: Default::default(),
    })
    .expect("vault")
    .0
}

fn record(i: usize) -> NewRecord {
    let mut text = format!("message {i}: ");
    while text.len() < 1024 {
        text.push_str("lorem ipsum dolor sit amet ");
    }
    text.truncate(1024);
    NewRecord {
        product: "communications-mining".into(),
        data_kind: DataKind::RunTime,
        content: Content::Text(text),
        content_type: None,
        categories: vec!["user.contact.email".into()],
        metadata: None,
    }
}

/// A registry with one organization and `tenants` tenants alternating between eu and us.
fn registry(tenants: &[TenantRef<'_>]) -> Registry {
    let now = OffsetDateTime::now_utc();
    let org = OrgId::generate();
    let ts = tenants
        .iter()
        .map(|t| Tenant {
            id: t.id,
            org,
            name: "t".into(),
            region: t.region.to_string(),
            created_at: now,
            ai: AiSettings::default(),
            grants: vec![],
            retention: vec![],
        })
        .collect();
    let o = datapact_governance::Org {
        id: org,
        name: "bench".into(),
        plan: Plan::Enterprise,
        region: "eu".into(),
        baa: false,
        contract_forbids_training: false,
        allow_cross_region_llm: false,
        status: OrgStatus::Active,
        created_at: now,
        updated_at: now,
        termination_due_at: None,
        ai_limits: Default::default(),
        opt_outs: vec![],
        ai: AiSettings::default(),
        tenants: vec![],
    };
    Registry::load(
        Arc::new(Catalog::builtin().expect("catalog")),
        vec!["eu".into(), "us".into()],
        Snapshot {
            orgs: vec![o],
            tenants: ts,
            keys: vec![],
        },
    )
    .expect("registry")
}

fn ingest_and_read_rates(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = open(dir.path());
    let ids: Vec<TenantId> = (0..8).map(|_| TenantId::generate()).collect();
    let tenants: Vec<TenantRef<'_>> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| TenantRef {
            id: *id,
            region: if i % 2 == 0 { "eu" } else { "us" },
        })
        .collect();

    // Sustained ingest: 200,000 records of 1 KiB in batches of 1,000, round-robin over tenants
    // in both regions.
    let n = 200_000;
    let batch = 1000;
    let now = OffsetDateTime::now_utc();
    let start = Instant::now();
    let mut written = Vec::with_capacity(n);
    for b in 0..n / batch {
        let t = tenants[b % tenants.len()];
        let metas = vault
            .put(t, (0..batch).map(|i| record(b * batch + i)).collect(), now)
            .expect("put");
        written.extend(metas.into_iter().map(|m| (t, m.id)));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "ingest: {n} records of 1 KiB in batches of {batch}: {:.0} records/s ({:.1} MB/s of content)",
        n as f64 / secs,
        n as f64 * 1024.0 / secs / 1e6
    );

    // Reads with a purpose decision, random order, one thread.
    let reg = registry(&tenants);
    let mut rng = 0x2545F4914F6CDD1Du64;
    let reads = 200_000;
    let start = Instant::now();
    for _ in 0..reads {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let (t, id) = written[(rng % written.len() as u64) as usize];
        let d = reg
            .decide(
                &DecisionRequest {
                    tenant: t.id,
                    product: "communications-mining",
                    purpose: Purpose::Service,
                    data_kind: Some(DataKind::RunTime),
                    region: None,
                },
                now,
            )
            .expect("decide");
        assert!(d.allowed);
        black_box(vault.get(t, id).expect("get"));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "read with purpose decision: {reads} random records of 1 KiB: {:.0} records/s on one thread",
        reads as f64 / secs
    );

    let mut g = c.benchmark_group("vault");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("read_with_decision/1KiB", |b| {
        b.iter(|| {
            i = (i + 7919) % written.len();
            let (t, id) = written[i];
            let d = reg.decide(
                &DecisionRequest {
                    tenant: t.id,
                    product: "communications-mining",
                    purpose: Purpose::Service,
                    data_kind: Some(DataKind::RunTime),
                    region: None,
                },
                now,
            );
            black_box(d.ok());
            black_box(vault.get(t, id).ok())
        })
    });
    g.throughput(Throughput::Elements(batch as u64));
    g.sample_size(20);
    g.bench_function("put_batch/1000x1KiB", |b| {
        b.iter_batched(
            || (0..batch).map(record).collect::<Vec<_>>(),
            |recs| vault.put(tenants[0], recs, now).expect("put"),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn aead(c: &mut Criterion) {
    let key = SecretKey::generate().expect("key");
    let a = Aead::new(&key).expect("aead");
    let buf = vec![0x5au8; 64 * 1024];
    let sealed = a.seal(b"aad", &buf).expect("seal");
    let mut g = c.benchmark_group("aead");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("aes256gcm_seal/64KiB", |b| {
        b.iter(|| black_box(a.seal(b"aad", &buf).expect("seal")))
    });
    g.bench_function("aes256gcm_open/64KiB", |b| {
        b.iter(|| black_box(a.open(b"aad", &sealed).expect("open")))
    });
    g.finish();
}

fn purge() {
    let n: usize = std::env::var("DATAPACT_BENCH_PURGE_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    if n == 0 {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let now = OffsetDateTime::now_utc();
    let start = Instant::now();
    let mut left = n;
    let mut i = 0;
    while left > 0 {
        let b = left.min(5000);
        vault.put(t, (0..b).map(|k| record(i + k)).collect(), now).expect("put");
        left -= b;
        i += b;
    }
    let fill = start.elapsed();
    let probe = vault
        .list(
            t,
            &datapact_vault::ListFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .expect("list")[0]
        .id;
    let start = Instant::now();
    let destroyed = vault.destroy_keys(t, now).expect("destroy");
    let shred = start.elapsed();
    assert!(vault.get(t, probe).is_err(), "unreadable once the keys are gone");
    let start = Instant::now();
    let mut removed = 0;
    loop {
        let r = vault.remove_rows(t, 20_000).expect("remove");
        if r == 0 {
            break;
        }
        removed += r;
    }
    let rows = start.elapsed();
    println!(
        "purge of a tenant with {n} records (filled in {:.1} s): keys destroyed (data unreadable) in {:.2} ms \
         (versions {:?}); row removal of {removed} rows with secure_delete then took {:.1} s",
        fill.as_secs_f64(),
        shred.as_secs_f64() * 1000.0,
        destroyed.versions,
        rows.as_secs_f64()
    );
    let _ = Duration::ZERO;
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    aead(&mut c);
    ingest_and_read_rates(&mut c);
    c.final_summary();
    purge();
}
