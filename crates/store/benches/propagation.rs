//! How long a change made through one node takes to reach another node's registry, on
//! PostgreSQL (issue 15's target: p99 < 1 s). Two nodes in this process, each with its own
//! connections, registry and follower, on a throwaway cluster; node A changes an organization's
//! terms 2,000 times (every 5 ms, so changes also arrive while others are applied), and the
//! time from A's commit to B's registry holding the change is recorded for each.
//!
//! Run: `cargo bench -p datapact-store --bench propagation`

use std::sync::Arc;
use std::time::{Duration, Instant};

use datapact_governance::{AiSettings, Catalog, Org, OrgId, OrgStatus, Plan, Registry};
use datapact_store::{PostgresStore, Store, follow};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let Some(cluster) = datapact_pgtest::Cluster::start() else {
        return;
    };
    rt.block_on(async {
        let url = cluster.database("propagation").await;
        let a = PostgresStore::connect(&url).await.expect("connect");
        let b = PostgresStore::connect(&url).await.expect("connect");
        let (snapshot, seq) = b.load_at().await.expect("load");
        let reg_b = Arc::new(
            Registry::load(
                Arc::new(Catalog::builtin().expect("catalog")),
                vec!["eu".into()],
                snapshot,
            )
            .expect("registry"),
        );
        let _follower = follow(b.clone(), Arc::clone(&reg_b), seq);
        let now = time::OffsetDateTime::now_utc();
        let mut org = Org {
            id: OrgId::generate(),
            name: "Acme".into(),
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
        a.insert_org(&org).await.expect("insert");
        let changes = 2000;
        let mut waits = Vec::with_capacity(changes);
        for i in 0..changes {
            org.name = format!("Acme {i}");
            a.update_org(&org).await.expect("update");
            let committed = Instant::now();
            loop {
                if reg_b.org(org.id).is_some_and(|o| o.name == org.name) {
                    break;
                }
                assert!(
                    committed.elapsed() < Duration::from_secs(10),
                    "change {i} never arrived"
                );
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            waits.push(committed.elapsed());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        waits.sort();
        let at = |q: f64| waits[((waits.len() as f64 * q) as usize).min(waits.len() - 1)];
        println!(
            "propagation to another node over {changes} changes: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            at(0.50).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            waits[waits.len() - 1].as_secs_f64() * 1e3
        );
    });
}
