//! `datapact migrate --from-sqlite`: an embedded deployment with organizations, keys, records
//! in two regions, a purged tenant and a signed audit log moves to PostgreSQL; a node started
//! on PostgreSQL with the same master key carries on: the same API keys work, the records read
//! back, the opt-out holds, the purge's certificate is there, the log verifies and keeps every
//! checkpoint signed before the move. A running server's directory and a target that is not
//! empty are refused before anything is written.

mod common;

use std::path::Path;

use common::TestServer;
use datapact_server::Config;
use datapact_server::config::{StorageBackend, StorageConfig};
use datapact_server::migrate::{MigrateError, Target};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn rec(content: &str, i: usize) -> Value {
    json!({"product": "communications-mining", "data_kind": if i.is_multiple_of(2) { "design_time" } else { "run_time" },
           "content": content, "categories": ["user.contact.email"], "metadata": {"n": i}})
}

async fn migrate(dir: &Path, url: &str) -> Result<datapact_server::migrate::Report, MigrateError> {
    let target = Target {
        url: url.to_string(),
        regions: Default::default(),
    };
    datapact_server::migrate::from_sqlite(dir, &Config::default(), &target, &|_| {}).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_embedded_deployment_moves_to_postgres_and_carries_on() {
    let Some(cluster) = datapact_pgtest::Cluster::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("embedded");
    std::fs::create_dir_all(&src).unwrap();

    // An embedded deployment with some history.
    let s = TestServer::start_exactly(&src, Config::default()).await;
    let mut orgs = Vec::new();
    for (region, name) in [("eu", "Acme"), ("us", "Globex")] {
        let (st, org) = s
            .post(
                "/v1/orgs",
                &s.admin,
                json!({"name": name, "plan": "enterprise", "region": region}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{org}");
        orgs.push(org["id"].as_str().unwrap().to_string());
    }
    let oa = s.key(json!({"role": "org_admin", "org": orgs[0]})).await;
    let tenant = s.tenant(&oa, &orgs[0], None).await;
    let gone = s.tenant(&oa, &orgs[0], None).await;
    let oa_us = s.key(json!({"role": "org_admin", "org": orgs[1]})).await;
    let tenant_us = s.tenant(&oa_us, &orgs[1], None).await;
    let svc = s
        .key(json!({"role": "service", "product": "communications-mining", "org": orgs[0]}))
        .await;
    let svc_us = s
        .key(json!({"role": "service", "product": "communications-mining", "org": orgs[1]}))
        .await;
    let mut written = Vec::new();
    for i in 0..40 {
        let content = format!("message {i}: please call Jane Doe about order {}", 1000 + i * 7);
        let (st, r) = s
            .post(&format!("/v1/tenants/{tenant}/records"), &svc, rec(&content, i))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
        written.push((r["id"].as_str().unwrap().to_string(), content));
    }
    // More than a page of the copy (1,000 records), in batches.
    for batch in 0..2 {
        let records: Vec<Value> = (0..750)
            .map(|i| {
                rec(
                    &format!(
                        "batch {batch} item {i}: ticket #{} from k.{i}@example.org",
                        50_000 + i * 13
                    ),
                    i,
                )
            })
            .collect();
        let (st, r) = s
            .post(
                &format!("/v1/tenants/{tenant}/records/batch"),
                &svc,
                json!({"records": records}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
    }
    // A training dataset of the EU tenants, and a model trained on it.
    let (st, ds) = s
        .post(
            "/v1/training/datasets",
            &s.admin,
            json!({"name": "moved", "product": "communications-mining", "purpose": "vendor_training", "region": "eu"}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{ds}");
    let ds = ds["id"].as_str().unwrap().to_string();
    let mut manifest = Value::Null;
    for _ in 0..200 {
        manifest = s.get(&format!("/v1/training/datasets/{ds}"), &s.admin).await.1;
        if manifest["status"] == "ready" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(manifest["status"], "ready", "{manifest}");
    let (st, model) = s
        .post(
            "/v1/training/models",
            &s.admin,
            json!({"name": "m", "version": "1", "product": "communications-mining", "purpose": "vendor_training",
                "region": "eu", "datasets": [ds]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{model}");
    let model = model["id"].as_str().unwrap().to_string();
    // A Communications Mining dataset with labeled and run-time messages, after the build.
    let (st, md) = s
        .post(
            "/v1/mining/datasets",
            &svc,
            json!({"tenant": tenant, "name": "inbox", "labels": ["Billing > Refund", "Login"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{md}");
    let md = md["id"].as_str().unwrap().to_string();
    let (st, r) = s
        .post(
            &format!("/v1/mining/datasets/{md}/messages"),
            &svc,
            json!({"messages": [
                {"id": "m1", "text": "refund my order", "data_kind": "design_time", "labels": ["Billing > Refund"]},
                {"id": "m2", "text": "cannot log in", "data_kind": "design_time", "labels": ["Login"]},
                {"id": "m3", "text": "where is my refund", "data_kind": "run_time"}]}),
        )
        .await;
    assert_eq!((st, r["created"].as_u64()), (StatusCode::OK, Some(3)), "{r}");
    let (st, r) = s
        .post(
            &format!("/v1/tenants/{tenant_us}/records"),
            &svc_us,
            rec("a US record", 0),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let us_record = r["id"].as_str().unwrap().to_string();
    for i in 0..5 {
        let (st, _) = s
            .post(
                &format!("/v1/tenants/{gone}/records"),
                &svc,
                rec(&format!("to be purged {i}"), i),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let (st, purge) = s.post(&format!("/v1/tenants/{gone}/purge"), &oa, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{purge}");
    let (st, _) = s
        .post(
            &format!("/v1/orgs/{}/opt-outs", orgs[0]),
            &s.admin,
            json!({"ticket": "SUP-9", "requested_by": "dpo@acme.example"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, signed) = s.get("/v1/audit/checkpoint", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{signed}");

    // While the server runs, its directory is refused, and nothing is written.
    let url = cluster.database("migrated").await;
    match migrate(&src, &url).await {
        Err(MigrateError::Locked(_)) => {}
        other => panic!("a running server's directory must be refused: {other:?}"),
    }
    s.stop().await;

    let report = migrate(&src, &url).await.unwrap();
    for t in &report.tables {
        assert_eq!(t.source, t.target, "{t:?}");
    }
    let count = |table: &str| report.tables.iter().find(|t| t.table == table).unwrap().source;
    assert_eq!(count("orgs"), 2);
    assert_eq!(count("tenants"), 3);
    assert_eq!(count("certificates"), 1);
    let eu = report.regions.iter().find(|r| r.region == "eu").unwrap();
    assert_eq!(eu.records.0, eu.records.1);
    // The purged tenant's rows may or may not be removed yet: they move as they are.
    assert!((40 + 1_500 + 3..=40 + 1_500 + 3 + 5).contains(&eu.records.0), "{eu:?}");
    assert_eq!(eu.mining_messages, (3, 3), "{eu:?}");
    assert!(eu.digests_match);
    assert_eq!(eu.training_items.0, eu.training_items.1);
    assert_eq!(
        eu.training_items.0,
        manifest["counts"]["included"].as_u64().unwrap(),
        "{eu:?}"
    );
    assert!(eu.training_items.0 > 0);
    assert_eq!(count("training_docs"), 3, "two of training, one mining dataset");
    let us = report.regions.iter().find(|r| r.region == "us").unwrap();
    assert_eq!((us.records, us.digests_match), ((1, 1), true));
    assert_eq!(report.roots.0, report.roots.1);
    assert!(report.checkpoints.1 >= 1);
    assert!(report.secrets.contains(&"signing-key.json".to_string()));
    assert!(report.secrets.contains(&"regions/eu/keyring.json".to_string()));

    // A second run finds the target taken and writes nothing.
    match migrate(&src, &url).await {
        Err(MigrateError::TargetNotEmpty(_)) => {}
        other => panic!("a target that is not empty must be refused: {other:?}"),
    }

    // A node on PostgreSQL with the same master key carries on.
    let node_dir = tmp.path().join("node");
    std::fs::create_dir_all(&node_dir).unwrap();
    std::fs::copy(src.join("master.key"), node_dir.join("master.key")).unwrap();
    std::fs::write(node_dir.join("database-url"), &url).unwrap();
    let cfg = Config {
        storage: StorageConfig {
            backend: StorageBackend::Postgres,
            url_file: Some(node_dir.join("database-url")),
            ..Default::default()
        },
        ..Config::default()
    };
    let n = TestServer::start_exactly(&node_dir, cfg).await;
    for (id, content) in written.iter().step_by(7) {
        let (st, r) = n
            .get(&format!("/v1/tenants/{tenant}/records/{id}?purpose=service"), &svc)
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        assert_eq!(r["content"].as_str(), Some(content.as_str()));
    }
    let (st, r) = n
        .get(
            &format!("/v1/tenants/{tenant_us}/records/{us_record}?purpose=service"),
            &svc_us,
        )
        .await;
    assert_eq!((st, r["content"].as_str()), (StatusCode::OK, Some("a US record")));
    // The purged tenant stays unreadable, and its certificate moved with it.
    let (st, certs) = n.get(&format!("/v1/tenants/{gone}/certificates"), &oa).await;
    assert_eq!(st, StatusCode::OK, "{certs}");
    assert_eq!(certs.as_array().map(Vec::len), Some(1), "{certs}");
    let (allowed, reasons) = n
        .decide(
            &svc,
            json!({"tenant": tenant, "product": "communications-mining", "purpose": "vendor_training"}),
        )
        .await;
    assert!(!allowed);
    assert!(reasons.contains(&"opted_out".to_string()), "{reasons:?}");
    // The dataset and the model moved: the same manifest, items that read back, and a debt
    // that follows the opt-out recorded before the move.
    let (st, moved) = n.get(&format!("/v1/training/datasets/{ds}"), &n.admin).await;
    assert_eq!(st, StatusCode::OK, "{moved}");
    assert_eq!(moved["digest"], manifest["digest"]);
    let (st, m) = n.get(&format!("/v1/training/models/{model}"), &n.admin).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["debt"]["items"][0]["reason"], "opted_out", "{m}");
    // The mining dataset moved with its index: labels, order, and new uploads after them.
    let (st, page) = n.get(&format!("/v1/mining/datasets/{md}/messages"), &svc).await;
    assert_eq!(st, StatusCode::OK, "{page}");
    let ids: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["m1", "m2", "m3"]);
    assert_eq!(page["messages"][0]["labels"], json!(["Billing", "Billing > Refund"]));
    let (st, _) = n
        .post(
            &format!("/v1/mining/datasets/{md}/messages"),
            &svc,
            json!({"messages": [{"id": "m4", "text": "new", "data_kind": "run_time"}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, page) = n
        .get(&format!("/v1/mining/datasets/{md}/messages?data_kind=run_time"), &svc)
        .await;
    let ids: Vec<&str> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["m3", "m4"], "new rows come after the moved ones");
    // New writes go on, into the same log: it verifies, and every checkpoint signed before the
    // move is still there, still matching.
    let (st, _) = n
        .post(&format!("/v1/tenants/{tenant}/records"), &svc, rec("after the move", 1))
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, list) = n.get("/v1/audit/checkpoints", &n.admin).await;
    assert_eq!(st, StatusCode::OK, "{list}");
    let listed = list["items"].as_array().cloned().unwrap_or_default();
    assert!(
        listed
            .iter()
            .any(|c| c["tree_size"] == signed["tree_size"] && c["root_hash"] == signed["root_hash"]),
        "the checkpoint signed before the move is kept: {list}"
    );
    let log = common::verify_log(&node_dir).await;
    assert!(log.entries > signed["tree_size"].as_u64().unwrap());
    n.stop().await;
}
