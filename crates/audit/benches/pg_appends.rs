//! Durable audit appends from three nodes together on one PostgreSQL (issue 15's target:
//! ≥ 20,000 appends/s). Starts a throwaway cluster (PostgreSQL's defaults: fsync and
//! synchronous_commit on), connects three `PgAuditLog` nodes to it in this process, and has 128
//! concurrent writers per node append mixed events, each awaiting its own commit.
//!
//! Run: `cargo bench -p datapact-audit --bench pg_appends`
//! (`DATAPACT_BENCH_APPENDS` sets the total, default 300,000.)
//!
//! Three nodes in one process share its two worker threads with PostgreSQL on the same two
//! cores: the figure is a floor for three nodes on three machines.

use std::sync::Arc;
use std::time::Instant;

use datapact_audit::{Action, Actor, Event, Label, Outcome, PgAuditLog, Resource};
use datapact_governance::{OrgId, Purpose, ReasonCode, RecordId, TenantId};

/// A mix of what the server logs: decisions, content reads of one to several records, denied
/// calls, record writes; several products, purposes and regions.
fn event(org: OrgId, tenant: TenantId, n: u64) -> Event {
    let (action, outcome, purpose) = match n % 10 {
        0..=3 => (Action::Decision, Outcome::Allowed, Purpose::Service),
        4 => (Action::Decision, Outcome::Denied, Purpose::VendorTraining),
        5..=7 => (Action::ContentRead, Outcome::Allowed, Purpose::Service),
        8 => (Action::RecordWrite, Outcome::Allowed, Purpose::Service),
        _ => (Action::Decision, Outcome::Allowed, Purpose::Genai),
    };
    let mut e = Event::new(Actor::system(), action, outcome);
    e.org = Some(org);
    e.tenant = Some(tenant);
    let product = ["communications-mining", "document-understanding", "agents"][(n % 3) as usize];
    e.product = Some(Label::new(product).expect("label"));
    e.purpose = Some(purpose);
    e.resources = (0..1 + n % 4).map(|_| Resource::Record(RecordId::generate())).collect();
    e.reasons = vec![ReasonCode::InRegion, ReasonCode::ServiceDeclared];
    e.region = Some(Label::new(["eu", "us", "jp"][(n % 3) as usize]).expect("label"));
    e
}

fn main() {
    let total: u64 = std::env::var("DATAPACT_BENCH_APPENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let Some(cluster) = datapact_pgtest::Cluster::start() else {
        return;
    };
    rt.block_on(async {
        let url = cluster.database("bench").await;
        let signer = Arc::new(ed25519_dalek::SigningKey::from_bytes(&[3; 32]));
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(Arc::new(
                PgAuditLog::connect(&url, "bench", signer.clone())
                    .await
                    .expect("connect"),
            ));
        }
        let writers = 128u64;
        let per_writer = total / 3 / writers;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for node in &nodes {
            for w in 0..writers {
                let node = Arc::clone(node);
                tasks.push(tokio::spawn(async move {
                    let (org, tenant) = (OrgId::generate(), TenantId::generate());
                    for i in 0..per_writer {
                        node.append(event(org, tenant, w * 7 + i)).await.expect("append");
                    }
                }));
            }
        }
        for t in tasks {
            t.await.expect("writer");
        }
        let secs = start.elapsed().as_secs_f64();
        let n = per_writer * writers * 3;
        let size = nodes[0].size().await.expect("size");
        assert_eq!(size, n, "every acknowledged append is in the log");
        // Not timed: the whole log recomputed from the database (entries against their tiles,
        // the tree, every checkpoint), as `datapact audit verify` does.
        let report = datapact_audit::postgres::verify(&url, None, None)
            .await
            .expect("the log verifies");
        assert_eq!(report.entries, n, "one entry per append, no gap, no duplicate");
        println!(
            "pg appends: {n} durable appends from 3 nodes × {writers} writers in {secs:.1} s: {:.0} appends/s",
            n as f64 / secs
        );
        // What the log takes on disk per entry, table by table (heap, TOAST and indexes).
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        let rows = client
            .query(
                "SELECT relname::text, pg_total_relation_size(oid) FROM pg_class
                 WHERE relkind = 'r' AND relname LIKE 'audit%' ORDER BY relname",
                &[],
            )
            .await
            .expect("sizes");
        let mut total = 0i64;
        for r in &rows {
            let (name, bytes): (String, i64) = (r.get(0), r.get(1));
            total += bytes;
            println!("  {name}: {:.1} bytes per entry", bytes as f64 / n as f64);
        }
        println!("  all: {:.1} bytes per entry", total as f64 / n as f64);
    });
}
