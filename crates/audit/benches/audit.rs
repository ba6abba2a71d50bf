//! Audit log benchmarks: durable appends from many concurrent writers (group commit),
//! the latency of durable appends at a steady rate, `verify` over 1,000,000 entries, and
//! proofs in a tree of 10,000,000 entries.
//!
//! Run: `cargo bench -p datapact-audit --bench audit`
//! (`DATAPACT_BENCH_PROOF_TREE` sets the proof tree size, default 10,000,000;
//! `DATAPACT_BENCH_PARTS` picks parts, comma-separated: `appends,paced,verify,proofs`, default
//! all; `DATAPACT_BENCH_RATE` and `DATAPACT_BENCH_SECONDS` set the paced part's appends per
//! second, default 4,000, the gateway's two entries per call at 2,000 calls/s, and length,
//! default 20 s.)

use std::sync::Arc;
use std::time::Instant;

use datapact_audit::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use datapact_audit::verify::verify_file;
use datapact_audit::{Action, Actor, Event, Label, Outcome, Resource, SqliteAuditLog};
use datapact_governance::{OrgId, Purpose, ReasonCode, RecordId, TenantId};

fn event(org: OrgId, tenant: TenantId) -> Event {
    let mut e = Event::new(Actor::system(), Action::ContentRead, Outcome::Allowed);
    e.org = Some(org);
    e.tenant = Some(tenant);
    e.product = Some(Label::new("communications-mining").expect("label"));
    e.purpose = Some(Purpose::Service);
    e.resources = vec![Resource::Record(RecordId::generate())];
    e.reasons = vec![ReasonCode::InRegion, ReasonCode::ServiceDeclared];
    e.region = Some(Label::new("eu").expect("label"));
    e
}

fn signer() -> Arc<ed25519_dalek::SigningKey> {
    Arc::new(ed25519_dalek::SigningKey::from_bytes(&[3; 32]))
}

async fn fill(log: &Arc<SqliteAuditLog>, n: u64, writers: u64) -> f64 {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let log = Arc::clone(log);
        tasks.push(tokio::spawn(async move {
            let (org, tenant) = (OrgId::generate(), TenantId::generate());
            for _ in 0..n / writers {
                log.append(event(org, tenant)).await.expect("append");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    (n / writers * writers) as f64 / start.elapsed().as_secs_f64()
}

/// Open loop: one append started every `1/rate` s whether or not earlier ones are done, each
/// timed from when it was due (so a stalled writer is not hidden); latencies in µs. Paced by a
/// thread of its own (Tokio's timer is only as fine as a millisecond).
fn paced(rt: &tokio::runtime::Runtime, log: &Arc<SqliteAuditLog>, rate: u64, seconds: u64) -> Vec<f64> {
    let (org, tenant) = (OrgId::generate(), TenantId::generate());
    let start = Instant::now();
    let gap = std::time::Duration::from_secs_f64(1.0 / rate as f64);
    let mut tasks = Vec::with_capacity((rate * seconds) as usize);
    for i in 0..rate * seconds {
        let due = start + gap * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let log = Arc::clone(log);
        tasks.push(rt.spawn(async move {
            log.append(event(org, tenant)).await.expect("append");
            due.elapsed().as_secs_f64() * 1e6
        }));
    }
    rt.block_on(async {
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.expect("append task"));
        }
        out
    })
}

fn stats(v: &mut [f64]) -> String {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    format!(
        "mean {:.0} µs, p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs",
        v.iter().sum::<f64>() / v.len() as f64,
        at(0.5),
        at(0.99),
        at(0.999),
        v[v.len() - 1]
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let parts = std::env::var("DATAPACT_BENCH_PARTS").unwrap_or_else(|_| "appends,verify,proofs".into());
    let part = |p: &str| parts.split(',').any(|x| x.trim() == p);

    if part("appends") {
        // Durable appends from 256 concurrent writers, each awaiting its own append.
        let log = Arc::new(SqliteAuditLog::open(&dir.path().join("a.db"), "bench", signer()).expect("open"));
        let rate = rt.block_on(fill(&log, 300_000, 256));
        println!("appends: 300,000 durable appends from 256 concurrent writers: {rate:.0} appends/s");
        log.close();
    }

    if part("paced") {
        let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
        let (rate, seconds) = (env("DATAPACT_BENCH_RATE", 4000), env("DATAPACT_BENCH_SECONDS", 20));
        let log = Arc::new(SqliteAuditLog::open(&dir.path().join("paced.db"), "bench", signer()).expect("open"));
        let mut lat = paced(&rt, &log, rate, seconds);
        println!(
            "paced: {} durable appends at {rate}/s, latency from when each was due: {}",
            lat.len(),
            stats(&mut lat)
        );
        log.close();
    }

    if part("verify") {
        // verify over 1,000,000 entries with checkpoints along the way.
        let path = dir.path().join("v.db");
        let log = Arc::new(SqliteAuditLog::open(&path, "bench", signer()).expect("open"));
        for _ in 0..10 {
            rt.block_on(fill(&log, 100_000, 256));
            log.checkpoint().expect("checkpoint");
        }
        log.close();
        let start = Instant::now();
        let report = verify_file(&path, Some("bench"), None).expect("verify");
        println!(
            "verify: {} entries, {} checkpoints recomputed and checked in {:.2} s",
            report.entries,
            report.checkpoints,
            start.elapsed().as_secs_f64()
        );
    }

    if !part("proofs") {
        return;
    }
    // Proofs in a large tree. DATAPACT_BENCH_PROOF_DIR keeps the tree between runs.
    let n: u64 = std::env::var("DATAPACT_BENCH_PROOF_TREE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let keep = std::env::var_os("DATAPACT_BENCH_PROOF_DIR").map(std::path::PathBuf::from);
    let path = keep.as_deref().unwrap_or(dir.path()).join("p.db");
    let log = Arc::new(SqliteAuditLog::open(&path, "bench", signer()).expect("open"));
    // Filled by 512 writers in equal shares.
    let n = n / 512 * 512;
    if log.size() < n {
        let start = Instant::now();
        let filled = rt.block_on(fill(&log, n - log.size(), 512));
        println!(
            "filled a tree of {} entries in {:.0} s ({filled:.0} appends/s)",
            log.size(),
            start.elapsed().as_secs_f64()
        );
    }
    // Let background indexing and WAL checkpoints of the fill settle, as they would between
    // bursts; proofs are then measured while nothing else runs.
    log.index_now().expect("index");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let size = log.size();
    let root = log.root(size).expect("root");
    let mut rng = 0x9E3779B97F4A7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let samples = 5000;
    let mut inc = Vec::with_capacity(samples);
    let mut con = Vec::with_capacity(samples);
    for _ in 0..samples {
        let idx = next() % size;
        let t = Instant::now();
        let proof = log.inclusion_proof(idx, size).expect("proof");
        inc.push(t.elapsed().as_secs_f64() * 1e6);
        let leaf = log.entry(idx).expect("entry").expect("present");
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &leaf.leaf).expect("b64");
        assert!(verify_inclusion(&leaf_hash(&bytes), idx, size, &proof, &root));

        let old = 1 + next() % (size - 1);
        let t = Instant::now();
        let proof = log.consistency_proof(old, size).expect("proof");
        con.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(verify_consistency(
            old,
            size,
            &log.root(old).expect("root"),
            &root,
            &proof
        ));
    }
    println!(
        "proofs in a tree of {size} entries ({samples} random each, all verified): inclusion {}; consistency {}",
        stats(&mut inc),
        stats(&mut con)
    );
}
