//! The audit log on PostgreSQL, appended by three nodes at once on a real server: one log
//! without gaps or duplicates, whose proofs from any node verify against checkpoints signed by
//! any other, and that keeps going when a node dies holding the sequencing lock.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use datapact_audit::merkle::{self, Frontier};
use datapact_audit::verify::checkpoint_signature_ok;
use datapact_audit::{Action, Actor, AuditError, CheckpointSigner, Event, Outcome, PgAuditLog, Query};
use datapact_governance::{OrgId, TenantId};
use datapact_pgtest::Cluster;

fn signer() -> Arc<dyn CheckpointSigner> {
    // The nodes of a deployment share one signing key (sealed in the database by the master
    // secret); the test gives each node the same one.
    Arc::new(ed25519_dalek::SigningKey::from_bytes(&[7; 32]))
}

fn event(org: OrgId, tenant: Option<TenantId>, n: usize) -> Event {
    let mut e = Event::new(
        Actor::system(),
        if n.is_multiple_of(3) {
            Action::Decision
        } else {
            Action::ContentRead
        },
        if n.is_multiple_of(5) {
            Outcome::Denied
        } else {
            Outcome::Allowed
        },
    );
    e.org = Some(org);
    e.tenant = tenant;
    e
}

fn root_of(cp: &datapact_audit::Checkpoint) -> merkle::Hash {
    B64.decode(&cp.root_hash).unwrap().try_into().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_one_log() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let url = cluster.database("audit").await;
    // Three nodes start at once on an empty database: one migrates, the others wait.
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PgAuditLog::connect(&url, "datapact.test/log", signer()).await })
        })
        .collect();
    let mut nodes = Vec::new();
    for s in starts {
        nodes.push(Arc::new(s.await.unwrap().unwrap()));
    }
    assert_eq!(nodes[0].size().await.unwrap(), 0);
    let empty = nodes[0].checkpoint().await.unwrap();
    assert_eq!(empty.tree_size, 0);
    assert_eq!(root_of(&empty), merkle::empty_root());

    // 3 nodes × 600 appends, concurrently, from many tasks each.
    let orgs = [OrgId::generate(), OrgId::generate()];
    let tenant = TenantId::generate();
    let mut tasks = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for t in 0..12 {
            let node = Arc::clone(node);
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for i in 0..50 {
                    let k = n * 1000 + t * 50 + i;
                    let e = event(orgs[k % 2], k.is_multiple_of(7).then_some(tenant), k);
                    got.push(node.append(e).await.unwrap().index);
                }
                got
            }));
        }
    }
    let mut indexes = BTreeSet::new();
    let mut count = 0;
    for t in tasks {
        for i in t.await.unwrap() {
            count += 1;
            assert!(indexes.insert(i), "index {i} was given twice");
        }
    }
    assert_eq!(count, 1800);
    assert_eq!(indexes, (0..1800).collect(), "the indexes have no gaps");
    for node in &nodes {
        assert_eq!(node.size().await.unwrap(), 1800);
    }

    // The whole log, read back in pages, rebuilds to the root a checkpoint signs, and each
    // entry holds its own index; time never goes backwards along the log. (Past the gap since
    // the empty log's checkpoint, else that one is served again.)
    tokio::time::sleep(datapact_audit::log::MIN_CHECKPOINT_GAP + Duration::from_millis(100)).await;
    let cp = nodes[1].checkpoint().await.unwrap();
    assert_eq!(cp.tree_size, 1800);
    checkpoint_signature_ok(&cp, nodes[2].origin(), None).unwrap();
    let mut frontier = Frontier::default();
    let mut after = None;
    let mut last_time = None;
    let mut all = Vec::new();
    loop {
        let page = nodes[2]
            .query(&Query {
                after,
                limit: 500,
                ..Default::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.index);
        for e in page {
            assert_eq!(e.entry.index, frontier.size());
            assert!(
                last_time.is_none_or(|t| t <= e.entry.time),
                "time goes backwards at {}",
                e.index
            );
            last_time = Some(e.entry.time);
            frontier.push(merkle::leaf_hash(&B64.decode(&e.leaf).unwrap()));
            all.push(e);
        }
    }
    assert_eq!(frontier.size(), 1800);
    assert_eq!(frontier.root(), root_of(&cp));
    assert_eq!(nodes[0].root(1800).await.unwrap(), root_of(&cp));

    // Asked again within the gap (a minute here, so a slow machine cannot miss it), a node
    // serves the checkpoint another signed.
    nodes[0].set_min_checkpoint_gap(Duration::from_secs(60));
    assert_eq!(nodes[0].checkpoint().await.unwrap(), cp);
    nodes[0].set_min_checkpoint_gap(datapact_audit::log::MIN_CHECKPOINT_GAP);

    // Inclusion proofs from one node verify against another's checkpoint.
    for index in [0u64, 1, 2, 255, 256, 1000, 1799] {
        let proof = nodes[0].inclusion_proof(index, 1800).await.unwrap();
        let leaf = B64.decode(&nodes[2].entry(index).await.unwrap().unwrap().leaf).unwrap();
        assert!(merkle::verify_inclusion(
            &merkle::leaf_hash(&leaf),
            index,
            1800,
            &proof,
            &root_of(&cp)
        ));
    }

    // More appends, then a consistency proof from a third node between two checkpoints
    // signed by two others (the second a second later: one per gap).
    for i in 0..50 {
        nodes[i % 3].append(event(orgs[0], None, i)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = nodes[0].checkpoint().await.unwrap();
    assert_eq!(later.tree_size, 1850);
    let proof = nodes[2].consistency_proof(1800, 1850).await.unwrap();
    assert!(merkle::verify_consistency(
        1800,
        1850,
        &root_of(&cp),
        &root_of(&later),
        &proof
    ));
    let stored = nodes[1].checkpoints(None, 10).await.unwrap();
    assert_eq!(
        stored.iter().map(|c| c.tree_size).collect::<Vec<_>>(),
        vec![0, 1800, 1850]
    );

    // Filters agree with filtering every entry by hand.
    let by_org = nodes[1]
        .query(&Query {
            org: Some(orgs[1].to_string()),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let expect: Vec<u64> = all
        .iter()
        .filter(|e| e.entry.event.org == Some(orgs[1]))
        .map(|e| e.index)
        .collect();
    assert_eq!(by_org.iter().map(|e| e.index).collect::<Vec<_>>(), expect);
    let by_tenant = nodes[1]
        .query(&Query {
            tenant: Some(tenant.to_string()),
            action: Some("decision".into()),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let expect: Vec<u64> = all
        .iter()
        .filter(|e| e.entry.event.tenant == Some(tenant) && e.entry.event.action == Action::Decision)
        .map(|e| e.index)
        .collect();
    assert!(!expect.is_empty());
    assert_eq!(by_tenant.iter().map(|e| e.index).collect::<Vec<_>>(), expect);

    // Out of range is an answer, not a failure.
    assert!(matches!(
        nodes[0].inclusion_proof(1850, 1850).await,
        Err(AuditError::OutOfRange(_))
    ));
    assert!(nodes[0].entry(u64::MAX).await.unwrap().is_none());
    assert!(
        nodes[0]
            .query(&Query {
                after: Some(u64::MAX),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );

    // A node that dies holding the sequencing lock stops no one for longer than its life: an
    // append waits while it holds the lock, and goes on, with the next index, once it is gone.
    let (holder, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    let holder_conn = tokio::spawn(conn);
    holder
        .batch_execute("BEGIN; SELECT size FROM audit_head WHERE id = 1 FOR UPDATE")
        .await
        .unwrap();
    let pid: i32 = holder.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let waiting = tokio::spawn({
        let node = Arc::clone(&nodes[1]);
        async move { node.append(event(orgs[0], None, 1)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "an append went past the lock");
    cluster
        .sql(&url, &format!("SELECT pg_terminate_backend({pid})"))
        .await
        .unwrap();
    let entry = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the append goes on once the holder is gone")
        .unwrap()
        .unwrap();
    assert_eq!(entry.index, 1850);
    let _ = holder_conn.await;

    // A node restarted later sees the same log, and the origin it was created with.
    for node in &nodes {
        node.close().await;
    }
    let again = PgAuditLog::connect(&url, "another.origin", signer()).await.unwrap();
    assert_eq!(again.origin(), "datapact.test/log");
    assert_eq!(again.size().await.unwrap(), 1851);
    assert_eq!(again.entry(1850).await.unwrap().unwrap().entry, entry);

    // The whole log verifies offline, from the database alone, against the pinned key; an
    // entry altered behind the log's back, or one removed, is named.
    let pinned = ed25519_dalek::SigningKey::from_bytes(&[7; 32])
        .verifying_key()
        .to_bytes();
    let report = datapact_audit::postgres::verify(&url, None, Some(&pinned))
        .await
        .unwrap();
    assert_eq!((report.entries, report.checkpoints, report.unsigned_tail), (1851, 3, 1));
    assert_eq!(report.root, B64.encode(again.root(1851).await.unwrap()));
    let other = ed25519_dalek::SigningKey::from_bytes(&[8; 32])
        .verifying_key()
        .to_bytes();
    assert!(matches!(
        datapact_audit::postgres::verify(&url, None, Some(&other)).await,
        Err(datapact_audit::verify::Failure::Checkpoint { .. })
    ));
    cluster
        .sql(
            &url,
            "UPDATE audit_entries SET leaf = leaf || ' '::bytea WHERE idx = 1001",
        )
        .await
        .unwrap();
    let failure = datapact_audit::postgres::verify(&url, None, Some(&pinned))
        .await
        .unwrap_err();
    assert!(failure.to_string().starts_with("entry 1001:"), "{failure}");
    cluster
        .sql(
            &url,
            "UPDATE audit_entries SET leaf = rtrim(leaf, ' '::bytea), org = 'org_x' WHERE idx = 1001",
        )
        .await
        .unwrap();
    let failure = datapact_audit::postgres::verify(&url, None, Some(&pinned))
        .await
        .unwrap_err();
    assert!(failure.to_string().contains("index columns disagree"), "{failure}");
    cluster
        .sql(&url, "DELETE FROM audit_entries WHERE idx = 1001")
        .await
        .unwrap();
    let failure = datapact_audit::postgres::verify(&url, None, Some(&pinned))
        .await
        .unwrap_err();
    assert!(failure.to_string().starts_with("entry 1001: is missing"), "{failure}");

    // A server error says what the server said, not only "db error".
    cluster.sql(&url, "DROP TABLE audit_checkpoints").await.unwrap();
    let err = again.checkpoints(None, 10).await.unwrap_err();
    assert!(err.to_string().contains("audit_checkpoints"), "{err}");

    // A database migrated by a newer datapact is refused.
    cluster
        .sql(&url, "UPDATE datapact_audit_schema SET version = 99")
        .await
        .unwrap();
    assert!(matches!(
        PgAuditLog::connect(&url, "datapact.test/log", signer()).await,
        Err(AuditError::SchemaTooNew { found: 99, .. })
    ));
}

/// While PostgreSQL is down, appends fail (never answer with an index they do not have), and
/// once it is back they succeed again without a restart of the node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_fail_while_the_database_is_down_and_recover() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let url = cluster.database("outage").await;
    let node = PgAuditLog::connect(&url, "o", signer()).await.unwrap();
    let org = OrgId::generate();
    assert_eq!(node.append(event(org, None, 0)).await.unwrap().index, 0);
    cluster.stop();
    let failed = node.append(event(org, None, 1)).await;
    assert!(matches!(failed, Err(AuditError::Unavailable(_))), "{failed:?}");
    cluster.restart();
    let mut recovered = None;
    for _ in 0..50 {
        if let Ok(e) = node.append(event(org, None, 2)).await {
            recovered = Some(e);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let e = recovered.expect("appends succeed again once the database is back");
    assert_eq!(e.index, 1, "the failed append left no entry and no gap");
}

/// An embedded log larger than one import page moves to PostgreSQL with its exact leaves, its
/// checkpoints still verify against the rebuilt tree, proofs from the new log check against a
/// checkpoint signed before the move, and the log grows on from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_log_imports_with_its_root_and_checkpoints() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("audit.db");
    let org = OrgId::generate();
    let tenants: Vec<TenantId> = (0..7).map(|_| TenantId::generate()).collect();
    let mut signed = Vec::new();
    {
        let log = datapact_audit::SqliteAuditLog::open(&path, "datapact.test/embedded", signer()).unwrap();
        log.set_min_checkpoint_gap(Duration::ZERO);
        for n in 0..9_000 {
            log.append(event(org, Some(tenants[n % tenants.len()]), n))
                .await
                .unwrap();
            if n == 4_095 || n == 4_096 || n == 8_500 {
                signed.push(log.checkpoint().unwrap());
            }
        }
        log.close();
    }
    let source = datapact_audit::verify::verify_file(&path, None, None).unwrap();
    let url = cluster.database("imported").await;
    let seen = std::sync::Mutex::new(Vec::new());
    let imported = datapact_audit::postgres::import_sqlite(&path, &url, &|n| seen.lock().unwrap().push(n))
        .await
        .unwrap();
    assert_eq!((imported.entries, imported.checkpoints), (9_000, 3));
    assert_eq!(imported.origin, "datapact.test/embedded");
    assert_eq!(*seen.lock().unwrap(), vec![4_096, 8_192, 9_000]);
    let target = datapact_audit::postgres::verify(&url, None, None).await.unwrap();
    assert_eq!(
        (target.entries, target.checkpoints, &target.root),
        (9_000, 3, &source.root)
    );

    // The same bytes at the same places, and the log carries on under its old origin.
    let log = PgAuditLog::connect(&url, "another/origin", signer()).await.unwrap();
    assert_eq!(log.origin(), "datapact.test/embedded");
    let e = log.entry(4_242).await.unwrap().unwrap();
    let embedded = datapact_audit::SqliteAuditLog::open(&path, "datapact.test/embedded", signer()).unwrap();
    assert_eq!(e.leaf, embedded.entry(4_242).unwrap().unwrap().leaf);
    embedded.close();
    let old = &signed[2];
    let proof = log.inclusion_proof(4_242, old.tree_size).await.unwrap();
    let leaf = B64.decode(&e.leaf).unwrap();
    assert!(merkle::verify_inclusion(
        &merkle::leaf_hash(&leaf),
        4_242,
        old.tree_size,
        &proof,
        &root_of(old)
    ));
    log.append(event(org, None, 1)).await.unwrap();
    let now = log.checkpoint().await.unwrap();
    let consistency = log.consistency_proof(old.tree_size, now.tree_size).await.unwrap();
    assert!(merkle::verify_consistency(
        old.tree_size,
        now.tree_size,
        &root_of(old),
        &root_of(&now),
        &consistency
    ));
    log.close().await;

    // A second import into the same database is refused.
    let again = datapact_audit::postgres::import_sqlite(&path, &url, &|_| {}).await;
    assert!(matches!(again, Err(AuditError::Config(_))), "{again:?}");
}

/// Old ranges leave the database for bundle files: only whole bundles covered by a signed
/// checkpoint, each checked against its tiles first; afterwards inclusion and consistency
/// proofs over archived entries still verify, the whole log still verifies (from the tiles, or
/// against the files), a tampered file is named, and the log grows on. A retention rule drops a
/// range without a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_ranges_archive_to_files_and_proofs_still_verify() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let url = cluster.database("archived").await;
    let log = PgAuditLog::connect(&url, "datapact.test/archive", signer())
        .await
        .unwrap();
    log.set_min_checkpoint_gap(Duration::ZERO);
    let (org, tenant) = (OrgId::generate(), TenantId::generate());
    let mut entries = Vec::new();
    for n in 0..3_000 {
        entries.push(log.append(event(org, Some(tenant), n)).await.unwrap());
    }
    let signed = log.checkpoint().await.unwrap();
    for n in 0..100 {
        log.append(event(org, None, n)).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();

    // Bundles of 1,024: two fit below 2,500; a bundle that is not whole tiles is refused.
    assert!(matches!(
        datapact_audit::postgres::archive(&url, Some(dir.path()), 2_500, 1_000).await,
        Err(AuditError::Config(_))
    ));
    let done = datapact_audit::postgres::archive(&url, Some(dir.path()), 2_500, 1_024)
        .await
        .unwrap();
    assert_eq!(
        done.iter().map(|b| (b.start, b.end)).collect::<Vec<_>>(),
        vec![(0, 1_024), (1_024, 2_048)]
    );
    for b in &done {
        assert!(dir.path().join(b.file.as_ref().unwrap()).exists());
    }
    // Nothing past the newest checkpoint leaves, whatever was asked.
    let more = datapact_audit::postgres::archive(&url, Some(dir.path()), 10_000, 1_024)
        .await
        .unwrap();
    assert!(more.is_empty(), "3,072 is past the checkpoint of 3,000: {more:?}");

    // Archived entries are gone from the database; proofs over them still verify.
    assert!(log.entry(5).await.unwrap().is_none());
    let e = &entries[5];
    let proof = log.inclusion_proof(5, signed.tree_size).await.unwrap();
    assert!(merkle::verify_inclusion(
        &merkle::leaf_hash(&e.leaf()),
        5,
        signed.tree_size,
        &proof,
        &root_of(&signed)
    ));
    let now = log.checkpoint().await.unwrap();
    let consistency = log.consistency_proof(1_000, now.tree_size).await.unwrap();
    let old_root = log.root(1_000).await.unwrap();
    assert!(merkle::verify_consistency(
        1_000,
        now.tree_size,
        &old_root,
        &root_of(&now),
        &consistency
    ));

    // The whole log verifies: from the tiles, and against the files.
    let report = datapact_audit::postgres::verify(&url, None, None).await.unwrap();
    assert_eq!((report.entries, report.archived), (3_100, 2_048));
    datapact_audit::postgres::verify_with_archive(&url, None, None, Some(dir.path()))
        .await
        .unwrap();
    // A bundle file changed after archival is named.
    let first = dir.path().join(done[0].file.as_ref().unwrap());
    let mut bytes = std::fs::read(&first).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    std::fs::write(&first, &bytes).unwrap();
    let err = datapact_audit::postgres::verify_with_archive(&url, None, None, Some(dir.path()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SHA-256"), "{err}");

    // Retention (`[audit] retain_days`) finds where the entries to keep start: the first one
    // at or after the cutoff, walking from the oldest still in the database.
    let micros = |t: time::OffsetDateTime| i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap();
    let expired_before = |cutoff: i64| log.expired_before(cutoff);
    assert_eq!(
        expired_before(0).await.unwrap(),
        2_048,
        "archived entries are not walked"
    );
    let t = micros(entries[2_500].time);
    let cut = expired_before(t).await.unwrap() as usize;
    assert!((2_048..=2_500).contains(&cut), "{cut}");
    assert!(micros(entries[cut].time) >= t && (cut == 2_048 || micros(entries[cut - 1].time) < t));
    assert_eq!(expired_before(i64::MAX).await.unwrap(), 3_100, "everything has expired");

    // The log grows on; a retention rule drops the next whole bundle without a file.
    for n in 0..2_000 {
        log.append(event(org, None, n)).await.unwrap();
    }
    log.checkpoint().await.unwrap();
    let start = 2_048;
    let dropped = datapact_audit::postgres::archive(&url, None, start + 1_024, 1_024)
        .await
        .unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!((dropped[0].start, dropped[0].file.as_ref()), (start, None));
    let report = datapact_audit::postgres::verify(&url, None, None).await.unwrap();
    assert_eq!(report.entries, 5_100);
    log.close().await;
}

/// Queries scoped to a tenant or an organization, alone or with other filters, page by page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_queries_page_through_a_scope() {
    let Some(cluster) = Cluster::shared() else {
        return;
    };
    let url = cluster.database("scopes").await;
    let log = PgAuditLog::connect(&url, "datapact.test/scopes", signer())
        .await
        .unwrap();
    let (a, b) = (OrgId::generate(), OrgId::generate());
    let (ta, tb, ta2) = (TenantId::generate(), TenantId::generate(), TenantId::generate());
    // A tenant of `a` that another node writes for, later.
    let ta3 = TenantId::generate();
    let mut mine = Vec::new();
    let mut all_a = Vec::new();
    let mut all_b = Vec::new();
    let mut denied_a = Vec::new();
    let append = |org, tenant, n| {
        let log = &log;
        async move { log.append(event(org, tenant, n)).await.unwrap().index }
    };
    for n in 0..450 {
        // Three scopes in turn, then two.
        // Organization `a` has two tenants and entries of its own.
        let (org, tenant) = match (n < 300, n % 3, n % 2) {
            (true, 0, _) | (false, _, 0) => (a, Some(ta)),
            (true, 1, _) if n % 4 == 1 => (a, Some(ta2)),
            (true, 1, _) => (b, Some(tb)),
            (true, _, _) => (a, None),
            (false, _, _) => (b, None),
        };
        let i = append(org, tenant, n).await;
        if tenant == Some(ta) {
            mine.push(i);
        }
        if org == b {
            all_b.push(i);
        }
        if org == a {
            all_a.push(i);
            if n.is_multiple_of(5) {
                denied_a.push(i);
            }
        }
    }
    // Pages of 7 by tenant and by organization, following `after`.
    let pages = |q: Query| {
        let log = &log;
        async move {
            let mut got = Vec::new();
            let mut after = None;
            loop {
                let page = log
                    .query(&Query {
                        after,
                        limit: 7,
                        ..q.clone()
                    })
                    .await
                    .unwrap();
                if page.is_empty() {
                    return got;
                }
                after = page.last().map(|e| e.index);
                got.extend(page.iter().map(|e| e.index));
            }
        }
    };
    let by_tenant = Query {
        tenant: Some(ta.to_string()),
        ..Query::default()
    };
    // An organization's query names its tenants (the server's registry knows them), and
    // answers the same without them (scanning in index order).
    let by_org = Query {
        org: Some(a.to_string()),
        org_tenants: Some([ta, ta2, ta3].map(|t| t.to_string()).to_vec()),
        ..Query::default()
    };
    let unlisted = |q: &Query| Query {
        org_tenants: None,
        ..q.clone()
    };
    assert_eq!(pages(by_tenant.clone()).await, mine);
    assert_eq!(pages(by_org.clone()).await, all_a);
    assert_eq!(pages(unlisted(&by_org)).await, all_a);
    let by_org_b = Query {
        org: Some(b.to_string()),
        org_tenants: Some(vec![tb.to_string()]),
        ..Query::default()
    };
    assert_eq!(pages(by_org_b.clone()).await, all_b);
    assert_eq!(pages(unlisted(&by_org_b)).await, all_b);
    // With other filters.
    let denied = pages(Query {
        outcome: Some("denied".into()),
        ..by_org.clone()
    })
    .await;
    assert!(!denied_a.is_empty());
    assert_eq!(denied, denied_a);
    assert_eq!(
        pages(Query {
            outcome: Some("denied".into()),
            ..unlisted(&by_org)
        })
        .await,
        denied_a
    );
    assert_eq!(
        pages(Query {
            tenant: Some(TenantId::generate().to_string()),
            ..Query::default()
        })
        .await,
        Vec::<u64>::new()
    );
    // A tenant named with its organization, and with another's.
    let tenant_in = |org: OrgId| Query {
        org: Some(org.to_string()),
        ..by_tenant.clone()
    };
    assert_eq!(pages(tenant_in(a)).await, mine);
    assert!(pages(tenant_in(b)).await.is_empty());

    // Another node appends for another tenant of `a`: this node's query sees them.
    let other = PgAuditLog::connect(&url, "datapact.test/scopes", signer())
        .await
        .unwrap();
    for n in 0..5 {
        all_a.push(other.append(event(a, Some(ta3), n)).await.unwrap().index);
    }
    other.close().await;
    assert_eq!(pages(by_org.clone()).await, all_a);
    log.close().await;

    // A log of schema 2 (an organization index over every entry) migrates to the index of
    // tenant-less entries and answers the same.
    cluster
        .sql(
            &url,
            "DROP INDEX audit_entries_org_level;
             CREATE INDEX audit_entries_org ON audit_entries (org, idx) WHERE org IS NOT NULL;
             UPDATE datapact_audit_schema SET version = 2",
        )
        .await
        .unwrap();
    let migrated = PgAuditLog::connect(&url, "datapact.test/scopes", signer())
        .await
        .unwrap();
    let all = migrated.query(&Query { limit: 1000, ..by_org }).await.unwrap();
    assert_eq!(all.iter().map(|e| e.index).collect::<Vec<_>>(), all_a);
    migrated.close().await;
}
