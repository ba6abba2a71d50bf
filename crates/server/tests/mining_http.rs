//! Communications Mining against the real server: datasets and their taxonomy, messages in
//! the vault, a model trained on one tenant's labeled design-time messages only, predictions,
//! validation, queues, streams read exactly once, human review, masking for labelers, and
//! deletion and purge reaching the models.

mod common;

use std::collections::BTreeSet;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CM: &str = "communications-mining";

struct Org {
    admin: String,
    svc: String,
    tenant: String,
    org: String,
}

async fn org(s: &TestServer, region: &str) -> Org {
    let org = s.org("enterprise", region).await;
    let admin = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&admin, &org, None).await;
    let svc = s.key(json!({"role": "service", "product": CM, "org": org})).await;
    Org {
        admin,
        svc,
        tenant,
        org,
    }
}

const LABELS: [&str; 4] = [
    "Billing > Refund",
    "Billing > Invoice",
    "Access > Login",
    "Access > Password",
];

/// Varied texts for each label (openings × subjects × endings), some with personal data.
fn text(label: usize, i: usize) -> String {
    let bodies: [&[&str]; 4] = [
        &[
            "I want my money back for the order",
            "please refund the double charge on my card",
            "the refund for my return has not arrived",
            "can you reverse this payment and refund me",
            "still waiting on the reimbursement you promised",
        ],
        &[
            "the invoice total looks wrong",
            "please send a copy of last month's invoice",
            "our invoice is missing the VAT number",
            "I need the invoice in PDF for accounting",
            "why does the bill show two line items",
        ],
        &[
            "I cannot log in to the portal",
            "sign in fails with an error since yesterday",
            "the login page keeps spinning",
            "my account is locked after signing in",
            "two-factor code never arrives when I log on",
        ],
        &[
            "how do I reset my password",
            "the password reset link has expired",
            "I forgot my password and need a new one",
            "password change is not accepted",
            "please help me set a new password",
        ],
    ];
    let openers = ["Hello,", "Hi team,", "Good morning,", "Dear support,", "Hey,", ""];
    let closers = [
        "Thanks.",
        "Regards, Maria Keller",
        "Call me on +44 20 7946 0958.",
        "Reply to jonas.weber@example.com please.",
        "Cheers",
        "Best, Tom",
        "",
    ];
    let b = bodies[label];
    format!(
        "{} {} (case {}) {}",
        openers[i % openers.len()],
        b[(i / 2) % b.len()],
        1000 + i * 7 + label,
        closers[(i / 3) % closers.len()]
    )
}

async fn dataset(s: &TestServer, o: &Org, ai: bool) -> String {
    let (st, d) = s
        .post(
            "/v1/mining/datasets",
            &o.admin,
            json!({"tenant": o.tenant, "name": "Support inbox", "ai_features": ai, "labels": LABELS}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    assert_eq!(
        d["labels"].as_array().unwrap().len(),
        6,
        "parents come with children: {d}"
    );
    d["id"].as_str().unwrap().to_string()
}

/// Uploads `n` labeled design-time messages per label, `unlabeled` unlabeled ones and
/// `runtime` run-time messages (labeled, to show run-time labels never train).
async fn fill(s: &TestServer, o: &Org, ds: &str, n: usize, unlabeled: usize, runtime: usize, tag: &str) {
    let mut msgs = Vec::new();
    for (l, label) in LABELS.iter().enumerate() {
        for i in 0..n {
            msgs.push(
                json!({"id": format!("{tag}-d-{l}-{i}"), "text": text(l, i), "subject": "Support request",
                "from": "maria.keller@example.com", "data_kind": "design_time", "labels": [label]}),
            );
        }
    }
    for i in 0..unlabeled {
        msgs.push(json!({"id": format!("{tag}-u-{i}"), "text": text(i % 4, i + 100), "data_kind": "design_time"}));
    }
    for i in 0..runtime {
        msgs.push(
            json!({"id": format!("{tag}-r-{i}"), "text": text(i % 4, i + 300), "data_kind": "run_time",
            "labels": [LABELS[(i + 1) % 4]]}),
        );
    }
    let (st, r) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/messages"),
            &o.svc,
            json!({"messages": msgs}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["created"].as_u64().unwrap() as usize, msgs.len(), "{r}");
    assert!(r["failed"].as_array().unwrap().is_empty(), "{r}");
}

#[tokio::test]
async fn a_dataset_trains_predicts_validates_and_queues_on_one_tenants_design_time_messages() {
    let s = TestServer::start().await;
    let a = org(&s, "eu").await;
    let b = org(&s, "eu").await;
    let ds = dataset(&s, &a, true).await;
    let other = dataset(&s, &b, true).await;
    // Before any model.
    let (st, e) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/predict"),
            &a.svc,
            json!({"texts": ["hi"]}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_model")),
        "{e}"
    );
    fill(&s, &a, &ds, 40, 30, 12, "a").await;
    fill(&s, &b, &other, 40, 0, 0, "b").await;

    let (st, t) = s
        .post(&format!("/v1/mining/datasets/{ds}/train"), &a.admin, json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert_eq!(t["model_version"], 1);
    let v = &t["validation"];
    // Exactly this tenant's labeled design-time messages: the run-time ones (labeled too)
    // and the other tenant's never train it.
    let trained = v["train_messages"].as_u64().unwrap() + v["held_out_messages"].as_u64().unwrap();
    assert_eq!(trained, 160, "{v}");
    assert!(v["accuracy"].as_f64().unwrap() > 0.8, "{v}");
    assert!(v["macro_f1"].as_f64().unwrap() > 0.6, "{v}");
    let labels = v["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 6, "{v}");
    for l in labels {
        for k in ["precision", "recall", "average_precision", "count"] {
            assert!(l.get(k).is_some(), "{l}");
        }
    }
    let rating = &v["rating"];
    assert!(rating["score"].as_u64().unwrap() <= 100);
    for k in ["balance", "coverage", "label_health"] {
        assert!(rating["factors"][k].as_u64().is_some(), "{rating}");
    }
    // The ledger holds the model with its lineage: this tenant's 160 messages.
    let ledger = t["ledger_model"].as_str().unwrap();
    let (st, m) = s.get(&format!("/v1/training/models/{ledger}"), &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["purpose"], "customer_model", "{m}");
    assert_eq!(m["datasets"][0]["included"], 160, "{m}");
    assert_eq!(m["debt"]["owed"], false, "{m}");

    // Predictions: sorted, every label at 0.05 or more.
    let (st, p) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/predict"),
            &a.svc,
            json!({"texts": ["please refund the charge on my card", "I forgot my password"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["model_version"], 1);
    let first = p["predictions"][0]["labels"].as_array().unwrap();
    let probs: Vec<f64> = first.iter().map(|l| l["probability"].as_f64().unwrap()).collect();
    assert!(probs.windows(2).all(|w| w[0] >= w[1]), "{p}");
    assert!(probs.iter().all(|x| *x >= 0.05));
    let names: BTreeSet<&str> = first.iter().take(2).map(|l| l["name"].as_str().unwrap()).collect();
    assert!(names.contains("Billing > Refund"), "{p}");
    assert_eq!(
        p["predictions"][1]["labels"][0]["name"]
            .as_str()
            .unwrap()
            .split(" > ")
            .next(),
        Some("Access"),
        "{p}"
    );

    // Validation endpoint.
    let (st, val) = s.get(&format!("/v1/mining/datasets/{ds}/validation"), &a.admin).await;
    assert_eq!(st, StatusCode::OK, "{val}");
    assert_eq!(val["model_version"], 1);
    assert_eq!(val["accuracy"], v["accuracy"]);

    // Queues: teach and shuffle hold unlabeled design-time messages, masked.
    for q in ["teach", "shuffle", "low_confidence", "check"] {
        let (st, page) = s
            .get(&format!("/v1/mining/datasets/{ds}/queues/{q}?limit=50"), &a.admin)
            .await;
        assert_eq!(st, StatusCode::OK, "{q}: {page}");
        for m in page["messages"].as_array().unwrap() {
            assert_eq!(m["masked"], true);
            assert_eq!(m["data_kind"], "design_time", "{m}");
            if q != "check" {
                assert_eq!(m["labeled"], false, "{q}: {m}");
                assert!(m["id"].as_str().unwrap().starts_with("a-u-"), "{q}: {m}");
            }
        }
        if q == "teach" || q == "shuffle" {
            assert_eq!(page["messages"].as_array().unwrap().len(), 30, "{q}");
        }
    }
    let (st, page) = s
        .get(&format!("/v1/mining/datasets/{ds}/queues/teach?limit=30"), &a.admin)
        .await;
    assert_eq!(st, StatusCode::OK);
    let margins: Vec<f64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let l = m["prediction"]["labels"].as_array().unwrap();
            let p = |i: usize| l.get(i).map_or(0.0, |x| x["probability"].as_f64().unwrap());
            p(0) - p(1)
        })
        .collect();
    assert!(margins.first() <= margins.last(), "least sure first: {margins:?}");
    let (st, e) = s.get(&format!("/v1/mining/datasets/{ds}/queues/nope"), &a.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{e}");

    // Labelers see personal data masked; revealing one message is a decision and an entry.
    let (st, page) = s
        .get(&format!("/v1/mining/datasets/{ds}/messages?limit=1000"), &a.admin)
        .await;
    assert_eq!(st, StatusCode::OK);
    let all = serde_json::to_string(&page).unwrap();
    assert!(
        !all.contains("@example.com") && !all.contains("Maria Keller"),
        "masked: {all}"
    );
    assert!(all.contains("<EMAIL_ADDRESS_1>"), "{all}");
    let (st, one) = s
        .get(
            &format!("/v1/mining/datasets/{ds}/messages/a-d-0-3?reveal=true"),
            &a.admin,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{one}");
    assert_eq!(one["masked"], false);
    assert_eq!(one["message"]["from"], "maria.keller@example.com");
    let (_, entries) = s
        .get("/v1/audit/entries?action=content_read&limit=1000", &s.admin)
        .await;
    let reads = entries["items"].as_array().unwrap();
    assert!(
        reads.iter().any(|e| e["entry"]["resources"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x.get("record").is_some()))),
        "a reveal names its record: {entries}"
    );

    // The other tenant's people see nothing of it.
    let (st, _) = s.get(&format!("/v1/mining/datasets/{ds}"), &b.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, list) = s.get("/v1/mining/datasets", &b.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["datasets"].as_array().unwrap().len(), 1, "{list}");

    // A message relabeled, then deleted: gone from listings, and the model owes it.
    let (st, m) = s
        .call(
            Method::PUT,
            &format!("/v1/mining/datasets/{ds}/messages/a-u-0/labels"),
            Some(&a.admin),
            Some(json!({"labels": ["Access > Login"], "by": "ana"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["labels"], json!(["Access", "Access > Login"]));
    assert_eq!(m["labeled_by"], "ana");
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/mining/datasets/{ds}/messages/a-d-0-3"),
            Some(&a.admin),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s
        .get(&format!("/v1/mining/datasets/{ds}/messages/a-d-0-3"), &a.admin)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, m) = s.get(&format!("/v1/training/models/{ledger}"), &s.admin).await;
    assert_eq!(m["debt"]["owed"], true, "{m}");
    assert_eq!(m["debt"]["items"][0]["reason"], "record_deleted", "{m}");
    // A retrain learns from what is there now and owes nothing.
    let (st, t2) = s
        .post(&format!("/v1/mining/datasets/{ds}/train"), &a.admin, json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{t2}");
    assert_eq!(t2["model_version"], 2);
    let trained =
        t2["validation"]["train_messages"].as_u64().unwrap() + t2["validation"]["held_out_messages"].as_u64().unwrap();
    assert_eq!(trained, 160, "one deleted, one labeled: {t2}");
    let (_, m2) = s
        .get(
            &format!("/v1/training/models/{}", t2["ledger_model"].as_str().unwrap()),
            &s.admin,
        )
        .await;
    assert_eq!(m2["debt"]["owed"], false, "{m2}");
    let (st, view) = s.get(&format!("/v1/mining/datasets/{ds}"), &a.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(view["model"]["version"], 2);
    assert_eq!(view["messages"]["design_time"], 40 * 4 + 30 - 1, "{view}");
    assert_eq!(view["messages"]["run_time"], 12, "{view}");
    s.stop().await;
}

#[tokio::test]
async fn streams_deliver_each_run_time_message_once_in_order_across_restarts_and_review_teaches() {
    let mut s = TestServer::start().await;
    let a = org(&s, "eu").await;
    let ds = dataset(&s, &a, true).await;
    fill(&s, &a, &ds, 30, 0, 9, "s").await;
    let (st, t) = s
        .post(&format!("/v1/mining/datasets/{ds}/train"), &a.admin, json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let (st, stream) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/streams"),
            &a.svc,
            json!({"name": "refunds", "thresholds": {"Billing > Refund": 0.5}}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{stream}");
    let (st, e) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/streams"),
            &a.svc,
            json!({"name": "refunds"}),
        )
        .await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::CONFLICT, Some("stream_exists")));
    let (st, e) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/streams"),
            &a.svc,
            json!({"name": "x", "thresholds": {"Nope": 0.5}}),
        )
        .await;
    assert_eq!(
        (st, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("thresholds.Nope")),
        "{e}"
    );

    let fetch = |limit: usize| format!("/v1/mining/datasets/{ds}/streams/refunds/fetch?limit={limit}");
    let (st, b1) = s.get(&fetch(5), &a.svc).await;
    assert_eq!(st, StatusCode::OK, "{b1}");
    let ids1: Vec<String> = b1["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids1, (0..5).map(|i| format!("s-r-{i}")).collect::<Vec<_>>());
    assert_eq!(b1["more"], true);
    for m in b1["messages"].as_array().unwrap() {
        assert_eq!(m["data_kind"], "run_time");
        assert!(m["prediction"]["labels"].as_array().is_some(), "{m}");
        let passed = m["passed"].as_array().unwrap();
        assert!(passed.iter().all(|p| p == "Billing > Refund"), "{m}");
    }
    // Reading again without advancing gives the same messages.
    let (_, again) = s.get(&fetch(5), &a.svc).await;
    assert_eq!(again["messages"], b1["messages"]);
    let (st, adv) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/streams/refunds/advance"),
            &a.svc,
            json!({"cursor": b1["cursor"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{adv}");
    // A restart keeps the cursor.
    let dir = s.dir.clone();
    let tmp = s.stop().await;
    s = TestServer::start_in(&dir, datapact_server::Config::default()).await;
    let (st, b2) = s.get(&fetch(100), &a.svc).await;
    assert_eq!(st, StatusCode::OK, "{b2}");
    let ids2: Vec<String> = b2["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids2, (5..9).map(|i| format!("s-r-{i}")).collect::<Vec<_>>());
    assert_eq!(b2["more"], false);
    let (st, e) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/streams/refunds/advance"),
            &a.svc,
            json!({"cursor": "1"}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("cursor_behind")),
        "{e}"
    );
    let (st, _) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/streams/refunds/advance"),
            &a.svc,
            json!({"cursor": b2["cursor"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, b3) = s.get(&fetch(100), &a.svc).await;
    assert!(b3["messages"].as_array().unwrap().is_empty(), "{b3}");

    // Messages that passed no threshold wait for review; a review labels them, and they
    // become design-time data for the next model.
    let (st, rq) = s
        .get(&format!("/v1/mining/datasets/{ds}/review?limit=100"), &a.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{rq}");
    let waiting = rq["messages"].as_array().unwrap();
    let passed_any: usize = b1["messages"]
        .as_array()
        .unwrap()
        .iter()
        .chain(b2["messages"].as_array().unwrap())
        .filter(|m| !m["passed"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(waiting.len(), 9 - passed_any, "{rq}");
    assert!(!waiting.is_empty());
    let first = waiting[0]["id"].as_str().unwrap().to_string();
    let (st, r) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/review/{first}"),
            &a.admin,
            json!({"labels": ["Access > Password"], "by": "reviewer-1"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["review"], "reviewed");
    assert_eq!(
        r["data_kind"], "run_time",
        "it stays run-time data (never the vendor's training)"
    );
    assert_eq!(r["labeled_by"], "reviewer-1");
    let (_, rq2) = s
        .get(&format!("/v1/mining/datasets/{ds}/review?limit=100"), &a.admin)
        .await;
    assert_eq!(rq2["messages"].as_array().unwrap().len(), waiting.len() - 1);
    let (st, t2) = s
        .post(&format!("/v1/mining/datasets/{ds}/train"), &a.admin, json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{t2}");
    let n =
        t2["validation"]["train_messages"].as_u64().unwrap() + t2["validation"]["held_out_messages"].as_u64().unwrap();
    assert_eq!(n, 121, "the reviewed message trains the next model: {t2}");
    // The review does not take it out of the stream: a reader from the start still gets it.
    let (st, _) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/streams"),
            &a.svc,
            json!({"name": "again"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, all) = s
        .get(
            &format!("/v1/mining/datasets/{ds}/streams/again/fetch?limit=100"),
            &a.svc,
        )
        .await;
    assert_eq!(all["messages"].as_array().unwrap().len(), 9, "{all}");
    // A cursor no fetch returned is refused.
    let (st, e) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/streams/again/advance"),
            &a.svc,
            json!({"cursor": "999999"}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_cursor")),
        "{e}"
    );
    s.stop().await;
    drop(tmp);
}

#[tokio::test]
async fn bad_input_is_named_and_a_partly_bad_upload_says_what_was_stored() {
    let s = TestServer::start().await;
    let a = org(&s, "eu").await;
    let ds = dataset(&s, &a, true).await;
    let up = |msgs: Value| {
        let ds = ds.clone();
        let svc = a.svc.clone();
        let s = &s;
        async move {
            s.post(
                &format!("/v1/mining/datasets/{ds}/messages"),
                &svc,
                json!({"messages": msgs}),
            )
            .await
        }
    };
    let (st, r) = up(json!([
        {"id": "ok-1", "text": "hello", "data_kind": "design_time"},
        {"id": "bad-label", "text": "hello", "data_kind": "design_time", "labels": ["Nope"]},
        {"id": "big", "text": "x".repeat(70 * 1024), "data_kind": "design_time"},
        {"id": "ok-1", "text": "twice", "data_kind": "design_time"},
        {"id": "", "text": "no id", "data_kind": "design_time"},
    ]))
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["created"], 1);
    let failed: Vec<(&str, &str)> = r["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        failed,
        vec![
            ("messages[1].labels[0]", "unknown_label"),
            ("messages[2].text", "message_too_large"),
            ("messages[3].id", "duplicate"),
            ("messages[4].id", "invalid_value"),
        ]
    );
    // All bad: 422 naming the first.
    let (st, e) = up(json!([{"id": "x", "text": "t", "data_kind": "design_time", "labels": ["Nope"]}])).await;
    assert_eq!(
        (st, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("messages[0].labels[0]")),
        "{e}"
    );
    // Same id as another kind.
    let (_, r) = up(json!([{"id": "ok-1", "text": "t", "data_kind": "run_time"}])).await;
    assert_eq!(r["failed"][0]["code"], "kind_change", "{r}");
    // An update keeps one message.
    let (_, r) = up(json!([{"id": "ok-1", "text": "hello again", "data_kind": "design_time", "labels": []}])).await;
    assert_eq!(
        (r["created"].as_u64(), r["updated"].as_u64()),
        (Some(0), Some(1)),
        "{r}"
    );
    let (st, e) = up(json!([])).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // Training with fewer than two labels in use says what is missing.
    let (st, e) = s
        .post(&format!("/v1/mining/datasets/{ds}/train"), &a.admin, json!({}))
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("too_few_labels")),
        "{e}"
    );
    up(json!([{"id": "l1", "text": "refund please", "data_kind": "design_time", "labels": ["Billing > Refund"]}]))
        .await;
    let (st, e) = s
        .post(&format!("/v1/mining/datasets/{ds}/train"), &a.admin, json!({}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("Billing"), "{e}");
    // Unknown things are 404.
    for path in [
        "/v1/mining/datasets/mds_nope".to_string(),
        format!("/v1/mining/datasets/{ds}/messages/nope"),
        format!("/v1/mining/datasets/{ds}/streams/nope/fetch"),
        format!("/v1/mining/datasets/{ds}/messages?label=Nope"),
    ] {
        let (st, e) = s.get(&path, &a.admin).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}: {e}");
    }
    // Labels: rename keeps assignments, removal drops them, bad names are named.
    let (st, d) = s
        .call(
            Method::PUT,
            &format!("/v1/mining/datasets/{ds}/labels"),
            Some(&a.admin),
            Some(json!({"labels": ["Money > Refund", "Access > Login"], "rename": {"Billing": "Money"}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    let names: Vec<&str> = d["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Access", "Access > Login", "Money", "Money > Refund"]);
    let (_, m) = s.get(&format!("/v1/mining/datasets/{ds}/messages/l1"), &a.admin).await;
    assert_eq!(m["labels"], json!(["Money", "Money > Refund"]), "{m}");
    // Moved out from under its parent: the message no longer has the old parent.
    let (st, d) = s
        .call(
            Method::PUT,
            &format!("/v1/mining/datasets/{ds}/labels"),
            Some(&a.admin),
            Some(json!({"labels": ["Refund", "Money", "Access > Login"], "rename": {"Money > Refund": "Refund"}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    let (_, m) = s.get(&format!("/v1/mining/datasets/{ds}/messages/l1"), &a.admin).await;
    assert_eq!(m["labels"], json!(["Refund"]), "{m}");
    let (_, page) = s
        .get(&format!("/v1/mining/datasets/{ds}/messages?label=Money"), &a.admin)
        .await;
    assert!(page["messages"].as_array().unwrap().is_empty(), "{page}");
    // Removing a child label leaves its messages with the parent it implied.
    let (st, _) = s
        .call(
            Method::PUT,
            &format!("/v1/mining/datasets/{ds}/messages/ok-1/labels"),
            Some(&a.admin),
            Some(json!({"labels": ["Access > Login"]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s
        .call(
            Method::PUT,
            &format!("/v1/mining/datasets/{ds}/labels"),
            Some(&a.admin),
            Some(json!({"labels": ["Refund", "Money", "Access"]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, m) = s
        .get(&format!("/v1/mining/datasets/{ds}/messages/ok-1"), &a.admin)
        .await;
    assert_eq!(m["labels"], json!(["Access"]), "{m}");
    let (st, e) = s
        .call(
            Method::PUT,
            &format!("/v1/mining/datasets/{ds}/labels"),
            Some(&a.admin),
            Some(json!({"labels": ["A >  > B"]})),
        )
        .await;
    assert_eq!(
        (st, e["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("labels")),
        "{e}"
    );
    // Roles: the vendor's support staff cannot list messages; auditors cannot label.
    let auditor = s.key(json!({"role": "auditor", "org": a.org})).await;
    let (st, _) = s.get(&format!("/v1/mining/datasets/{ds}/messages"), &auditor).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = s.get(&format!("/v1/mining/datasets/{ds}"), &auditor).await;
    assert_eq!(st, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn ai_features_off_sends_nothing_to_the_trust_layer_and_on_goes_through_it() {
    let (url, mock) = common::llm::mock().await;
    let toml = common::llm::provider_toml(
        "mock",
        "third_party",
        &url,
        "eu",
        &["gpt-4o-mini"],
        Some(std::path::Path::new("KEYFILE")),
    );
    let (s, _dir, org_id, oa, tenant, _) = common::llm::gateway(&toml).await;
    let svc = s.key(json!({"role": "service", "product": CM, "org": org_id})).await;
    let o = Org {
        admin: oa.clone(),
        svc: svc.clone(),
        tenant: tenant.clone(),
        org: org_id.clone(),
    };
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/v1/tenants/{tenant}/ai-settings"),
            Some(&oa),
            Some(json!({"genai_enabled": true})),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let off = dataset(&s, &o, false).await;
    let on = dataset(&s, &o, true).await;
    for ds in [&off, &on] {
        let (st, r) = s
            .post(
                &format!("/v1/mining/datasets/{ds}/messages"),
                &svc,
                json!({"messages": [{"id": "m1", "text": "Please refund order 77, Maria Keller", "thread": "t1", "data_kind": "design_time"},
                                    {"id": "m2", "text": "Any news on the refund?", "thread": "t1", "data_kind": "design_time"}]}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
    }
    let (st, e) = s
        .post(
            &format!("/v1/mining/datasets/{off}/messages/m1/summarize"),
            &svc,
            json!({}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("ai_features_disabled")),
        "{e}"
    );
    let (st, e) = s
        .post(
            &format!("/v1/mining/datasets/{off}/labels/describe"),
            &svc,
            json!({"label": "Billing"}),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("ai_features_disabled")),
        "{e}"
    );
    assert_eq!(
        mock.calls.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing reached the provider"
    );
    let (st, r) = s
        .post(
            &format!("/v1/mining/datasets/{on}/messages/m1/summarize"),
            &svc,
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(mock.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The thread went, its personal data masked by the trust layer.
    let seen = format!("{:?}", mock.seen().bodies);
    assert!(seen.contains("Any news on the refund"), "{seen}");
    assert!(!seen.contains("Maria Keller"), "{seen}");
    s.stop().await;
}

/// An organization created with `flags` (`baa`, `contract_forbids_training`), its admin, a
/// tenant and the product's service key.
async fn org_with(s: &TestServer, flags: Value) -> Org {
    let mut body = flags;
    body["name"] = json!("Org");
    body["plan"] = json!("enterprise");
    body["region"] = json!("eu");
    let (st, o) = s.post("/v1/orgs", &s.admin, body).await;
    assert_eq!(st, StatusCode::CREATED, "{o}");
    let org = o["id"].as_str().unwrap().to_string();
    let admin = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&admin, &org, None).await;
    let svc = s.key(json!({"role": "service", "product": CM, "org": org})).await;
    Org {
        admin,
        svc,
        tenant,
        org,
    }
}

fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for e in walk(dir) {
        if let Ok(bytes) = std::fs::read(&e)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            hits.push(e.display().to_string());
        }
    }
    hits
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prelabeler_learns_only_from_tenants_that_allow_it_serves_every_tenant_and_a_purge_shreds_models() {
    let s = TestServer::start().await;
    let a = org_with(&s, json!({})).await;
    let b = org_with(&s, json!({"baa": true})).await;
    let c = org_with(&s, json!({})).await;
    let (st, v) = s
        .post(
            &format!("/v1/orgs/{}/opt-outs", c.org),
            &s.admin,
            json!({"ticket": "SUP-1", "requested_by": "dpo@example.com", "products": [CM]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let mut sets = Vec::new();
    for (o, tag) in [(&a, "pa"), (&b, "pb"), (&c, "pc")] {
        let ds = dataset(&s, o, true).await;
        fill(&s, o, &ds, 20, 0, 0, tag).await;
        let (st, r) = s
            .post(
                &format!("/v1/mining/datasets/{ds}/messages"),
                &o.svc,
                json!({"messages": [{"id": "canary", "text": format!("CANARY-{tag} please refund"), "data_kind": "design_time",
                    "labels": ["Billing > Refund"]}]}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        sets.push(ds);
    }
    // The vendor's training dataset of the product: the BAA and the opt-out keep B and C out.
    let (st, created) = s
        .post(
            "/v1/training/datasets",
            &s.admin,
            json!({"name": "prelabel", "product": CM, "purpose": "vendor_training", "region": "eu"}),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{created}");
    let vid = created["id"].as_str().unwrap().to_string();
    let mut manifest = Value::Null;
    for _ in 0..600 {
        let (_, m) = s.get(&format!("/v1/training/datasets/{vid}"), &s.admin).await;
        if m["status"] == "ready" {
            manifest = m;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(manifest["status"], "ready", "{manifest}");
    assert_eq!(manifest["counts"]["excluded"]["baa_in_place"], 81, "{manifest}");
    assert_eq!(manifest["counts"]["excluded"]["opted_out"], 81, "{manifest}");
    let (st, p) = s.post("/v1/mining/prelabeler", &s.admin, json!({"dataset": vid})).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["examples"], 81, "only A's labeled messages: {p}");
    assert_eq!(p["tenants"], 1, "{p}");
    let names: BTreeSet<&str> = p["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["access", "billing", "invoice", "login", "password", "refund"])
    );
    // Only the vendor's platform admins train it.
    let (st, _) = s.post("/v1/mining/prelabeler", &a.admin, json!({"dataset": vid})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // C (opted out) still gets pre-labels on a new dataset without a model.
    let fresh = dataset(&s, &c, true).await;
    let (st, _) = s
        .post(
            &format!("/v1/mining/datasets/{fresh}/messages"),
            &c.svc,
            json!({"messages": [{"id": "q1", "text": "please refund the double charge on my card", "data_kind": "design_time"}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, page) = s
        .get(&format!("/v1/mining/datasets/{fresh}/queues/shuffle"), &c.admin)
        .await;
    let pre = &page["messages"][0]["prelabels"];
    assert_eq!(pre[0]["name"], "Billing > Refund", "{page}");

    // A opts out now: the pre-labeler owes its data.
    let (st, _) = s
        .post(
            &format!("/v1/orgs/{}/opt-outs", a.org),
            &s.admin,
            json!({"ticket": "SUP-2", "requested_by": "dpo@example.com", "products": [CM]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (_, m) = s
        .get(
            &format!("/v1/training/models/{}", p["ledger_model"].as_str().unwrap()),
            &s.admin,
        )
        .await;
    assert_eq!(m["debt"]["owed"], true, "{m}");
    assert!(
        m["debt"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["reason"] == "opted_out"),
        "{m}"
    );

    // A's own model (trained as a job, whose document holds the validation's label names),
    // then a purge of A's tenant: messages, labels and the model go, the certificate says
    // so, and no plaintext of A is left on disk.
    let (st, t, location) = train_async(&s, &a.admin, &sets[0], true).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{t}");
    let location = location.unwrap();
    let done = job_end(&s, &a.admin, &location).await;
    assert_eq!(done["status"], "done", "{done}");
    let (st, purged) = s
        .post(&format!("/v1/tenants/{}/purge", a.tenant), &a.admin, json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{purged}");
    let downstream = purged["certificate"]["statement"]["training"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        downstream
            .iter()
            .any(|d| d["kind"] == "model" && d["state"] == "shredded" && d["name"].as_str().unwrap().starts_with(CM)),
        "the customer's model is shredded: {purged}"
    );
    let (st, _) = s.get(&format!("/v1/mining/datasets/{}", sets[0]), &a.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .post(
            &format!("/v1/mining/datasets/{}/predict", sets[0]),
            &a.svc,
            json!({"texts": ["x"]}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    if common::database_url(&s.dir).is_none() {
        for canary in [&b"CANARY-pa"[..], b"Billing > Refund\",\"text"] {
            let hits = files_containing(&s.dir, canary);
            assert!(hits.is_empty(), "plaintext on disk in {hits:?}");
        }
        // The job's document keeps no label name of the tenant (its validation went).
        let db = rusqlite::Connection::open(s.dir.join("datapact.db")).unwrap();
        let (status, doc): (String, String) = db
            .query_row(
                "SELECT status, doc FROM training_docs WHERE kind = 'mining_train_job' AND id = ?1",
                [done["id"].as_str().unwrap()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(status, "purged");
        assert!(!doc.contains("Billing"), "{doc}");
    }
    // B's and C's datasets are untouched.
    let (st, v) = s.get(&format!("/v1/mining/datasets/{}", sets[1]), &b.admin).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["messages"]["design_time"], 81);
    s.stop().await;
}

/// Waits (up to a minute) for a training job to end; its last view.
async fn job_end(s: &TestServer, key: &str, location: &str) -> Value {
    for _ in 0..600 {
        let (st, j) = s.get(location, key).await;
        assert_eq!(st, StatusCode::OK, "{j}");
        if j["status"] == "done" || j["status"] == "failed" {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the training job did not end");
}

/// POSTs a training, `Prefer: respond-async` when `prefer`; the status, the body and the
/// `Location` header.
async fn train_async(s: &TestServer, key: &str, ds: &str, prefer: bool) -> (StatusCode, Value, Option<String>) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/v1/mining/datasets/{ds}/train", s.url))
        .bearer_auth(key)
        .json(&json!({}));
    if prefer {
        req = req.header("prefer", "respond-async");
    }
    let resp = req.send().await.unwrap();
    let st = resp.status();
    let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    (st, resp.json().await.unwrap(), location)
}

/// A training past `[mining] sync_train_max` answers 202 with a job the worker runs; the job
/// ends with what a 200 would have said, and the model serves. `Prefer: respond-async` asks
/// for a job whatever the size; a training that cannot start is refused before it is queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_training_past_the_sync_limit_runs_as_a_job_and_ends_as_a_request_would() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = datapact_server::Config::default();
    config.mining.sync_train_max = 50;
    config.lifecycle.tick_millis = 100;
    let s = TestServer::start_in(tmp.path(), config).await;
    let a = org(&s, "eu").await;
    let b = org(&s, "eu").await;
    let ds = dataset(&s, &a, true).await;
    fill(&s, &a, &ds, 20, 10, 0, "a").await;
    let (st, job, location) = train_async(&s, &a.admin, &ds, false).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["labeled_messages"], 80, "{job}");
    assert!(job["id"].as_str().unwrap().starts_with("mtj_"), "{job}");
    assert!(
        job.get("tenant").is_none() && job.get("requested_by").is_none(),
        "{job}"
    );
    let location = location.expect("a Location header");
    assert_eq!(
        location,
        format!("/v1/mining/datasets/{ds}/train/jobs/{}", job["id"].as_str().unwrap())
    );
    let done = job_end(&s, &a.admin, &location).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["model_version"], 1, "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    let v = &done["validation"];
    assert_eq!(
        v["train_messages"].as_u64().unwrap() + v["held_out_messages"].as_u64().unwrap(),
        80,
        "{v}"
    );
    assert!(done["ledger_model"].as_str().unwrap().starts_with("mdl_"), "{done}");
    // The model serves, and its queues hold predictions.
    let (st, p) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/predict"),
            &a.svc,
            json!({"texts": ["please refund the double charge on my card"]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["model_version"], 1);
    assert!(
        p["predictions"][0]["labels"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("Billing"),
        "{p}"
    );
    let (st, q) = s
        .get(&format!("/v1/mining/datasets/{ds}/queues/teach?limit=5"), &a.admin)
        .await;
    assert_eq!(st, StatusCode::OK, "{q}");
    // Nobody else reads the job: another organization, another dataset's path, no such job.
    let other = dataset(&s, &b, true).await;
    let (st, _) = s.get(&location, &b.admin).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s
        .get(
            &format!("/v1/mining/datasets/{other}/train/jobs/{}", job["id"].as_str().unwrap()),
            &b.admin,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, e) = s
        .get(&format!("/v1/mining/datasets/{ds}/train/jobs/mtj_nothing"), &a.admin)
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{e}"
    );
    // Small, but asked to run as a job; asked twice at once, one job answers both.
    let (first, second) = tokio::join!(train_async(&s, &a.admin, &ds, true), train_async(&s, &a.svc, &ds, true));
    assert_eq!(first.0, StatusCode::ACCEPTED, "{}", first.1);
    assert_eq!(second.0, StatusCode::ACCEPTED, "{}", second.1);
    assert_eq!(first.1["id"], second.1["id"], "one job per dataset at a time");
    let done2 = job_end(&s, &a.admin, &first.2.unwrap()).await;
    assert_eq!(done2["model_version"], 2, "{done2}");
    assert!(
        done2.get("node").is_none(),
        "no internal node name in the view: {done2}"
    );
    // One label in use: refused now, nothing queued.
    let (st, d) = s
        .post(
            "/v1/mining/datasets",
            &b.admin,
            json!({"tenant": b.tenant, "name": "one label", "labels": ["A", "B"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    let one = d["id"].as_str().unwrap();
    let msgs: Vec<Value> = (0..10)
        .map(|i| json!({"id": format!("m{i}"), "text": text(0, i), "data_kind": "design_time", "labels": ["A"]}))
        .collect();
    let (st, r) = s
        .post(
            &format!("/v1/mining/datasets/{one}/messages"),
            &b.svc,
            json!({"messages": msgs}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let (st, e, _) = train_async(&s, &b.admin, one, true).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("too_few_labels")),
        "{e}"
    );
    assert!(e["detail"].as_str().unwrap().contains("only A is in use"), "{e}");
    // Each queued training is on the record.
    let (st, audit) = s.get("/v1/audit/entries?action=mining_train&limit=100", &s.admin).await;
    assert_eq!(st, StatusCode::OK, "{audit}");
    let entries = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entry"]["resources"].to_string().contains(&ds))
        .count();
    assert!(entries >= 2, "{audit}");
    s.stop().await;
}

/// The words of the test's messages, for a tiny embedding model's vocabulary.
fn vocabulary() -> Vec<String> {
    let mut words: BTreeSet<String> = BTreeSet::new();
    for l in 0..4 {
        for i in 0..40 {
            for w in text(l, i).split(|c: char| !c.is_alphanumeric()) {
                if !w.is_empty() {
                    words.insert(w.to_lowercase());
                }
            }
        }
    }
    words.into_iter().collect()
}

/// A deployment that runs a sentence-embedding model (`[mining] embedder`; here a tiny BERT
/// the test writes, nothing downloaded) trains models whose features include its vectors;
/// such a model never predicts where that embedder does not run (409, train again), and
/// messages keep being stored meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedder_joins_the_model_and_a_model_never_runs_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let model_dir = tmp.path().join("embedder");
    let words = vocabulary();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    datapact_embedding::tiny::write(&model_dir, &refs, 16).unwrap();
    let data = tmp.path().join("data");
    let mut with = datapact_server::Config::default();
    with.mining.embedder = Some(model_dir.clone());
    let s = TestServer::start_in(&data, with.clone()).await;
    let a = org(&s, "eu").await;
    let ds = dataset(&s, &a, true).await;
    fill(&s, &a, &ds, 20, 0, 0, "a").await;
    let (st, t) = s
        .post(&format!("/v1/mining/datasets/{ds}/train"), &a.admin, json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let (st, view) = s.get(&format!("/v1/mining/datasets/{ds}"), &a.admin).await;
    assert_eq!(st, StatusCode::OK, "{view}");
    let embedder = view["model"]["embedder"].as_str().unwrap_or_default().to_string();
    assert!(embedder.starts_with("bert-mean-16:"), "{view}");
    let predict = |s: &TestServer| {
        let (path, key) = (format!("/v1/mining/datasets/{ds}/predict"), a.svc.clone());
        let url = s.url.clone();
        async move {
            let resp = reqwest::Client::new()
                .post(format!("{url}{path}"))
                .bearer_auth(key)
                .json(&json!({"texts": ["how do I reset my password", "the invoice total looks wrong"]}))
                .send()
                .await
                .unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        }
    };
    let (st, p) = predict(&s).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert!(
        p["predictions"][0]["labels"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("Access"),
        "{p}"
    );
    assert!(
        p["predictions"][1]["labels"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("Billing"),
        "{p}"
    );
    s.stop().await;

    // The same data without the embedder: the model refuses rather than guess.
    let s = TestServer::start_in(&data, datapact_server::Config::default()).await;
    let (st, e) = predict(&s).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("model_needs_embedder")),
        "{e}"
    );
    assert!(e["detail"].as_str().unwrap().contains(&embedder), "{e}");
    // Messages are still stored; training again makes a model of n-grams alone.
    let (st, r) = s
        .post(
            &format!("/v1/mining/datasets/{ds}/messages"),
            &a.svc,
            json!({"messages": [{"id": "late", "text": text(1, 3), "data_kind": "design_time"}]}),
        )
        .await;
    assert_eq!((st, r["created"].as_u64()), (StatusCode::OK, Some(1)), "{r}");
    let (st, t) = s
        .post(&format!("/v1/mining/datasets/{ds}/train"), &a.admin, json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let (_, view) = s.get(&format!("/v1/mining/datasets/{ds}"), &a.admin).await;
    assert!(view["model"].get("embedder").is_none(), "{view}");
    let (st, p) = predict(&s).await;
    assert_eq!(st, StatusCode::OK, "{p}");
    s.stop().await;

    // An embedder directory that is not a model: the server does not start, and says which
    // file is wrong.
    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("config.json"), "{}").unwrap();
    let mut bad = datapact_server::Config::default();
    bad.mining.embedder = Some(broken);
    let opts = datapact_server::ServerOptions {
        data_dir: tmp.path().join("other"),
        config: bad,
        catalog: datapact_governance::Catalog::builtin().unwrap(),
        admin_key: Some(common::ADMIN_KEY.to_string()),
        master: datapact_vault::MasterSecret::KeyFile(tmp.path().join("other/master.key")),
    };
    let e = datapact_server::open(opts).await.err().expect("refused");
    let msg = e.to_string();
    assert!(
        msg.contains("[mining] embedder") && msg.contains("config.json"),
        "{msg}"
    );
}

/// Uploads of the same new message ids at the same time: each message is created once and
/// every other upload of it is an update; no upload fails for having raced another.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_uploads_of_the_same_new_ids_create_once_and_update_the_rest() {
    let s = TestServer::start().await;
    let a = org(&s, "eu").await;
    let ds = dataset(&s, &a, true).await;
    let msgs: Vec<Value> = (0..60)
        .map(|i| json!({"id": format!("same-{i}"), "text": text(i % 4, i), "data_kind": "design_time"}))
        .collect();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (url, key, body) = (s.url.clone(), a.svc.clone(), json!({"messages": msgs.clone()}));
        let path = format!("/v1/mining/datasets/{ds}/messages");
        tasks.push(tokio::spawn(async move {
            let resp = reqwest::Client::new()
                .post(format!("{url}{path}"))
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        }));
    }
    let (mut created, mut updated) = (0, 0);
    for t in tasks {
        let (st, r) = t.await.unwrap();
        assert_eq!(st, StatusCode::OK, "{r}");
        created += r["created"].as_u64().unwrap();
        updated += r["updated"].as_u64().unwrap();
    }
    assert_eq!(created, 60, "each message created once");
    assert_eq!(updated, 7 * 60, "every other upload of it an update");
    let (st, view) = s.get(&format!("/v1/mining/datasets/{ds}"), &a.admin).await;
    assert_eq!(st, StatusCode::OK, "{view}");
    assert_eq!(view["messages"]["design_time"], 60, "{view}");
    s.stop().await;
}
