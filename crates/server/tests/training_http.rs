//! Training-data governance against the real server: a dataset holds exactly the eligible,
//! minimized records; its export withholds what may no longer be used; a model trained on it
//! owes retraining when an opt-out or a purge says so, and a purge's certificate says what
//! happened downstream.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CM: &str = "communications-mining";

struct Org {
    id: String,
    admin: String,
    svc: String,
    tenant: String,
}

/// An organization with one tenant, a service key for Communications Mining and records:
/// two design-time and one run-time, each with a canary and personal data.
async fn org_with_records(s: &TestServer, tag: &str, body: Value, region: &str) -> Org {
    let mut body = body;
    body["name"] = json!(format!("Org {tag}"));
    body["plan"] = json!("enterprise");
    body["region"] = json!(region);
    let (st, o) = s.post("/v1/orgs", &s.admin, body).await;
    assert_eq!(st, StatusCode::CREATED, "{o}");
    let id = o["id"].as_str().unwrap().to_string();
    let admin = s.key(json!({"role": "org_admin", "org": id})).await;
    let tenant = s.tenant(&admin, &id, None).await;
    let svc = s.key(json!({"role": "service", "product": CM, "org": id})).await;
    let records: Vec<Value> = [("design_time", 1), ("design_time", 2), ("run_time", 3)]
        .iter()
        .map(|(kind, i)| {
            json!({"product": CM, "data_kind": kind, "categories": ["user.content"],
                "content": format!("Ticket CANARY-{tag}-{i}: please call me on +44 20 7946 0{tag_n}{i}5 or write to jo.{tag}{i}@example.com about the refund.",
                    tag_n = tag.len())})
        })
        .collect();
    let (st, v) = s
        .post(
            &format!("/v1/tenants/{tenant}/records/batch"),
            &svc,
            json!({"records": records}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    Org { id, admin, svc, tenant }
}

async fn wait_ready(s: &TestServer, id: &str) -> Value {
    for _ in 0..300 {
        let (st, d) = s.get(&format!("/v1/training/datasets/{id}"), &s.admin).await;
        assert_eq!(st, StatusCode::OK, "{d}");
        match d["status"].as_str() {
            Some("ready") => return d,
            Some("building") => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("dataset {id} is {other:?}: {d}"),
        }
    }
    panic!("dataset {id} was not built in time");
}

/// Asks for a Communications Mining `vendor_training` dataset of region `eu` (every tenant the
/// platform admin sees) and waits until it is built: its id and manifest.
async fn cm_dataset(s: &TestServer, name: &str) -> (String, Value) {
    let (st, created) = s
        .post(
            "/v1/training/datasets",
            &s.admin,
            json!({"name": name, "product": CM, "purpose": "vendor_training", "region": "eu"}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let m = wait_ready(s, &id).await;
    (id, m)
}

/// Registers model `name`, version 1, of Communications Mining on `datasets`: the answer.
async fn cm_model(s: &TestServer, name: &str, datasets: &[&str]) -> Value {
    let (st, model) = s
        .post(
            "/v1/training/models",
            &s.admin,
            json!({"name": name, "version": "1", "product": CM, "purpose": "vendor_training",
                "region": "eu", "datasets": datasets}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{model}");
    model
}

/// The export's lines, parsed, and its raw text.
async fn export(s: &TestServer, key: &str, id: &str) -> (Vec<Value>, String) {
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/training/datasets/{id}/export", s.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let text = resp.text().await.unwrap();
    let lines = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect();
    (lines, text)
}

fn canaries(lines: &[Value]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| {
            let c = l["content"].as_str()?;
            let at = c.find("CANARY-")?;
            Some(c[at..].split(':').next()?.to_string())
        })
        .collect()
}

fn digest_of(text: &str) -> String {
    let mut d = datapact_training::ExportDigest::default();
    for line in text.split_inclusive('\n') {
        d.line(line.as_bytes()).unwrap();
    }
    d.finish()
}

fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else if let Ok(bytes) = std::fs::read(&p)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            hits.push(p.display().to_string());
        }
    }
    hits
}

/// The proof: tenants in every situation, one dataset, its export, a model, then an
/// opt-out and a purge, and what each of them changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_eligible_minimized_data_is_exported_and_models_owe_what_changed() {
    let s = TestServer::start().await;
    let eligible = org_with_records(&s, "A", json!({}), "eu").await;
    let baa = org_with_records(&s, "B", json!({"baa": true}), "eu").await;
    let forbids = org_with_records(&s, "C", json!({"contract_forbids_training": true}), "eu").await;
    let opted = org_with_records(&s, "D", json!({}), "eu").await;
    let other_product = org_with_records(&s, "E", json!({}), "eu").await;
    let ending = org_with_records(&s, "F", json!({}), "eu").await;
    let us = org_with_records(&s, "G", json!({}), "us").await;
    for (org, products) in [(&opted, json!([CM])), (&other_product, json!(["agent-builder"]))] {
        let (st, v) = s
            .post(
                &format!("/v1/orgs/{}/opt-outs", org.id),
                &s.admin,
                json!({"ticket": "SUP-1", "requested_by": "dpo@example.com", "products": products}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let (st, v) = s
        .post(
            &format!("/v1/orgs/{}/terminate", ending.id),
            &s.admin,
            json!({"grace_days": 30}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");

    let all = [&eligible, &baa, &forbids, &opted, &other_product, &ending, &us];
    let tenants: Vec<&str> = all.iter().map(|o| o.tenant.as_str()).collect();
    let (st, created) = s
        .post(
            "/v1/training/datasets",
            &s.admin,
            json!({"name": "cm-prelabel-2026-12", "product": CM, "purpose": "vendor_training", "region": "eu",
                "tenants": tenants, "categories": {"include": ["user.content"]},
                "minimization": {"pii": "mask", "dedup": true, "max_records_per_tenant": 50000}}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{created}");
    assert_eq!(created["status"], "building");
    assert_eq!(created["data_kinds"], json!(["design_time"]));
    let id = created["id"].as_str().unwrap().to_string();
    let m = wait_ready(&s, &id).await;

    // Exactly the eligible design-time records: A's and E's (opted out of another product).
    let (lines, text) = export(&s, &s.admin, &id).await;
    let expected: BTreeSet<String> = ["CANARY-A-1", "CANARY-A-2", "CANARY-E-1", "CANARY-E-2"]
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(canaries(&lines), expected, "{text}");
    assert!(
        !text.contains("@example.com") && !text.contains("7946"),
        "personal data left: {text}"
    );
    assert!(
        text.contains("<EMAIL_ADDRESS>") && text.contains("<PHONE_NUMBER>"),
        "{text}"
    );
    for l in &lines {
        let shard = l["shard"].as_str().unwrap();
        assert!(shard.starts_with("shard_"), "{l}");
        assert!(!all.iter().any(|o| text.contains(&o.tenant) || text.contains(&o.id)));
        assert_eq!(l["data_kind"], "design_time");
        assert_eq!(l["categories"], json!(["user.content"]));
    }
    // The manifest counts every situation.
    let counts = &m["counts"];
    assert_eq!(counts["included"], 4, "{m}");
    assert_eq!(counts["candidates"], 21, "{m}");
    let excluded: BTreeMap<String, u64> = serde_json::from_value(counts["excluded"].clone()).unwrap();
    assert_eq!(excluded["baa_in_place"], 3, "{m}");
    assert_eq!(excluded["contract_forbids_training"], 3, "{m}");
    assert_eq!(excluded["opted_out"], 3, "{m}");
    assert_eq!(excluded["org_not_active"], 3, "{m}");
    assert_eq!(excluded["other_region"], 3, "{m}");
    assert_eq!(excluded["data_kind_not_requested"], 6, "{m}");
    assert_eq!(counts["excluded_records"], 17, "{m}");
    assert_eq!(counts["pii_masked"]["EMAIL_ADDRESS"], 4, "{m}");
    assert_eq!(m["tenants"].as_array().unwrap().len(), 2, "{m}");
    assert_eq!(m["current"]["items"], 4, "{m}");
    assert!(m["audit"]["built_entry"].is_u64(), "{m}");
    // Each included organization sees its own entry of the export; the others see none.
    let (st, seen) = s
        .get("/v1/audit/entries?action=training_data_used", &eligible.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{seen}");
    let items = seen["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{seen}");
    assert_eq!(items[0]["entry"]["tenant"], eligible.tenant.as_str(), "{seen}");
    assert!(items[0]["entry"]["resources"].to_string().contains(&id), "{seen}");
    let (_, unseen) = s.get("/v1/audit/entries?action=training_data_used", &baa.admin).await;
    assert_eq!(unseen["items"], json!([]), "{unseen}");
    // The digest a job computes from what it read is the manifest's.
    let digest = m["digest"].as_str().unwrap().to_string();
    assert_eq!(digest_of(&text), digest);

    // A model trained on it; a wrong digest is refused.
    let (st, v) = s
        .post(
            "/v1/training/models",
            &s.admin,
            json!({"name": "prelabel", "version": "1", "product": CM, "purpose": "vendor_training",
                "region": "eu", "datasets": [id], "digests": {id.clone(): "00"}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "digest_mismatch");
    assert_eq!(v["field"], format!("digests.{id}"));
    let (st, model) = s
        .post(
            "/v1/training/models",
            &s.admin,
            json!({"name": "prelabel", "version": "1", "product": CM, "purpose": "vendor_training",
                "region": "eu", "datasets": [id], "digests": {id.clone(): digest}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{model}");
    assert_eq!(model["debt"]["owed"], false, "{model}");
    assert_eq!(model["lineage"]["records"], 4, "{model}");
    let mid = model["id"].as_str().unwrap().to_string();
    let (_, debt) = s.get("/v1/training/debt", &s.admin).await;
    assert_eq!(debt["models"], json!([]));

    // A opts out; E's tenant is purged.
    let (st, v) = s
        .post(
            &format!("/v1/orgs/{}/opt-outs", eligible.id),
            &s.admin,
            json!({"ticket": "SUP-2", "requested_by": "dpo@example.com", "products": [CM]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, purged) = s
        .post(
            &format!("/v1/tenants/{}/purge", other_product.tenant),
            &other_product.admin,
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{purged}");
    let downstream = purged["certificate"]["statement"]["training"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        downstream
            .iter()
            .any(|d| d["kind"] == "dataset" && d["id"] == id.as_str() && d["state"] == "shredded" && d["records"] == 2),
        "{purged}"
    );
    assert!(
        downstream
            .iter()
            .any(|d| d["kind"] == "model" && d["id"] == mid.as_str() && d["state"] == "owes_retraining"),
        "{purged}"
    );

    let (_, model) = s.get(&format!("/v1/training/models/{mid}"), &s.admin).await;
    assert_eq!(model["debt"]["owed"], true, "{model}");
    let reasons: BTreeMap<String, Value> = model["debt"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["reason"].as_str().unwrap().to_string(), i.clone()))
        .collect();
    assert_eq!(reasons["opted_out"]["records"], 2, "{model}");
    assert_eq!(reasons["tenant_purged"]["records"], 2, "{model}");
    assert_eq!(reasons["tenant_purged"]["tenants"], 1, "{model}");
    let (_, debt) = s.get("/v1/training/debt", &s.admin).await;
    assert_eq!(debt["models"][0]["id"], mid.as_str(), "{debt}");

    // Nothing of either goes out any more.
    let (lines, _) = export(&s, &s.admin, &id).await;
    assert!(lines.is_empty(), "{lines:?}");
    let (_, m) = s.get(&format!("/v1/training/datasets/{id}"), &s.admin).await;
    assert_eq!(m["current"]["items"], 0, "{m}");
    assert_eq!(m["current"]["withheld"]["opted_out"], 2, "{m}");
    assert_eq!(m["current"]["withheld"]["tenant_purged"], 2, "{m}");

    // What A sees: its own part, nothing of the others.
    let (st, usage) = s
        .get(&format!("/v1/orgs/{}/training-usage", eligible.id), &eligible.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{usage}");
    assert_eq!(usage["datasets"][0]["records"], 2, "{usage}");
    assert_eq!(usage["datasets"][0]["state"], "withheld", "{usage}");
    assert_eq!(usage["models"][0]["state"], "owes_retraining", "{usage}");
    let text = usage.to_string();
    for o in [&baa, &forbids, &opted, &other_product, &ending, &us] {
        assert!(!text.contains(&o.id) && !text.contains(&o.tenant), "{text}");
    }
    let (_, e_usage) = s
        .get(
            &format!("/v1/orgs/{}/training-usage", other_product.id),
            &other_product.admin,
        )
        .await;
    assert_eq!(e_usage["datasets"][0]["state"], "shredded", "{e_usage}");
    // Another organization's administrator cannot read A's usage, nor the datasets.
    let (st, _) = s
        .get(&format!("/v1/orgs/{}/training-usage", eligible.id), &baa.admin)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get(&format!("/v1/training/datasets/{id}"), &baa.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get(&format!("/v1/training/datasets/{id}"), &eligible.svc).await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "an organization's service key sees no cross-tenant dataset"
    );

    // No plaintext canary of the purged tenant anywhere on disk (SQLite: the data directory).
    if common::database_url(&s.dir).is_none() {
        let hits = files_containing(&s.dir, b"CANARY-E");
        assert!(hits.is_empty(), "plaintext of a purged tenant in {hits:?}");
    }
}

/// Deleting or changing a record takes its copies out of every dataset and puts the models
/// trained on them in debt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_record_leaves_the_dataset_and_is_owed() {
    let s = TestServer::start().await;
    let a = org_with_records(&s, "A", json!({}), "eu").await;
    let (id, m) = cm_dataset(&s, "d").await;
    assert_eq!(m["counts"]["included"], 2, "{m}");
    let model = cm_model(&s, "m", &[&id]).await;
    let mid = model["id"].as_str().unwrap().to_string();
    let (lines, _) = export(&s, &s.admin, &id).await;
    let victim = lines[0]["id"].as_str().unwrap().to_string();
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/tenants/{}/records/{victim}", a.tenant),
            Some(&a.admin),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (lines, _) = export(&s, &s.admin, &id).await;
    assert_eq!(lines.len(), 1);
    assert_ne!(lines[0]["id"], victim.as_str());
    let (_, model) = s.get(&format!("/v1/training/models/{mid}"), &s.admin).await;
    assert_eq!(model["debt"]["items"][0]["reason"], "record_deleted", "{model}");
    assert_eq!(model["debt"]["items"][0]["records"], 1, "{model}");
    let (_, m) = s.get(&format!("/v1/training/datasets/{id}"), &s.admin).await;
    assert_eq!(m["current"]["items"], 1, "{m}");
    assert_eq!(m["current"]["withheld"]["record_deleted"], 1, "{m}");

    // Re-registering the version on a rebuilt dataset clears the debt.
    let (id2, _) = cm_dataset(&s, "d2").await;
    let model = cm_model(&s, "m", &[&id2]).await;
    assert_eq!(model["id"], mid.as_str(), "the same name and version is the same model");
    assert_eq!(model["debt"]["owed"], false, "{model}");
}

/// A build found half done (a crash, a node that died) is done again from the start without
/// doubling anything, and ends with the same digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_build_restarts_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let s = TestServer::start_in(&dir, datapact_server::Config::default()).await;
    let _a = org_with_records(&s, "A", json!({}), "eu").await;
    let _b = org_with_records(&s, "B", json!({}), "eu").await;
    let (id, first) = cm_dataset(&s, "d").await;
    let (_, text) = export(&s, &s.admin, &id).await;
    s.stop().await;
    // As a crash would leave it: shards written, the document still saying `building`.
    let sql = if common::database_url(&dir).is_some() {
        format!(
            "UPDATE training_docs SET status = 'building', doc = (doc::jsonb || '{{\"status\":\"building\",\"done\":0,\"shards\":[],\"digest\":null,\"built_at\":null,\"counts\":{{\"candidates\":0,\"included\":0,\"excluded_records\":0,\"excluded\":{{}},\"deduplicated\":0,\"capped\":0,\"pii_masked\":{{}}}}}}'::jsonb)::text WHERE id = '{id}'"
        )
    } else {
        format!(
            "UPDATE training_docs SET status = 'building', doc = json_set(doc, '$.status', 'building', '$.done', 0, '$.shards', json_array(), '$.digest', NULL, '$.built_at', NULL, '$.counts', json('{{\"candidates\":0,\"included\":0,\"excluded_records\":0,\"excluded\":{{}},\"deduplicated\":0,\"capped\":0,\"pii_masked\":{{}}}}')) WHERE id = '{id}'"
        )
    };
    common::state_sql(&dir, &sql).await;
    let s = TestServer::start_in(&dir, datapact_server::Config::default()).await;
    let again = wait_ready(&s, &id).await;
    assert!(
        again["audit"]["built_entry"].as_u64() > first["audit"]["built_entry"].as_u64(),
        "built again: {again}"
    );
    assert_eq!(again["digest"], first["digest"]);
    assert_eq!(again["counts"], first["counts"]);
    let (lines, text2) = export(&s, &s.admin, &id).await;
    assert_eq!(lines.len(), 4);
    assert_eq!(text2, text);
    s.stop().await;
}

/// Bad requests name their field; other organizations' tenants do not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_dataset_requests_name_the_field() {
    let s = TestServer::start().await;
    let a = org_with_records(&s, "A", json!({}), "eu").await;
    let b = org_with_records(&s, "B", json!({}), "eu").await;
    let base = json!({"name": "d", "product": CM, "purpose": "vendor_training", "region": "eu"});
    let with = |k: &str, v: Value| {
        let mut x = base.clone();
        x[k] = v;
        x
    };
    for (body, status, code, field) in [
        (with("product", json!("nope")), 422, "unknown_product", "product"),
        (with("region", json!("mars")), 422, "unknown_region", "region"),
        (
            with("data_kinds", json!(["run_time"])),
            422,
            "data_kind_not_trained",
            "data_kinds",
        ),
        (
            with("minimization", json!({"pii": "off"})),
            422,
            "pii_off_not_allowed",
            "minimization.pii",
        ),
        (
            with("tenants", json!(["ten_00000000000000000000000000000000"])),
            404,
            "not_found",
            "tenants[0]",
        ),
    ] {
        let (st, v) = s.post("/v1/training/datasets", &s.admin, body).await;
        assert_eq!(st.as_u16(), status, "{v}");
        assert_eq!(v["code"], code, "{v}");
        assert_eq!(v["field"], field, "{v}");
    }
    // A customer's fine-tuning dataset: its own one tenant only.
    let ft = json!({"name": "ft", "product": "agent-builder", "purpose": "third_party_finetune", "region": "eu",
        "tenants": [a.tenant, b.tenant]});
    let (st, v) = s.post("/v1/training/datasets", &a.admin, ft).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "tenants");
    let ft = json!({"name": "ft", "product": "agent-builder", "purpose": "third_party_finetune", "region": "eu",
        "tenants": [b.tenant]});
    let (st, v) = s.post("/v1/training/datasets", &a.admin, ft).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["field"], "tenants[0]");
    let (st, v) = s.post("/v1/training/datasets", &a.admin, base.clone()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    // Unknown datasets and models; a model on nothing.
    let (st, _) = s.get("/v1/training/datasets/ds_nope", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.get("/v1/training/models/mdl_nope", &s.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = s
        .post(
            "/v1/training/models",
            &s.admin,
            json!({"name": "m", "version": "1", "product": CM, "purpose": "vendor_training", "region": "eu",
                "datasets": ["ds_nope"]}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["field"], "datasets[0]");
    let (st, v) = s.get("/v1/training/datasets?status=odd", &s.admin).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let _ = (a.svc, a.id);
}

/// A retention sweep that deletes a record a dataset holds takes the copy with it, and the
/// models trained on the dataset owe it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retention_sweep_takes_the_copies_and_is_owed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut cfg = datapact_server::Config::default();
    cfg.lifecycle.sweep_interval_seconds = 1;
    cfg.lifecycle.tick_millis = 50;
    let s = TestServer::start_in(&dir, cfg).await;
    let a = org_with_records(&s, "A", json!({}), "eu").await;
    let (id, _) = cm_dataset(&s, "d").await;
    let model = cm_model(&s, "m", &[&id]).await;
    let mid = model["id"].as_str().unwrap().to_string();
    let (lines, _) = export(&s, &s.admin, &id).await;
    assert_eq!(lines.len(), 2);
    let old = lines[0]["id"].as_str().unwrap().to_string();
    // The record is ten days old.
    let sql = format!("UPDATE {{table}} SET created_at = created_at - 864000000000 WHERE id = '{old}'");
    match common::database_url(&dir) {
        Some(url) => common::pg_sql(&url, &sql.replace("{table}", "datapact_vault.records")).await,
        None => {
            let db = rusqlite::Connection::open(dir.join("regions/eu/vault.db")).unwrap();
            db.busy_timeout(Duration::from_secs(5)).unwrap();
            db.execute_batch(&sql.replace("{table}", "records")).unwrap();
        }
    }
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/v1/tenants/{}/retention", a.tenant),
            Some(&a.admin),
            Some(json!({"rules": [{"product": CM, "max_age_days": 1}]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut left = 2;
    for _ in 0..200 {
        left = export(&s, &s.admin, &id).await.0.len();
        if left == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 1, "the swept record's copy left the dataset");
    let (lines, _) = export(&s, &s.admin, &id).await;
    assert_ne!(lines[0]["id"], old.as_str());
    let (_, model) = s.get(&format!("/v1/training/models/{mid}"), &s.admin).await;
    assert_eq!(model["debt"]["items"][0]["reason"], "record_deleted", "{model}");
    assert_eq!(model["debt"]["items"][0]["records"], 1, "{model}");
    s.stop().await;
}

/// A shard item altered on disk (here: another item's ciphertext moved into its place) fails
/// authentication: the export is cut (never a wrong or
/// partial line passed off as whole), the server goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_shard_cuts_the_export_and_nothing_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let s = TestServer::start_in(&dir, datapact_server::Config::default()).await;
    let _a = org_with_records(&s, "A", json!({}), "eu").await;
    let (id, _) = cm_dataset(&s, "d").await;
    match common::database_url(&dir) {
        Some(url) => {
            common::pg_sql(
                &url,
                "UPDATE datapact_vault.training_items SET sealed = (SELECT sealed FROM datapact_vault.training_items WHERE seq = 1) WHERE seq = 2",
            )
            .await
        }
        None => {
            let db = rusqlite::Connection::open(dir.join("regions/eu/vault.db")).unwrap();
            db.busy_timeout(Duration::from_secs(5)).unwrap();
            db.execute_batch(
                "UPDATE training_items SET sealed = (SELECT sealed FROM training_items WHERE seq = 1) WHERE seq = 2",
            )
            .unwrap();
        }
    }
    // The failure comes before any byte of the body: the connection is cut either before the
    // answer's head reaches the client or right after it, never ended as if whole.
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/training/datasets/{id}/export", s.url))
        .bearer_auth(&s.admin)
        .send()
        .await;
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), StatusCode::OK);
        let body = resp.text().await;
        assert!(body.is_err(), "the stream is cut, not ended as if whole: {body:?}");
    }
    let (st, m) = s.get(&format!("/v1/training/datasets/{id}"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    s.stop().await;
}

/// A customer fine-tunes with its own data: its administrator asks for the dataset of its one
/// tenant, as it is (`pii: "off"`), reads it, and nobody else's data or eyes come near it;
/// switching fine-tuning off withholds it and puts the model in debt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_fine_tunes_with_its_own_data_only() {
    let s = TestServer::start().await;
    let a = org_with_records(&s, "A", json!({}), "eu").await;
    let b = org_with_records(&s, "B", json!({}), "eu").await;
    // Agent Builder records of A's tenant (the product that offers fine-tuning).
    let svc = s
        .key(json!({"role": "service", "product": "agent-builder", "org": a.id}))
        .await;
    let (st, v) = s
        .post(
            &format!("/v1/tenants/{}/records/batch", a.tenant),
            &svc,
            json!({"records": [
                {"product": "agent-builder", "data_kind": "design_time", "content": "Agent prompt: greet jo@example.com"},
                {"product": "agent-builder", "data_kind": "run_time", "content": "Run transcript 7"}]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/v1/orgs/{}/ai-settings", a.id),
            Some(&a.admin),
            Some(json!({"third_party_finetune_enabled": true})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let body = json!({"name": "ft", "product": "agent-builder", "purpose": "third_party_finetune", "region": "eu",
        "tenants": [a.tenant], "minimization": {"pii": "off"}});
    let (st, created) = s.post("/v1/training/datasets", &a.admin, body).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let m = wait_ready(&s, &id).await;
    assert_eq!(m["counts"]["included"], 2, "both kinds, as they are: {m}");
    let (lines, text) = export(&s, &a.admin, &id).await;
    assert_eq!(lines.len(), 2);
    assert!(
        text.contains("jo@example.com"),
        "pii off keeps the customer's own data as it is"
    );
    // Another organization's administrator does not know it exists.
    let (st, _) = s.get(&format!("/v1/training/datasets/{id}"), &b.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, listed) = s.get("/v1/training/datasets", &b.admin).await;
    assert_eq!(listed["datasets"], json!([]), "{listed}");
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/training/datasets/{id}/export", s.url))
        .bearer_auth(&b.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // A model on it; fine-tuning switched off: withheld and owed.
    let (st, model) = s
        .post(
            "/v1/training/models",
            &s.admin,
            json!({"name": "ft-model", "version": "1", "product": "agent-builder", "purpose": "third_party_finetune",
                "region": "eu", "datasets": [id]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{model}");
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/v1/orgs/{}/ai-settings", a.id),
            Some(&a.admin),
            Some(json!({"third_party_finetune_enabled": false})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (lines, _) = export(&s, &a.admin, &id).await;
    assert!(lines.is_empty());
    let (_, model) = s
        .get(
            &format!("/v1/training/models/{}", model["id"].as_str().unwrap()),
            &s.admin,
        )
        .await;
    assert_eq!(
        model["debt"]["items"][0]["reason"], "third_party_finetune_disabled",
        "{model}"
    );
    let _ = b.svc;
}

/// The dataset listing pages with an opaque cursor: every dataset once, none twice, and a
/// cursor names no dataset in the clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dataset_listing_pages_with_an_opaque_cursor() {
    let s = TestServer::start().await;
    let _a = org_with_records(&s, "A", json!({}), "eu").await;
    let mut made = BTreeSet::new();
    for n in ["d1", "d2", "d3"] {
        made.insert(cm_dataset(&s, n).await.0);
    }
    let mut seen = BTreeSet::new();
    let mut path = "/v1/training/datasets?limit=1".to_string();
    for _ in 0..10 {
        let (st, page) = s.get(&path, &s.admin).await;
        assert_eq!(st, StatusCode::OK, "{page}");
        for d in page["datasets"].as_array().unwrap() {
            assert!(seen.insert(d["id"].as_str().unwrap().to_string()), "twice: {page}");
        }
        match page["next"].as_str() {
            Some(next) => {
                assert!(!next.contains("ds_"), "{next}");
                path = format!("/v1/training/datasets?limit=1&after={next}");
            }
            None => break,
        }
    }
    assert_eq!(seen, made);
    let (st, v) = s.get("/v1/training/datasets?after=ds_0", &s.admin).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "after");
    let (st, v) = s.get("/v1/training/datasets?limit=0", &s.admin).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}
