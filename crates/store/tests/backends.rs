//! One suite, every backend: what the server writes through the [`Store`] trait comes back the
//! same from the embedded SQLite database and from PostgreSQL.
//!
//! PostgreSQL is a real server: a throwaway cluster (`initdb` in a temporary directory, started
//! on a loopback port, stopped at the end), from the distribution's binaries (`pg_config
//! --bindir`, or `/usr/lib/postgresql/*/bin`). Without them the PostgreSQL run is skipped and
//! says so, except under `CI=true`, where it fails.

use std::path::Path;
use std::sync::Arc;

use datapact_governance::{
    AiSettings, AiToggles, ApiKey, GrantId, Job, JobId, JobKind, JobState, KeyId, OptOut, OptOutId, Org, OrgId,
    OrgStatus, Plan, Role, SettingKey, SupportGrant, Tenant, TenantId,
};
use datapact_store::{
    Entity, PostgresStore, RECONCILE_EVERY, SettingsScope, SqliteStore, Store, StoreError, StoredCertificate, UsageRow,
};
use time::macros::{date, datetime};

use datapact_pgtest::Cluster;

/// A new tenant of `org` in `eu`, with nothing set.
fn tenant(org: OrgId, name: impl Into<String>) -> Tenant {
    Tenant {
        id: TenantId::generate(),
        org,
        name: name.into(),
        region: "eu".into(),
        created_at: datetime!(2026-01-02 10:00 UTC),
        ai: AiSettings::default(),
        grants: vec![],
        retention: vec![],
    }
}

fn org() -> Org {
    Org {
        id: OrgId::generate(),
        name: "Acme".into(),
        plan: Plan::Enterprise,
        region: "eu".into(),
        baa: true,
        contract_forbids_training: false,
        allow_cross_region_llm: true,
        status: OrgStatus::Active,
        created_at: datetime!(2026-01-01 10:00 UTC),
        updated_at: datetime!(2026-01-01 10:00 UTC),
        termination_due_at: None,
        ai_limits: Default::default(),
        opt_outs: vec![],
        ai: AiSettings::default(),
        tenants: vec![],
    }
}

/// Opens the backend under test again, as a restarted server would.
type Reopen = Box<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Arc<dyn Store>>>>>;

/// Everything the server writes comes back after a restart, revocations and updates included.
async fn everything_written_comes_back(reopen: &Reopen) {
    let store = reopen().await;
    let mut o = org();
    store.insert_org(&o).await.unwrap();
    o.plan = Plan::Standard;
    o.status = OrgStatus::Terminating;
    o.termination_due_at = Some(datetime!(2026-03-01 0:00 UTC));
    o.ai_limits = datapact_governance::LimitTerms {
        tokens_per_day: Some(1000),
        ..Default::default()
    };
    store.update_org(&o).await.unwrap();
    let mut t = tenant(o.id, "prod");
    store.insert_tenant(&t).await.unwrap();
    t.name = "production".into();
    store.update_tenant(&t).await.unwrap();
    let key = KeyId::generate();
    let mut opt = OptOut {
        id: OptOutId::generate(),
        org: o.id,
        ticket: "SUP-1".into(),
        requested_by: "dpo".into(),
        products: Some(vec!["ixp".into()]),
        effective_at: datetime!(2026-01-03 0:00 UTC),
        recorded_by: key,
        recorded_at: datetime!(2026-01-03 0:00 UTC),
        revoked_at: None,
        revoked_by: None,
    };
    store.put_opt_out(&opt).await.unwrap();
    opt.revoked_at = Some(datetime!(2026-02-01 0:00 UTC));
    opt.revoked_by = Some(key);
    store.put_opt_out(&opt).await.unwrap();
    let settings = AiSettings {
        genai_enabled: Some(false),
        locked: Some([SettingKey::GenaiEnabled].into()),
        products: [(
            "ixp".to_string(),
            AiToggles {
                genai_enabled: Some(true),
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    };
    store
        .put_ai_settings(SettingsScope::Org(o.id), &settings)
        .await
        .unwrap();
    let tset = AiSettings {
        third_party_finetune_enabled: Some(false),
        ..Default::default()
    };
    store.put_ai_settings(SettingsScope::Tenant(t.id), &tset).await.unwrap();
    let mut grant = SupportGrant {
        id: GrantId::generate(),
        tenant: t.id,
        ticket: "SUP-2".into(),
        expires_at: datetime!(2026-01-05 0:00 UTC),
        created_by: key,
        created_at: datetime!(2026-01-04 0:00 UTC),
        revoked_at: None,
        revoked_by: None,
    };
    store.put_grant(&grant).await.unwrap();
    grant.revoked_at = Some(datetime!(2026-01-04 12:00 UTC));
    grant.revoked_by = Some(key);
    store.put_grant(&grant).await.unwrap();
    let mut api_key = ApiKey {
        id: key,
        hash: [7; 32],
        role: Role::Service,
        org: Some(o.id),
        tenant: Some(t.id),
        product: Some("ixp".into()),
        label: Some("ixp prod".into()),
        created_by: None,
        created_at: datetime!(2026-01-01 0:00 UTC),
        revoked_at: None,
    };
    store.put_key(&api_key).await.unwrap();
    api_key.revoked_at = Some(datetime!(2026-01-06 0:00 UTC));
    store.put_key(&api_key).await.unwrap();
    drop(store);

    let store = reopen().await;
    let snap = store.load().await.unwrap();
    assert_eq!(snap.orgs.len(), 1);
    let got = &snap.orgs[0];
    assert_eq!(
        (
            got.plan,
            got.status,
            got.baa,
            got.allow_cross_region_llm,
            got.termination_due_at
        ),
        (Plan::Standard, OrgStatus::Terminating, true, true, o.termination_due_at)
    );
    assert_eq!(got.opt_outs, vec![opt]);
    assert_eq!(got.ai, settings);
    assert_eq!(got.ai_limits, o.ai_limits);
    assert_eq!(snap.tenants.len(), 1);
    assert_eq!(snap.tenants[0].name, "production");
    assert_eq!(snap.tenants[0].ai, tset);
    assert_eq!(snap.tenants[0].grants, vec![grant]);
    assert_eq!(snap.keys, vec![api_key.clone()]);

    // Plain hashes of an older database are keyed once, all in one go.
    let keyed = |h: [u8; 32]| h.map(|b| b ^ 0x5a);
    assert_eq!(store.key_hashes_keyed(&keyed).await.unwrap(), 1);
    assert_eq!(store.key_hashes_keyed(&keyed).await.unwrap(), 0, "only once");
    assert_eq!(store.load().await.unwrap().keys[0].hash, [7 ^ 0x5a; 32]);
    store.ping().await.unwrap();
}

/// Updating what is not stored is an error, not a silent no-op.
async fn updates_of_missing_rows_fail(reopen: &Reopen) {
    let store = reopen().await;
    assert!(store.update_org(&org()).await.is_err());
    let t = tenant(OrgId::generate(), "x");
    assert!(store.update_tenant(&t).await.is_err());
    assert!(
        store.insert_tenant(&t).await.is_err(),
        "a tenant needs its organization"
    );
}

/// Usage counts add up per tenant, product, model and day; a range query returns them in order.
async fn usage_adds_up(reopen: &Reopen) {
    let store = reopen().await;
    let tenant = TenantId::generate();
    let row = |day, model: &str, n: u64| UsageRow {
        tenant,
        product: "ixp".into(),
        model: model.into(),
        day,
        requests: 1,
        prompt_tokens: n,
        completion_tokens: 2 * n,
        total_tokens: 3 * n,
    };
    store
        .add_usage(&[row(date!(2026 - 01 - 01), "m", 10), row(date!(2026 - 01 - 02), "m", 1)])
        .await
        .unwrap();
    store.add_usage(&[row(date!(2026 - 01 - 01), "m", 5)]).await.unwrap();
    store.add_usage(&[row(date!(2026 - 01 - 01), "a", 1)]).await.unwrap();
    let got = store
        .usage(tenant, date!(2026 - 01 - 01), date!(2026 - 01 - 01))
        .await
        .unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].model.as_str(), got[0].total_tokens), ("a", 3));
    assert_eq!(
        (
            got[1].model.as_str(),
            got[1].requests,
            got[1].prompt_tokens,
            got[1].total_tokens
        ),
        ("m", 2, 15, 45)
    );
    let all = store
        .usage(tenant, date!(2026 - 01 - 01), date!(2026 - 12 - 31))
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(
        store
            .usage(TenantId::generate(), date!(2026 - 01 - 01), date!(2026 - 12 - 31))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Certificates are kept byte for byte, once per id; jobs are replaced by id.
async fn certificates_and_jobs(reopen: &Reopen) {
    let store = reopen().await;
    let (tenant, org) = (TenantId::generate(), OrgId::generate());
    let cert = |id: &str, json: &str| StoredCertificate {
        id: id.into(),
        tenant,
        org,
        reason: "customer_request".into(),
        issued_at: datetime!(2026-01-01 0:00 UTC),
        json: json.into(),
    };
    store.insert_certificate(&cert("cert_b", "{\"b\": 1}")).await.unwrap();
    store.insert_certificate(&cert("cert_a", "{ \"a\":1 }")).await.unwrap();
    store.insert_certificate(&cert("cert_a", "changed")).await.unwrap();
    let got = store.certificates(tenant).await.unwrap();
    assert_eq!(got, vec![cert("cert_a", "{ \"a\":1 }"), cert("cert_b", "{\"b\": 1}")]);
    assert!(store.certificates(TenantId::generate()).await.unwrap().is_empty());
    let mut job = Job {
        id: JobId::generate(),
        kind: JobKind::Reencrypt,
        tenant,
        org,
        state: JobState::Running,
        done: 0,
        total: 10,
        error: None,
        purge: None,
        created_at: datetime!(2026-01-01 0:00 UTC),
        updated_at: datetime!(2026-01-01 0:00 UTC),
    };
    store.put_job(&job).await.unwrap();
    job.done = 10;
    job.state = JobState::Done;
    store.put_job(&job).await.unwrap();
    drop(store);
    assert_eq!(reopen().await.jobs().await.unwrap(), vec![job]);
}

/// A lease is held by one holder at a time, renewed by it, taken over only once it expires,
/// and free again at once when released; two stores on one database (two nodes) agree.
async fn leases_are_held_by_one_holder(reopen: &Reopen) {
    use std::time::Duration;
    let (a, b) = (reopen().await, reopen().await);
    // Margins of half a second and more either side of every expiry, so a slow machine
    // cannot turn a renewal into an expiry.
    let ttl = Duration::from_millis(1500);
    assert!(a.lease("job_1", "node-a", ttl).await.unwrap());
    assert!(!b.lease("job_1", "node-b", ttl).await.unwrap(), "held by a");
    assert!(b.lease("job_2", "node-b", ttl).await.unwrap(), "another lease is free");
    // Renewed by its holder, it stays its holder's past the first expiry.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(a.lease("job_1", "node-a", ttl).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(!b.lease("job_1", "node-b", ttl).await.unwrap(), "renewed by a");
    // Not renewed (its holder died): taken over after expiry, and a is out.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        b.lease("job_1", "node-b", ttl).await.unwrap(),
        "expired: b takes it over"
    );
    assert!(!a.lease("job_1", "node-a", ttl).await.unwrap(), "b holds it now");
    // Released by someone who does not hold it: nothing happens; by its holder: free.
    a.release("job_1", "node-a").await.unwrap();
    assert!(!a.lease("job_1", "node-a", ttl).await.unwrap());
    b.release("job_1", "node-b").await.unwrap();
    assert!(a.lease("job_1", "node-a", ttl).await.unwrap());

    // One lease per node counts the live nodes: a node that stops renewing drops out at
    // expiry; other names, and names that only look alike (`_` is not a wildcard), are not
    // counted.
    assert!(a.lease("node/a", "a", ttl).await.unwrap());
    assert!(b.lease("node/b", "b", Duration::from_millis(300)).await.unwrap());
    assert!(b.lease("nodeXb", "b", ttl).await.unwrap());
    assert!(b.lease("node_/c", "c", ttl).await.unwrap());
    assert_eq!(a.live_leases("node/").await.unwrap(), 2);
    assert_eq!(b.live_leases("node_/").await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.live_leases("node/").await.unwrap(), 1, "b stopped renewing");
}

/// Sixteen takers on two stores (two nodes) take, spend part of and give back a budget at
/// once: what is spent and out on loan never exceeds the limit, everything used is counted once,
/// and the budget runs out exactly.
async fn quotas_never_exceed_their_limit(reopen: &Reopen) {
    const LIMIT: u64 = 10_000;
    let stores = [reopen().await, reopen().await];
    let mut takers = Vec::new();
    for i in 0..16u64 {
        let store = Arc::clone(&stores[(i % 2) as usize]);
        takers.push(tokio::spawn(async move {
            let mut used_total = 0;
            let mut seed = i * 7919 + 13;
            loop {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let want = 1 + (seed >> 33) % 300;
                let got = store
                    .take_quota("ten_a/ixp/day", "2026-12-04", want, LIMIT)
                    .await
                    .unwrap();
                assert!(got <= want);
                let now = store.quota("ten_a/ixp/day", "2026-12-04").await.unwrap();
                assert!(now.spent + now.taken <= LIMIT, "over the limit: {now:?}");
                if got == 0 {
                    return used_total;
                }
                let used = (got * 7 / 10).max(1);
                used_total += used;
                store
                    .return_quota("ten_a/ixp/day", "2026-12-04", got, used)
                    .await
                    .unwrap();
            }
        }));
    }
    let mut used = 0;
    for t in takers {
        used += t.await.unwrap();
    }
    let end = stores[0].quota("ten_a/ixp/day", "2026-12-04").await.unwrap();
    assert_eq!(end.taken, 0, "everything taken was given back");
    assert_eq!(end.spent, used, "every unit used is counted once");
    assert_eq!(end.spent, LIMIT, "the budget ran out exactly");
    // Another period, or another scope, is another budget.
    assert_eq!(
        stores[1]
            .take_quota("ten_a/ixp/day", "2026-12-05", 50, LIMIT)
            .await
            .unwrap(),
        50
    );
    assert_eq!(
        stores[1]
            .take_quota("ten_b/ixp/day", "2026-12-04", 0, LIMIT)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        stores[0].quota("ten_b/ixp/day", "2026-12-04").await.unwrap(),
        datapact_store::QuotaState::default()
    );
}

fn sqlite_at(dir: &Path) -> Reopen {
    let dir = dir.to_path_buf();
    Box::new(move || {
        let dir = dir.clone();
        Box::pin(async move { Arc::new(SqliteStore::open(&dir).unwrap()) as Arc<dyn Store> })
    })
}

fn postgres_at(url: String) -> Reopen {
    Box::new(move || {
        let url = url.clone();
        Box::pin(async move { Arc::new(PostgresStore::connect(&url).await.unwrap()) as Arc<dyn Store> })
    })
}

#[tokio::test]
async fn sqlite_backend() {
    for scenario in 0..6 {
        let dir = tempfile::tempdir().unwrap();
        let reopen = sqlite_at(dir.path());
        match scenario {
            0 => everything_written_comes_back(&reopen).await,
            1 => updates_of_missing_rows_fail(&reopen).await,
            2 => usage_adds_up(&reopen).await,
            3 => certificates_and_jobs(&reopen).await,
            4 => leases_are_held_by_one_holder(&reopen).await,
            _ => quotas_never_exceed_their_limit(&reopen).await,
        }
    }
}

#[tokio::test]
async fn postgres_backend() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    for (i, scenario) in ["written", "missing", "usage", "certs", "leases", "quotas"]
        .iter()
        .enumerate()
    {
        let url = cluster.database(&format!("t{i}_{scenario}")).await;
        let reopen = postgres_at(url);
        match i {
            0 => everything_written_comes_back(&reopen).await,
            1 => updates_of_missing_rows_fail(&reopen).await,
            2 => usage_adds_up(&reopen).await,
            3 => certificates_and_jobs(&reopen).await,
            4 => leases_are_held_by_one_holder(&reopen).await,
            _ => quotas_never_exceed_their_limit(&reopen).await,
        }
    }

    change_feed(&cluster).await;
    registries_follow(&cluster).await;

    // Several nodes starting at once on an empty database: one migrates, the others wait for it.
    let url = cluster.database("concurrent_start").await;
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await.map(|_| ()) })
        })
        .collect();
    for s in starts {
        s.await.unwrap().unwrap();
    }

    // A database migrated by a newer datapact is refused.
    let url = cluster.database("newer_schema").await;
    drop(PostgresStore::connect(&url).await.unwrap());
    cluster
        .sql(&url, "UPDATE datapact_schema SET version = 99")
        .await
        .unwrap();
    assert!(matches!(
        PostgresStore::connect(&url).await,
        Err(StoreError::SchemaTooNew { found: 99, .. })
    ));

    // A database that cannot be reached is an error that says so, not a hang or a panic.
    let gone = format!(
        "host=127.0.0.1 port={} user=postgres dbname=x connect_timeout=2",
        cluster.port() + 1
    );
    assert!(matches!(
        PostgresStore::connect(&gone).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        PostgresStore::connect("not a url ==").await,
        Err(StoreError::Config(_))
    ));

    // A server error says what the server said, not only "db error": at connection too.
    match PostgresStore::connect(&cluster.url("no_such_db")).await {
        Err(StoreError::Unavailable(m)) => assert!(m.contains("no_such_db"), "{m}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("connected to a database that does not exist"),
    }
    let url = cluster.database("errors").await;
    let store = PostgresStore::connect(&url).await.unwrap();
    cluster.sql(&url, "DROP TABLE quotas").await.unwrap();
    let err = store.quota("s", "p").await.unwrap_err();
    assert!(err.to_string().contains("quotas"), "{err}");
}

/// Two nodes on one database: what one writes reaches the other's change feed within a second,
/// in commit order, with nothing missed when a notification is lost.
async fn change_feed(cluster: &Cluster) {
    use std::time::Duration;
    let url = cluster.database("change_feed").await;
    let a = PostgresStore::connect(&url).await.unwrap();
    let b = PostgresStore::connect(&url).await.unwrap();
    let (snapshot, seq) = b.load_at().await.unwrap();
    assert!(snapshot.orgs.is_empty());
    assert_eq!(seq, 0);
    let mut feed = b.watch(seq);
    // An organization created through A: B sees it, and reads it as A wrote it.
    let o = org();
    a.insert_org(&o).await.unwrap();
    let c = next(&mut feed, Duration::from_secs(1)).await;
    assert_eq!((c.entity, c.id.as_str()), (Entity::Org, o.id.to_string().as_str()));
    assert_eq!(b.org(&c.id).await.unwrap().unwrap().name, "Acme");

    // A key created, then revoked, through A: B reads it revoked after the second change.
    let mut k = ApiKey {
        id: KeyId::generate(),
        hash: [7; 32],
        role: Role::OrgAdmin,
        org: Some(o.id),
        tenant: None,
        product: None,
        created_at: datetime!(2026-01-01 10:00 UTC),
        revoked_at: None,
        label: None,
        created_by: None,
    };
    a.put_key(&k).await.unwrap();
    k.revoked_at = Some(datetime!(2026-01-02 10:00 UTC));
    a.put_key(&k).await.unwrap();
    let first = next(&mut feed, Duration::from_secs(1)).await;
    let second = next(&mut feed, Duration::from_secs(1)).await;
    assert_eq!(first.entity, Entity::Key);
    assert!(second.seq > first.seq);
    assert!(b.key(&k.id.to_string()).await.unwrap().unwrap().revoked_at.is_some());

    // A change whose notification is lost (written without one): the reconcile finds it.
    cluster
        .sql(&url, "INSERT INTO changes (entity, id) VALUES ('tenant', 'ten_quiet')")
        .await
        .unwrap();
    let c = next(&mut feed, RECONCILE_EVERY * 3).await;
    assert_eq!((c.entity, c.id.as_str()), (Entity::Tenant, "ten_quiet"));

    // Many writers on both nodes at once: every change arrives once, in increasing order.
    let a = Arc::new(a);
    let b2 = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let mut writes = Vec::new();
    for i in 0..40 {
        let store = if i % 2 == 0 { a.clone() } else { b2.clone() };
        let org = o.id;
        writes.push(tokio::spawn(async move {
            let t = tenant(org, format!("t{i}"));
            store.insert_tenant(&t).await.unwrap();
            t.id.to_string()
        }));
    }
    let mut written = std::collections::BTreeSet::new();
    for w in writes {
        written.insert(w.await.unwrap());
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut last = c.seq;
    while seen.len() < written.len() {
        let c = next(&mut feed, Duration::from_secs(2)).await;
        assert!(c.seq > last, "changes arrive in order");
        last = c.seq;
        assert!(seen.insert(c.id), "each change arrives once");
    }
    assert_eq!(seen, written);

    // A node that starts now loads everything and the feed's position in one snapshot.
    let (snapshot, seq) = PostgresStore::connect(&url).await.unwrap().load_at().await.unwrap();
    assert_eq!(seq, last);
    assert_eq!(snapshot.tenants.len(), 40);
    assert!(snapshot.keys.iter().all(|k| k.revoked_at.is_some()));
}

async fn next(
    feed: &mut tokio::sync::mpsc::Receiver<datapact_store::Change>,
    within: std::time::Duration,
) -> datapact_store::Change {
    tokio::time::timeout(within, feed.recv())
        .await
        .expect("the change arrives in time")
        .expect("the feed is open")
}

/// Two nodes, each with its registry built from the database and following the change feed:
/// what one node writes (an organization, a key, its revocation, an opt-out, a tenant) is in the
/// other's registry within a second.
async fn registries_follow(cluster: &Cluster) {
    use datapact_governance::{Catalog, Registry};
    use std::time::{Duration, Instant};
    let url = cluster.database("followers").await;
    let node = |url: String| async move {
        let store = PostgresStore::connect(&url).await.unwrap();
        let (snapshot, seq) = store.load_at().await.unwrap();
        let registry =
            Arc::new(Registry::load(Arc::new(Catalog::builtin().unwrap()), vec!["eu".into()], snapshot).unwrap());
        let follower = datapact_store::follow(store.clone(), Arc::clone(&registry), seq);
        (store, registry, follower)
    };
    let (a, reg_a, _fa) = node(url.clone()).await;
    let (_b, reg_b, fb) = node(url.clone()).await;
    // Polls `done` on node B until it holds, at most a second.
    async fn within_a_second(what: &str, done: impl Fn() -> bool) -> Duration {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(1),
                "{what}: not on the other node after 1 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        start.elapsed()
    }

    let o = org();
    a.insert_org(&o).await.unwrap();
    reg_a.put_org(o.clone());
    within_a_second("a new organization", || reg_b.org(o.id).is_some()).await;

    let t = tenant(o.id, "prod");
    a.insert_tenant(&t).await.unwrap();
    within_a_second("a new tenant, in its organization", || {
        reg_b.tenant(t.id).is_some() && reg_b.org(o.id).is_some_and(|o| o.tenants.contains(&t.id))
    })
    .await;

    let mut k = ApiKey {
        id: KeyId::generate(),
        hash: [9; 32],
        role: Role::Service,
        org: Some(o.id),
        tenant: Some(t.id),
        product: Some("ixp".into()),
        label: None,
        created_by: None,
        created_at: datetime!(2026-01-01 10:00 UTC),
        revoked_at: None,
    };
    a.put_key(&k).await.unwrap();
    within_a_second("a new key", || reg_b.key_by_hash(&[9; 32]).is_some()).await;
    k.revoked_at = Some(datetime!(2026-01-05 10:00 UTC));
    a.put_key(&k).await.unwrap();
    within_a_second("a revocation", || {
        reg_b.key_by_hash(&[9; 32]).is_some_and(|k| k.revoked_at.is_some())
    })
    .await;

    let opt = OptOut {
        id: OptOutId::generate(),
        org: o.id,
        ticket: "SUP-2".into(),
        requested_by: "dpo".into(),
        products: None,
        effective_at: datetime!(2026-01-03 0:00 UTC),
        recorded_by: k.id,
        recorded_at: datetime!(2026-01-03 0:00 UTC),
        revoked_at: None,
        revoked_by: None,
    };
    a.put_opt_out(&opt).await.unwrap();
    within_a_second("an opt-out", || reg_b.org(o.id).is_some_and(|o| o.opt_outs.len() == 1)).await;

    // Terms changed on A, fifty times: each is on B within the second; the slowest is shown.
    let mut slowest = Duration::ZERO;
    let mut o = reg_b.org(o.id).map(|o| (*o).clone()).unwrap();
    for i in 0..50 {
        o.name = format!("Acme {i}");
        a.update_org(&o).await.unwrap();
        let name = o.name.clone();
        slowest =
            slowest.max(within_a_second("changed terms", || reg_b.org(o.id).is_some_and(|o| o.name == name)).await);
    }
    eprintln!("registries_follow: the slowest of 50 changes reached the other node in {slowest:?}");
    let latest = a.latest_change().await.unwrap();
    within_a_second("the follower's position", || fb.applied() == latest).await;
}
