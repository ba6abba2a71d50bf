//! An OpenAI-compatible mock LLM provider, in process: for `datapact serve --dev` (so the AI
//! trust layer can be tried with no provider account) and for the gateway benchmarks
//! (`examples/mock_llm.rs`). Deterministic: fixed answers, or the last user message echoed
//! back; `GET /v1/dev/received` shows the last requests it received, so a demo can show what a
//! provider sees (masked personal data, `store: false`).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

/// How the mock answers.
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// Fixed delay before every answer (a stand-in for model latency).
    pub delay: Duration,
    /// Delay between two streamed events.
    pub chunk_delay: Duration,
    /// Dimensions of each embedding vector.
    pub embedding_dim: usize,
    /// Answer "You said: <last user message>" instead of the fixed answer.
    pub echo: bool,
    /// How many received requests `GET /v1/dev/received` keeps (0: none, and nothing is kept).
    pub keep_received: usize,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            delay: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            embedding_dim: 1536,
            echo: false,
            keep_received: 0,
        }
    }
}

/// Serves the mock on `listener` until the returned task is aborted or the runtime stops.
pub fn spawn(listener: tokio::net::TcpListener, opts: &MockOptions) -> tokio::task::JoinHandle<()> {
    let app = router(opts);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the development mock LLM stopped");
        }
    })
}

/// Serves `app` on `listen` for the benchmark examples (the mock and the floor proxy): prints
/// its base URL (`http://ADDR/v1`) as the first line of standard output, the line scripts
/// read, then serves with `TCP_NODELAY` (small events would otherwise wait on Nagle's
/// algorithm and the peer's delayed ACK) until Ctrl-C.
pub async fn serve_printing_url(listen: std::net::SocketAddr, app: Router) -> Result<(), String> {
    use std::io::Write;

    use axum::serve::ListenerExt;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| format!("no local address: {e}"))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "http://{addr}/v1")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    drop(out);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// The mock's routes (`/v1/chat/completions`, `/v1/embeddings`, `/v1/models`, and the same
/// without `/v1`; `GET /v1/dev/received`).
pub fn router(opts: &MockOptions) -> Router {
    // Deterministic, non-trivial values so clients parse real floats, not zeros.
    let values: Vec<String> = (0..opts.embedding_dim.max(1))
        .map(|i| format!("{:.6}", ((i * 7919) % 2000) as f64 / 1000.0 - 1.0))
        .collect();
    let mock = Arc::new(Mock {
        delay: opts.delay,
        chunk_delay: opts.chunk_delay,
        embedding: format!("[{}]", values.join(",")).into(),
        next_id: AtomicU64::new(1),
        echo: opts.echo,
        keep: opts.keep_received,
        received: Mutex::new(VecDeque::new()),
    });
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/chat/completions", post(chat))
        .route("/v1/embeddings", post(embeddings))
        .route("/embeddings", post(embeddings))
        .route("/v1/models", get(models))
        .route("/models", get(models))
        .route("/v1/dev/received", get(received))
        .with_state(mock)
}

/// The fixed answer, split into the pieces a streamed answer delivers one by one.
const ANSWER_PIECES: [&str; 4] = ["The thread ", "asks to confirm ", "the invoice ", "details."];
/// Models listed by `GET /v1/models`.
const MODELS: [&str; 2] = ["gpt-4o-mini", "text-embedding-3-small"];

/// Shared state: the configured delays, the pre-rendered embedding and a request counter for ids.
struct Mock {
    delay: Duration,
    chunk_delay: Duration,
    /// One embedding vector rendered as a JSON array once, since every answer reuses it.
    embedding: Arc<str>,
    next_id: AtomicU64,
    echo: bool,
    keep: usize,
    received: Mutex<VecDeque<Value>>,
}

impl Mock {
    /// Keeps a received request body for `GET /v1/dev/received`.
    fn remember(&self, body: &[u8]) {
        if self.keep == 0 {
            return;
        }
        if let (Ok(v), Ok(mut r)) = (serde_json::from_slice::<Value>(body), self.received.lock()) {
            if r.len() == self.keep {
                r.pop_front();
            }
            r.push_back(v);
        }
    }

    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    async fn pause(&self) {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }
}

/// The fields of a chat request the mock looks at; every other field is skipped unparsed.
#[derive(Deserialize)]
struct ChatRequest {
    model: Option<String>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    stream: bool,
    stream_options: Option<StreamOptions>,
}

/// `stream_options` of a chat request.
#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

/// The fields of an embeddings request the mock looks at.
#[derive(Deserialize)]
struct EmbeddingsRequest {
    model: Option<String>,
    input: Value,
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// An error in OpenAI's shape.
fn openai_error(status: StatusCode, message: &str, code: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}});
    (status, axum::Json(body)).into_response()
}

fn json_response(body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A rough token count (four bytes a token), so `usage` grows with the prompt as it would.
fn prompt_tokens(body: &[u8]) -> u64 {
    (body.len() as u64 / 4).max(1)
}

/// A request body, or the OpenAI-shaped 400 that refuses it.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(openai_error(
            StatusCode::BAD_REQUEST,
            &format!("invalid JSON body: {e}"),
            "invalid_json",
        ))
    })
}

async fn chat(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
    let req: ChatRequest = match parse(&body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    mock.remember(&body);
    let pieces: Vec<String> = if mock.echo {
        echo_pieces(&req.messages)
    } else {
        ANSWER_PIECES.iter().map(|p| p.to_string()).collect()
    };
    let model = req.model.unwrap_or_else(|| "gpt-4o-mini".into());
    let id = format!("chatcmpl-mock{:012}", mock.id());
    let created = unix_now();
    let usage = json!({
        "prompt_tokens": prompt_tokens(&body),
        "completion_tokens": pieces.len() as u64,
        "total_tokens": prompt_tokens(&body) + pieces.len() as u64,
    });
    mock.pause().await;
    if !req.stream {
        let answer = json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_mock",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": pieces.concat(), "refusal": null},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": usage,
        });
        return json_response(answer.to_string());
    }
    let include_usage = req.stream_options.is_some_and(|o| o.include_usage);
    let events = stream_events(&id, created, &model, &pieces, include_usage.then_some(usage));
    let chunk_delay = mock.chunk_delay;
    // The first event goes out at once; later ones after `chunk_delay` each, as tokens would.
    let stream = futures_util::stream::unfold((events.into_iter(), true), move |(mut events, first)| async move {
        let event = events.next()?;
        if !first && !chunk_delay.is_zero() {
            tokio::time::sleep(chunk_delay).await;
        }
        Some((Ok::<_, Infallible>(Bytes::from(event)), (events, false)))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The server-sent events of a streamed answer, each a complete `data: ...\n\n` frame: a role
/// delta, one delta per answer piece, the finish reason, the usage chunk when asked, `[DONE]`.
fn stream_events(id: &str, created: u64, model: &str, pieces: &[String], usage: Option<Value>) -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_mock",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        })
    };
    let mut frames = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
    frames.extend(pieces.iter().map(|p| chunk(json!({"content": p}), Value::Null)));
    frames.push(chunk(json!({}), json!("stop")));
    if let Some(usage) = usage {
        frames.push(json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_mock",
            "choices": [],
            "usage": usage,
        }));
    }
    let mut events: Vec<String> = frames.iter().map(|f| format!("data: {f}\n\n")).collect();
    events.push("data: [DONE]\n\n".into());
    events
}

async fn embeddings(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
    let req: EmbeddingsRequest = match parse(&body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    mock.remember(&body);
    let inputs = match &req.input {
        Value::String(_) => 1,
        Value::Array(items) if !items.is_empty() => items.len(),
        _ => {
            return openai_error(
                StatusCode::BAD_REQUEST,
                "`input` must be a string or a non-empty array",
                "invalid_input",
            );
        }
    };
    mock.pause().await;
    let model = serde_json::to_string(req.model.as_deref().unwrap_or("text-embedding-3-small"))
        .unwrap_or_else(|_| "\"text-embedding-3-small\"".into());
    // Rendered by hand: the vector is already JSON, and re-serializing it per call is the
    // costliest thing this mock could do.
    let mut out = String::with_capacity(64 + inputs * (mock.embedding.len() + 48));
    out.push_str("{\"object\":\"list\",\"data\":[");
    for i in 0..inputs {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{{\"object\":\"embedding\",\"index\":{i},\"embedding\":");
        out.push_str(&mock.embedding);
        out.push('}');
    }
    let tokens = prompt_tokens(&body);
    let _ = write!(
        out,
        "],\"model\":{model},\"usage\":{{\"prompt_tokens\":{tokens},\"total_tokens\":{tokens}}}}}"
    );
    json_response(out)
}

async fn models() -> Response {
    let created = unix_now();
    let data: Vec<Value> = MODELS
        .iter()
        .map(|m| json!({"id": m, "object": "model", "created": created, "owned_by": "mock"}))
        .collect();
    json_response(json!({"object": "list", "data": data}).to_string())
}

/// "You said: " and the last user message, in pieces of a few words (as tokens would come).
fn echo_pieces(messages: &[Value]) -> Vec<String> {
    let text = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join(""),
            _ => String::new(),
        })
        .unwrap_or_default();
    let mut pieces = vec!["You said: ".to_string()];
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    pieces.extend(words.chunks(3).map(|c| c.concat()));
    pieces
}

/// The last requests received, oldest first.
async fn received(State(mock): State<Arc<Mock>>) -> Response {
    let list: Vec<Value> = mock
        .received
        .lock()
        .map(|r| r.iter().cloned().collect())
        .unwrap_or_default();
    json_response(Value::Array(list).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_echo_comes_back_whole_in_pieces() {
        let m = vec![json!({"role": "user", "content": "Write to <EMAIL_ADDRESS_1> about the invoice"})];
        let p = echo_pieces(&m);
        assert_eq!(p.concat(), "You said: Write to <EMAIL_ADDRESS_1> about the invoice");
        assert!(p.len() > 2);
    }
}
