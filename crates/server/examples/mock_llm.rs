//! A fast OpenAI-compatible mock upstream for the gateway benchmarks (`bench/gateway/run.sh`).
//!
//! It answers `POST /v1/chat/completions` (plain JSON, or server-sent events with
//! `"stream": true`), `POST /v1/embeddings` and `GET /v1/models` with fixed, well-formed
//! answers, so that what a load test measures in front of it is the gateway and not the model.
//! The first line it prints is its base URL (`http://127.0.0.1:PORT/v1`).
//!
//! ```sh
//! cargo run --release -p datapact-server --example mock_llm -- --listen 127.0.0.1:0 --delay-ms 0
//! ```

use std::convert::Infallible;
use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use clap::Parser;
use serde::Deserialize;
use serde_json::{Value, json};

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(
    name = "mock_llm",
    about = "A fast OpenAI-compatible mock LLM upstream for benchmarks"
)]
struct Args {
    /// Address to listen on; port 0 picks a free one (the bound URL is printed first).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Fixed delay before every answer, in milliseconds (a stand-in for model latency).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Delay between two streamed events, in milliseconds: with a gap, a proxy that buffers
    /// the stream instead of relaying it shows up as a later first token.
    #[arg(long, default_value_t = 0)]
    chunk_delay_ms: u64,
    /// Dimensions of each embedding vector (text-embedding-3-small has 1536).
    #[arg(long, default_value_t = 1536, value_parser = clap::value_parser!(u32).range(1..=65536))]
    embedding_dim: u32,
    /// Runtime worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

/// The fixed answer, split into the pieces a streamed answer delivers one by one.
const ANSWER_PIECES: [&str; 4] = ["The thread ", "asks to confirm ", "the invoice ", "details."];
/// Completion tokens reported in `usage` (one per piece, a plausible figure).
const COMPLETION_TOKENS: u64 = ANSWER_PIECES.len() as u64;
/// Models listed by `GET /v1/models`.
const MODELS: [&str; 2] = ["gpt-4o-mini", "text-embedding-3-small"];

/// Shared state: the configured delays, the pre-rendered embedding and a request counter for ids.
struct Mock {
    delay: Duration,
    chunk_delay: Duration,
    /// One embedding vector rendered as a JSON array once, since every answer reuses it.
    embedding: Arc<str>,
    next_id: AtomicU64,
}

impl Mock {
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

fn main() {
    let args = Args::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        builder.worker_threads(usize::from(n));
    }
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => fail(&format!("cannot start the runtime: {e}")),
    };
    if let Err(e) = runtime.block_on(run(args)) {
        fail(&e);
    }
}

fn fail(message: &str) -> ! {
    eprintln!("mock_llm: error: {message}");
    std::process::exit(1);
}

async fn run(args: Args) -> Result<(), String> {
    let dim = args.embedding_dim as usize;
    // Deterministic, non-trivial values so clients parse real floats, not zeros.
    let values: Vec<String> = (0..dim)
        .map(|i| format!("{:.6}", ((i * 7919) % 2000) as f64 / 1000.0 - 1.0))
        .collect();
    let mock = Arc::new(Mock {
        delay: Duration::from_millis(args.delay_ms),
        chunk_delay: Duration::from_millis(args.chunk_delay_ms),
        embedding: format!("[{}]", values.join(",")).into(),
        next_id: AtomicU64::new(1),
    });
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/chat/completions", post(chat))
        .route("/v1/embeddings", post(embeddings))
        .route("/embeddings", post(embeddings))
        .route("/v1/models", get(models))
        .route("/models", get(models))
        .with_state(mock);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| format!("no local address: {e}"))?;
    // The first line is what scripts read to find the mock; flush it before serving.
    let mut out = std::io::stdout().lock();
    writeln!(out, "http://{addr}/v1")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    drop(out);
    // Small SSE events would otherwise wait on Nagle's algorithm and the peer's delayed ACK.
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
    let model = req.model.unwrap_or_else(|| "gpt-4o-mini".into());
    let id = format!("chatcmpl-mock{:012}", mock.id());
    let created = unix_now();
    let usage = json!({
        "prompt_tokens": prompt_tokens(&body),
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": prompt_tokens(&body) + COMPLETION_TOKENS,
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
                "message": {"role": "assistant", "content": ANSWER_PIECES.concat(), "refusal": null},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": usage,
        });
        return json_response(answer.to_string());
    }
    let include_usage = req.stream_options.is_some_and(|o| o.include_usage);
    let events = stream_events(&id, created, &model, include_usage.then_some(usage));
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
fn stream_events(id: &str, created: u64, model: &str, usage: Option<Value>) -> Vec<String> {
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
    frames.extend(ANSWER_PIECES.iter().map(|p| chunk(json!({"content": p}), Value::Null)));
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
