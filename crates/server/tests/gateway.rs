//! The AI trust layer's OpenAI-compatible surface against a real server: who may call, for
//! which tenant, and which models their policy and decisions allow.

mod common;

use common::TestServer;
use common::llm::{mock_provider, provider_toml};
use datapact_server::Config;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn models(s: &TestServer, key: &str, tenant: Option<&str>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .get(format!("{}/v1/models", s.url))
        .bearer_auth(key);
    if let Some(t) = tenant {
        req = req.header("x-datapact-tenant", t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Replaces the organization's AI settings as its admin.
async fn put_org_ai(s: &TestServer, oa: &str, org: &str, body: Value) {
    let (st, v) = s
        .call(
            reqwest::Method::PUT,
            &format!("/v1/orgs/{org}/ai-settings"),
            Some(oa),
            Some(body),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

fn ids(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_follow_region_decisions_and_policy() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("openai.key");
    std::fs::write(&key_file, "sk-test\n").unwrap();
    let key = Some(key_file.as_path());
    let toml = [
        provider_toml(
            "openai-eu",
            "third_party",
            "https://example.invalid/v1",
            "eu",
            &["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"],
            key,
        ),
        provider_toml(
            "openai-us",
            "third_party",
            "https://example.invalid/v1",
            "us",
            &["o3-mini"],
            key,
        ),
        provider_toml(
            "local",
            "self_hosted",
            "http://127.0.0.1:9/v1",
            "eu",
            &["llama3.1"],
            None,
        ),
    ]
    .concat();
    let config = Config::parse(&toml, "test.toml").unwrap();
    let s = TestServer::start_in(&dir.path().join("data"), config).await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let svc = s.key(json!({"role": "service", "product": "ixp", "org": org})).await;

    // A key bound to a product but not a tenant names the tenant in a header.
    let (st, v) = models(&s, &svc, None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["code"], "tenant_required");
    assert_eq!(v["error"]["param"], "x-datapact-tenant");
    assert_eq!(v["error"]["type"], "invalid_request_error");

    // In the tenant's region only: the us provider is not listed; the self-hosted one is.
    let (st, v) = models(&s, &svc, Some(&tenant)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["object"], "list");
    assert_eq!(ids(&v), ["gpt-4o", "gpt-4o-mini", "llama3.1", "text-embedding-3-small"]);
    let m = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "llama3.1")
        .unwrap();
    assert_eq!(
        (m["object"].as_str(), m["owned_by"].as_str()),
        (Some("model"), Some("local"))
    );

    // The organization's model policy filters the list.
    put_org_ai(
        &s,
        &oa,
        &org,
        json!({"models": {"deny": ["gpt-4o", "openai-eu/text-embedding-*"]}}),
    )
    .await;
    let (_, v) = models(&s, &svc, Some(&tenant)).await;
    assert_eq!(ids(&v), ["gpt-4o-mini", "llama3.1"]);

    // Generative AI off: third-party models go; the customer's own model stays (`service`).
    put_org_ai(&s, &oa, &org, json!({"genai_enabled": false})).await;
    let (_, v) = models(&s, &svc, Some(&tenant)).await;
    assert_eq!(ids(&v), ["llama3.1"]);

    // Keys that may not call, and tenants out of scope, in OpenAI's error shape.
    let other_org = s.org("enterprise", "eu").await;
    let other = s
        .key(json!({"role": "service", "product": "ixp", "org": other_org}))
        .await;
    let (st, v) = models(&s, &other, Some(&tenant)).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("tenant_not_found"))
    );
    let (st, v) = models(&s, &oa, Some(&tenant)).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_a_service_key"))
    );
    let (st, v) = models(&s, "dpk_nope", Some(&tenant)).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_api_key"))
    );
    let (st, v) = models(&s, &svc, Some("not-a-tenant")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("tenant_not_found"))
    );
    let bound = s
        .key(json!({"role": "service", "product": "ixp", "org": org, "tenant": tenant}))
        .await;
    let (st, v) = models(&s, &bound, None).await;
    assert_eq!((st, ids(&v)), (StatusCode::OK, vec!["llama3.1".to_string()]));
    let other_tenant = s.tenant(&oa, &org, None).await;
    let (st, v) = models(&s, &bound, Some(&other_tenant)).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("tenant_out_of_scope"))
    );
}

async fn chat(s: &TestServer, key: &str, tenant: &str, body: Value) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", s.url))
        .bearer_auth(key)
        .header("x-datapact-tenant", tenant)
        .header("x-datapact-feature", "Summarize")
        .header("x-datapact-user", "maria.garcia@customer.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completions_mask_forward_restore_and_audit() {
    let (upstream, seen) = mock_provider().await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("openai.key");
    std::fs::write(&key_file, "sk-test-secret\n").unwrap();
    let toml = provider_toml(
        "openai-eu",
        "third_party",
        &upstream,
        "eu",
        &["gpt-4o-mini", "gpt-4o", "broken", "fail"],
        Some(&key_file),
    );
    let config = Config::parse(&toml, "test.toml").unwrap();
    let s = TestServer::start_in(&dir.path().join("data"), config).await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let svc = s.key(json!({"role": "service", "product": "ixp", "org": org})).await;
    let ask = |content: &str, model: &str| json!({"model": model, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": content}]});

    // Masked on the way out, restored on the way back, nothing kept by the provider.
    let (st, v) = chat(
        &s,
        &svc,
        &tenant,
        ask("Mail ann@example.com about Maria Garcia.", "gpt-4o-mini"),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "You said: Mail ann@example.com about Maria Garcia."
    );
    {
        let seen = seen.lock().unwrap();
        let sent = &seen.bodies[0];
        assert_eq!(
            sent["messages"][1]["content"],
            "Mail <EMAIL_ADDRESS_1> about <PERSON_1>."
        );
        assert_eq!(sent["store"], false);
        assert_eq!(seen.auth[0], "Bearer sk-test-secret");
        assert!(!sent.to_string().contains("ann@example.com"));
    }

    // The audit entry says who, what, where, how it ended and what it cost; never the content.
    let (_, es) = s
        .get(&format!("/v1/audit/entries?action=llm_call&tenant={tenant}"), &oa)
        .await;
    let items = es["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{es}");
    let e = &items[0]["entry"];
    assert_eq!(e["purpose"], "genai");
    assert_eq!(e["region"], "eu");
    assert_eq!(e["outcome"], "allowed");
    assert_eq!(e["call"]["status"], "masked");
    assert_eq!(e["call"]["model"], "gpt-4o-mini");
    assert_eq!(e["call"]["provider"], "openai-eu");
    assert_eq!(e["call"]["feature"], "summarize");
    assert_eq!(
        (e["call"]["prompt_tokens"].as_u64(), e["call"]["total_tokens"].as_u64()),
        (Some(12), Some(17))
    );
    assert_eq!(e["call"]["pii_types"], json!(["EMAIL_ADDRESS", "PERSON"]));
    assert!(e["call"]["overhead_us"].as_u64().unwrap() <= e["call"]["latency_ms"].as_u64().unwrap() * 1000 + 1000);
    assert!(!es.to_string().contains("ann@example.com") && !es.to_string().contains("Garcia"));
    // The end user is a keyed hash: the same user correlates, the log never says who.
    let user = e["correlation"].as_str().unwrap();
    assert!(user.len() >= 32 && !user.contains("maria"), "{user}");

    // Refusals: PII blocked, model not allowed, generative AI off; each one recorded.
    put_org_ai(&s, &oa, &org, json!({"pii": "block", "models": {"deny": ["gpt-4o"]}})).await;
    let (st, v) = chat(&s, &svc, &tenant, ask("Call me on +44 20 7946 0958", "gpt-4o-mini")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("pii_blocked")),
        "{v}"
    );
    assert!(v["error"]["message"].as_str().unwrap().contains("PHONE_NUMBER"));
    assert!(!v.to_string().contains("7946"), "the refusal names types, not values");
    let (st, v) = chat(&s, &svc, &tenant, ask("Hello", "gpt-4o")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("model_not_allowed"))
    );
    put_org_ai(&s, &oa, &org, json!({"genai_enabled": false})).await;
    let (st, v) = chat(&s, &svc, &tenant, ask("Hello", "gpt-4o-mini")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("blocked_by_policy")),
        "{v}"
    );
    assert_eq!(v["error"]["reasons"], json!(["genai_disabled"]));
    put_org_ai(&s, &oa, &org, json!({"pii": "off"})).await;

    // Provider failures are the client's clear error, and the record says so.
    let (st, v) = chat(&s, &svc, &tenant, ask("Hello", "broken")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::BAD_GATEWAY, Some("upstream_invalid_response"))
    );
    let (st, v) = chat(&s, &svc, &tenant, ask("Hello", "fail")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::BAD_GATEWAY, Some("upstream_error"))
    );
    let (st, v) = chat(&s, &svc, &tenant, ask("Hello", "nope")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("model_not_found"))
    );
    let (st, v) = chat(
        &s,
        &svc,
        &tenant,
        json!({"model": "gpt-4o-mini", "messages": [], "stream": true}),
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("streaming_not_supported"))
    );
    // Larger than the gateway's own limit (4 MiB), not the API's 64 KiB: refused in OpenAI's shape.
    let big = "x".repeat(100 * 1024);
    let (st, v) = chat(&s, &svc, &tenant, ask(&big, "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK, "a 100 KiB prompt is fine: {v}");
    let huge = "x".repeat(5 * 1024 * 1024);
    let (st, v) = chat(&s, &svc, &tenant, ask(&huge, "gpt-4o-mini")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("request_too_large"))
    );
    let (_, es) = s
        .get(&format!("/v1/audit/entries?action=llm_call&tenant={tenant}"), &oa)
        .await;
    let users: std::collections::BTreeSet<&str> = es["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["entry"]["correlation"].as_str())
        .collect();
    assert_eq!(users.len(), 1, "one user, one hash: {users:?}");
    let statuses: Vec<&str> = es["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["entry"]["call"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["masked", "blocked", "blocked", "blocked", "error", "error", "allowed"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_take_the_same_path() {
    let (upstream, seen) = mock_provider().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = provider_toml("local", "self_hosted", &upstream, "eu", &["nomic-embed-text"], None);
    let s = TestServer::start_in(&dir.path().join("data"), Config::parse(&toml, "test.toml").unwrap()).await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let svc = s
        .key(json!({"role": "service", "product": "ixp", "org": org, "tenant": tenant}))
        .await;
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/embeddings", s.url))
        .bearer_auth(&svc)
        .json(&json!({"model": "nomic-embed-text", "input": ["Ticket from ann@example.com", "no personal data"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["data"][0]["embedding"], json!([0.25, -0.5]));
    let sent = seen.lock().unwrap().bodies[0].clone();
    assert_eq!(
        sent["input"],
        json!(["Ticket from <EMAIL_ADDRESS_1>", "no personal data"])
    );
    assert!(sent.get("store").is_none(), "`store` is a chat parameter");
    let (_, es) = s
        .get(&format!("/v1/audit/entries?action=llm_call&tenant={tenant}"), &oa)
        .await;
    let e = &es["items"][0]["entry"];
    assert_eq!(e["purpose"], "service", "a self-hosted model is the service, not genai");
    assert_eq!(e["call"]["status"], "masked");
    assert_eq!(e["call"]["prompt_tokens"], 3);
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/embeddings", s.url))
        .bearer_auth(&svc)
        .json(&json!({"model": "nomic-embed-text", "input": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        (v["error"]["code"].as_str(), v["error"]["param"].as_str()),
        (Some("invalid_input"), Some("input"))
    );
}
