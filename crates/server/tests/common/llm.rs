//! A provider speaking OpenAI's and Anthropic's APIs, for the AI trust layer's tests.

#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// One `[[providers]]` entry of the server configuration, speaking OpenAI's API.
pub fn provider_toml(
    name: &str,
    kind: &str,
    base_url: &str,
    region: &str,
    models: &[&str],
    key_file: Option<&Path>,
) -> String {
    provider_entry(name, kind, "openai", base_url, region, models, key_file, "")
}

/// One `[[providers]]` entry with any API and extra settings (`extra`: TOML lines).
#[allow(clippy::too_many_arguments)]
pub fn provider_entry(
    name: &str,
    kind: &str,
    api: &str,
    base_url: &str,
    region: &str,
    models: &[&str],
    key_file: Option<&Path>,
    extra: &str,
) -> String {
    let models: Vec<String> = models.iter().map(|m| format!("\"{m}\"")).collect();
    let key = key_file.map_or(String::new(), |k| format!("api_key_file = \"{}\"\n", k.display()));
    format!(
        "[[providers]]\nname = \"{name}\"\nkind = \"{kind}\"\napi = \"{api}\"\nbase_url = \"{base_url}\"\n\
         region = \"{region}\"\nmodels = [{}]\n{key}{extra}\n",
        models.join(", ")
    )
}

/// What the mock provider saw, and how it should misbehave.
#[derive(Default)]
pub struct Seen {
    /// Request bodies, in order.
    pub bodies: Vec<Value>,
    /// Authorization (or x-api-key) headers, in order.
    pub auth: Vec<String>,
    /// Every header name of the last request.
    pub header_names: Vec<String>,
    /// Path and query of each request, in order.
    pub uris: Vec<String>,
    /// Streams the client abandoned (the mock could not send the next chunk).
    pub cancelled: usize,
}

/// The mock's shared state.
#[derive(Clone, Default)]
pub struct Mock {
    /// What it saw.
    pub seen: Arc<Mutex<Seen>>,
    /// The next this many calls answer 503 with `Retry-After: 0`.
    pub fail_next: Arc<AtomicUsize>,
    /// Every call answers 500 while set.
    pub down: Arc<std::sync::atomic::AtomicBool>,
    /// Calls answered.
    pub calls: Arc<AtomicUsize>,
}

impl Mock {
    /// What it saw.
    pub fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }
}

/// The last user message's text.
fn last_text(body: &Value) -> String {
    let last = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or(Value::Null);
    match &last["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// The reply to a prompt; the mock adds a marker of its own to prompts carrying a canary, so
/// tests can look for provider-made text too.
fn reply(body: &Value, n: usize) -> String {
    let text = last_text(body);
    if text.contains("canary") {
        format!("You said: {text} upstream-canary-{n:08}")
    } else {
        format!("You said: {text}")
    }
}

fn sse(rx: tokio::sync::mpsc::Receiver<String>) -> Response {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|s| (Ok::<_, std::convert::Infallible>(bytes::Bytes::from(s)), rx))
    });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("text/event-stream"),
    );
    r
}

/// Pieces of 3 characters: placeholders end up split across chunks.
fn pieces(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(3).map(|c| c.iter().collect()).collect()
}

fn record(mock: &Mock, headers: &HeaderMap, body: &Value) -> usize {
    let mut s = mock.seen();
    s.bodies.push(body.clone());
    if let Some(u) = headers.get("x-mock-uri").and_then(|v| v.to_str().ok()) {
        s.uris.push(u.to_string());
    }
    let auth = headers
        .get("authorization")
        .or_else(|| headers.get("x-api-key"))
        .or_else(|| headers.get("api-key"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    s.auth.push(auth);
    s.header_names = headers.keys().map(|k| k.as_str().to_string()).collect();
    drop(s);
    mock.calls.fetch_add(1, Ordering::SeqCst)
}

/// Misbehaviors shared by both APIs; `None` when the call should be answered normally.
fn misbehave(mock: &Mock, model: &str) -> Option<Response> {
    if mock.down.load(Ordering::SeqCst) || model == "fail" {
        return Some((StatusCode::INTERNAL_SERVER_ERROR, "{}").into_response());
    }
    if mock
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return Some((StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "0")], "{}").into_response());
    }
    if model == "redirect" {
        // Points back at itself: a client that follows redirects sends the prompt again.
        return Some(
            (
                StatusCode::TEMPORARY_REDIRECT,
                [("location", "/v1/chat/completions")],
                "",
            )
                .into_response(),
        );
    }
    if model == "reject" {
        return Some(
            (
                StatusCode::BAD_REQUEST,
                json!({"error": {"message": "temperature must be at most 2", "type": "invalid_request_error"}})
                    .to_string(),
            )
                .into_response(),
        );
    }
    None
}

/// Records a call, then either misbehaves as its model says or gives the model and the reply.
fn begin(mock: &Mock, headers: &HeaderMap, body: &Value) -> Result<(String, String), Box<Response>> {
    let n = record(mock, headers, body);
    let model = body["model"].as_str().unwrap_or("").to_string();
    match misbehave(mock, &model) {
        Some(r) => Err(Box::new(r)),
        None => Ok((model, reply(body, n))),
    }
}

async fn chat(State(mock): State<Mock>, headers: HeaderMap, axum::Json(body): axum::Json<Value>) -> Response {
    let (model, text) = match begin(&mock, &headers, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    // Like a provider, the mock stops at the completion cap it is given.
    let cap = ["max_completion_tokens", "max_tokens"]
        .iter()
        .filter_map(|k| body[*k].as_u64())
        .min()
        .unwrap_or(u64::MAX);
    let completion = 5.min(cap);
    let usage = json!({"prompt_tokens": 12, "completion_tokens": completion, "total_tokens": 12 + completion});
    if body["stream"] != true {
        return match model.as_str() {
            "broken" => (StatusCode::OK, "{\"not\": \"a completion\"").into_response(),
            _ => axum::Json(json!({
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": usage
            }))
            .into_response(),
        };
    }
    let include_usage = body["stream_options"]["include_usage"] == true;
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(1);
    let seen = mock.seen.clone();
    tokio::spawn(async move {
        let chunk = |delta: Value, finish: Value| {
            format!(
                "data: {}\n\n",
                json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            )
        };
        let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
        match model.as_str() {
            "broken" => events.push("data: {not json\n\n".into()),
            "slow" => {
                for _ in 0..400 {
                    events.push(chunk(json!({"content": "."}), Value::Null));
                }
            }
            _ => {}
        }
        for p in pieces(&text) {
            events.push(chunk(json!({"content": p}), Value::Null));
        }
        events.push(chunk(json!({}), json!("stop")));
        if include_usage {
            events.push(format!(
                "data: {}\n\n",
                json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "choices": [],
                       "usage": usage})
            ));
        }
        events.push("data: [DONE]\n\n".into());
        for (i, e) in events.into_iter().enumerate() {
            if model == "stall" && i == 2 {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            if model == "cut" && i == 2 {
                return;
            }
            if model == "slow" {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if tx.send(e).await.is_err() {
                seen.lock().unwrap().cancelled += 1;
                return;
            }
        }
    });
    sse(rx)
}

async fn messages(State(mock): State<Mock>, headers: HeaderMap, axum::Json(body): axum::Json<Value>) -> Response {
    let (model, text) = match begin(&mock, &headers, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    if body["stream"] != true {
        return axum::Json(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 9, "output_tokens": 4}
        }))
        .into_response();
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(64);
    tokio::spawn(async move {
        let ev = |kind: &str, v: Value| format!("event: {kind}\ndata: {v}\n\n");
        let mut events = vec![
            ev(
                "message_start",
                json!({"type": "message_start", "message": {"id": "msg_s", "model": model, "usage": {"input_tokens": 9}}}),
            ),
            ev(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            ev("ping", json!({"type": "ping"})),
        ];
        for p in pieces(&text) {
            events.push(ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}),
            ));
        }
        events.push(ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        events.push(ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}}),
        ));
        events.push(ev("message_stop", json!({"type": "message_stop"})));
        for e in events {
            if tx.send(e).await.is_err() {
                return;
            }
        }
    });
    sse(rx)
}

async fn embeddings(State(mock): State<Mock>, headers: HeaderMap, axum::Json(body): axum::Json<Value>) -> Response {
    record(&mock, &headers, &body);
    if let Some(r) = misbehave(&mock, body["model"].as_str().unwrap_or("")) {
        return r;
    }
    axum::Json(json!({
        "object": "list",
        "model": body["model"],
        "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5]}],
        "usage": {"prompt_tokens": 3, "total_tokens": 3}
    }))
    .into_response()
}

/// A provider on an ephemeral loopback port: OpenAI's chat completions (streamed or not) and
/// embeddings, and Anthropic's messages, each echoing the last message (placeholders
/// included). Models name misbehaviors: `broken` answers garbage, `fail` answers 500,
/// `reject` answers 400, `redirect` answers 307 to itself, `stall` stops mid-stream, `cut` ends a stream early, `slow` streams
/// 400 chunks 10 ms apart.
pub async fn mock() -> (String, Mock) {
    let mock = Mock::default();
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/messages", post(messages))
        .route("/v1/embeddings", post(embeddings))
        // Azure OpenAI's shape: the deployment in the path, the API version in the query.
        .route("/v1/openai/deployments/{deployment}/chat/completions", post(chat))
        .route("/v1/openai/deployments/{deployment}/embeddings", post(embeddings))
        .layer(axum::middleware::from_fn(
            |mut req: axum::extract::Request, next: axum::middleware::Next| async move {
                let uri = req.uri().to_string();
                if let Ok(v) = axum::http::HeaderValue::from_str(&uri) {
                    req.headers_mut().insert("x-mock-uri", v);
                }
                next.run(req).await
            },
        ))
        .with_state(mock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, mock)
}

/// The mock, and what it saw.
pub async fn mock_provider() -> (String, Arc<Mutex<Seen>>) {
    let (url, m) = mock().await;
    (url, m.seen)
}

/// A server with the given providers (`KEYFILE` in them stands for a key file it writes), an
/// organization in `eu` with a tenant, its admin key and a service key for `ixp`: the server,
/// its scratch directory (data in `data/`), the organization, the admin key, the tenant and
/// the service key.
pub async fn gateway(toml: &str) -> (super::TestServer, tempfile::TempDir, String, String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("provider.key");
    std::fs::write(&key_file, "sk-test-secret\n").unwrap();
    let toml = toml.replace("KEYFILE", &key_file.display().to_string());
    let config = datapact_server::Config::parse(&toml, "test.toml").unwrap();
    let s = super::TestServer::start_in(&dir.path().join("data"), config).await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let svc = s.key(json!({"role": "service", "product": "ixp", "org": org})).await;
    (s, dir, org, oa, tenant, svc)
}
