//! The audit log over HTTP: every access and change is on the record before it takes effect,
//! proofs check out against an independent RFC 6962 implementation, customers see their own
//! entries only, vendor support access is marked, and a failed append refuses the operation.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::TestServer;
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct World {
    s: TestServer,
    org: String,
    oa: String,
    tenant: String,
    svc: String,
}

async fn world(s: TestServer, plan: &str) -> World {
    let org = s.org(plan, "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let svc = s.key(json!({"role": "service", "org": org, "product": "ixp"})).await;
    World {
        s,
        org,
        oa,
        tenant,
        svc,
    }
}

impl World {
    async fn put(&self, content: &str) -> String {
        let (st, v) = self
            .s
            .post(
                &format!("/v1/tenants/{}/records", self.tenant),
                &self.svc,
                json!({"product": "ixp", "data_kind": "run_time", "content": content}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_string()
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

async fn entries(s: &TestServer, key: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let sep = if query.is_empty() { "" } else { "&" };
        let (st, v) = s
            .get(&format!("/v1/audit/entries?limit=1000{sep}{query}{after}"), key)
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        out.extend(v["items"].as_array().unwrap().iter().cloned());
        match v.get("next").and_then(Value::as_str) {
            Some(n) => after = format!("&after={n}"),
            None => return out,
        }
    }
}

fn actions(es: &[Value]) -> Vec<String> {
    es.iter()
        .map(|e| e["entry"]["action"].as_str().unwrap().to_string())
        .collect()
}

fn leaf(e: &Value) -> Vec<u8> {
    B64.decode(e["leaf"].as_str().unwrap()).unwrap()
}

fn hashes(v: &Value) -> Vec<u8> {
    v["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| B64.decode(h.as_str().unwrap()).unwrap())
        .collect()
}

async fn export_text(s: &TestServer, key: &str, query: &str) -> (StatusCode, String) {
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/audit/export{query}", s.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_access_is_logged_and_proofs_verify_independently() {
    let w = world(TestServer::start().await, "enterprise").await;
    let id = w.put("canary-audit-3f9a").await;
    let (st, v) = w.read(&w.svc, &id, "service").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // A denied read is on the record with its reasons (a BAA excludes vendor training).
    let (st, v) =
        w.s.call(
            Method::PATCH,
            &format!("/v1/orgs/{}", w.org),
            Some(&w.s.admin),
            Some(json!({"baa": true})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, _) = w.read(&w.oa, &id, "vendor_training").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    w.s.decide(
        &w.svc,
        json!({"tenant": w.tenant, "product": "ixp", "purpose": "genai"}),
    )
    .await;
    let (st, _) =
        w.s.call(
            Method::DELETE,
            &format!("/v1/tenants/{}/records/{id}", w.tenant),
            Some(&w.oa),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);

    let mine = entries(&w.s, &w.oa, "").await;
    let acts = actions(&mine);
    for a in [
        "org_create",
        "terms_change",
        "api_key_create",
        "tenant_change",
        "key_create",
        "record_write",
        "content_read",
        "decision",
        "record_delete",
    ] {
        assert!(acts.iter().any(|x| x == a), "{a} missing from {acts:?}");
    }
    let denied: Vec<&Value> = mine
        .iter()
        .filter(|e| e["entry"]["action"] == "content_read" && e["entry"]["outcome"] == "denied")
        .collect();
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["entry"]["purpose"], "vendor_training");
    assert!(!denied[0]["entry"]["reasons"].as_array().unwrap().is_empty());
    let read = mine
        .iter()
        .find(|e| e["entry"]["action"] == "content_read" && e["entry"]["outcome"] == "allowed")
        .unwrap();
    assert_eq!(read["entry"]["tenant"], w.tenant.as_str());
    assert_eq!(read["entry"]["product"], "ixp");
    assert_eq!(read["entry"]["region"], "eu");
    assert_eq!(read["entry"]["resources"][0]["record"], id.as_str());
    assert!(read["entry"]["request_id"].is_string(), "{read}");
    assert!(read["entry"]["actor"]["key"].is_string());
    assert_eq!(read["entry"]["actor"]["role"], "service");
    // The data key created by the first write is tied to that write's request.
    let write = mine.iter().find(|e| e["entry"]["action"] == "record_write").unwrap();
    let key = mine.iter().find(|e| e["entry"]["action"] == "key_create").unwrap();
    assert!(write["entry"]["request_id"].is_string());
    assert_eq!(key["entry"]["request_id"], write["entry"]["request_id"]);
    assert_eq!(key["entry"]["resources"][0]["data_key"], 1);

    // Each entry carries the exact bytes that are hashed, and they say what the entry says;
    // no customer content is anywhere in the log.
    for e in &mine {
        let parsed: Value = serde_json::from_slice(&leaf(e)).unwrap();
        assert_eq!(parsed, e["entry"]);
        assert_eq!(parsed["index"], e["index"]);
        assert!(!String::from_utf8_lossy(&leaf(e)).contains("canary-audit"));
    }
    assert!(!common::audit_storage_contains(&w.s.dir, "canary-audit").await);

    // Rebuild the whole tree with ct-merkle (an independent RFC 6962 implementation) from the
    // platform admin's export and hold the server's checkpoint and proofs against it.
    let (st, cp) = w.s.get("/v1/audit/checkpoint", &w.s.admin).await;
    assert_eq!(st, StatusCode::OK, "{cp}");
    for f in [
        "tree_size",
        "root_hash",
        "timestamp",
        "signature",
        "key_id",
        "public_key",
        "note",
    ] {
        assert!(cp.get(f).is_some(), "checkpoint lacks {f}");
    }
    let size = cp["tree_size"].as_u64().unwrap();
    let (st, all) = export_text(&w.s, &w.s.admin, "").await;
    assert_eq!(st, StatusCode::OK);
    let mut theirs = MemoryBackedTree::<sha2::Sha256, Vec<u8>>::new();
    let mut leaves = Vec::new();
    for line in all.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        assert_eq!(e["index"].as_u64().unwrap(), leaves.len() as u64);
        leaves.push(leaf(&e));
        if (leaves.len() as u64) <= size {
            theirs.push(leaf(&e));
        }
    }
    assert!(leaves.len() as u64 >= size);
    assert_eq!(
        theirs.root().as_bytes().to_vec(),
        B64.decode(cp["root_hash"].as_str().unwrap()).unwrap()
    );
    // The signature verifies with the server's published key over the signed note body.
    let (_, pk) = w.s.get("/v1/server/public-key", &w.s.admin).await;
    assert_eq!(pk["public_key"], cp["public_key"]);
    let origin = cp["note"].as_str().unwrap().lines().next().unwrap().to_string();
    let body = format!(
        "{origin}\n{size}\n{}\ntime {}\n",
        cp["root_hash"].as_str().unwrap(),
        cp["timestamp"].as_str().unwrap()
    );
    let vk = ed25519_dalek::VerifyingKey::from_bytes(
        &B64.decode(cp["public_key"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    )
    .unwrap();
    let sig = ed25519_dalek::Signature::from_bytes(
        &B64.decode(cp["signature"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    );
    vk.verify_strict(body.as_bytes(), &sig).unwrap();

    for idx in [0, size / 2, size - 1] {
        let (st, p) =
            w.s.get(
                &format!("/v1/audit/proofs/inclusion?index={idx}&tree_size={size}"),
                &w.s.admin,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{p}");
        assert_eq!(p["index"], idx);
        assert_eq!(p["tree_size"], size);
        assert_eq!(hashes(&p), theirs.prove_inclusion(idx as usize).as_bytes().to_vec());
        assert!(
            theirs
                .root()
                .verify_inclusion(&leaves[idx as usize], idx, &theirs.prove_inclusion(idx as usize))
                .is_ok()
        );
    }
    for old in [1, size / 3, size - 1] {
        let (st, p) =
            w.s.get(
                &format!("/v1/audit/proofs/consistency?from={old}&to={size}"),
                &w.s.admin,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{p}");
        assert_eq!(p["from"], old);
        assert_eq!(p["to"], size);
        assert_eq!(
            hashes(&p),
            theirs.prove_consistency((size - old) as usize).as_bytes().to_vec()
        );
    }

    // Checkpoints only grow, and a new one is consistent with the old.
    w.put("more").await;
    // Checkpoints are signed at most once a second, however often they are asked for.
    tokio::time::sleep(datapact_audit::log::MIN_CHECKPOINT_GAP).await;
    let (_, cp2) = w.s.get("/v1/audit/checkpoint", &w.s.admin).await;
    assert!(cp2["tree_size"].as_u64().unwrap() > size);
    let (st, list) = w.s.get("/v1/audit/checkpoints", &w.oa).await;
    assert_eq!(st, StatusCode::OK);
    let sizes: Vec<u64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tree_size"].as_u64().unwrap())
        .collect();
    assert!(sizes.contains(&size) && sizes.contains(&cp2["tree_size"].as_u64().unwrap()));
    assert!(sizes.windows(2).all(|p| p[0] < p[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_see_their_own_entries_only() {
    let a = world(TestServer::start().await, "enterprise").await;
    let b_org = a.s.org("advanced", "us").await;
    let b_admin = a.s.key(json!({"role": "org_admin", "org": b_org})).await;
    let b_tenant = a.s.tenant(&b_admin, &b_org, None).await;
    let a_auditor = a.s.key(json!({"role": "auditor", "org": a.org})).await;
    a.put("a's data").await;

    let mine = entries(&a.s, &a_auditor, "").await;
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|e| e["entry"]["org"] == a.org.as_str()), "{mine:?}");
    // Another organization's entries cannot be asked for, nor counted.
    for q in [
        format!("/v1/audit/entries?org={b_org}"),
        format!("/v1/audit/entries?tenant={b_tenant}"),
        format!("/v1/audit/export?org={b_org}"),
    ] {
        let (st, v) = a.s.get(&q, &a_auditor).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{q}: {v}");
    }
    let theirs = entries(&a.s, &b_admin, "").await;
    assert!(theirs.iter().all(|e| e["entry"]["org"] == b_org.as_str()));
    let their_index = theirs[0]["index"].as_u64().unwrap();
    let (st, _) =
        a.s.get(&format!("/v1/audit/proofs/inclusion?index={their_index}"), &a_auditor)
            .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "a proof of another organization's entry");
    let own_index = mine[0]["index"].as_u64().unwrap();
    let (st, p) =
        a.s.get(&format!("/v1/audit/proofs/inclusion?index={own_index}"), &a_auditor)
            .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    let (st, text) = export_text(&a.s, &a_auditor, "").await;
    assert_eq!(st, StatusCode::OK);
    // The export holds what the query saw, and the reads of the log made since (each is on
    // the record too).
    let not_reads = |v: &Value| v["entry"]["action"] != "audit_read";
    let exported: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        exported.iter().filter(|v| not_reads(v)).count(),
        mine.iter().filter(|v| not_reads(v)).count()
    );
    assert!(exported.len() > mine.len());
    assert!(!text.contains(&b_org) && !text.contains(&b_tenant));

    // Roles without audit access, and bad queries.
    let (st, _) = a.s.get("/v1/audit/entries", &a.svc).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let support = a.s.key(json!({"role": "support"})).await;
    let (st, _) = a.s.get("/v1/audit/checkpoint", &support).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    for (q, field) in [
        ("/v1/audit/entries?action=snooping", "action"),
        ("/v1/audit/entries?outcome=maybe", "outcome"),
        ("/v1/audit/entries?limit=0", "limit"),
        ("/v1/audit/entries?since=yesterday", "since"),
        (
            "/v1/audit/entries?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            "until",
        ),
        ("/v1/audit/entries?product=not-a-product", "product"),
        ("/v1/audit/entries?bogus=1", "bogus"),
        ("/v1/audit/export?format=xml", "format"),
        ("/v1/audit/proofs/inclusion?index=999999&tree_size=1000000", "tree_size"),
        ("/v1/audit/proofs/consistency?from=5&to=2", "from"),
        ("/v1/audit/proofs/inclusion?index=x", "index"),
    ] {
        let (st, v) = a.s.get(q, &a.s.admin).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
        assert_eq!(v["field"], field, "{q}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_support_access_is_marked_with_its_ticket() {
    let w = world(TestServer::start().await, "enterprise").await;
    let id = w.put("needs help").await;
    let support = w.s.key(json!({"role": "support"})).await;
    let (st, _) = w.read(&support, &id, "support_access").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "no grant yet");
    let (st, g) = w.s.grant(&w.oa, &w.tenant, "SR-4711", 24).await;
    assert_eq!(st, StatusCode::CREATED, "{g}");
    let (st, v) = w.read(&support, &id, "support_access").await;
    assert_eq!(st, StatusCode::OK, "{v}");

    let reads = entries(&w.s, &w.oa, "action=content_read&purpose=support_access").await;
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert_eq!(reads[0]["entry"]["outcome"], "denied");
    assert!(reads[0].get("support_access").is_none());
    assert_eq!(reads[1]["entry"]["outcome"], "allowed");
    assert_eq!(reads[1]["entry"]["actor"]["role"], "support");
    assert_eq!(reads[1]["support_access"]["ticket"], "SR-4711");
    assert_eq!(reads[1]["support_access"]["grant"], g["id"]);
    // The ticket text is shown from the grant; the hashed entry holds only the grant's id.
    assert!(!String::from_utf8_lossy(&leaf(&reads[1])).contains("SR-4711"));
    let (st, csv) = export_text(&w.s, &w.oa, "?format=csv&purpose=support_access").await;
    assert_eq!(st, StatusCode::OK);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("index,time,action,outcome"));
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[2].contains("SR-4711") && lines[2].contains(",support,"), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opt_out_requesters_are_correlated_not_stored() {
    let w = world(TestServer::start().await, "enterprise").await;
    for ticket in ["T-1", "T-2"] {
        let (st, v) =
            w.s.post(
                &format!("/v1/orgs/{}/opt-outs", w.org),
                &w.s.admin,
                json!({"ticket": ticket, "requested_by": "dpo@customer.example"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let es = entries(&w.s, &w.oa, "action=opt_out_record").await;
    assert_eq!(es.len(), 2);
    let c0 = es[0]["entry"]["correlation"].as_str().unwrap();
    assert!(c0.starts_with("hmac-sha256:"));
    assert_eq!(es[1]["entry"]["correlation"], c0, "the same requester correlates");
    assert!(!String::from_utf8_lossy(&leaf(&es[0])).contains("customer.example"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_whose_audit_append_fails_does_not_happen() {
    let w = world(TestServer::start().await, "enterprise").await;
    let id = w.put("before the fault").await;
    let (_, before) = w.s.get(&format!("/v1/tenants/{}/records", w.tenant), &w.oa).await;
    let (_, orgs_before) = w.s.get("/v1/orgs", &w.s.admin).await;

    // A real storage failure at the log's own database, injected from outside the server.
    let fault = common::inject_audit_fault(&w.s.dir).await;

    let (st, v) =
        w.s.post(
            &format!("/v1/tenants/{}/records", w.tenant),
            &w.svc,
            json!({"product": "ixp", "data_kind": "run_time", "content": "never stored"}),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("audit_unavailable"))
    );
    let (st, v) = w.read(&w.svc, &id, "service").await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "content is not returned unlogged");
    assert!(v.get("content").is_none());
    let (st, _) =
        w.s.call(
            Method::DELETE,
            &format!("/v1/tenants/{}/records/{id}", w.tenant),
            Some(&w.oa),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
    let (st, _) =
        w.s.post(
            "/v1/orgs",
            &w.s.admin,
            json!({"name": "Ghost", "plan": "free", "region": "eu"}),
        )
        .await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
    let (st, _) =
        w.s.post(
            "/v1/decisions",
            &w.svc,
            json!({"tenant": w.tenant, "product": "ixp", "purpose": "service"}),
        )
        .await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
    let (st, _) =
        w.s.post(&format!("/v1/tenants/{}/purge", w.tenant), &w.oa, json!({}))
            .await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);

    fault.clear().await;
    // Nothing happened: the record is still there and readable, no organization was added.
    let (_, after) = w.s.get(&format!("/v1/tenants/{}/records", w.tenant), &w.oa).await;
    assert_eq!(before["items"], after["items"]);
    let (_, orgs_after) = w.s.get("/v1/orgs", &w.s.admin).await;
    assert_eq!(orgs_before["items"], orgs_after["items"]);
    let (st, v) = w.read(&w.svc, &id, "service").await;
    assert_eq!((st, v["content"].as_str()), (StatusCode::OK, Some("before the fault")));
    // And the log is whole.
    let report = common::verify_log(&w.s.dir).await;
    assert!(report.entries > 0);
}

/// A caller's `x-request-id` never reaches the log: the entry carries the server's own id,
/// the one the response names, and the caller's value comes back to it separately.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_carry_the_servers_request_id_not_the_callers() {
    let w = world(TestServer::start().await, "enterprise").await;
    let planted = "0193aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee";
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/decisions", w.s.url))
        .bearer_auth(&w.svc)
        .header("x-request-id", planted)
        .json(&json!({"tenant": w.tenant, "product": "ixp", "purpose": "service"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let ours = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(ours, planted);
    let (_, es) = w.s.get("/v1/audit/entries?action=decision", &w.oa).await;
    let ids: Vec<&str> = es["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["entry"]["request_id"].as_str())
        .collect();
    assert!(!ids.contains(&planted), "{ids:?}");
    assert!(ids.contains(&ours.as_str()), "{ids:?}");
    w.s.stop().await;
}

/// Reads that are access too are on the record, where the customer's auditors look: key
/// listings, certificates, reads of the log itself, and each step of a re-encryption.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_that_are_access_are_audited() {
    let w = world(TestServer::start().await, "enterprise").await;
    w.put("one").await;
    let auditor = w.s.key(json!({"role": "auditor", "org": w.org})).await;
    assert_eq!(
        w.s.get(&format!("/v1/tenants/{}/keys", w.tenant), &w.oa).await.0,
        StatusCode::OK
    );
    assert_eq!(
        w.s.get(&format!("/v1/tenants/{}/certificates", w.tenant), &w.s.admin)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        w.s.get(&format!("/v1/audit/entries?org={}", w.org), &w.s.admin).await.0,
        StatusCode::OK
    );
    assert_eq!(export_text(&w.s, &w.oa, "").await.0, StatusCode::OK);
    let (st, rot) =
        w.s.post(&format!("/v1/tenants/{}/keys/rotate", w.tenant), &w.oa, json!({}))
            .await;
    assert_eq!(st, StatusCode::OK, "{rot}");
    let mut reencrypted = Vec::new();
    for _ in 0..200 {
        reencrypted = entries(&w.s, &auditor, "action=reencrypt").await;
        if !reencrypted.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(!reencrypted.is_empty(), "re-encryption steps are logged");
    assert_eq!(
        reencrypted[0]["entry"]["actor"]["role"],
        json!(null),
        "datapact's own work"
    );
    let keys = entries(&w.s, &auditor, "action=key_list").await;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["entry"]["actor"]["role"], "org_admin");
    assert_eq!(keys[0]["entry"]["resources"][0]["data_key"], 1);
    let certs = entries(&w.s, &auditor, "action=certificate_read").await;
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["entry"]["actor"]["role"], "platform_admin");
    let reads = entries(&w.s, &auditor, "action=audit_read").await;
    let roles: Vec<&str> = reads
        .iter()
        .filter_map(|e| e["entry"]["actor"]["role"].as_str())
        .collect();
    assert!(
        roles.contains(&"platform_admin") && roles.contains(&"org_admin") && roles.contains(&"auditor"),
        "the vendor's read of this organization's log shows too: {roles:?}"
    );
    w.s.stop().await;
}

/// Changing and deleting a record ask the same `service` decision as writing one: their
/// entries carry the purpose and the decision's grounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_and_deletes_are_decided_like_writes() {
    let w = world(TestServer::start().await, "enterprise").await;
    let id = w.put("before").await;
    let path = format!("/v1/tenants/{}/records/{id}", w.tenant);
    let (st, _) =
        w.s.call(Method::PATCH, &path, Some(&w.svc), Some(json!({"content": "after"})))
            .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = w.s.call(Method::DELETE, &path, Some(&w.svc), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    for action in ["record_modify", "record_delete"] {
        let es = entries(&w.s, &w.oa, &format!("action={action}")).await;
        assert_eq!(es.len(), 1, "{action}");
        assert_eq!(es[0]["entry"]["purpose"], "service", "{action}: {}", es[0]);
        let reasons = es[0]["entry"]["reasons"].as_array().unwrap();
        assert!(reasons.iter().any(|r| r == "service_declared"), "{action}: {reasons:?}");
    }
    w.s.stop().await;
}

/// `[audit] retain_days` on a server: its sweep drops whole bundles of entries older than that
/// (covered by a signed checkpoint), keeps their tiles, and the log still verifies. PostgreSQL
/// only; the embedded log refuses the setting (its file is the vendor's to archive).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_sweep_drops_audit_entries_past_their_retention() {
    use std::sync::Arc;

    use datapact_audit::{Action, Actor, Event, Outcome, PgAuditLog};
    use datapact_server::Config;

    if !common::postgres() {
        let err =
            Config::parse("[audit]\nretain_days = 1\n", "datapact.toml").expect_err("refused on the embedded backend");
        assert!(err.to_string().contains("audit.retain_days"), "{err}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.audit.retain_days = Some(1);
    config.audit.checkpoint_interval_seconds = 1;
    config.lifecycle.sweep_interval_seconds = 1;
    let s = TestServer::start_in(tmp.path(), config).await;
    let url = common::database_url(tmp.path()).unwrap();

    // A bundle's worth of entries and some, appended beside the server (as another node
    // would), the first bundle's made 400 days old.
    let bundle = datapact_audit::archive::DEFAULT_BUNDLE;
    let signer: Arc<dyn datapact_audit::CheckpointSigner> = Arc::new(ed25519_dalek::SigningKey::from_bytes(&[9; 32]));
    let other = Arc::new(PgAuditLog::connect(&url, "other", signer).await.unwrap());
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let log = Arc::clone(&other);
            tokio::spawn(async move {
                for _ in 0..(bundle + 1024) / 32 {
                    log.append(Event::new(Actor::system(), Action::RetentionSweep, Outcome::Allowed))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    other.close().await;
    // From the beginning of time: the listing's default window (the last 60 days) would hide
    // the backdated entries whether or not they were dropped.
    let first = || async {
        let (status, v) = s
            .get(
                "/v1/audit/entries?limit=1&since=1970-01-01T00:00:00Z",
                common::ADMIN_KEY,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v["items"][0]["index"].as_u64().unwrap()
    };
    assert_eq!(first().await, 0);
    common::pg_sql(
        &url,
        &format!("UPDATE audit_entries SET time = time - 400::bigint * 86400 * 1000000 WHERE idx < {bundle}"),
    )
    .await;

    // The sweep runs each second once a checkpoint covers the bundle: then the oldest entry
    // readable is the first after it.
    let mut oldest = 0;
    for _ in 0..300 {
        oldest = first().await;
        if oldest != 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(oldest, bundle, "the first bundle, and only it, is dropped");
    let report = common::verify_log(tmp.path()).await;
    assert!(report.entries >= bundle + 1024, "{report:?}");
    assert_eq!(report.archived, bundle, "{report:?}");
    s.stop().await;
}
