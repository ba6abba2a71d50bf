//! The vault over HTTP: writes, purpose-checked reads, listing, changes, export, purge,
//! termination, rotation, against a real server on an ephemeral port.

mod common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct World {
    s: TestServer,
    org: String,
    oa: String,
    tenant: String,
    svc: String,
}

/// Stops a purge after its keys are destroyed and before its certificate is stored, with a
/// real storage failure: on SQLite, a reader that keeps the key store's write-ahead log from
/// being truncated; on PostgreSQL, a failure of the certificate's insert.
enum Halt {
    Reader(rusqlite::Connection),
    Fault(common::Fault),
}

impl Halt {
    async fn purges(dir: &std::path::Path) -> Self {
        if common::database_url(dir).is_some() {
            return Halt::Fault(common::inject_state_fault(dir, "certificates").await);
        }
        let reader = rusqlite::Connection::open(dir.join("regions/eu/keys.db")).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT COUNT(*) FROM tenant_keys", [], |r| r.get(0))
            .unwrap();
        Halt::Reader(reader)
    }

    async fn end(self) {
        match self {
            Halt::Reader(reader) => reader.execute_batch("COMMIT").unwrap(),
            Halt::Fault(f) => f.clear().await,
        }
    }
}

async fn world(plan: &str, baa: bool) -> World {
    let s = TestServer::start().await;
    let (st, org) = s
        .post(
            "/v1/orgs",
            &s.admin,
            json!({"name": "Acme", "plan": plan, "region": "eu", "baa": baa}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let org = org["id"].as_str().unwrap().to_string();
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let svc = s
        .key(json!({"role": "service", "product": "communications-mining", "org": org}))
        .await;
    World {
        s,
        org,
        oa,
        tenant,
        svc,
    }
}

fn rec(content: &str) -> Value {
    json!({"product": "communications-mining", "data_kind": "design_time", "content": content,
           "categories": ["user.contact.email"], "metadata": {"channel": "email"}})
}

impl World {
    async fn put(&self, body: Value) -> (StatusCode, Value) {
        self.s
            .post(&format!("/v1/tenants/{}/records", self.tenant), &self.svc, body)
            .await
    }
    async fn read(&self, key: &str, id: &str, purpose: &str) -> (StatusCode, Value) {
        self.s
            .get(
                &format!("/v1/tenants/{}/records/{id}?purpose={purpose}", self.tenant),
                key,
            )
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_read_with_purpose_change_delete() {
    let w = world("enterprise", true).await;
    let (st, r) = w.put(rec("Hello, my order #1234 is late")).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    assert_eq!((r["version"].as_u64(), r["region"].as_str()), (Some(1), Some("eu")));
    assert!(r.get("content").is_none(), "a write answers metadata only");

    let (st, got) = w.read(&w.svc, &id, "service").await;
    assert_eq!(st, StatusCode::OK, "{got}");
    assert_eq!(got["content"], "Hello, my order #1234 is late");
    assert_eq!(got["categories"], json!(["user.contact.email"]));
    assert_eq!(got["metadata"], json!({"channel": "email"}));
    // The organization has a BAA: reading for vendor training is denied, with the reason.
    let (st, denied) = w.read(&w.svc, &id, "vendor_training").await;
    assert_eq!(
        (st, denied["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("purpose_denied"))
    );
    assert_eq!(denied["reasons"][0]["code"], "baa_in_place");
    let (st, v) = w.s.get(&format!("/v1/tenants/{}/records/{id}", w.tenant), &w.svc).await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("purpose"))
    );
    let (st, _) = w.read(&w.oa, &id, "service").await;
    assert_eq!(st, StatusCode::OK, "the customer's administrator reads its data");

    // Listing shows metadata, never content.
    let (_, list) = w.s.get(&format!("/v1/tenants/{}/records", w.tenant), &w.oa).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("content").is_none());

    let (st, p) =
        w.s.call(
            Method::PATCH,
            &format!("/v1/tenants/{}/records/{id}", w.tenant),
            Some(&w.oa),
            Some(json!({"content": "edited"})),
        )
        .await;
    assert_eq!((st, p["version"].as_u64()), (StatusCode::OK, Some(2)));
    assert_eq!(w.read(&w.svc, &id, "service").await.1["content"], "edited");
    let (st, _) =
        w.s.call(
            Method::DELETE,
            &format!("/v1/tenants/{}/records/{id}", w.tenant),
            Some(&w.oa),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(w.read(&w.svc, &id, "service").await.0, StatusCode::NOT_FOUND);

    // Bytes round-trip as base64.
    let (st, r) = w
        .put(json!({"product": "communications-mining", "data_kind": "run_time", "content_base64": "AAEC/w=="}))
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, got) = w.read(&w.svc, r["id"].as_str().unwrap(), "service").await;
    assert_eq!(
        (got["content_base64"].as_str(), got.get("content")),
        (Some("AAEC/w=="), None)
    );
    w.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_writes_and_foreign_records() {
    let w = world("enterprise", false).await;
    let big = "x".repeat(1024 * 1024 + 1);
    let (st, v) = w.put(rec(&big)).await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("content_too_large"),
            Some("content")
        )
    );
    let (st, v) = w
        .put(json!({"product": "communications-mining", "data_kind": "design_time"}))
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("content"))
    );
    let (st, v) = w.put(json!({"product": "communications-mining", "data_kind": "design_time", "content": "a", "content_base64": "YQ=="})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = w
        .put(json!({"product": "communications-mining", "data_kind": "design_time", "content_base64": "%%%"}))
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("content_base64"))
    );
    let (st, v) = w
        .put(json!({"product": "ixp", "data_kind": "design_time", "content": "x"}))
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("product")),
        "a service key writes its own product"
    );
    let (st, v) = w.put(json!({"product": "communications-mining", "data_kind": "design_time", "content": "x", "categories": ["Not A Label"]})).await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("categories[0]"))
    );

    // A batch is all or nothing, and names the record at fault.
    let batch = json!({"records": [rec("one"), rec("two"), {"product": "communications-mining", "data_kind": "weekly", "content": "x"}]});
    let (st, v) =
        w.s.post(&format!("/v1/tenants/{}/records/batch", w.tenant), &w.svc, batch)
            .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("records[2].data_kind"))
    );
    let batch = json!({"records": [rec("one"), rec(&"y".repeat(1024 * 1024 + 5))]});
    let (st, v) =
        w.s.post(&format!("/v1/tenants/{}/records/batch", w.tenant), &w.svc, batch)
            .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("records[1].content"))
    );
    let (_, list) = w.s.get(&format!("/v1/tenants/{}/records", w.tenant), &w.oa).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "nothing of a refused batch was written"
    );
    let (st, v) =
        w.s.post(
            &format!("/v1/tenants/{}/records/batch", w.tenant),
            &w.svc,
            json!({"records": [rec("a"), rec("b")]}),
        )
        .await;
    assert_eq!((st, v["ids"].as_array().map(Vec::len)), (StatusCode::CREATED, Some(2)));

    // Another tenant's record, or an unknown one, is not found; so is another product's, for a service key.
    let id = v["ids"][0].as_str().unwrap();
    let other = w.s.tenant(&w.oa, &w.org, None).await;
    let (st, _) =
        w.s.get(&format!("/v1/tenants/{other}/records/{id}?purpose=service"), &w.oa)
            .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = w.read(&w.svc, "rec_0193aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "service").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let ixp = w.s.key(json!({"role": "service", "product": "ixp"})).await;
    assert_eq!(w.read(&ixp, id, "service").await.0, StatusCode::NOT_FOUND);
    // Another organization's keys cannot reach this tenant at all.
    let (_, org_b) =
        w.s.post(
            "/v1/orgs",
            &w.s.admin,
            json!({"name": "B", "plan": "free", "region": "eu"}),
        )
        .await;
    let ob = w.s.key(json!({"role": "org_admin", "org": org_b["id"]})).await;
    assert_eq!(w.read(&ob, id, "service").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        w.s.get(&format!("/v1/tenants/{}/export", w.tenant), &ob).await.0,
        StatusCode::NOT_FOUND
    );
    w.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_reads_only_under_a_grant() {
    let w = world("enterprise", false).await;
    let (_, r) = w.put(rec("ticket attachment")).await;
    let id = r["id"].as_str().unwrap().to_string();
    let support = w.s.key(json!({"role": "support"})).await;
    let (st, v) = w.read(&support, &id, "support_access").await;
    assert_eq!(
        (st, v["reasons"][0]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("no_support_grant"))
    );
    let (st, v) = w.read(&support, &id, "service").await;
    assert_eq!((st, v["field"].as_str()), (StatusCode::FORBIDDEN, Some("purpose")));
    let (st, _) = w.read(&w.oa, &id, "support_access").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "support_access is for support staff");
    let (st, _) = w.s.grant(&w.oa, &w.tenant, "SUP-77", 4).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, v) = w.read(&support, &id, "support_access").await;
    assert_eq!((st, v["content"].as_str()), (StatusCode::OK, Some("ticket attachment")));
    let auditor = w.s.key(json!({"role": "auditor", "org": w.org})).await;
    assert_eq!(
        w.read(&auditor, &id, "service").await.0,
        StatusCode::FORBIDDEN,
        "auditors see metadata, not content"
    );
    assert_eq!(
        w.s.get(&format!("/v1/tenants/{}/records", w.tenant), &auditor).await.0,
        StatusCode::OK
    );
    w.s.stop().await;
}

/// The vendor's people read content only under `support_access` with the customer's active grant,
/// and no one reads content under `telemetry` (content-free by definition).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendor_reads_no_content_without_the_customers_grant() {
    let w = world("enterprise", false).await;
    let (_, r) = w.put(rec("a customer's private message")).await;
    let id = r["id"].as_str().unwrap().to_string();
    let support = w.s.key(json!({"role": "support"})).await;
    for key in [&w.s.admin, &support] {
        for purpose in [
            "service",
            "telemetry",
            "genai",
            "vendor_training",
            "third_party_finetune",
        ] {
            let (st, v) = w.read(key, &id, purpose).await;
            let code = if purpose == "telemetry" {
                "content_not_for_telemetry"
            } else {
                "forbidden"
            };
            assert_eq!(
                (st, v["code"].as_str(), v["field"].as_str()),
                (StatusCode::FORBIDDEN, Some(code), Some("purpose")),
                "a vendor role under {purpose}: {v}"
            );
            assert!(v.get("content").is_none());
        }
    }
    for key in [&w.oa, &w.svc] {
        let (st, v) = w.read(key, &id, "telemetry").await;
        assert_eq!(
            (st, v["code"].as_str(), v["field"].as_str()),
            (
                StatusCode::FORBIDDEN,
                Some("content_not_for_telemetry"),
                Some("purpose")
            ),
            "telemetry carries no content: {v}"
        );
    }
    // Without a grant, the platform admin's support_access read is denied by the decision point.
    let (st, v) = w.read(&w.s.admin, &id, "support_access").await;
    assert_eq!(
        (st, v["reasons"][0]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("no_support_grant"))
    );
    let (st, _) = w.s.grant(&w.oa, &w.tenant, "SUP-9", 2).await;
    assert_eq!(st, StatusCode::CREATED);
    for key in [&w.s.admin, &support] {
        let (st, v) = w.read(key, &id, "support_access").await;
        assert_eq!(
            (st, v["content"].as_str()),
            (StatusCode::OK, Some("a customer's private message"))
        );
    }
    // Every refused read is on the record, under the purpose asked for.
    let (_, entries) =
        w.s.get("/v1/audit/entries?action=content_read&outcome=denied&limit=100", &w.oa)
            .await;
    let denied = entries["items"].as_array().unwrap();
    assert!(
        denied.len() >= 13,
        "each refused read is audited as denied: {}",
        denied.len()
    );
    w.s.stop().await;
}

async fn export_lines(s: &TestServer, tenant: &str, key: &str) -> (u64, Vec<Value>) {
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/tenants/{tenant}/export", s.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let count: u64 = resp.headers()["x-datapact-record-count"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let text = resp.text().await.unwrap();
    (count, text.lines().map(|l| serde_json::from_str(l).unwrap()).collect())
}

async fn wait_job(s: &TestServer, key: &str, job: &str) -> Value {
    for _ in 0..400 {
        let (_, j) = s.get(&format!("/v1/jobs/{job}"), key).await;
        if j["state"] != "running" {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("job {job} did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_purge_and_certificate() {
    let w = world("enterprise", false).await;
    let records: Vec<Value> = (0..1200).map(|i| rec(&format!("message {i}"))).collect();
    for chunk in records.chunks(500) {
        let (st, _) =
            w.s.post(
                &format!("/v1/tenants/{}/records/batch", w.tenant),
                &w.svc,
                json!({"records": chunk}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let (count, lines) = export_lines(&w.s, &w.tenant, &w.oa).await;
    assert_eq!((count, lines.len()), (1200, 1200));
    assert!(
        lines
            .iter()
            .all(|l| l["content"].as_str().unwrap().starts_with("message ") && l["id"].is_string())
    );
    assert_eq!(
        w.s.get(&format!("/v1/tenants/{}/export", w.tenant), &w.svc).await.0,
        StatusCode::FORBIDDEN
    );

    let (st, p) =
        w.s.post(&format!("/v1/tenants/{}/purge", w.tenant), &w.oa, json!({}))
            .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let cert = &p["certificate"];
    assert_eq!(cert["statement"]["record_count"], 1200);
    assert_eq!(cert["statement"]["reason"], "customer_request");
    let statement = datapact_vault::verify_certificate(&cert.to_string(), None).unwrap();
    assert_eq!(statement.tenant.to_string(), w.tenant);
    let (_, pk) = w.s.call(Method::GET, "/v1/server/public-key", None, None).await;
    assert!(datapact_vault::verify_certificate(&cert.to_string(), pk["public_key"].as_str()).is_ok());
    // Unreadable at once; rows go in the background.
    let id = lines[0]["id"].as_str().unwrap();
    assert_eq!(w.read(&w.svc, id, "service").await.0, StatusCode::NOT_FOUND);
    // A write acknowledged while the rows are being removed is under a new key, and kept.
    let (st, after) = w.put(rec("written during the removal")).await;
    assert_eq!((st, after["key_version"].as_u64()), (StatusCode::CREATED, Some(2)));
    let job = wait_job(&w.s, &w.oa, p["job"]["id"].as_str().unwrap()).await;
    assert_eq!(
        (job["state"].as_str(), job["done"].as_u64()),
        (Some("done"), Some(1200))
    );
    let (count, lines) = export_lines(&w.s, &w.tenant, &w.oa).await;
    assert_eq!((count, lines.len()), (1, 1));
    assert_eq!(lines[0]["content"], "written during the removal");
    let (st, v) = w.read(&w.svc, after["id"].as_str().unwrap(), "service").await;
    assert_eq!(
        (st, v["content"].as_str()),
        (StatusCode::OK, Some("written during the removal"))
    );
    let (_, certs) = w.s.get(&format!("/v1/tenants/{}/certificates", w.tenant), &w.oa).await;
    assert_eq!(certs.as_array().unwrap().len(), 1);
    w.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_reencrypts_every_record() {
    let w = world("enterprise", false).await;
    let (_, b) =
        w.s.post(
            &format!("/v1/tenants/{}/records/batch", w.tenant),
            &w.svc,
            json!({"records": (0..300).map(|i| rec(&format!("m{i}"))).collect::<Vec<_>>()}),
        )
        .await;
    let (st, rot) =
        w.s.post(&format!("/v1/tenants/{}/keys/rotate", w.tenant), &w.oa, json!({}))
            .await;
    assert_eq!((st, rot["version"].as_u64()), (StatusCode::OK, Some(2)), "{rot}");
    let job = wait_job(&w.s, &w.oa, rot["job"]["id"].as_str().unwrap()).await;
    assert_eq!((job["state"].as_str(), job["done"].as_u64()), (Some("done"), Some(300)));
    let (_, keys) = w.s.get(&format!("/v1/tenants/{}/keys", w.tenant), &w.oa).await;
    assert_eq!(
        keys,
        json!([{"version": 2, "kek_id": keys[0]["kek_id"], "active": true, "records": 300, "created_at": keys[0]["created_at"]}])
    );
    let (_, got) = w.read(&w.svc, b["ids"][7].as_str().unwrap(), "service").await;
    assert_eq!(
        (got["content"].as_str(), got["key_version"].as_u64()),
        (Some("m7"), Some(2))
    );
    w.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn termination_with_grace_then_resumed_after_restart() {
    let w = world("enterprise", false).await;
    let t2 = w.s.tenant(&w.oa, &w.org, Some("us")).await;
    let svc_all =
        w.s.key(json!({"role": "service", "product": "communications-mining"}))
            .await;
    for t in [&w.tenant, &t2] {
        let (st, _) =
            w.s.post(
                &format!("/v1/tenants/{t}/records/batch"),
                &svc_all,
                json!({"records": [rec("a"), rec("b")]}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let (st, v) =
        w.s.post(&format!("/v1/orgs/{}/terminate", w.org), &w.oa, json!({}))
            .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "the vendor terminates contracts: {v}");
    let (st, v) =
        w.s.post(
            &format!("/v1/orgs/{}/terminate", w.org),
            &w.s.admin,
            json!({"grace_days": 30}),
        )
        .await;
    assert_eq!((st, v["org"]["status"].as_str()), (StatusCode::OK, Some("terminating")));
    // During the grace period, export works and processing beyond service is denied.
    assert_eq!(export_lines(&w.s, &w.tenant, &w.oa).await.1.len(), 2);
    let (_, lines) = export_lines(&w.s, &w.tenant, &w.oa).await;
    let (st, v) = w
        .read(&w.svc, lines[0]["id"].as_str().unwrap(), "vendor_training")
        .await;
    assert_eq!(
        (st, v["reasons"][0]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("org_terminating"))
    );
    assert_eq!(
        w.read(&w.svc, lines[0]["id"].as_str().unwrap(), "service").await.0,
        StatusCode::OK
    );

    // The grace period ends while the server is down; on restart the termination completes.
    let dir = w.s.dir.clone();
    let tmp = w.s.stop().await;
    common::state_sql(
        &dir,
        &format!(
            "UPDATE orgs SET termination_due_at = '2020-01-01T00:00:00Z' WHERE id = '{}'",
            w.org
        ),
    )
    .await;
    let mut cfg = datapact_server::Config::default();
    cfg.lifecycle.tick_millis = 20;
    let s = TestServer::start_in(&dir, cfg).await;
    let mut status = String::new();
    for _ in 0..200 {
        let (_, o) = s.get(&format!("/v1/orgs/{}", w.org), &s.admin).await;
        status = o["status"].as_str().unwrap().to_string();
        if status == "terminated" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(status, "terminated");
    // Terminated first (so nothing is written meanwhile), then every tenant is purged.
    for t in [&w.tenant, &t2] {
        let mut certs = Value::Null;
        for _ in 0..200 {
            certs = s.get(&format!("/v1/tenants/{t}/certificates"), &s.admin).await.1;
            if certs.as_array().is_some_and(|c| !c.is_empty()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(certs.as_array().unwrap().len(), 1);
        assert_eq!(certs[0]["statement"]["reason"], "contract_termination");
        assert_eq!(certs[0]["statement"]["record_count"], 2);
    }
    let (st, _) = s
        .post(
            &format!("/v1/orgs/{}/terminate", w.org),
            &s.admin,
            json!({"grace_days": 0}),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "terminating twice is refused");
    s.stop().await;
    drop(tmp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_rules_are_validated_and_kept() {
    let w = world("enterprise", false).await;
    let path = format!("/v1/tenants/{}/retention", w.tenant);
    let (st, v) =
        w.s.call(
            Method::PUT,
            &path,
            Some(&w.oa),
            Some(json!({"rules": [{"product": "ixp", "max_age_days": 0}]})),
        )
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("rules[0].max_age_days"))
    );
    let (st, v) =
        w.s.call(
            Method::PUT,
            &path,
            Some(&w.oa),
            Some(json!({"rules": [{"product": "nope", "max_age_days": 3}]})),
        )
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("rules[0].product"))
    );
    let rules = json!({"rules": [{"product": "communications-mining", "data_kind": "run_time", "max_age_days": 30}]});
    let (st, _) = w.s.call(Method::PUT, &path, Some(&w.oa), Some(rules.clone())).await;
    assert_eq!(st, StatusCode::OK);
    let (_, got) = w.s.get(&path, &w.oa).await;
    assert_eq!(got, rules);
    w.s.stop().await;
}

/// A purge interrupted after its keys were destroyed but before its certificate was stored
/// (here: the key store's WAL could not be truncated, then the server stopped) is resumed at
/// the next start and certified exactly once, listing the versions it destroyed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_purge_resumes_and_is_certified_once() {
    let w = world("enterprise", false).await;
    for i in 0..3 {
        assert_eq!(w.put(rec(&format!("m{i}"))).await.0, StatusCode::CREATED);
    }
    let halt = Halt::purges(&w.s.dir).await;
    let (st, v) =
        w.s.post(&format!("/v1/tenants/{}/purge", w.tenant), &w.oa, json!({}))
            .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("storage_unavailable")),
        "{v}"
    );
    let (_, certs) = w.s.get(&format!("/v1/tenants/{}/certificates", w.tenant), &w.oa).await;
    assert_eq!(certs, json!([]), "no certificate yet");
    // The server stops with the purge half done; the reader goes away meanwhile.
    let dir = w.s.dir.clone();
    let tmp = w.s.stop().await;
    halt.end().await;
    let mut cfg = datapact_server::Config::default();
    cfg.lifecycle.tick_millis = 20;
    let s = TestServer::start_in(&dir, cfg).await;
    let mut certs = Value::Null;
    for _ in 0..400 {
        certs = s
            .get(&format!("/v1/tenants/{}/certificates", w.tenant), &s.admin)
            .await
            .1;
        if certs.as_array().is_some_and(|c| !c.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let certs = certs.as_array().unwrap().clone();
    assert_eq!(certs.len(), 1, "{certs:?}");
    assert_eq!(certs[0]["statement"]["key_versions_destroyed"], json!([1]));
    assert_eq!(certs[0]["statement"]["record_count"], 3);
    assert!(datapact_vault::verify_certificate(&certs[0].to_string(), None).is_ok());
    // Its rows go too, and the tenant is usable again under a new key.
    let (_, list) = s.get(&format!("/v1/tenants/{}/records", w.tenant), &s.admin).await;
    assert_eq!(list["items"], json!([]));
    let (_, jobs_done) = s.get(&format!("/v1/tenants/{}/certificates", w.tenant), &s.admin).await;
    assert_eq!(jobs_done.as_array().unwrap().len(), 1, "still one certificate");
    s.stop().await;
    drop(tmp);
}

/// The contract's states move in one place under one lock: a terminated organization cannot
/// be brought back or terminated again, and gets no new tenants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_organization_stays_terminated() {
    let w = world("enterprise", false).await;
    let (st, v) =
        w.s.post(
            &format!("/v1/orgs/{}/terminate", w.org),
            &w.s.admin,
            json!({"grace_days": 0}),
        )
        .await;
    assert_eq!(
        (st, v["org"]["status"].as_str()),
        (StatusCode::OK, Some("terminated")),
        "{v}"
    );
    let (st, v) =
        w.s.call(
            Method::PATCH,
            &format!("/v1/orgs/{}", w.org),
            Some(&w.s.admin),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_status_transition"))
    );
    let (st, v) =
        w.s.post(
            &format!("/v1/orgs/{}/terminate", w.org),
            &w.s.admin,
            json!({"grace_days": 3}),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_terminated"))
    );
    let (st, v) =
        w.s.post(&format!("/v1/orgs/{}/tenants", w.org), &w.oa, json!({"name": "late"}))
            .await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("org_not_active")));
    // Nothing can be written for its tenant, not even under a new key.
    let (st, _) = w.put(rec("after the end")).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    w.s.stop().await;
}

/// A client that stops reading an export cannot keep the server from stopping: requests
/// under way get the configured grace, then their connections are closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_export_does_not_hold_the_server_at_shutdown() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = datapact_server::Config::default();
    cfg.lifecycle.shutdown_grace_seconds = 1;
    let s = TestServer::start_in(&tmp.path().join("data"), cfg).await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let svc = s
        .key(json!({"role": "service", "product": "communications-mining", "org": org}))
        .await;
    // About 8 MB of export: more than the socket buffers hold for a client that reads nothing.
    let body = "x".repeat(1000);
    for _ in 0..8 {
        let records: Vec<Value> = (0..1000).map(|i| rec(&format!("{i} {body}"))).collect();
        let (st, v) = s
            .post(
                &format!("/v1/tenants/{tenant}/records/batch"),
                &svc,
                json!({"records": records}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/tenants/{tenant}/export", s.url))
        .bearer_auth(&oa)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Headers read, body never: the server must still stop within its grace (and a margin).
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(15), s.stop()).await;
    assert!(stopped.is_ok(), "the server did not stop with a stalled export open");
    drop(resp);
}

/// A vault write that fails at the region's own database is not acknowledged: 503, nothing
/// readable or listed, and the log says the write was attempted and failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_vault_write_is_not_acknowledged() {
    let w = world("enterprise", false).await;
    let (st, _) = w.put(rec("first")).await;
    assert_eq!(st, StatusCode::CREATED);
    let fault = common::inject_records_fault(&w.s.dir).await;
    let batch = json!({"records": [rec("a"), rec("b")]});
    let (st, v) =
        w.s.post(&format!("/v1/tenants/{}/records/batch", w.tenant), &w.svc, batch)
            .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("storage_unavailable")),
        "{v}"
    );
    let (st, v) = w.put(rec("second")).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("storage_unavailable")),
        "{v}"
    );
    fault.clear().await;
    let (_, list) = w.s.get(&format!("/v1/tenants/{}/records", w.tenant), &w.oa).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "only the acknowledged record exists"
    );
    let (_, es) =
        w.s.get("/v1/audit/entries?action=record_write&outcome=error", &w.oa)
            .await;
    assert_eq!(
        es["items"].as_array().unwrap().len(),
        2,
        "each failed write is on the record"
    );
    w.s.stop().await;
}

/// Every request for a purge is on the record as its own entry, also one that finds an earlier
/// request's purge still under way and completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_purge_request_is_logged_even_when_it_completes_an_earlier_one() {
    let w = world("enterprise", false).await;
    assert_eq!(w.put(rec("m")).await.0, StatusCode::CREATED);
    let halt = Halt::purges(&w.s.dir).await;
    let purge = format!("/v1/tenants/{}/purge", w.tenant);
    let (st, v) = w.s.post(&purge, &w.oa, json!({})).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    halt.end().await;
    // The platform admin asks again: the recorded purge is completed, by this request.
    let (st, v) = w.s.post(&purge, &w.s.admin, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) =
        w.s.get(&format!("/v1/audit/entries?tenant={}&action=purge", w.tenant), &w.oa)
            .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let roles: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entry"]["outcome"] == "allowed")
        .map(|e| e["entry"]["actor"]["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles, vec!["org_admin", "platform_admin"], "{v}");
    w.s.stop().await;
}

/// A purge asked again with nothing written since (a retry whose first answer was lost, a
/// second click) destroys nothing new and answers with the certificate already issued; once
/// something is written under a new key, a purge is a new one with a certificate of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_purge_answers_with_the_one_certificate() {
    let w = world("enterprise", false).await;
    for i in 0..3 {
        assert_eq!(w.put(rec(&format!("m{i}"))).await.0, StatusCode::CREATED);
    }
    let path = format!("/v1/tenants/{}/purge", w.tenant);
    let (st, first) = w.s.post(&path, &w.oa, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{first}");
    let (st, again) = w.s.post(&path, &w.oa, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{again}");
    assert_eq!(again["certificate"], first["certificate"], "the same certificate");
    assert_eq!(again["job"]["id"], first["job"]["id"]);
    let certs = format!("/v1/tenants/{}/certificates", w.tenant);
    let (_, list) = w.s.get(&certs, &w.oa).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    // The repeated request is on the record too.
    let (_, entries) =
        w.s.get(&format!("/v1/audit/entries?tenant={}&action=purge", w.tenant), &w.oa)
            .await;
    assert!(entries["items"].as_array().unwrap().len() >= 2, "{entries}");

    // New data, a new key, a new purge.
    let (st, v) = w.put(rec("written after the purge")).await;
    assert_eq!((st, v["key_version"].as_u64()), (StatusCode::CREATED, Some(2)));
    let (st, second) = w.s.post(&path, &w.oa, json!({})).await;
    assert_eq!(st, StatusCode::OK, "{second}");
    assert_ne!(second["certificate"], first["certificate"]);
    assert_eq!(second["certificate"]["statement"]["key_versions_destroyed"], json!([2]));
    let (_, list) = w.s.get(&certs, &w.oa).await;
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    w.s.stop().await;
}
