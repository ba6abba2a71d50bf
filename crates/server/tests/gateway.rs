//! The AI trust layer's OpenAI-compatible surface against a real server: who may call, for
//! which tenant, and which models their policy and decisions allow.

mod common;

use common::TestServer;
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
    let toml = format!(
        r#"
[[providers]]
name = "openai-eu"
kind = "third_party"
api = "openai"
base_url = "https://example.invalid/v1"
region = "eu"
models = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]
api_key_file = "{key}"

[[providers]]
name = "openai-us"
kind = "third_party"
api = "openai"
base_url = "https://example.invalid/v1"
region = "us"
models = ["o3-mini"]
api_key_file = "{key}"

[[providers]]
name = "local"
kind = "self_hosted"
api = "openai"
base_url = "http://127.0.0.1:9/v1"
region = "eu"
models = ["llama3.1"]
"#,
        key = key_file.display()
    );
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
    let put = |body: Value| {
        let (s, oa, org) = (&s, oa.clone(), org.clone());
        async move {
            let (st, v) = s
                .call(
                    reqwest::Method::PUT,
                    &format!("/v1/orgs/{org}/ai-settings"),
                    Some(&oa),
                    Some(body),
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{v}");
        }
    };
    put(json!({"models": {"deny": ["gpt-4o", "openai-eu/text-embedding-*"]}})).await;
    let (_, v) = models(&s, &svc, Some(&tenant)).await;
    assert_eq!(ids(&v), ["gpt-4o-mini", "llama3.1"]);

    // Generative AI off: third-party models go; the customer's own model stays (`service`).
    put(json!({"genai_enabled": false})).await;
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
