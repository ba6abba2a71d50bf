//! The AI trust layer's OpenAI-compatible surface against a real server: who may call, for
//! which tenant, and which models their policy and decisions allow.

mod common;

use common::TestServer;
use common::llm::{gateway, mock_provider, provider_toml};
use datapact_server::Config;
use reqwest::{Method, StatusCode};
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
        json!({"model": "gpt-4o-mini", "messages": [], "stream": "yes"}),
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_stream"))
    );
    let (st, v) = chat(
        &s,
        &svc,
        &tenant,
        json!({"model": "gpt-4o-mini", "messages": [], "stream": true, "stream_options": "usage"}),
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str(), v["error"]["param"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("invalid_stream_options"),
            Some("stream_options")
        )
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
        [
            "masked", "blocked", "blocked", "blocked", "error", "error", "blocked", "blocked", "blocked", "allowed",
            "blocked"
        ]
    );
    // Every refusal is on the record with its code, malformed and oversized requests included.
    let errors: Vec<Option<&str>> = es["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["entry"]["call"]["error"].as_str())
        .collect();
    assert_eq!(
        errors[1..],
        [
            Some("pii_blocked"),
            Some("model_not_allowed"),
            Some("blocked_by_policy"),
            Some("upstream_invalid_response"),
            Some("upstream_error"),
            Some("model_not_found"),
            Some("invalid_stream"),
            Some("invalid_stream_options"),
            None,
            Some("request_too_large"),
        ]
    );
    let policy_refusal = &es["items"][3]["entry"];
    assert_eq!(policy_refusal["reasons"], json!(["genai_disabled"]), "{policy_refusal}");
    // Each call that reached the provider had its forward entry first, naming the provider
    // and whether personal data was masked; refused ones have none.
    let (_, fw) = s
        .get(&format!("/v1/audit/entries?action=llm_forward&tenant={tenant}"), &oa)
        .await;
    let forwards: Vec<(u64, &str, &str)> = fw["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["index"].as_u64().unwrap(),
                i["entry"]["call"]["provider"].as_str().unwrap(),
                i["entry"]["call"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        forwards.iter().map(|f| f.2).collect::<Vec<_>>(),
        ["masked", "allowed", "allowed", "allowed"],
        "{forwards:?}"
    );
    assert!(forwards.iter().all(|f| f.1 == "openai-eu"));
    let outcomes: Vec<u64> = es["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| ["masked", "allowed", "error"].contains(&i["entry"]["call"]["status"].as_str().unwrap()))
        .map(|i| i["index"].as_u64().unwrap())
        .collect();
    for (f, o) in forwards.iter().zip(&outcomes) {
        assert!(f.0 < *o, "the forward entry {} comes before the outcome {o}", f.0);
    }
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

/// A streamed chat call: the status and the `data:` payloads in order.
async fn stream_chat(s: &TestServer, key: &str, tenant: &str, body: Value) -> (StatusCode, Vec<String>) {
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", s.url))
        .bearer_auth(key)
        .header("x-datapact-tenant", tenant)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let data = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(str::to_string)
        .collect();
    (status, data)
}

/// The concatenated content of streamed chunks.
fn streamed_text(events: &[String]) -> String {
    events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|v| v["choices"][0]["delta"]["content"].as_str().map(str::to_string))
        .collect()
}

/// The gateway's `llm_call` entries for a tenant, oldest first.
async fn calls(s: &TestServer, key: &str, tenant: &str) -> Vec<Value> {
    let (_, es) = s
        .get(&format!("/v1/audit/entries?action=llm_call&tenant={tenant}"), key)
        .await;
    es["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["entry"].clone())
        .collect()
}

/// One third-party OpenAI provider in `eu` serving `models`, with the test key file and
/// `extra` settings.
fn openai_eu(url: &str, models: &[&str], extra: &str) -> String {
    common::llm::provider_entry(
        "openai-eu",
        "third_party",
        "openai",
        url,
        "eu",
        models,
        None,
        &format!("api_key_file = \"KEYFILE\"\n{extra}"),
    )
}

fn ask(content: &str, model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": content}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_chat_restores_split_placeholders_reports_usage_and_fails_clearly() {
    let (url, mock) = common::llm::mock().await;
    let toml = openai_eu(
        &url,
        &["gpt-4o-mini", "broken", "stall", "cut", "slow"],
        "idle_timeout_ms = 400\n",
    );
    let (s, _dir, _org, oa, tenant, svc) = gateway(&toml).await;
    let mut body = ask("Mail ann@example.com about Maria Garcia.", "gpt-4o-mini");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (st, events) = stream_chat(&s, &svc, &tenant, body.clone()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        streamed_text(&events),
        "You said: Mail ann@example.com about Maria Garcia."
    );
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let usage: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(
        (
            usage["choices"].as_array().map(Vec::len),
            &usage["usage"]["total_tokens"]
        ),
        (Some(0), &json!(17))
    );
    {
        let seen = mock.seen();
        assert_eq!(
            seen.bodies[0]["messages"][0]["content"],
            "Mail <EMAIL_ADDRESS_1> about <PERSON_1>."
        );
        assert_eq!(seen.bodies[0]["stream_options"]["include_usage"], true);
        assert_eq!(seen.bodies[0]["store"], false);
    }
    // Without include_usage the client gets no usage chunk, and the log still gets the tokens.
    body["stream_options"] = json!(null);
    let (_, events) = stream_chat(&s, &svc, &tenant, body.clone()).await;
    assert!(events.iter().all(|e| !e.contains("usage")), "{events:?}");
    assert_eq!(mock.seen().bodies[1]["stream_options"]["include_usage"], true);
    let entries = calls(&s, &oa, &tenant).await;
    assert_eq!(entries[1]["call"]["streamed"], true);
    assert_eq!(entries[1]["call"]["total_tokens"], 17);
    assert_eq!(entries[1]["call"]["status"], "masked");

    // A broken event, a stalled stream and one cut short: a clear error event, recorded.
    for (model, code) in [
        ("broken", "upstream_invalid_response"),
        ("stall", "upstream_timeout"),
        ("cut", "upstream_stream_incomplete"),
    ] {
        body["model"] = json!(model);
        let (st, events) = stream_chat(&s, &svc, &tenant, body.clone()).await;
        assert_eq!(st, StatusCode::OK);
        let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
        assert_eq!(last["error"]["code"], code, "{model}: {events:?}");
        let e = calls(&s, &oa, &tenant).await.pop().unwrap();
        assert_eq!(
            (e["call"]["status"].as_str(), e["call"]["error"].as_str()),
            (Some("error"), Some(code))
        );
    }

    // A client that leaves cancels the provider's stream.
    body["model"] = json!("slow");
    let mut resp = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", s.url))
        .bearer_auth(&svc)
        .header("x-datapact-tenant", &tenant)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.chunk().await.unwrap().is_some());
    drop(resp);
    let gone = async {
        while mock.seen().cancelled == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(3), gone)
        .await
        .expect("the provider's stream is cancelled when the client leaves");
    let e = async {
        loop {
            let e = calls(&s, &oa, &tenant).await.pop().unwrap();
            if e["call"]["model"] == "slow" {
                return e;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let e = tokio::time::timeout(std::time::Duration::from_secs(3), e)
        .await
        .unwrap();
    assert_eq!(e["call"]["error"], "client_disconnected");

    // The overhead histogram is exported, without tenants.
    let metrics = reqwest::get(format!("{}/metrics", s.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("datapact_gateway_overhead_seconds_bucket"),
        "{metrics}"
    );
    // And each call's personal data scan, in buckets fine around its 100 µs target.
    assert!(
        metrics.contains("datapact_gateway_pii_scan_seconds_bucket{") && metrics.contains("le=\"0.0001\""),
        "{metrics}"
    );
    // Beside it, the CPU time the scan ran, in the same buckets.
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "freebsd"
    ))]
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("datapact_gateway_pii_scan_cpu_seconds_bucket{")
                && l.contains("size=\"le_4k\"")
                && l.contains("le=\"0.0001\"")),
        "{metrics}"
    );
    assert!(!metrics.contains(&tenant));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_fall_back_within_the_region_and_open_the_circuit() {
    let (a_url, a) = common::llm::mock().await;
    let (b_url, b) = common::llm::mock().await;
    let extra = "api_key_file = \"KEYFILE\"\nmax_retries = 1\nbreaker_failures = 2\nbreaker_cooldown_ms = 60000\n";
    let toml = [
        common::llm::provider_entry(
            "a",
            "third_party",
            "openai",
            &a_url,
            "eu",
            &["gpt-4o-mini", "reject"],
            None,
            extra,
        ),
        common::llm::provider_entry(
            "b",
            "third_party",
            "openai",
            &b_url,
            "eu",
            &["gpt-4o-mini"],
            None,
            extra,
        ),
    ]
    .concat();
    let (s, _dir, _org, oa, tenant, svc) = gateway(&toml).await;
    // One 503 with Retry-After: 0, then an answer from the same provider.
    a.fail_next.store(1, std::sync::atomic::Ordering::SeqCst);
    let (st, v) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let e = calls(&s, &oa, &tenant).await.pop().unwrap();
    assert_eq!(
        (e["call"]["provider"].as_str(), e["call"]["retries"].as_u64()),
        (Some("a"), Some(1))
    );
    // A request the provider refuses is the client's to fix: not retried, its reason shown.
    let (st, v) = chat(&s, &svc, &tenant, ask("hello", "reject")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("upstream_rejected_request"))
    );
    assert!(v["error"]["message"].as_str().unwrap().contains("temperature"), "{v}");
    // `a` is down: each call falls back to `b`; after two failed calls `a` is skipped.
    a.down.store(true, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..3 {
        let (st, v) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    let a_calls = a.calls.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(a_calls, 3 + 2 * 2, "two attempts per call until the circuit opened");
    assert_eq!(b.calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    let e = calls(&s, &oa, &tenant).await.pop().unwrap();
    assert_eq!(e["call"]["provider"], "b");
    // With every provider failing, the client hears so, and when to come back.
    b.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let (st, v) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::BAD_GATEWAY, Some("upstream_error")),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residency_fails_closed_unless_the_organization_allows_cross_region() {
    let (url, mock) = common::llm::mock().await;
    let toml = common::llm::provider_entry(
        "openai-us",
        "third_party",
        "openai",
        &url,
        "us",
        &["gpt-4o-mini"],
        None,
        "api_key_file = \"KEYFILE\"\n",
    );
    let (s, _dir, org, oa, tenant, svc) = gateway(&toml).await;
    let (st, v) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("no_provider_in_region"))
    );
    assert_eq!(
        mock.calls.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing left the region"
    );
    let e = calls(&s, &oa, &tenant).await.pop().unwrap();
    assert_eq!(e["call"]["status"], "blocked");
    // The vendor records the organization's permission; then the call goes, and says where.
    let admin = s.admin.clone();
    let (st, v) = s
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Some(&admin),
            Some(json!({"allow_cross_region_llm": true})),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let (st, v) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let e = calls(&s, &oa, &tenant).await.pop().unwrap();
    assert_eq!(
        (e["region"].as_str(), e["call"]["status"].as_str()),
        (Some("us"), Some("allowed"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_token_budgets_answer_429_and_usage_adds_up() {
    let (url, mock) = common::llm::mock().await;
    let toml = format!(
        "[gateway]\ntenant_requests_per_second = 1\ntenant_burst = 3\n\n[[gateway.budgets]]\nproduct = \"ixp\"\ntokens = 120\nperiod = \"day\"\n\n{}",
        openai_eu(&url, &["gpt-4o-mini"], "")
    );
    let (s, dir, _org, oa, tenant, svc) = gateway(&toml).await;
    // A call reserves its worst case: the 70 bytes of its body (no tokenizer makes more tokens
    // than bytes) and a completion capped at what the budget has left. The mock answers in
    // 12 + 5 tokens: 120 → 103 → 86 left, each call capped at 50, 33 and 16 completion tokens.
    for _ in 0..3 {
        let (st, v) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    let caps: Vec<Value> = mock
        .seen()
        .bodies
        .iter()
        .map(|b| b["max_completion_tokens"].clone())
        .collect();
    assert_eq!(caps, vec![json!(50), json!(33), json!(16)]);
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", s.url))
        .bearer_auth(&svc)
        .header("x-datapact-tenant", &tenant)
        .json(&ask("hello", "gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let v: Value = resp.json().await.unwrap();
    // The burst is spent and a new place comes only after a second: the rate refuses first.
    assert_eq!(v["error"]["code"], "rate_limited", "{v}");
    assert!(retry >= 1);
    // Past the burst the rate refuses regardless of the budget; wait for it to refill.
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    // 69 left is less than the 70 the prompt may take: refused before it is sent.
    let (st, v) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("token_budget_insufficient")),
        "{v}"
    );
    let (st, u) = s.get(&format!("/v1/tenants/{tenant}/usage"), &oa).await;
    assert_eq!(st, StatusCode::OK, "{u}");
    assert_eq!(u["totals"]["requests"], 3, "{u}");
    assert_eq!(u["totals"]["total_tokens"], 51);
    assert_eq!(u["rows"][0]["model"], "gpt-4o-mini");
    assert_eq!(u["budgets"][0]["remaining"], 69);
    assert_eq!(u["budgets"][0]["used"], 51);
    assert!(
        u["budgets"][0]["resets_at"].as_str().unwrap().ends_with("T00:00:00Z"),
        "{u}"
    );
    let (st, v) = s.get(&format!("/v1/tenants/{tenant}/usage?from=2026-13-01"), &oa).await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("from"))
    );
    // Counts survive a restart (written every second and at shutdown).
    s.stop().await;
    let key_file = dir.path().join("provider.key").display().to_string();
    let config = Config::parse(&toml.replace("KEYFILE", &key_file), "t.toml").unwrap();
    let s = TestServer::start_in(&dir.path().join("data"), config).await;
    let (_, u) = s.get(&format!("/v1/tenants/{tenant}/usage"), &oa).await;
    assert_eq!(
        (u["totals"]["requests"].as_u64(), u["totals"]["total_tokens"].as_u64()),
        (Some(3), Some(51)),
        "{u}"
    );
    let (st, v) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("token_budget_insufficient")),
        "the budget holds across restarts: {v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_messages_translate_both_ways_streamed_or_not() {
    let (url, mock) = common::llm::mock().await;
    let toml = common::llm::provider_entry(
        "anthropic-eu",
        "third_party",
        "anthropic",
        &url,
        "eu",
        &["claude-sonnet"],
        None,
        "api_key_file = \"KEYFILE\"\n",
    );
    let (s, _dir, _org, oa, tenant, svc) = gateway(&toml).await;
    let body = json!({"model": "claude-sonnet", "max_tokens": 100, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Write to ann@example.com"}]});
    let (st, v) = chat(&s, &svc, &tenant, body.clone()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "You said: Write to ann@example.com"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["total_tokens"], 13);
    {
        let seen = mock.seen();
        let sent = &seen.bodies[0];
        assert_eq!(sent["system"], "Be brief.");
        assert_eq!(sent["max_tokens"], 100);
        assert_eq!(sent["messages"][0]["content"][0]["text"], "Write to <EMAIL_ADDRESS_1>");
        assert_eq!(seen.auth[0], "sk-test-secret");
        assert!(seen.header_names.contains(&"anthropic-version".to_string()));
        assert!(!seen.header_names.contains(&"authorization".to_string()));
    }
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let (st, events) = stream_chat(&s, &svc, &tenant, streamed).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(streamed_text(&events), "You said: Write to ann@example.com");
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let e = calls(&s, &oa, &tenant).await.pop().unwrap();
    assert_eq!(
        (e["call"]["total_tokens"].as_u64(), e["call"]["streamed"].as_bool()),
        (Some(13), Some(true))
    );
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/embeddings", s.url))
        .bearer_auth(&svc)
        .header("x-datapact-tenant", &tenant)
        .json(&json!({"model": "claude-sonnet", "input": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "endpoint_unsupported_by_provider");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_prompts_keeps_calls_encrypted_in_the_tenants_vault_as_its_data() {
    let (url, _mock) = common::llm::mock().await;
    let toml = openai_eu(&url, &["gpt-4o-mini"], "");
    let (s, _dir, _org, oa, tenant, svc) = gateway(&toml).await;
    // Off by default: nothing kept.
    let (st, _) = chat(&s, &svc, &tenant, ask("Write to ann@example.com", "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK);
    let (_, list) = s.get(&format!("/v1/tenants/{tenant}/records"), &oa).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    let (st, v) = s
        .call(
            reqwest::Method::PUT,
            &format!("/v1/tenants/{tenant}/ai-settings"),
            Some(&oa),
            Some(json!({"save_prompts": true})),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let (st, _) = chat(&s, &svc, &tenant, ask("Write to ann@example.com", "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK);
    let mut streamed = ask("Stream to bob@example.com", "gpt-4o-mini");
    streamed["stream"] = json!(true);
    let (st, _) = stream_chat(&s, &svc, &tenant, streamed).await;
    assert_eq!(st, StatusCode::OK);
    let (_, list) = s.get(&format!("/v1/tenants/{tenant}/records"), &oa).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["categories"], json!(["ai.llm_call"]));
    assert_eq!(items[0]["product"], "ixp");
    // The tenant's administrator reads its own calls as written, the answers as returned.
    let mut contents = Vec::new();
    for it in items {
        let id = it["id"].as_str().unwrap();
        let (st, r) = s
            .get(&format!("/v1/tenants/{tenant}/records/{id}?purpose=service"), &oa)
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        contents.push(r["content"].as_str().unwrap().to_string());
    }
    let all = contents.join("\n");
    assert!(
        all.contains("Write to ann@example.com") && all.contains("You said: Write to ann@example.com"),
        "{all}"
    );
    assert!(all.contains("You said: Stream to bob@example.com"), "{all}");
    // Each call's audit entry names its record.
    let entries = calls(&s, &oa, &tenant).await;
    let named: Vec<&Value> = entries
        .iter()
        .filter(|e| e["resources"].as_array().is_some_and(|r| !r.is_empty()))
        .collect();
    assert_eq!(named.len(), 2, "{entries:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cedar_policies_are_validated_when_saved_and_decide_calls() {
    let (eu_url, eu) = common::llm::mock().await;
    let (local_url, local) = common::llm::mock().await;
    let toml = [
        common::llm::provider_entry(
            "openai-eu",
            "third_party",
            "openai",
            &eu_url,
            "eu",
            &["gpt-4o-mini", "gpt-4o"],
            None,
            "api_key_file = \"KEYFILE\"\n",
        ),
        common::llm::provider_entry(
            "local",
            "self_hosted",
            "openai",
            &local_url,
            "eu",
            &["gpt-4o-mini"],
            None,
            "",
        ),
    ]
    .concat();
    let (s, _dir, org, oa, tenant, svc) = gateway(&toml).await;
    let put = |body: Value| {
        let s = &s;
        let (oa, org) = (oa.clone(), org.clone());
        async move {
            s.call(
                reqwest::Method::PUT,
                &format!("/v1/orgs/{org}/ai-settings"),
                Some(&oa),
                Some(body),
            )
            .await
        }
    };
    // Refused when saved: not Cedar, not the schema, or permitting nothing; and tenants cannot set them.
    for (bad, needle) in [
        ("permit(principal, action, resource", "parse"),
        (
            "permit(principal, action, resource) when { context.colour == \"red\" };",
            "colour",
        ),
        ("forbid(principal, action, resource);", "permit nothing"),
    ] {
        let (st, v) = put(json!({"policies": bad})).await;
        assert_eq!(
            (st, v["code"].as_str(), v["field"].as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("invalid_policies"),
                Some("policies")
            ),
            "{v}"
        );
        assert!(v["detail"].as_str().unwrap().contains(needle), "{v}");
    }
    let (st, v) = s
        .call(
            reqwest::Method::PUT,
            &format!("/v1/tenants/{tenant}/ai-settings"),
            Some(&oa),
            Some(json!({"policies": "permit(principal, action, resource);"})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("field_not_allowed"))
    );

    // Social security numbers never go to a third party: such calls go to the self-hosted model.
    let policies = r#"permit(principal, action, resource);
@id("ssn-stays-home")
forbid(principal, action, resource) when { context.data_categories.contains("US_SSN") && context.provider_kind == "third_party" };
@id("interns-no-gpt-4o")
forbid(principal, action, resource == Model::"gpt-4o") when { context has user_group && context.user_group == "interns" };"#;
    let (st, v) = put(json!({"policies": policies})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, _) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(eu.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    let (st, v) = chat(&s, &svc, &tenant, ask("My SSN is 536-22-8417", "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        local.calls.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the self-hosted model took it"
    );
    assert_eq!(eu.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    let e = calls(&s, &oa, &tenant).await.pop().unwrap();
    assert_eq!(
        (e["call"]["provider"].as_str(), e["purpose"].as_str()),
        (Some("local"), Some("service"))
    );
    // A user group from a header; the refusal names the policy.
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", s.url))
        .bearer_auth(&svc)
        .header("x-datapact-tenant", &tenant)
        .header("x-datapact-user-group", "Interns")
        .json(&ask("hello", "gpt-4o"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        (v["error"]["code"].as_str(), &v["error"]["reasons"]),
        (Some("blocked_by_cedar_policy"), &json!(["interns-no-gpt-4o"]))
    );
    let e = calls(&s, &oa, &tenant).await.pop().unwrap();
    assert_eq!(e["call"]["status"], "blocked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_audit_still_records_every_call() {
    let (url, _mock) = common::llm::mock().await;
    let toml = format!(
        "[gateway]\naudit = \"async\"\n\n{}",
        openai_eu(&url, &["gpt-4o-mini"], "")
    );
    let (s, _dir, _org, oa, tenant, svc) = gateway(&toml).await;
    for _ in 0..5 {
        let (st, v) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    let all = async {
        loop {
            if calls(&s, &oa, &tenant).await.len() == 5 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), all)
        .await
        .expect("every call's entry lands in the log");
    let bad = Config::parse("[gateway]\naudit = \"later\"\n", "t.toml")
        .unwrap_err()
        .to_string();
    assert!(bad.contains("t.toml:2") && bad.contains("audit"), "{bad}");
}

/// A provider's redirect is never followed: following it would send the prompt again (to
/// wherever it points) with the provider's key in the headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_redirect_is_never_followed() {
    let (url, mock) = common::llm::mock().await;
    let (s, _dir, _org, _oa, tenant, svc) = gateway(&openai_eu(&url, &["redirect"], "max_retries = 0\n")).await;
    let (st, v) = chat(&s, &svc, &tenant, ask("hello", "redirect")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::BAD_GATEWAY, Some("upstream_error")),
        "{v}"
    );
    assert_eq!(
        mock.calls.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the prompt reached the provider once"
    );
}

/// "If it cannot be logged, it does not happen", for LLM calls too: with the audit log
/// failing, no prompt reaches a provider, streamed or not, and the client is told why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_forwarded_when_the_forward_cannot_be_logged() {
    let (url, mock) = common::llm::mock().await;
    let (s, _dir, _org, _oa, tenant, svc) = gateway(&openai_eu(&url, &["gpt-4o-mini"], "")).await;
    let fault = common::inject_audit_fault(&s.dir).await;
    for stream in [false, true] {
        let mut body = ask("my IBAN is DE89370400440532013000", "gpt-4o-mini");
        body["stream"] = json!(stream);
        let (st, v) = chat(&s, &svc, &tenant, body).await;
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("audit_unavailable")),
            "stream={stream}: {v}"
        );
    }
    assert_eq!(
        mock.calls.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing left for the provider"
    );
    fault.clear().await;
    let (st, _) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(mock.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// Work is bounded for every caller: nothing of a body is read before the key is checked, a
/// large prompt is scanned off the async workers, and calls beyond the configured number at
/// once are refused (and recorded) rather than queued without end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_authenticated_first_and_admitted_up_to_a_limit() {
    let (url, _mock) = common::llm::mock().await;
    let toml = format!(
        "[gateway]\nmax_concurrent_calls = 1\n{}",
        openai_eu(&url, &["gpt-4o-mini", "slow"], "")
    );
    let (s, _dir, _org, oa, tenant, svc) = gateway(&toml).await;
    // An unknown key announcing a body over the limit, and sending none of it: the answer is
    // 401 at once (the key is checked before a byte of the body is read).
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = s.url.trim_start_matches("http://");
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer dpk_not_a_key\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n",
            5 * 1024 * 1024
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("answered without waiting for the body")
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    }
    // A 200 KiB prompt (scanned on the blocking pool) goes through and is masked.
    let big = format!(
        "{} write to maria.garcia@customer.example",
        "lorem ipsum ".repeat(17_000)
    );
    let (st, v) = chat(&s, &svc, &tenant, ask(&big, "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let e = calls(&s, &oa, &tenant).await.pop().unwrap();
    assert_eq!(e["call"]["status"], "masked");
    // One slow stream holds the only place; the next call is refused with Retry-After.
    let slow = {
        let (url, svc, tenant) = (s.url.clone(), svc.clone(), tenant.clone());
        tokio::spawn(async move {
            let mut body = ask("hello", "slow");
            body["stream"] = json!(true);
            let resp = reqwest::Client::new()
                .post(format!("{url}/v1/chat/completions"))
                .bearer_auth(&svc)
                .header("x-datapact-tenant", &tenant)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            resp.text().await.unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", s.url))
        .bearer_auth(&svc)
        .header("x-datapact-tenant", &tenant)
        .json(&ask("hello", "gpt-4o-mini"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "1");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "server_overloaded");
    let e = calls(&s, &oa, &tenant).await.pop().unwrap();
    assert_eq!(
        (e["call"]["status"].as_str(), e["call"]["error"].as_str()),
        (Some("blocked"), Some("server_overloaded"))
    );
    assert!(slow.await.unwrap().contains("[DONE]"));
    // The place is free again once the stream ended.
    let (st, _) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK);
}

/// Every string that goes out is scanned and masked, whatever field carries it; a field
/// datapact does not know is refused rather than passed on; stored completions are off for
/// every API that has them; tools and response formats arrive intact; Azure's deployment URL
/// and `api-key` header reach the provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_outgoing_string_is_masked_and_unknown_fields_are_refused() {
    let (url, mock) = common::llm::mock().await;
    let toml = [
        openai_eu(&url, &["gpt-4o-mini"], ""),
        common::llm::provider_entry(
            "azure-eu",
            "third_party",
            "azure_openai",
            &url,
            "eu",
            &["gpt-4o"],
            None,
            "api_key_file = \"KEYFILE\"\napi_version = \"2024-10-21\"\ndeployments = { \"gpt-4o\" = \"prod-4o\" }\n",
        ),
    ]
    .concat();
    let (s, _dir, _org, _oa, tenant, svc) = gateway(&toml).await;
    let email = "maria.garcia@customer.example";
    let body = json!({
        "model": "gpt-4o-mini",
        "user": email,
        "metadata": {"requester": email},
        "prediction": {"type": "content", "content": format!("Dear {email}")},
        "store": true,
        "stop": [email],
        "response_format": {"type": "json_schema", "json_schema": {"name": "reply", "schema": {"type": "object", "properties": {"text": {"type": "string", "description": format!("for {email}")}}}}},
        "tools": [{"type": "function", "function": {"name": "send_mail", "description": format!("mails {email}"), "parameters": {"type": "object", "properties": {"to": {"type": "string"}}}}}],
        "tool_choice": "auto",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "name": email, "content": [{"type": "text", "text": format!("write to {email}")}]},
            {"role": "assistant", "content": null, "function_call": {"name": "send_mail", "arguments": format!("{{\"to\": \"{email}\"}}")}},
            {"role": "function", "name": "send_mail", "content": "sent"},
        ]
    });
    let (st, v) = chat(&s, &svc, &tenant, body).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let sent = mock.seen().bodies.last().unwrap().clone();
    let text = sent.to_string();
    assert!(!text.contains(email), "personal data left unmasked: {text}");
    assert_eq!(sent["store"], false, "stored completions are off");
    assert_eq!(
        sent["tools"][0]["function"]["name"], "send_mail",
        "identifiers are kept"
    );
    assert_eq!(sent["tool_choice"], "auto");
    assert_eq!(sent["response_format"]["type"], "json_schema");
    assert_eq!(
        sent["response_format"]["json_schema"]["schema"]["properties"]["text"]["type"],
        "string"
    );
    assert_eq!(sent["messages"][2]["function_call"]["name"], "send_mail");
    assert!(
        sent["messages"][1]["name"]
            .as_str()
            .unwrap()
            .starts_with("<EMAIL_ADDRESS")
    );
    // A field datapact does not know does not go anywhere.
    let (st, v) = chat(
        &s,
        &svc,
        &tenant,
        json!({"model": "gpt-4o-mini", "messages": [], "new_field_of_2027": email}),
    )
    .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_parameter"))
    );
    assert!(!v.to_string().contains(email));
    // Azure OpenAI: the deployment's URL with the API version, the key in `api-key`.
    let (st, v) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let seen = mock.seen();
    assert_eq!(
        seen.uris.last().map(String::as_str),
        Some("/v1/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21")
    );
    assert_eq!(seen.auth.last().map(String::as_str), Some("sk-test-secret"));
    assert!(seen.header_names.iter().any(|h| h == "api-key"));
    assert!(!seen.header_names.iter().any(|h| h == "authorization"));
    assert_eq!(seen.bodies.last().unwrap()["store"], false);
}

/// Custom recognizers in the trust layer: the server names sets of them, an organization's AI
/// settings choose which its calls use, and a name the server does not have is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_recognizers_named_by_an_organization_mask_its_calls() {
    let (url, mock) = common::llm::mock().await;
    let rules = tempfile::tempdir().unwrap();
    let file = rules.path().join("acme.toml");
    std::fs::write(
        &file,
        "[[recognizers]]\nentity = \"EMPLOYEE_ID\"\npattern = '\\bEMP-\\d{6}\\b'\nscore = 0.9\n\n\
         [[recognizers]]\nentity = \"PROJECT\"\ndeny_list = [\"Bluebird\"]\n",
    )
    .unwrap();
    let toml = format!(
        "[pii]\nrecognizers = {{ acme-ids = \"{}\" }}\n\n{}",
        file.display(),
        openai_eu(&url, &["gpt-4o-mini"], "")
    );
    let (s, _dir, org, oa, tenant, svc) = gateway(&toml).await;
    let prompt = "EMP-123456 works on Bluebird";
    let (st, _) = chat(&s, &svc, &tenant, ask(prompt, "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        mock.seen().bodies.last().unwrap().to_string().contains("EMP-123456"),
        "not chosen yet"
    );
    // A set the server does not have is refused by name.
    let (st, v) = s
        .call(
            reqwest::Method::PUT,
            &format!("/v1/orgs/{org}/ai-settings"),
            Some(&oa),
            Some(json!({"pii_recognizers": ["hr-ids"]})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unknown_recognizer_set"),
            Some("pii_recognizers[0]")
        )
    );
    let (st, v) = s
        .call(
            reqwest::Method::PUT,
            &format!("/v1/tenants/{tenant}/ai-settings"),
            Some(&oa),
            Some(json!({"pii_recognizers": ["acme-ids"]})),
        )
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("pii_recognizers"))
    );
    put_org_ai(&s, &oa, &org, json!({"pii_recognizers": ["acme-ids"]})).await;
    let (st, v) = chat(&s, &svc, &tenant, ask(prompt, "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let sent = mock.seen().bodies.last().unwrap().to_string();
    assert!(!sent.contains("EMP-123456") && !sent.contains("Bluebird"), "{sent}");
    assert!(
        sent.contains("<EMPLOYEE_ID_1>") && sent.contains("<PROJECT_1>"),
        "{sent}"
    );
    assert_eq!(
        v["choices"][0]["message"]["content"].as_str().unwrap(),
        format!("You said: {prompt}"),
        "restored in the answer"
    );
    let e = calls(&s, &oa, &tenant).await.pop().unwrap();
    assert_eq!(e["call"]["pii_types"], json!(["EMPLOYEE_ID", "PROJECT"]));
}

/// A recognizer file that does not compile stops the server at start, naming the set and file.
#[test]
fn a_broken_recognizer_set_is_named_at_start() {
    let rules = tempfile::tempdir().unwrap();
    let file = rules.path().join("bad.toml");
    std::fs::write(&file, "[[recognizers]]\nentity = \"A\"\npattern = '('\n").unwrap();
    let toml = format!("[pii]\nrecognizers = {{ bad = \"{}\" }}\n", file.display());
    let cfg = Config::parse(&toml, "test.toml").unwrap();
    let err = datapact_gateway::PiiSets::load(&cfg.pii).err().unwrap().to_string();
    assert!(
        err.contains("bad") && err.contains("bad.toml") && err.contains("recognizers[0].pattern"),
        "{err}"
    );
    let unknown = Config::parse("[pii]\ndefault = [\"nope\"]\n", "test.toml")
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("pii.default[0]"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_come_from_terms_and_settings_and_hold_under_concurrent_calls() {
    let (url, mock) = common::llm::mock().await;
    let (s, _dir, org, oa, tenant, svc) = gateway(&openai_eu(&url, &["gpt-4o-mini"], "")).await;

    // The customer asks for 5,000 tokens a day for every product; the vendor's terms sell
    // 1,000 for `ixp`. The lower holds, and the organization's admin cannot change the terms.
    put_org_ai(&s, &oa, &org, json!({"limits": {"tokens_per_day": 5000}})).await;
    let terms = json!({"ai_limits": {"tokens_per_month": 900000, "products": {"ixp": {"tokens_per_day": 1000}}}});
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Some(&oa),
            Some(terms.clone()),
        )
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("ai_limits")),
        "{v}"
    );
    let (st, v) = s
        .call(Method::PATCH, &format!("/v1/orgs/{org}"), Some(&s.admin), Some(terms))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["ai_limits"]["products"]["ixp"]["tokens_per_day"], 1000);
    let bad = json!({"ai_limits": {"products": {"ixp": {"tokens_per_day": 0}}}});
    let (st, v) = s
        .call(Method::PATCH, &format!("/v1/orgs/{org}"), Some(&s.admin), Some(bad))
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("ai_limits.products.ixp.tokens_per_day")
        ),
        "{v}"
    );
    let (_, v) = s.get(&format!("/v1/tenants/{tenant}/ai-settings"), &oa).await;
    let ixp = &v["effective"]["ixp"]["limits"];
    assert_eq!(ixp["value"]["tokens_per_day"], 1000, "{v}");
    assert_eq!(ixp["value"]["tokens_per_month"], 900000);
    assert_eq!(ixp["source"], "org");
    assert_eq!(v["effective"]["assistant"]["limits"]["value"]["tokens_per_day"], 5000);

    // Forty calls at once, each asking for up to 300 completion tokens: a call reserves its
    // body's bytes plus its cap, so only a few fit at a time; none may take the budget past
    // 1,000 tokens, whatever the interleaving.
    let body = json!({"model": "gpt-4o-mini", "max_tokens": 300, "messages": [{"role": "user", "content": "hello"}]});
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (url, svc, tenant, body) = (s.url.clone(), svc.clone(), tenant.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let resp = reqwest::Client::new()
                .post(format!("{url}/v1/chat/completions"))
                .bearer_auth(&svc)
                .header("x-datapact-tenant", &tenant)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let v: Value = resp.json().await.unwrap();
            (status, v["error"]["code"].as_str().map(str::to_string))
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            (StatusCode::OK, _) => ok += 1,
            (StatusCode::TOO_MANY_REQUESTS, Some(code)) => {
                assert!(code.starts_with("token_budget_"), "{code}")
            }
            other => panic!("{other:?}"),
        }
    }
    // Then one at a time until the budget has no room for another.
    loop {
        let (st, v) = chat(&s, &svc, &tenant, body.clone()).await;
        if st != StatusCode::OK {
            assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{v}");
            break;
        }
        ok += 1;
    }
    let (_, u) = s.get(&format!("/v1/tenants/{tenant}/usage?product=ixp"), &oa).await;
    let used = u["totals"]["total_tokens"].as_u64().unwrap();
    assert_eq!(u["totals"]["requests"].as_u64(), Some(ok), "{u}");
    assert!(used <= 1000, "{used} tokens used of a 1,000-token budget: {u}");
    assert!(ok >= 10, "the budget admits calls while it has room: {ok}");
    let day = u["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["period"] == "day")
        .unwrap();
    assert_eq!(
        (day["tokens"].as_u64(), day["used"].as_u64()),
        (Some(1000), Some(used)),
        "{u}"
    );
    // Every forwarded request carried the cap that bounds it.
    for b in &mock.seen().bodies {
        let cap = b["max_tokens"].as_u64().unwrap();
        assert!((1..=300).contains(&cap), "{b}");
    }

    // A rate for one product, locked by the organization: the tenant's own setting cannot lift it.
    put_org_ai(
        &s,
        &oa,
        &org,
        json!({"locked": ["limits"], "products": {"ixp": {"limits": {"requests_per_second": 1, "burst": 1}}}}),
    )
    .await;
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/v1/tenants/{tenant}/ai-settings"),
            Some(&oa),
            Some(json!({"limits": {"requests_per_second": 1000}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["effective"]["ixp"]["limits"]["value"]["requests_per_second"], 1,
        "{v}"
    );
    assert_eq!(v["effective"]["ixp"]["limits"]["locked"], true);
    // The rate is checked first: one call gets through it (and is refused by the spent
    // budget the terms still impose), the next within the second is refused by the rate.
    let (st, v) = chat(&s, &svc, &tenant, body.clone()).await;
    assert_eq!(
        (st, v["error"]["code"].as_str().map(|c| c.starts_with("token_budget_"))),
        (StatusCode::TOO_MANY_REQUESTS, Some(true)),
        "{v}"
    );
    let (st, v) = chat(&s, &svc, &tenant, body.clone()).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{v}"
    );
}

/// Every answer of the trust layer names its audit entry, whose inclusion proof the customer
/// can fetch: the forward's entry for a forwarded call, the refusal's for a refused one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_receipt_of_its_audit_entry() {
    let (url, _mock) = common::llm::mock().await;
    let (s, _dir, org, oa, tenant, svc) = gateway(&openai_eu(&url, &["gpt-4o-mini", "gpt-4o"], "")).await;
    put_org_ai(&s, &oa, &org, json!({"models": {"deny": ["gpt-4o"]}})).await;
    let post = |body: Value| {
        reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", s.url))
            .bearer_auth(&svc)
            .header("x-datapact-tenant", &tenant)
            .json(&body)
            .send()
    };
    let entry_at = |i: u64| {
        let s = &s;
        let oa = oa.clone();
        async move {
            let path = if i == 0 {
                "/v1/audit/entries?limit=1".to_string()
            } else {
                format!("/v1/audit/entries?after={}&limit=1", i - 1)
            };
            let (st, v) = s.get(&path, &oa).await;
            assert_eq!(st, StatusCode::OK, "{v}");
            v["items"][0].clone()
        }
    };
    for (body, streamed) in [
        (ask("hello", "gpt-4o-mini"), false),
        (
            {
                let mut b = ask("hello", "gpt-4o-mini");
                b["stream"] = json!(true);
                b
            },
            true,
        ),
    ] {
        let resp = post(body).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let index: u64 = resp.headers()["x-datapact-audit-entry"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let _ = resp.bytes().await.unwrap();
        let e = entry_at(index).await;
        assert_eq!(e["index"], index);
        assert_eq!(e["entry"]["action"], "llm_forward", "streamed: {streamed}: {e}");
        assert_eq!(e["entry"]["tenant"], tenant.as_str());
        // A proof in the tree as it is now (the next signed checkpoint covers it too).
        let (st, proof) = s
            .get(
                &format!("/v1/audit/proofs/inclusion?index={index}&tree_size={}", index + 1),
                &oa,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{proof}");
        assert_eq!(proof["index"], index);
    }
    let refused = post(ask("hello", "gpt-4o")).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let index: u64 = refused.headers()["x-datapact-audit-entry"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let e = entry_at(index).await;
    assert_eq!(
        (e["entry"]["action"].as_str(), e["entry"]["outcome"].as_str()),
        (Some("llm_call"), Some("denied")),
        "{e}"
    );
}

/// A large policy set (evaluated off the async workers) decides as a small one does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_policy_set_still_decides_each_call() {
    let (url, _mock) = common::llm::mock().await;
    let (s, _dir, org, oa, tenant, svc) = gateway(&openai_eu(&url, &["gpt-4o-mini", "gpt-4o"], "")).await;
    let mut text = String::from(
        "@id(\"all\") permit(principal, action, resource);\n@id(\"no-4o\") forbid(principal, action, resource == Model::\"gpt-4o\");\n",
    );
    let mut n = 0;
    while text.len() < 40 * 1024 {
        text.push_str(&format!(
            "@id(\"f{n}\") forbid(principal, action, resource == Model::\"m-{n}\") when {{ context.data_categories.contains(\"EMAIL_ADDRESS\") }};\n"
        ));
        n += 1;
    }
    put_org_ai(&s, &oa, &org, json!({"policies": text})).await;
    let (st, v) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = chat(&s, &svc, &tenant, ask("hello", "gpt-4o")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("blocked_by_cedar_policy")),
        "{v}"
    );
    assert!(v["error"]["message"].as_str().unwrap().contains("no-4o"), "{v}");
}

/// Credentials pasted into a prompt never reach the provider: masked with the personal data by
/// default, and still masked when the organization turns masking of personal data off; restored
/// in the answer the caller gets back.
#[tokio::test]
async fn secrets_are_masked_by_default_and_with_masking_off() {
    let (url, mock) = common::llm::mock().await;
    let (s, _dir, org, oa, tenant, svc) = gateway(&openai_eu(&url, &["gpt-4o-mini"], "")).await;
    let aws = "AKIAZ3MHQ7PLX2TV5BRN";
    let github = "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
    let dsn = "postgres://app:S3cr3t!pw@db.internal:5432/orders";
    let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----";
    let prompt = format!(
        "Why does this fail for Maria Garcia?\nAWS_ACCESS_KEY_ID={aws}\nDB_PASSWORD=Summer2024!\nDATABASE_URL={dsn}\nGITHUB_TOKEN={github}\n{pem}\ncommit 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39, build 123e4567-e89b-12d3-a456-426614174000"
    );
    let (st, v) = chat(&s, &svc, &tenant, ask(&prompt, "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let sent = mock.seen().bodies.last().unwrap().to_string();
    for secret in [
        aws,
        github,
        "Summer2024!",
        "S3cr3t!pw",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
        "Maria Garcia",
    ] {
        assert!(!sent.contains(secret), "{secret} sent: {sent}");
    }
    for placeholder in [
        "<AWS_ACCESS_KEY_ID_1>",
        "<PASSWORD_1>",
        "<DB_CONNECTION_STRING_1>",
        "<GITHUB_TOKEN_1>",
        "<PRIVATE_KEY_1>",
        "<PERSON_1>",
    ] {
        assert!(sent.contains(placeholder), "{placeholder} not in {sent}");
    }
    // Hashes and UUIDs are no secrets.
    assert!(
        sent.contains("3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39")
            && sent.contains("123e4567-e89b-12d3-a456-426614174000")
    );
    // The caller reads its own text back.
    assert_eq!(v["choices"][0]["message"]["content"], format!("You said: {prompt}"));

    // Masking of personal data off: the name goes as written, the credentials still do not.
    put_org_ai(&s, &oa, &org, json!({"pii": "off"})).await;
    let (st, v) = chat(&s, &svc, &tenant, ask(&prompt, "gpt-4o-mini")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let sent = mock.seen().bodies.last().unwrap().to_string();
    assert!(sent.contains("Maria Garcia"), "{sent}");
    for secret in [aws, github, "Summer2024!", "S3cr3t!pw"] {
        assert!(!sent.contains(secret), "{secret} sent with masking off: {sent}");
    }
    assert_eq!(v["choices"][0]["message"]["content"], format!("You said: {prompt}"));

    // Blocking refuses a prompt with a credential, naming its type.
    put_org_ai(&s, &oa, &org, json!({"pii": "block"})).await;
    let (st, v) = chat(&s, &svc, &tenant, ask(&format!("deploy with {github}"), "gpt-4o-mini")).await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("pii_blocked")),
        "{v}"
    );
    assert!(v["error"]["message"].as_str().unwrap().contains("GITHUB_TOKEN"), "{v}");
}
