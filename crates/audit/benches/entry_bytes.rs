//! Bytes of state per audit entry, stored packed (`datapact_audit::codec`, what the log writes
//! now) and stored plain (the canonical JSON, what it wrote before): the same entries, on both
//! backends, measured in one run (issue 15: a compact entry encoding).
//!
//! Run: `cargo bench -p datapact-audit --bench entry_bytes`
//! (`DATAPACT_BENCH_ENTRIES` sets the count, default 100,000; PostgreSQL is a throwaway
//! cluster, skipped with a note when its binaries are missing.)
//!
//! The mix is what the server writes: per gateway call an `llm_forward` and an `llm_call`
//! entry; decisions of several products, purposes and outcomes; content reads and record
//! writes naming records; each with a service key, a request id, an organization and a tenant
//! among 50, in three regions. Sizes are after `VACUUM` (SQLite: the log's database file, its
//! tree nodes and checkpoints included; PostgreSQL: `audit_entries` with its indexes and TOAST,
//! `VACUUM FULL`).

use std::path::Path;
use std::sync::Arc;

use datapact_audit::{
    Action, Actor, CallStatus, Event, Label, LlmCall, Name, Outcome, PgAuditLog, Resource, SqliteAuditLog,
};
use datapact_governance::{KeyId, OrgId, Purpose, ReasonCode, RecordId, Role, TenantId};

struct Tenants(Vec<(OrgId, TenantId, KeyId)>);

impl Tenants {
    fn new() -> Self {
        Self(
            (0..50)
                .map(|_| (OrgId::generate(), TenantId::generate(), KeyId::generate()))
                .collect(),
        )
    }
}

fn event(t: &Tenants, n: u64) -> Event {
    let (org, tenant, key) = t.0[(n.wrapping_mul(2_654_435_761) % 50) as usize];
    let (action, outcome, purpose, reasons) = match n % 20 {
        0..=5 => (
            Action::Decision,
            Outcome::Allowed,
            Purpose::Service,
            vec![ReasonCode::InRegion, ReasonCode::ServiceDeclared],
        ),
        6 => (
            Action::Decision,
            Outcome::Denied,
            Purpose::VendorTraining,
            vec![ReasonCode::InRegion, ReasonCode::TrainingDeclared, ReasonCode::OptedOut],
        ),
        7 => (
            Action::Decision,
            Outcome::Allowed,
            Purpose::Genai,
            vec![
                ReasonCode::InRegion,
                ReasonCode::GenaiDeclared,
                ReasonCode::GenaiEnabled,
            ],
        ),
        8..=12 => (Action::LlmForward, Outcome::Allowed, Purpose::Genai, vec![]),
        13..=17 => (Action::LlmCall, Outcome::Allowed, Purpose::Genai, vec![]),
        18 => (Action::ContentRead, Outcome::Allowed, Purpose::Service, vec![]),
        _ => (Action::RecordWrite, Outcome::Allowed, Purpose::Service, vec![]),
    };
    let mut e = Event::new(
        Actor {
            key: Some(key),
            role: Some(Role::Service),
        },
        action,
        outcome,
    );
    e.org = Some(org);
    e.tenant = Some(tenant);
    let product = ["communications-mining", "document-understanding", "agents", "ixp"][(n % 4) as usize];
    e.product = Label::new(product).ok();
    e.purpose = Some(purpose);
    e.reasons = reasons;
    e.request_id = Some(uuid::Uuid::now_v7());
    e.region = Label::new(["eu", "us", "jp"][(n % 3) as usize]).ok();
    match action {
        Action::ContentRead | Action::RecordWrite => {
            e.resources = (0..1 + n % 3).map(|_| Resource::Record(RecordId::generate())).collect();
        }
        Action::LlmForward | Action::LlmCall => {
            let done = action == Action::LlmCall;
            e.call = Some(LlmCall {
                model: Name::new(["gpt-4o-mini", "claude-3-5-sonnet", "gpt-4.1"][(n % 3) as usize]).ok(),
                provider: Name::new(["openai-eu", "anthropic-us", "azure-eu"][(n % 3) as usize]).ok(),
                status: if n.is_multiple_of(2) {
                    CallStatus::Masked
                } else {
                    CallStatus::Allowed
                },
                prompt_tokens: done.then_some(200 + (n % 1500) as u32),
                completion_tokens: done.then_some(20 + (n % 400) as u32),
                total_tokens: done.then_some(220 + (n % 1900) as u32),
                latency_ms: if done { 300 + (n % 4000) as u32 } else { 0 },
                overhead_us: 300 + (n % 900) as u32,
                feature: Label::new(["summarize", "classify", "draft-reply"][(n % 3) as usize]).ok(),
                pii_types: if n.is_multiple_of(2) {
                    vec![
                        Name::new("EMAIL_ADDRESS").unwrap_or_else(|_| unreachable!()),
                        Name::new("PERSON").unwrap_or_else(|_| unreachable!()),
                    ]
                } else {
                    Vec::new()
                },
                streamed: n.is_multiple_of(5),
                error: None,
                retries: None,
            });
            e.correlation = n
                .is_multiple_of(4)
                .then(|| format!("{:064x}", u128::from(n) * 0x9E37_79B9_7F4A_7C15));
        }
        _ => {}
    }
    e
}

fn main() {
    let total: u64 = std::env::var("DATAPACT_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let tenants = Arc::new(Tenants::new());
    let signer = Arc::new(ed25519_dalek::SigningKey::from_bytes(&[3; 32]));
    println!("{total} mixed entries, bytes per entry (packed = stored now, plain = stored before):");

    // What packing and unpacking cost, per entry of the mix.
    let leaves: Vec<Vec<u8>> = (0..total.min(100_000))
        .map(|i| {
            datapact_audit::Entry {
                index: i,
                time: time::OffsetDateTime::now_utc(),
                event: event(&tenants, i),
            }
            .leaf()
        })
        .collect();
    // The phrase matcher is built on first use.
    let _ = datapact_audit::codec::pack(&leaves[0]);
    let t = std::time::Instant::now();
    let packed: Vec<Vec<u8>> = leaves.iter().map(|l| datapact_audit::codec::pack(l)).collect();
    let pack_ns = t.elapsed().as_nanos() as f64 / leaves.len() as f64;
    let t = std::time::Instant::now();
    let mut back = 0usize;
    for p in &packed {
        back += datapact_audit::codec::unpack(p).map(|l| l.len()).unwrap_or(0);
    }
    let unpack_ns = t.elapsed().as_nanos() as f64 / leaves.len() as f64;
    assert_eq!(back, leaves.iter().map(Vec::len).sum::<usize>());
    println!(
        "  one core: pack {:.2} µs, unpack {:.2} µs per entry",
        pack_ns / 1000.0,
        unpack_ns / 1000.0
    );

    // SQLite.
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("audit.db");
    rt.block_on(async {
        let log = Arc::new(SqliteAuditLog::open(&db, "bench", signer.clone()).expect("open"));
        fill(total, &tenants, |e| {
            let log = Arc::clone(&log);
            async move {
                log.append(e).await.expect("append");
            }
        })
        .await;
        log.checkpoint().expect("checkpoint");
        log.close();
    });
    let c = rusqlite::Connection::open(&db).expect("open");
    let packed = sqlite_bytes(&c, &db);
    let leaf_packed: i64 = c
        .query_row("SELECT sum(length(leaf)) FROM entries", [], |r| r.get(0))
        .expect("sum");
    let rows: Vec<(i64, Vec<u8>)> = c
        .prepare("SELECT idx, leaf FROM entries")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    c.execute_batch("BEGIN").expect("begin");
    for (idx, stored) in rows {
        let plain = datapact_audit::codec::unpack(&stored).expect("unpack").into_owned();
        c.execute(
            "UPDATE entries SET leaf = ?1 WHERE idx = ?2",
            rusqlite::params![plain, idx],
        )
        .expect("update");
    }
    c.execute_batch("COMMIT").expect("commit");
    let plain = sqlite_bytes(&c, &db);
    let leaf_plain: i64 = c
        .query_row("SELECT sum(length(leaf)) FROM entries", [], |r| r.get(0))
        .expect("sum");
    drop(c);
    datapact_audit::verify::verify_file(&db, Some("bench"), Some(signer.verifying_key().as_bytes()))
        .expect("verifies plain");
    report(
        "SQLite     ",
        "database file",
        [leaf_packed as u64, leaf_plain as u64, packed, plain],
        total,
    );

    // PostgreSQL.
    let Some(cluster) = datapact_pgtest::Cluster::start() else {
        println!("  PostgreSQL  not measured: no PostgreSQL binaries here");
        return;
    };
    rt.block_on(async {
        let url = cluster.database("bytes").await;
        let log = Arc::new(PgAuditLog::connect(&url, "bench", signer.clone()).await.expect("connect"));
        fill(total, &tenants, |e| {
            let log = Arc::clone(&log);
            async move {
                log.append(e).await.expect("append");
            }
        })
        .await;
        log.close().await;
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        let task = tokio::spawn(conn);
        let (packed, leaf_packed) = pg_size(&client).await;
        let rows = client
            .query("SELECT idx, leaf FROM audit_entries", &[])
            .await
            .expect("rows");
        let (mut idx, mut leaves) = (Vec::new(), Vec::new());
        for r in rows {
            idx.push(r.get::<_, i64>(0));
            let stored: &[u8] = r.get(1);
            leaves.push(datapact_audit::codec::unpack(stored).expect("unpack").into_owned());
        }
        client
            .execute(
                "UPDATE audit_entries e SET leaf = u.leaf FROM unnest($1::bigint[], $2::bytea[]) AS u(idx, leaf) WHERE e.idx = u.idx",
                &[&idx, &leaves],
            )
            .await
            .expect("update");
        let (plain, leaf_plain) = pg_size(&client).await;
        drop(client);
        let _ = task.await;
        report(
            "PostgreSQL ",
            "audit_entries with indexes",
            [leaf_packed as u64, leaf_plain as u64, packed as u64, plain as u64],
            total,
        );
    });
}

/// One backend's line: the leaves alone and the whole `what`, packed and plain, per entry.
fn report(backend: &str, what: &str, [leaf_packed, leaf_plain, packed, plain]: [u64; 4], entries: u64) {
    let per = |b: u64| b as f64 / entries as f64;
    println!(
        "  {backend} leaf alone: packed {:.0}, plain {:.0} ({:.2}x); {what}: packed {:.0}, plain {:.0} ({:.2}x)",
        per(leaf_packed),
        per(leaf_plain),
        leaf_plain as f64 / leaf_packed as f64,
        per(packed),
        per(plain),
        plain as f64 / packed as f64
    );
}

/// Appends `total` events from 64 tasks at once.
async fn fill<F, Fut>(total: u64, tenants: &Arc<Tenants>, append: F)
where
    F: Fn(Event) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut tasks = Vec::new();
    let writers = 64u64;
    for w in 0..writers {
        let events: Vec<Event> = (0..total / writers).map(|i| event(tenants, i * writers + w)).collect();
        let futs: Vec<Fut> = events.into_iter().map(&append).collect();
        tasks.push(tokio::spawn(async move {
            for f in futs {
                f.await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
}

/// `audit_entries` with its indexes and TOAST after `VACUUM FULL`, and its leaves alone.
async fn pg_size(client: &tokio_postgres::Client) -> (i64, i64) {
    client.batch_execute("VACUUM FULL audit_entries").await.expect("vacuum");
    let r = client
        .query_one(
            "SELECT pg_total_relation_size('audit_entries'), (SELECT sum(length(leaf)) FROM audit_entries)::bigint",
            &[],
        )
        .await
        .expect("size");
    (r.get(0), r.get(1))
}

/// The database file's size after `VACUUM` (the write-ahead log folded in first).
fn sqlite_bytes(c: &rusqlite::Connection, db: &Path) -> u64 {
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("vacuum");
    std::fs::metadata(db).map(|m| m.len()).unwrap_or(0)
}
