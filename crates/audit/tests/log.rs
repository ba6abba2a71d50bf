//! The audit log on real files: concurrent appends, proofs any RFC 6962 verifier accepts,
//! restart, and tampering of every kind named by `verify`.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use datapact_audit::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use datapact_audit::verify::{Failure, verify_file};
use datapact_audit::{Action, Actor, CheckpointSigner, Event, Label, Outcome, Query, Resource, SqliteAuditLog};
use datapact_governance::{OrgId, Purpose, ReasonCode, RecordId, TenantId};

const ORIGIN: &str = "datapact.test/audit";

fn signer() -> Arc<ed25519_dalek::SigningKey> {
    Arc::new(ed25519_dalek::SigningKey::from_bytes(&[7; 32]))
}

fn event(org: OrgId, i: u64) -> Event {
    let mut e = Event::new(
        Actor::system(),
        Action::ContentRead,
        if i.is_multiple_of(5) {
            Outcome::Denied
        } else {
            Outcome::Allowed
        },
    );
    e.org = Some(org);
    e.tenant = Some(TenantId::generate());
    e.product = Some(Label::new("ixp").unwrap());
    e.purpose = Some(Purpose::Service);
    e.resources = vec![Resource::Record(RecordId::generate())];
    e.reasons = vec![ReasonCode::InRegion];
    e.region = Some(Label::new("eu").unwrap());
    e
}

fn b64hash(s: &str) -> [u8; 32] {
    B64.decode(s).unwrap().try_into().unwrap()
}

async fn filled(dir: &Path, n: u64) -> (Arc<SqliteAuditLog>, OrgId, OrgId) {
    let log = Arc::new(SqliteAuditLog::open(&dir.join("audit.db"), ORIGIN, signer()).unwrap());
    let (a, b) = (OrgId::generate(), OrgId::generate());
    let mut tasks = Vec::new();
    for w in 0..8u64 {
        let log = Arc::clone(&log);
        tasks.push(tokio::spawn(async move {
            for i in 0..n / 8 {
                log.append(event(if i % 2 == 0 { a } else { b }, w * 1000 + i))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (log, a, b)
}

/// `after` anywhere in u64 is a bounded query: an index beyond i64 neither wraps negative nor
/// walks the index bucket by bucket from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_after_is_a_bounded_query() {
    let dir = tempfile::tempdir().unwrap();
    let (log, a, _) = filled(dir.path(), 80).await;
    for after in [u64::MAX, 1 << 63, (1 << 63) - 1, (1 << 62), 79, 80] {
        for org in [None, Some(a.to_string())] {
            let page = log
                .query(&Query {
                    after: Some(after),
                    org: org.clone(),
                    limit: 10,
                    ..Default::default()
                })
                .unwrap();
            assert!(page.is_empty(), "after={after} org={org:?}: {} entries", page.len());
        }
    }
    let page = log
        .query(&Query {
            after: Some(70),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        page.iter().map(|e| e.index).collect::<Vec<_>>(),
        (71..80).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_proofs_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (log, a, _) = filled(dir.path(), 800).await;
    assert_eq!(log.size(), 800);
    let cp1 = log.checkpoint().unwrap();
    for i in 0..40 {
        log.append(event(a, i)).await.unwrap();
    }
    // A new checkpoint is signed at most once a second.
    tokio::time::sleep(datapact_audit::log::MIN_CHECKPOINT_GAP).await;
    let cp2 = log.checkpoint().unwrap();
    assert_eq!((cp1.tree_size, cp2.tree_size), (800, 840));
    assert!(cp2.note.starts_with(&format!("{ORIGIN}\n840\n{}\n", cp2.root_hash)));
    assert!(cp2.note.contains("\n\u{2014} datapact.test/audit "));

    // Every entry of organization A is provably in the log.
    let mine = log
        .query(&Query {
            org: Some(a.to_string()),
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    assert!(mine.iter().all(|e| e.entry.event.org == Some(a)));
    assert_eq!(mine.len(), 440);
    let root2 = b64hash(&cp2.root_hash);
    for e in mine.iter().step_by(37) {
        let proof = log.inclusion_proof(e.index, 840).unwrap();
        let leaf = B64.decode(&e.leaf).unwrap();
        assert!(verify_inclusion(&leaf_hash(&leaf), e.index, 840, &proof, &root2));
    }
    // The log only grew between the two checkpoints.
    let proof = log.consistency_proof(800, 840).unwrap();
    assert!(verify_consistency(800, 840, &b64hash(&cp1.root_hash), &root2, &proof));
    assert!(log.inclusion_proof(840, 840).is_err());
    assert!(log.consistency_proof(841, 900).is_err());

    // Scoped queries read the organization index below its watermark and scan the tail above
    // it: the answer is the same however far the index has got, page by page.
    let all_a = |log: &SqliteAuditLog| {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = log
                .query(&Query {
                    org: Some(a.to_string()),
                    after,
                    limit: 7,
                    ..Default::default()
                })
                .unwrap();
            if page.is_empty() {
                return out;
            }
            after = page.last().map(|e| e.index);
            out.extend(page.into_iter().map(|e| e.index));
        }
    };
    let before = all_a(&log);
    assert_eq!(before, mine.iter().map(|e| e.index).collect::<Vec<_>>());
    log.index_now().unwrap();
    for i in 0..10 {
        log.append(event(a, i)).await.unwrap();
    }
    let after = all_a(&log);
    assert_eq!(after.len(), before.len() + 10);
    assert_eq!(&after[..before.len()], &before[..]);
    let tenant = mine[3].entry.event.tenant.unwrap();
    let by_tenant = log
        .query(&Query {
            tenant: Some(tenant.to_string()),
            org: Some(a.to_string()),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert!(!by_tenant.is_empty() && by_tenant.iter().all(|e| e.entry.event.tenant == Some(tenant)));
    let none = log
        .query(&Query {
            since: Some(time::OffsetDateTime::now_utc() + time::Duration::hours(1)),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert!(none.is_empty());

    // Pages follow each other.
    let p1 = log
        .query(&Query {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    let p2 = log
        .query(&Query {
            limit: 100,
            after: Some(p1[99].index),
            ..Default::default()
        })
        .unwrap();
    assert_eq!((p1[0].index, p2[0].index), (0, 100));
    let denied = log
        .query(&Query {
            outcome: Some("denied".into()),
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    assert!(!denied.is_empty() && denied.iter().all(|e| e.entry.event.outcome == Outcome::Denied));
    let root_now = B64.encode(log.root(850).unwrap());
    log.close();

    let report = verify_file(&dir.path().join("audit.db"), Some(ORIGIN), Some(&signer().public_key())).unwrap();
    assert_eq!((report.entries, report.checkpoints, report.unsigned_tail), (850, 2, 10));
    assert_eq!(report.root, root_now);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_continues_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let (log, a, _) = filled(dir.path(), 96).await;
    let cp = log.checkpoint().unwrap();
    log.close();
    drop(log);
    let log = SqliteAuditLog::open(&dir.path().join("audit.db"), ORIGIN, signer()).unwrap();
    assert_eq!(log.size(), 96);
    let e = log.append(event(a, 1)).await.unwrap();
    assert_eq!(e.index, 96);
    let proof = log.consistency_proof(96, 97).unwrap();
    assert!(verify_consistency(
        96,
        97,
        &b64hash(&cp.root_hash),
        &log.root(97).unwrap(),
        &proof
    ));
}

/// A log written before leaves were packed (every leaf plain JSON) reads, proves and verifies
/// as before, and goes on with packed entries after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_of_plain_leaves_goes_on_with_packed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (log, a, _) = filled(dir.path(), 64).await;
    let before = log.entry(10).unwrap().unwrap();
    let cp = log.checkpoint().unwrap();
    log.close();
    drop(log);
    assert!(tamper(&dir.path().join("audit.db"), "") > 0);
    verify_file(&dir.path().join("audit.db"), Some(ORIGIN), Some(&signer().public_key())).unwrap();
    let log = SqliteAuditLog::open(&dir.path().join("audit.db"), ORIGIN, signer()).unwrap();
    let after = log.entry(10).unwrap().unwrap();
    assert_eq!((after.leaf, after.entry), (before.leaf, before.entry));
    log.append(event(a, 7)).await.unwrap();
    let cp2 = log.checkpoint().unwrap();
    let proof = log.consistency_proof(cp.tree_size, cp2.tree_size).unwrap();
    assert!(verify_consistency(
        cp.tree_size,
        cp2.tree_size,
        &b64hash(&cp.root_hash),
        &b64hash(&cp2.root_hash),
        &proof
    ));
    let db = rusqlite::Connection::open(dir.path().join("audit.db")).unwrap();
    let first: u8 = db
        .query_row("SELECT substr(leaf, 1, 1) FROM entries WHERE idx = 64", [], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .unwrap()[0];
    assert_eq!(first, datapact_audit::codec::PACKED_V1);
    log.close();
    drop(log);
    verify_file(&dir.path().join("audit.db"), Some(ORIGIN), Some(&signer().public_key())).unwrap();
}

/// Runs `sql` as a tamperer would, after writing every leaf back in its plain form (both forms
/// are valid storage, see `datapact_audit::codec`), so that SQL can edit the JSON text.
fn tamper(db: &Path, sql: &str) -> usize {
    let c = rusqlite::Connection::open(db).unwrap();
    let rows: Vec<(i64, Vec<u8>)> = c
        .prepare("SELECT idx, leaf FROM entries")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut packed = 0;
    for (idx, stored) in rows {
        packed += usize::from(stored.first() == Some(&datapact_audit::codec::PACKED_V1));
        let plain = datapact_audit::codec::unpack(&stored).unwrap().into_owned();
        c.execute(
            "UPDATE entries SET leaf = ?1 WHERE idx = ?2",
            rusqlite::params![plain, idx],
        )
        .unwrap();
    }
    c.execute_batch(sql).unwrap();
    packed
}

fn failure(dir: &Path) -> Failure {
    verify_file(&dir.join("audit.db"), Some(ORIGIN), Some(&signer().public_key())).unwrap_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_tampering_is_named() {
    type Case = (&'static str, &'static str, u64);
    let cases: [Case; 7] = [
        (
            "change",
            "UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'content_read', 'record_write') AS BLOB) WHERE idx = 25",
            25,
        ),
        (
            "change an index column",
            "UPDATE entries SET org = NULL WHERE idx = 30",
            30,
        ),
        ("remove", "DELETE FROM entries WHERE idx = 17", 17),
        (
            "reorder",
            "UPDATE entries SET leaf = (SELECT leaf FROM entries WHERE idx = 41) WHERE idx = 40",
            40,
        ),
        (
            "insert",
            "UPDATE entries SET idx = idx + 1000 WHERE idx >= 12; UPDATE entries SET idx = idx - 999 WHERE idx >= 1012;
             INSERT INTO entries (idx, time, org, tenant, product, action, purpose, outcome, leaf, hash)
                 SELECT 12, time, org, tenant, product, action, purpose, outcome, leaf, hash FROM entries WHERE idx = 11",
            12,
        ),
        (
            "alter an interior tree node",
            "UPDATE nodes SET hash = zeroblob(32) WHERE id = 15 * 64 + 2",
            15,
        ),
        (
            "rewrite the leaf and its tree node",
            "UPDATE entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'in_region', 'region_mismatch') AS BLOB) WHERE idx = 50; UPDATE entries SET hash = zeroblob(32) WHERE idx = 50",
            50,
        ),
    ];
    for (name, sql, index) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (log, _, _) = filled(dir.path(), 64).await;
        log.checkpoint().unwrap();
        log.close();
        drop(log);
        verify_file(&dir.path().join("audit.db"), Some(ORIGIN), None).unwrap();
        assert!(
            tamper(&dir.path().join("audit.db"), sql) > 0,
            "entries are stored packed"
        );
        match failure(dir.path()) {
            Failure::Entry { index: got, .. } => assert_eq!(got, index, "{name}"),
            other => panic!("{name}: expected entry {index} to be named, got {other}"),
        }
    }
    // Truncating the end is caught by the checkpoint that covered it.
    let dir = tempfile::tempdir().unwrap();
    let (log, _, _) = filled(dir.path(), 64).await;
    log.checkpoint().unwrap();
    log.close();
    drop(log);
    tamper(&dir.path().join("audit.db"), "DELETE FROM entries WHERE idx >= 60");
    assert!(matches!(failure(dir.path()), Failure::Checkpoint { tree_size: 64, .. }));
    // A forged checkpoint, or one from another key, is refused.
    tamper(&dir.path().join("audit.db"), "DELETE FROM checkpoints; ");
    let other = SqliteAuditLog::open(
        &dir.path().join("other.db"),
        ORIGIN,
        Arc::new(ed25519_dalek::SigningKey::from_bytes(&[9; 32])),
    )
    .unwrap();
    let cp = other.checkpoint().unwrap();
    other.close();
    let c = rusqlite::Connection::open(dir.path().join("audit.db")).unwrap();
    c.execute(
        "INSERT INTO checkpoints (tree_size, checkpoint) VALUES (0, ?1)",
        [serde_json::to_string(&cp).unwrap()],
    )
    .unwrap();
    drop(c);
    assert!(matches!(failure(dir.path()), Failure::Checkpoint { tree_size: 0, .. }));
}

#[test]
fn labels_cannot_carry_text() {
    assert!(Label::new("communications-mining").is_ok());
    assert!(Label::new("John Smith lives at 1 Main St").is_err());
    assert!(Label::new("").is_err());
    assert!(Label::new(&"a".repeat(65)).is_err());
    assert!(serde_json::from_str::<Label>("\"Hello World\"").is_err());
}

/// Asking for a checkpoint in a loop while the log grows signs at most one per
/// `MIN_CHECKPOINT_GAP`: the table of checkpoints grows with time, not with requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_asked_for_in_a_loop_are_signed_at_most_once_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let (log, a, _) = filled(dir.path(), 8).await;
    let start = std::time::Instant::now();
    let mut asked = 0;
    while start.elapsed() < std::time::Duration::from_millis(2500) {
        log.append(event(a, asked)).await.unwrap();
        let cp = log.checkpoint().unwrap();
        assert!(cp.tree_size <= log.size());
        asked += 1;
    }
    let stored = log.checkpoints(None, 1000).unwrap().len();
    assert!(asked > 50, "the loop asked {asked} times");
    assert!(stored <= 4, "{stored} checkpoints signed for {asked} requests in 2.5 s");
}
