//! The vault's promises, checked on real files: region pinning, binding of ciphertext to its
//! row, rotation, export, retention, and deletion that leaves no trace on disk.

use std::path::Path;

use datapact_governance::{DataKind, OrgId, RecordId, TenantId};
use datapact_pgtest::Cluster;
use datapact_vault::{
    Content, ListFilter, MasterSecret, NewRecord, RecordPatch, RetentionRule, TenantRef, Vault, VaultError,
    VaultOptions, VaultStorage, verify_certificate,
};
use time::OffsetDateTime;

fn open(dir: &Path) -> Vault {
    Backend::Sqlite.open(dir)
}

/// Where a scenario's vault keeps its data.
enum Backend {
    /// SQLite files in the data directory.
    Sqlite,
    /// A PostgreSQL database of its own (by URL).
    Postgres(String),
}

impl Backend {
    fn storage(&self) -> VaultStorage {
        match self {
            Backend::Sqlite => VaultStorage::Files,
            Backend::Postgres(url) => VaultStorage::Postgres {
                url: url.clone(),
                region_urls: Default::default(),
            },
        }
    }

    /// A vault on this backend, its master key file in `dir`.
    fn open(&self, dir: &Path) -> Vault {
        Vault::open(VaultOptions {
            data_dir: dir.to_path_buf(),
            regions: vec![("eu".into(), None), ("us".into(), None)],
            master: MasterSecret::KeyFile(dir.join("master.key")),
            max_content_bytes: 1 << 20,
            storage: self.storage(),
        })
        .unwrap()
        .0
    }
}

/// The scenarios that hold on every backend.
/// A named scenario, run on each backend.
type Scenario = (&'static str, fn(&Backend));

const SCENARIOS: &[Scenario] = &[
    (
        "records_round_trip_with_metadata_and_versions",
        records_round_trip_with_metadata_and_versions,
    ),
    ("listing_filters_and_pages", listing_filters_and_pages),
    (
        "rotation_moves_every_record_then_retires_the_old_key",
        rotation_moves_every_record_then_retires_the_old_key,
    ),
    (
        "export_streams_everything_and_can_stop",
        export_streams_everything_and_can_stop,
    ),
    (
        "retention_sweeps_only_what_is_expired",
        retention_sweeps_only_what_is_expired,
    ),
    (
        "a_write_after_a_purge_survives_its_row_removal",
        a_write_after_a_purge_survives_its_row_removal,
    ),
    (
        "writes_racing_a_purge_are_wholly_before_or_after_it",
        writes_racing_a_purge_are_wholly_before_or_after_it,
    ),
    (
        "purge_steps_are_idempotent_bounded_and_can_close_the_tenant",
        purge_steps_are_idempotent_bounded_and_can_close_the_tenant,
    ),
];

#[test]
fn every_scenario_on_sqlite() {
    for (name, scenario) in SCENARIOS {
        eprintln!("sqlite: {name}");
        scenario(&Backend::Sqlite);
    }
}

fn text(product: &str, s: &str) -> NewRecord {
    NewRecord {
        product: product.into(),
        data_kind: DataKind::RunTime,
        content: Content::Text(s.into()),
        content_type: None,
        categories: vec!["user.contact.email".into()],
        metadata: Some(serde_json::json!({"source": "test"})),
    }
}

/// Every file below `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn hits(dir: &Path, needle: &[u8]) -> Vec<String> {
    files(dir)
        .into_iter()
        .filter(|(_, b)| contains(b, needle))
        .map(|(p, _)| p)
        .collect()
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn records_round_trip_with_metadata_and_versions(b: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    let v = b.open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let mut bytes = text("ixp", "");
    bytes.content = Content::Bytes(vec![0, 159, 146, 150, 255]);
    let metas = v.put(t, vec![text("ixp", "héllo wörld"), bytes], now()).unwrap();
    assert_eq!(metas.len(), 2);
    let r = v.get(t, metas[0].id).unwrap();
    assert_eq!(r.content, Content::Text("héllo wörld".into()));
    assert_eq!(
        (r.meta.version, r.meta.size, r.meta.content_type.as_str()),
        (1, 13, "text/plain")
    );
    assert_eq!(
        v.get(t, metas[1].id).unwrap().content,
        Content::Bytes(vec![0, 159, 146, 150, 255])
    );

    let m = v
        .update(
            t,
            metas[0].id,
            RecordPatch {
                content: Some(Content::Text("new".into())),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!(m.version, 2);
    assert_eq!(v.get(t, metas[0].id).unwrap().content, Content::Text("new".into()));
    let m = v
        .update(
            t,
            metas[0].id,
            RecordPatch {
                categories: Some(vec!["user.name".into()]),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!((m.version, m.categories.clone()), (3, vec!["user.name".to_string()]));
    assert_eq!(
        v.get(t, metas[0].id).unwrap().content,
        Content::Text("new".into()),
        "label changes keep content"
    );

    // Another tenant cannot see it; an unknown id is not found.
    let other = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    assert!(matches!(v.get(other, metas[0].id), Err(VaultError::NotFound(_))));
    assert!(matches!(v.get(t, RecordId::generate()), Err(VaultError::NotFound(_))));
    v.delete(t, metas[0].id).unwrap();
    assert!(matches!(v.get(t, metas[0].id), Err(VaultError::NotFound(_))));
    assert!(matches!(v.delete(t, metas[0].id), Err(VaultError::NotFound(_))));
}

#[test]
fn bad_records_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::open(VaultOptions {
        data_dir: dir.path().to_path_buf(),
        regions: vec![("eu".into(), None)],
        master: MasterSecret::KeyFile(dir.path().join("master.key")),
        max_content_bytes: 1024,
        storage: VaultStorage::Files,
    })
    .unwrap()
    .0;
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let big = text("ixp", &"x".repeat(1025));
    match v.put(t, vec![text("ixp", "ok"), big], now()) {
        Err(VaultError::TooLarge { field, .. }) => assert_eq!(field, "records[1].content"),
        other => panic!("{other:?}"),
    }
    let mut bad = text("ixp", "ok");
    bad.categories = vec!["User Email".into()];
    assert!(matches!(v.put(t, vec![bad], now()), Err(VaultError::Invalid { field, .. }) if field == "categories[0]"));
    let mut bad = text("ixp", "{not json");
    bad.content_type = Some("application/json".into());
    assert!(matches!(v.put(t, vec![bad], now()), Err(VaultError::Invalid { .. })));
    let mut bad = text("ixp", "ok");
    bad.metadata = Some(serde_json::json!(["not", "an", "object"]));
    assert!(matches!(v.put(t, vec![bad], now()), Err(VaultError::Invalid { field, .. }) if field == "metadata"));
    assert_eq!(v.count(t, None).unwrap(), 0, "a refused batch writes nothing");
}

fn listing_filters_and_pages(b: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    let v = b.open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "us",
    };
    let mut recs = Vec::new();
    for i in 0..10 {
        let mut r = text(if i % 2 == 0 { "ixp" } else { "apps" }, &format!("r{i}"));
        if i % 3 == 0 {
            r.categories = vec!["user.financial.card".into()];
            r.data_kind = DataKind::DesignTime;
        }
        recs.push(r);
    }
    v.put(t, recs, now()).unwrap();
    let all = |f: ListFilter| v.list(t, &ListFilter { limit: 100, ..f }).unwrap();
    assert_eq!(all(ListFilter::default()).len(), 10);
    assert_eq!(
        all(ListFilter {
            product: Some("ixp".into()),
            ..Default::default()
        })
        .len(),
        5
    );
    assert_eq!(
        all(ListFilter {
            data_kind: Some(DataKind::DesignTime),
            ..Default::default()
        })
        .len(),
        4
    );
    assert_eq!(
        all(ListFilter {
            category: Some("user.financial".into()),
            ..Default::default()
        })
        .len(),
        4
    );
    assert_eq!(
        all(ListFilter {
            category: Some("user.fin".into()),
            ..Default::default()
        })
        .len(),
        0,
        "prefixes match whole labels"
    );
    assert_eq!(
        all(ListFilter {
            category: Some("user".into()),
            ..Default::default()
        })
        .len(),
        10
    );
    assert_eq!(
        all(ListFilter {
            created_after: Some(now() + time::Duration::hours(1)),
            ..Default::default()
        })
        .len(),
        0
    );
    let p1 = v
        .list(
            t,
            &ListFilter {
                limit: 4,
                ..Default::default()
            },
        )
        .unwrap();
    let p2 = v
        .list(
            t,
            &ListFilter {
                limit: 4,
                after: Some(p1[3].id),
                ..Default::default()
            },
        )
        .unwrap();
    let p3 = v
        .list(
            t,
            &ListFilter {
                limit: 4,
                after: Some(p2[3].id),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((p1.len(), p2.len(), p3.len()), (4, 4, 2));
    assert!(p1[3].id < p2[0].id);
}

#[test]
fn ciphertext_is_bound_to_its_tenant_record_and_version() {
    let dir = tempfile::tempdir().unwrap();
    let v = open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let metas = v
        .put(t, vec![text("ixp", "alpha"), text("ixp", "beta")], now())
        .unwrap();
    drop(v);
    // Copy record 0's ciphertext over record 1's row: decryption must fail, naming record 1.
    let db = rusqlite::Connection::open(dir.path().join("regions/eu/vault.db")).unwrap();
    db.execute(
        "UPDATE records SET sealed = (SELECT sealed FROM records WHERE id = ?1) WHERE id = ?2",
        [metas[0].id.to_string(), metas[1].id.to_string()],
    )
    .unwrap();
    // Roll record 0 back to an older version number: its ciphertext no longer fits.
    db.execute(
        "UPDATE records SET version = 7 WHERE id = ?1",
        [metas[0].id.to_string()],
    )
    .unwrap();
    drop(db);
    let v = open(dir.path());
    for m in &metas {
        match v.get(t, m.id) {
            Err(VaultError::Corrupt { record, .. }) => assert_eq!(record, m.id.to_string()),
            other => panic!("expected a corruption error, got {other:?}"),
        }
    }
}

#[test]
fn flipped_bits_give_an_error_naming_the_record_never_wrong_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let v = open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let m = v.put(t, vec![text("ixp", "precious")], now()).unwrap().remove(0);
    drop(v);
    let db = rusqlite::Connection::open(dir.path().join("regions/eu/vault.db")).unwrap();
    let mut sealed: Vec<u8> = db.query_row("SELECT sealed FROM records", [], |r| r.get(0)).unwrap();
    sealed[20] ^= 0x40;
    db.execute("UPDATE records SET sealed = ?1", [sealed]).unwrap();
    drop(db);
    let v = open(dir.path());
    assert!(matches!(v.get(t, m.id), Err(VaultError::Corrupt { record, .. }) if record == m.id.to_string()));
}

#[test]
fn records_stay_in_their_region() {
    let dir = tempfile::tempdir().unwrap();
    let v = open(dir.path());
    let eu = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let us = TenantRef {
        id: TenantId::generate(),
        region: "us",
    };
    let eu_canary = "CANARY-EU-7f3a9c21-only-in-eu";
    let us_canary = "CANARY-US-1b8e44d0-only-in-us";
    let eu_ids = v.put(eu, vec![text("ixp", eu_canary)], now()).unwrap();
    let us_ids = v.put(us, vec![text("ixp", us_canary)], now()).unwrap();
    let eu_ct = v.raw_sealed(eu, eu_ids[0].id).unwrap();
    let us_ct = v.raw_sealed(us, us_ids[0].id).unwrap();
    v.checkpoint("eu").unwrap();
    v.checkpoint("us").unwrap();
    let eu_dir = dir.path().join("regions/eu");
    let us_dir = dir.path().join("regions/us");
    // The region stores the ciphertext; no plaintext anywhere.
    assert!(!hits(&eu_dir, &eu_ct).is_empty());
    assert!(!hits(&us_dir, &us_ct).is_empty());
    for (d, bytes) in [
        (&us_dir, eu_canary.as_bytes()),
        (&us_dir, &eu_ct),
        (&eu_dir, us_canary.as_bytes()),
        (&eu_dir, &us_ct),
    ] {
        assert!(hits(d, bytes).is_empty(), "foreign bytes found in {}", d.display());
    }
    assert!(
        hits(dir.path(), eu_canary.as_bytes()).is_empty(),
        "plaintext never reaches disk"
    );
    // The tenants' ids (keys and records) are only in their own region.
    assert!(hits(&us_dir, eu.id.to_string().as_bytes()).is_empty());
    assert!(hits(&eu_dir, us.id.to_string().as_bytes()).is_empty());
    // A region configured elsewhere stores there.
    let elsewhere = tempfile::tempdir().unwrap();
    let v2 = Vault::open(VaultOptions {
        data_dir: dir.path().join("second"),
        regions: vec![("eu".into(), Some(elsewhere.path().to_path_buf()))],
        master: MasterSecret::KeyFile(dir.path().join("second-master.key")),
        max_content_bytes: 1024,
        storage: VaultStorage::Files,
    })
    .unwrap()
    .0;
    v2.put(eu, vec![text("ixp", "x")], now()).unwrap();
    assert!(elsewhere.path().join("vault.db").exists() && elsewhere.path().join("keyring.json").exists());
}

fn rotation_moves_every_record_then_retires_the_old_key(b: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    let v = b.open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let old: Vec<_> = v
        .put(t, (0..25).map(|i| text("ixp", &format!("old {i}"))).collect(), now())
        .unwrap();
    assert_eq!(v.rotate(t, now()).unwrap(), 2);
    let new = v.put(t, vec![text("ixp", "new")], now()).unwrap();
    assert_eq!(new[0].key_version, 2, "new writes use the new key at once");
    assert_eq!(
        v.get(t, old[0].id).unwrap().content,
        Content::Text("old 0".into()),
        "old key still decrypts"
    );
    let keys = v.key_versions(t).unwrap();
    assert_eq!(
        keys.iter()
            .map(|k| (k.version, k.records, k.active))
            .collect::<Vec<_>>(),
        [(1, 25, false), (2, 1, true)]
    );
    assert!(
        v.retire_unused_keys(t, now()).unwrap().is_empty(),
        "a key still in use is kept"
    );
    let mut rounds = 0;
    loop {
        let (moved, remaining) = v.reencrypt(t, 10, now()).unwrap();
        rounds += 1;
        if remaining == 0 {
            assert!(moved > 0);
            break;
        }
    }
    assert_eq!(rounds, 3);
    assert_eq!(v.retire_unused_keys(t, now()).unwrap(), [1]);
    for (i, m) in old.iter().enumerate() {
        assert_eq!(v.get(t, m.id).unwrap().content, Content::Text(format!("old {i}")));
    }
    // Versions are never reused, even after a purge.
    v.destroy_keys(t, now()).unwrap();
    v.remove_rows(t, 1000).unwrap();
    let again = v.put(t, vec![text("ixp", "after purge")], now()).unwrap();
    assert_eq!(again[0].key_version, 3);
}

fn export_streams_everything_and_can_stop(b: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    let v = b.open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    v.put(
        t,
        (0..600)
            .map(|i| text(if i < 100 { "apps" } else { "ixp" }, &format!("r{i}")))
            .collect(),
        now(),
    )
    .unwrap();
    let mut seen = Vec::new();
    assert_eq!(
        v.export(t, None, |r| {
            seen.push(r.meta.id);
            Ok(true)
        })
        .unwrap(),
        600
    );
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(v.export(t, Some("apps"), |_| Ok(true)).unwrap(), 100);
    let mut n = 0;
    v.export(t, None, |_| {
        n += 1;
        Ok(n < 5)
    })
    .unwrap();
    assert_eq!(n, 5);
}

fn retention_sweeps_only_what_is_expired(b: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    let v = b.open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let long_ago = now() - time::Duration::days(40);
    v.put(t, vec![text("ixp", "old ixp"), text("apps", "old apps")], long_ago)
        .unwrap();
    v.put(t, vec![text("ixp", "fresh ixp")], now()).unwrap();
    let rules = [RetentionRule {
        product: Some("ixp".into()),
        data_kind: None,
        max_age_days: 30,
    }];
    assert_eq!(v.sweep(t, &rules, now()).unwrap(), 1);
    assert_eq!(v.count(t, None).unwrap(), 2);
    let rules = [RetentionRule {
        product: None,
        data_kind: Some(DataKind::DesignTime),
        max_age_days: 1,
    }];
    assert_eq!(v.sweep(t, &rules, now()).unwrap(), 0, "data kind must match");
}

#[test]
fn purge_shreds_keys_signs_a_certificate_and_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let v = open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let keep = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let canaries: Vec<String> = (0..50)
        .map(|i| format!("CANARY-{i:03}-{}", uuid::Uuid::now_v7().simple()))
        .collect();
    let metas = v
        .put(t, canaries.iter().map(|c| text("ixp", c)).collect(), now())
        .unwrap();
    let kept = v.put(keep, vec![text("ixp", "still here")], now()).unwrap();
    let cts: Vec<Vec<u8>> = metas.iter().map(|m| v.raw_sealed(t, m.id).unwrap()).collect();
    // Delete a few records one by one, and change one (its old ciphertext must go too).
    for m in &metas[..5] {
        v.delete(t, m.id).unwrap();
    }
    v.update(
        t,
        metas[5].id,
        RecordPatch {
            content: Some(Content::Text("replaced".into())),
            ..Default::default()
        },
        now(),
    )
    .unwrap();
    let cert = v.purge(t, OrgId::generate(), "customer_request", now()).unwrap();
    assert_eq!(cert.statement.record_count, 45);
    assert_eq!(cert.statement.key_versions_destroyed, [1]);
    // Unreadable at once, before any row is removed.
    assert!(matches!(v.get(t, metas[10].id), Err(VaultError::NotFound(_))));
    while v.remove_rows(t, 7).unwrap() > 0 {}
    assert_eq!(v.count(t, None).unwrap(), 0);
    assert_eq!(
        v.get(keep, kept[0].id).unwrap().content,
        Content::Text("still here".into())
    );
    drop(v);
    for c in &canaries {
        assert!(
            hits(dir.path(), c.as_bytes()).is_empty(),
            "plaintext canary {c} on disk"
        );
    }
    for (i, ct) in cts.iter().enumerate() {
        assert!(
            hits(dir.path(), ct).is_empty(),
            "ciphertext of record {i} still on disk: {:?}",
            hits(dir.path(), ct)
        );
    }
    // The certificate verifies offline, and any change to it is caught.
    let json = serde_json::to_string(&cert).unwrap();
    let stmt = verify_certificate(&json, None).unwrap();
    assert_eq!(stmt.tenant, t.id);
    assert!(verify_certificate(&json, Some(&cert.public_key)).is_ok());
    let forged = json.replace("\\\"record_count\\\":45", "\\\"record_count\\\":4");
    assert_ne!(forged, json);
    assert!(verify_certificate(&forged, None).is_err());
    let other_key = "A".repeat(43) + "=";
    assert!(verify_certificate(&json, Some(&other_key)).is_err());
}

#[test]
fn wrong_or_missing_master_secret_stops_the_vault() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    std::fs::write(dir.path().join("master.key"), "00".repeat(32)).unwrap();
    let err = Vault::open(VaultOptions {
        data_dir: dir.path().to_path_buf(),
        regions: vec![("eu".into(), None)],
        master: MasterSecret::KeyFile(dir.path().join("master.key")),
        max_content_bytes: 1024,
        storage: VaultStorage::Files,
    })
    .err()
    .unwrap();
    assert!(matches!(err, VaultError::MasterWrong(_)), "{err}");
    std::fs::remove_file(dir.path().join("master.key")).unwrap();
    let err = Vault::open(VaultOptions {
        data_dir: dir.path().to_path_buf(),
        regions: vec![("eu".into(), None)],
        master: MasterSecret::KeyFile(dir.path().join("master.key")),
        max_content_bytes: 1024,
        storage: VaultStorage::Files,
    })
    .err()
    .unwrap();
    assert!(matches!(err, VaultError::MasterMissing(_)), "{err}");
    assert!(
        !dir.path().join("master.key").exists(),
        "never a fresh key over existing data"
    );
}

/// A write acknowledged after a purge is under a new key, and the purge's row removal never
/// touches it; shredded records are gone for every read, list, count and change at once, and
/// changing one does not seal it again under a new key.
fn a_write_after_a_purge_survives_its_row_removal(b: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    let v = b.open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let old: Vec<RecordId> = v
        .put(t, (0..5).map(|i| text("ixp", &format!("old {i}"))).collect(), now())
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    let cert = v.purge(t, OrgId::generate(), "customer_request", now()).unwrap();
    assert_eq!(cert.statement.key_versions_destroyed, vec![1]);
    // Shredded records no longer exist, though their rows are still there.
    assert!(matches!(v.meta(t, old[0]), Err(VaultError::NotFound(_))));
    assert!(matches!(v.get(t, old[0]), Err(VaultError::NotFound(_))));
    let all = ListFilter {
        limit: 100,
        ..Default::default()
    };
    assert!(v.list(t, &all).unwrap().is_empty());
    assert_eq!(v.count(t, None).unwrap(), 0);
    let patch = RecordPatch {
        content: Some(Content::Text("resurrected".into())),
        ..Default::default()
    };
    assert!(matches!(
        v.update(t, old[1], patch, now()),
        Err(VaultError::NotFound(_))
    ));
    assert!(matches!(v.delete(t, old[2]), Err(VaultError::NotFound(_))));
    assert!(
        v.key_versions(t).unwrap().is_empty(),
        "changing a shredded record created no new key"
    );

    // A new write after the purge: a new key version, and it is acknowledged.
    let new = v.put(t, vec![text("ixp", "written after the purge")], now()).unwrap();
    assert_eq!(new[0].key_version, 2);
    // The purge's row removal runs to the end.
    let mut removed = 0;
    loop {
        let n = v.remove_rows(t, 2).unwrap();
        if n == 0 {
            break;
        }
        removed += n;
    }
    assert_eq!(removed, 5, "exactly the shredded rows were removed");
    let got = v.get(t, new[0].id).unwrap();
    assert_eq!(got.content, Content::Text("written after the purge".into()));
    assert_eq!(v.count(t, None).unwrap(), 1);
}

/// Writes racing a purge: every write that was acknowledged is either readable afterwards (it
/// came after the keys were destroyed) or was destroyed with them (it came before); none is
/// acknowledged and then lost to the row removal, and none is left half-readable.
fn writes_racing_a_purge_are_wholly_before_or_after_it(b: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    let v = std::sync::Arc::new(b.open(dir.path()));
    let tid = TenantId::generate();
    let t = TenantRef { id: tid, region: "eu" };
    v.put(t, vec![text("ixp", "first")], now()).unwrap();
    let writer = {
        let v = std::sync::Arc::clone(&v);
        std::thread::spawn(move || {
            let t = TenantRef { id: tid, region: "eu" };
            let mut acked = Vec::new();
            for i in 0..400 {
                let m = v.put(t, vec![text("ixp", &format!("racing {i}"))], now()).unwrap();
                acked.push((m[0].id, m[0].key_version));
            }
            acked
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(5));
    let cert = v.purge(t, OrgId::generate(), "customer_request", now()).unwrap();
    let acked = writer.join().unwrap();
    while v.remove_rows(t, 50).unwrap() > 0 {}
    let destroyed = &cert.statement.key_versions_destroyed;
    for (id, kv) in acked {
        if destroyed.contains(&kv) {
            assert!(matches!(v.get(t, id), Err(VaultError::NotFound(_))));
        } else {
            assert!(
                v.get(t, id).is_ok(),
                "record {id} under key {kv} was acknowledged and lost"
            );
        }
    }
}

/// A checkpoint that a reader keeps from completing is retried, then reported: destroying
/// keys never claims success while the wrapped keys can still be in `keys.db-wal`.
#[test]
fn destroying_keys_fails_while_the_wal_cannot_be_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let v = open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    v.put(t, vec![text("ixp", "x")], now()).unwrap();
    let keys_db = dir.path().join("regions/eu/keys.db");
    let reader = rusqlite::Connection::open(&keys_db).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let n: i64 = reader
        .query_row("SELECT COUNT(*) FROM tenant_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    let err = v.destroy_keys(t, now()).unwrap_err();
    assert!(matches!(err, VaultError::CheckpointIncomplete(_)), "{err}");
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    // Once the reader is gone, the checkpoint completes and the WAL is empty.
    v.checkpoint("eu").unwrap();
    let wal = dir.path().join("regions/eu/keys.db-wal");
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
}

/// A purge in two steps is idempotent: shredding again destroys nothing more, the certificate
/// lists every version the purge destroyed, versions above its bound are kept, and a closed
/// tenant never gets a key again.
fn purge_steps_are_idempotent_bounded_and_can_close_the_tenant(b: &Backend) {
    let dir = tempfile::tempdir().unwrap();
    let v = b.open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    v.put(t, vec![text("ixp", "a")], now()).unwrap();
    v.rotate(t, now()).unwrap();
    let up_to = v.max_key_version(t).unwrap();
    assert_eq!(up_to, 2);
    v.rotate(t, now()).unwrap(); // version 3: after the purge was asked for
    v.shred(t, "p1", up_to, false, now()).unwrap();
    v.shred(t, "p1", up_to, false, now()).unwrap();
    let cert = v
        .certify_purge(
            t,
            OrgId::generate(),
            "p1",
            "cert_p1",
            "customer_request",
            1,
            Vec::new(),
            now(),
        )
        .unwrap();
    assert_eq!(cert.statement.key_versions_destroyed, vec![1, 2]);
    assert_eq!(cert.statement.certificate_id, "cert_p1");
    let live: Vec<u32> = v.key_versions(t).unwrap().iter().map(|k| k.version).collect();
    assert_eq!(live, vec![3], "a key above the purge's bound is kept");
    v.shred(t, "p2", 3, true, now()).unwrap();
    assert!(matches!(
        v.put(t, vec![text("ixp", "b")], now()),
        Err(VaultError::Closed(_))
    ));
}

/// A record's metadata and content type are sealed under its data key: nothing of them is on
/// disk in clear, they read back through every path, a change or a re-encryption seals them
/// again, and a row written before they were sealed reads as it was and is sealed when
/// re-encrypted.
#[test]
fn metadata_and_content_type_are_sealed_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let v = open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let mut r = text("ixp", "hello");
    r.metadata = Some(serde_json::json!({"channel": "meta-canary-1"}));
    r.content_type = Some("text/x-type-canary".into());
    let id = v.put(t, vec![r], now()).unwrap()[0].id;
    let clear = |v: &Vault| {
        v.checkpoint("eu").unwrap();
        [b"meta-canary".as_slice(), b"type-canary".as_slice()]
            .iter()
            .flat_map(|c| hits(dir.path(), c))
            .collect::<Vec<_>>()
    };
    assert!(clear(&v).is_empty(), "in clear on disk: {:?}", clear(&v));
    let m = v.meta(t, id).unwrap();
    assert_eq!(m.metadata, Some(serde_json::json!({"channel": "meta-canary-1"})));
    assert_eq!(m.content_type, "text/x-type-canary");
    assert_eq!(v.get(t, id).unwrap().meta, m);
    let all = ListFilter {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(v.list(t, &all).unwrap(), vec![m.clone()]);
    let patch = RecordPatch {
        metadata: Some(serde_json::json!({"channel": "meta-canary-2"})),
        ..Default::default()
    };
    let m2 = v.update(t, id, patch, now()).unwrap();
    let read = v.meta(t, id).unwrap();
    assert_eq!((&read.metadata, &read.content_type), (&m2.metadata, &m2.content_type));
    assert_eq!(m2.content_type, "text/x-type-canary");
    assert!(clear(&v).is_empty());

    // A row from before metadata was sealed: read as it is, sealed by re-encryption.
    let legacy = v.put(t, vec![text("ixp", "old")], now()).unwrap()[0].id;
    let db = rusqlite::Connection::open(dir.path().join("regions/eu/vault.db")).unwrap();
    db.execute(
        "UPDATE records SET metadata = ?2, content_type = 'text/x-legacy-canary' WHERE id = ?1",
        rusqlite::params![legacy.to_string(), "{\"source\":\"legacy-canary\"}"],
    )
    .unwrap();
    drop(db);
    let lm = v.meta(t, legacy).unwrap();
    assert_eq!(lm.metadata, Some(serde_json::json!({"source": "legacy-canary"})));
    assert_eq!(lm.content_type, "text/x-legacy-canary");
    v.rotate(t, now()).unwrap();
    while v.reencrypt(t, 10, now()).unwrap().1 > 0 {}
    assert_eq!(v.meta(t, legacy).unwrap().metadata, lm.metadata);
    assert_eq!(v.meta(t, id).unwrap().metadata, m2.metadata);
    v.checkpoint("eu").unwrap();
    assert!(
        hits(dir.path(), b"legacy-canary").is_empty(),
        "re-encryption sealed the legacy row"
    );
}

/// Runs SQL on `url` and returns the first column of the first row as text.
fn sql_one(rt: &tokio::runtime::Runtime, url: &str, sql: &str) -> Option<String> {
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        let task = tokio::spawn(conn);
        let rows = client.simple_query(sql).await.unwrap();
        drop(client);
        let _ = task.await;
        rows.into_iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
    })
}

#[test]
fn every_scenario_on_postgres() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (i, (name, scenario)) in SCENARIOS.iter().enumerate() {
        eprintln!("postgres: {name}");
        let url = rt.block_on(cluster.database(&format!("vault_{i}")));
        scenario(&Backend::Postgres(url));
    }
    nodes_share_one_vault(&cluster, &rt);
    writes_on_one_node_racing_a_purge_on_another(&cluster, &rt);
    regions_live_in_their_own_databases(&cluster, &rt);
    a_wrong_master_secret_refuses_and_changes_nothing(&cluster, &rt);
}

/// Two nodes on one database are one vault: the same signing and correlation keys, records
/// written by one read by the other, and a destruction by one is final for the other at once,
/// though it still held the key in memory; a rotation by one is used by the other's next write.
fn nodes_share_one_vault(cluster: &Cluster, rt: &tokio::runtime::Runtime) {
    let url = rt.block_on(cluster.database("vault_nodes"));
    let dir = tempfile::tempdir().unwrap();
    let b = Backend::Postgres(url);
    let a = b.open(dir.path());
    let other = b.open(dir.path());
    assert_eq!(a.signer().key_id(), other.signer().key_id());
    assert_eq!(a.correlate("org_1", "x"), other.correlate("org_1", "x"));
    assert_eq!(a.api_key_hash("secret"), other.api_key_hash("secret"));
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let m = a.put(t, vec![text("ixp", "from node a")], now()).unwrap();
    assert_eq!(
        other.get(t, m[0].id).unwrap().content,
        Content::Text("from node a".into())
    );
    // Node a holds the key in memory; node b destroys it.
    other.destroy_keys(t, now()).unwrap();
    assert!(matches!(a.get(t, m[0].id), Err(VaultError::NotFound(_))));
    assert!(
        a.list(
            t,
            &ListFilter {
                limit: 10,
                ..Default::default()
            }
        )
        .unwrap()
        .is_empty()
    );
    let again = a.put(t, vec![text("ixp", "after")], now()).unwrap();
    assert_eq!(
        again[0].key_version, 2,
        "node a made a new key instead of using the destroyed one"
    );
    assert_eq!(other.rotate(t, now()).unwrap(), 3);
    let third = a.put(t, vec![text("ixp", "rotated")], now()).unwrap();
    assert_eq!(third[0].key_version, 3, "node a writes under node b's new key at once");
    assert_eq!(
        other.get(t, third[0].id).unwrap().content,
        Content::Text("rotated".into())
    );
}

/// A region with its own database keeps its tenants' records and keys there, never in the
/// main one.
fn regions_live_in_their_own_databases(cluster: &Cluster, rt: &tokio::runtime::Runtime) {
    let main = rt.block_on(cluster.database("vault_main"));
    let us = rt.block_on(cluster.database("vault_us"));
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::open(VaultOptions {
        data_dir: dir.path().to_path_buf(),
        regions: vec![("eu".into(), None), ("us".into(), None)],
        master: MasterSecret::KeyFile(dir.path().join("master.key")),
        max_content_bytes: 1 << 20,
        storage: VaultStorage::Postgres {
            url: main.clone(),
            region_urls: [("us".to_string(), us.clone())].into(),
        },
    })
    .unwrap()
    .0;
    let t = TenantRef {
        id: TenantId::generate(),
        region: "us",
    };
    v.put(t, vec![text("ixp", "in the us")], now()).unwrap();
    let count = |url: &str, table: &str| sql_one(rt, url, &format!("SELECT COUNT(*) FROM {table}")).unwrap();
    assert_eq!(count(&us, "datapact_vault.records"), "1");
    assert_eq!(count(&us, "datapact_keys.tenant_keys"), "1");
    assert_eq!(count(&main, "datapact_vault.records"), "0");
    assert_eq!(count(&main, "datapact_keys.tenant_keys"), "0");
    // The shared secrets are in the main database only.
    assert_eq!(count(&main, "datapact_secrets"), "5");
    assert_eq!(
        sql_one(rt, &us, "SELECT to_regclass('datapact_secrets')::text"),
        None,
        "no secrets in a region's database"
    );
}

/// A node started with another master secret refuses to start and changes nothing; a node
/// started after it with the right one opens the same keys.
fn a_wrong_master_secret_refuses_and_changes_nothing(cluster: &Cluster, rt: &tokio::runtime::Runtime) {
    let url = rt.block_on(cluster.database("vault_master"));
    let dir = tempfile::tempdir().unwrap();
    let b = Backend::Postgres(url.clone());
    let first = b.open(dir.path());
    let t = TenantRef {
        id: TenantId::generate(),
        region: "eu",
    };
    let m = first.put(t, vec![text("ixp", "kept")], now()).unwrap();
    let snapshot = |rt: &tokio::runtime::Runtime| {
        sql_one(
            rt,
            &url,
            "SELECT string_agg(name || body, ',' ORDER BY name) FROM datapact_secrets",
        )
    };
    let before = snapshot(rt);
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("master.key"), format!("{}\n", "ab".repeat(32))).unwrap();
    let err = Vault::open(VaultOptions {
        data_dir: elsewhere.path().to_path_buf(),
        regions: vec![("eu".into(), None)],
        master: MasterSecret::KeyFile(elsewhere.path().join("master.key")),
        max_content_bytes: 1 << 20,
        storage: b.storage(),
    })
    .err()
    .unwrap();
    assert!(matches!(err, VaultError::MasterWrong(_)), "{err}");
    let err = Vault::open(VaultOptions {
        data_dir: elsewhere.path().to_path_buf(),
        regions: vec![("eu".into(), None)],
        master: MasterSecret::Passphrase(zeroize::Zeroizing::new("a passphrase of some length".into())),
        max_content_bytes: 1 << 20,
        storage: b.storage(),
    })
    .err()
    .unwrap();
    assert!(matches!(err, VaultError::MasterMissing(_)), "{err}");
    assert_eq!(snapshot(rt), before, "a refused node changed the shared secrets");
    drop(first);
    let again = b.open(dir.path());
    assert_eq!(again.get(t, m[0].id).unwrap().content, Content::Text("kept".into()));
}

/// Writes through one node racing a purge through another: every acknowledged write is either
/// readable afterwards from both nodes or was destroyed with the purge, never acknowledged and
/// then lost to the row removal (the database holds the key a write seals under until it
/// commits, and the destruction waits for it).
fn writes_on_one_node_racing_a_purge_on_another(cluster: &Cluster, rt: &tokio::runtime::Runtime) {
    let url = rt.block_on(cluster.database("vault_race"));
    let dir = tempfile::tempdir().unwrap();
    let b = Backend::Postgres(url);
    let writer_node = std::sync::Arc::new(b.open(dir.path()));
    let purger = b.open(dir.path());
    let tid = TenantId::generate();
    let t = TenantRef { id: tid, region: "eu" };
    writer_node.put(t, vec![text("ixp", "first")], now()).unwrap();
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let v = std::sync::Arc::clone(&writer_node);
            std::thread::spawn(move || {
                let t = TenantRef { id: tid, region: "eu" };
                let mut acked = Vec::new();
                for i in 0..150 {
                    let m = v.put(t, vec![text("ixp", &format!("racing {w}/{i}"))], now()).unwrap();
                    acked.push((m[0].id, m[0].key_version));
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let cert = purger.purge(t, OrgId::generate(), "customer_request", now()).unwrap();
    let acked: Vec<_> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    while purger.remove_rows(t, 50).unwrap() > 0 {}
    let destroyed = &cert.statement.key_versions_destroyed;
    let (mut before, mut after) = (0, 0);
    for (id, kv) in acked {
        if destroyed.contains(&kv) {
            before += 1;
            assert!(matches!(writer_node.get(t, id), Err(VaultError::NotFound(_))));
        } else {
            after += 1;
            for node in [&*writer_node, &purger] {
                assert!(
                    node.get(t, id).is_ok(),
                    "record {id} under key {kv} was acknowledged and lost"
                );
            }
        }
    }
    eprintln!("racing writes: {before} destroyed with the purge, {after} kept after it");
}
