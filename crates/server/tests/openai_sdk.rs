//! The official `openai` Python package against the trust layer, as a customer's code would
//! use it: only the base URL and the key change. The package is installed, pinned, into a
//! virtual environment under the target directory on first run. Without Python or the package
//! registry the test is skipped, except under `CI=true`, where it fails.

mod common;

use std::process::Command;

use common::TestServer;
use common::llm::{mock_provider, provider_toml};
use common::sdk::sdk_python;
use datapact_server::Config;
use serde_json::{Value, json};

/// What the script does with the SDK, printed as one JSON object.
const SCRIPT: &str = r#"
import json, sys, openai
base, key, tenant = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base, api_key=key, default_headers={"x-datapact-tenant": tenant}, max_retries=0)
out = {}
chat = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Write to ann@example.com"}],
)
out["chat"] = chat.choices[0].message.content
out["chat_usage"] = chat.usage.total_tokens
stream = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Forward to ann@example.com please"}],
    stream=True,
    stream_options={"include_usage": True},
)
parts, usage = [], None
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        parts.append(chunk.choices[0].delta.content)
    if chunk.usage is not None:
        usage = chunk.usage.total_tokens
out["stream"] = "".join(parts)
out["stream_chunks"] = len(parts)
out["stream_usage"] = usage
try:
    for chunk in client.chat.completions.create(model="broken", messages=[{"role": "user", "content": "hi"}], stream=True):
        pass
    out["stream_error"] = None
except openai.APIError as e:
    out["stream_error"] = e.code if hasattr(e, "code") else str(e)
emb = client.embeddings.create(model="gpt-4o-mini", input=["hello"])
out["embedding"] = emb.data[0].embedding
out["models"] = sorted(m.id for m in client.models.list())
try:
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    out["error"] = None
except openai.PermissionDeniedError as e:
    out["error"] = {"status": e.status_code, "code": e.code, "type": e.type}
try:
    client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
except openai.NotFoundError as e:
    out["not_found"] = e.code
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_openai_sdk_works_by_changing_the_base_url() {
    let Some(python) = common::sdk::required(
        sdk_python(),
        "the OpenAI SDK compatibility test needs Python and the openai package",
    ) else {
        return;
    };
    let (upstream, seen) = mock_provider().await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("k");
    std::fs::write(&key_file, "sk-upstream").unwrap();
    let toml = provider_toml(
        "openai-eu",
        "third_party",
        &upstream,
        "eu",
        &["gpt-4o-mini", "gpt-4o", "broken"],
        Some(&key_file),
    );
    let s = TestServer::start_in(&dir.path().join("data"), Config::parse(&toml, "t.toml").unwrap()).await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let (st, v) = s
        .call(
            reqwest::Method::PUT,
            &format!("/v1/orgs/{org}/ai-settings"),
            Some(&oa),
            Some(json!({"models": {"deny": ["gpt-4o"]}})),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let svc = s.key(json!({"role": "service", "product": "ixp", "org": org})).await;
    let script = dir.path().join("sdk.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let base = format!("{}/v1", s.url);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args([&base, &svc, &tenant])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["chat"], "You said: Write to ann@example.com");
    assert_eq!(v["chat_usage"], 17);
    // Streamed: chunks as they came (the mock sends three characters at a time), the
    // placeholder restored across chunk boundaries, usage last as asked.
    assert_eq!(v["stream"], "You said: Forward to ann@example.com please");
    assert!(v["stream_chunks"].as_u64().unwrap() > 5, "{v}");
    assert_eq!(v["stream_usage"], 17);
    assert_eq!(v["stream_error"], "upstream_invalid_response", "{v}");
    assert_eq!(v["embedding"], json!([0.25, -0.5]));
    assert_eq!(v["models"], json!(["broken", "gpt-4o-mini"]));
    assert_eq!(
        v["error"],
        json!({"status": 403, "code": "model_not_allowed", "type": "permission_error"})
    );
    assert_eq!(v["not_found"], "model_not_found");
    let sent = &seen.lock().unwrap().bodies[0];
    assert_eq!(sent["messages"][0]["content"], "Write to <EMAIL_ADDRESS_1>");
}
