//! Audit log benchmarks: durable appends from many concurrent writers (group commit),
//! `verify` over 1,000,000 entries, and proofs in a tree of 10,000,000 entries.
//!
//! Run: `cargo bench -p datapact-audit --bench audit`
//! (`DATAPACT_BENCH_PROOF_TREE` sets the proof tree size; default 10,000,000.)

use std::sync::Arc;
use std::time::Instant;

use datapact_audit::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use datapact_audit::verify::verify_file;
use datapact_audit::{Action, Actor, AuditLog, CheckpointSigner, Event, Label, Outcome, Resource};
use datapact_governance::{OrgId, Purpose, ReasonCode, RecordId, TenantId};

struct Signer(ed25519_dalek::SigningKey);
impl CheckpointSigner for Signer {
    fn sign(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.0.sign(msg).to_bytes()
    }
    fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }
    fn key_id(&self) -> String {
        "bench".into()
    }
}

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

fn signer() -> Arc<Signer> {
    Arc::new(Signer(ed25519_dalek::SigningKey::from_bytes(&[3; 32])))
}

async fn fill(log: &Arc<AuditLog>, n: u64, writers: u64) -> f64 {
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

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");

    // Durable appends from 256 concurrent writers, each awaiting its own append.
    let log = Arc::new(AuditLog::open(&dir.path().join("a.db"), "bench", signer()).expect("open"));
    let rate = rt.block_on(fill(&log, 300_000, 256));
    println!("appends: 300,000 durable appends from 256 concurrent writers: {rate:.0} appends/s");
    log.close();

    // verify over 1,000,000 entries with checkpoints along the way.
    let path = dir.path().join("v.db");
    let log = Arc::new(AuditLog::open(&path, "bench", signer()).expect("open"));
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

    // Proofs in a large tree.
    let n: u64 = std::env::var("DATAPACT_BENCH_PROOF_TREE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let path = dir.path().join("p.db");
    let log = Arc::new(AuditLog::open(&path, "bench", signer()).expect("open"));
    let start = Instant::now();
    let filled = rt.block_on(fill(&log, n, 512));
    println!(
        "filled a tree of {n} entries in {:.0} s ({filled:.0} appends/s)",
        start.elapsed().as_secs_f64()
    );
    let size = log.size();
    let root = log.root(size).expect("root");
    let mut worst_inc = 0f64;
    let mut total_inc = 0f64;
    let mut rng = 0x9E3779B97F4A7C15u64;
    let samples = 2000;
    for _ in 0..samples {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let idx = rng % size;
        let t = Instant::now();
        let proof = log.inclusion_proof(idx, size).expect("proof");
        let us = t.elapsed().as_secs_f64() * 1e6;
        worst_inc = worst_inc.max(us);
        total_inc += us;
        let leaf = log
            .query(&datapact_audit::Query {
                after: idx.checked_sub(1),
                limit: 1,
                ..Default::default()
            })
            .expect("entry");
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &leaf[0].leaf).expect("b64");
        assert!(verify_inclusion(&leaf_hash(&bytes), idx, size, &proof, &root));
    }
    let mut worst_con = 0f64;
    let mut total_con = 0f64;
    for _ in 0..samples {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let old = 1 + rng % (size - 1);
        let t = Instant::now();
        let proof = log.consistency_proof(old, size).expect("proof");
        let us = t.elapsed().as_secs_f64() * 1e6;
        worst_con = worst_con.max(us);
        total_con += us;
        assert!(verify_consistency(
            old,
            size,
            &log.root(old).expect("root"),
            &root,
            &proof
        ));
    }
    println!(
        "proofs in a tree of {size} entries: inclusion mean {:.0} µs, worst {:.0} µs; consistency mean {:.0} µs, worst {:.0} µs ({samples} random each, all verified)",
        total_inc / samples as f64,
        worst_inc,
        total_con / samples as f64,
        worst_con
    );
}
