//! The floor of the gateway benchmark (`bench/gateway/run.sh`, `FLOOR=1`): a forwarding proxy
//! on the gateway's own stack (axum in, reqwest out, the same runtime, `TCP_NODELAY`) that does
//! nothing else: no authentication, no decision, no scan, no policy, no audit. What it adds
//! end to end over the mock alone is what any proxy hop built this way costs on the machine
//! that runs the benchmark, so it is the part of datapact's overhead that is not datapact's
//! work.
//!
//! ```sh
//! cargo run --release -p datapact-server --example bare_proxy -- --upstream http://127.0.0.1:PORT/v1
//! ```
//! The first line it prints is its base URL (`http://127.0.0.1:PORT/v1`).

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use clap::Parser;

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(
    name = "bare_proxy",
    about = "A forwarding proxy that does nothing else, for benchmarks"
)]
struct Args {
    /// Address to listen on; port 0 picks a free one (the bound URL is printed first).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The upstream's base URL, ending in `/v1`.
    #[arg(long)]
    upstream: String,
}

struct Upstream {
    client: reqwest::Client,
    chat: String,
}

fn main() {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => fail(&format!("cannot start the runtime: {e}")),
    };
    if let Err(e) = runtime.block_on(run(args)) {
        fail(&e);
    }
}

fn fail(message: &str) -> ! {
    eprintln!("bare_proxy: error: {message}");
    std::process::exit(1);
}

async fn run(args: Args) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let state = std::sync::Arc::new(Upstream {
        client,
        chat: format!("{}/chat/completions", args.upstream.trim_end_matches('/')),
    });
    let app = Router::new()
        .route("/v1/chat/completions", post(forward))
        .with_state(state);
    datapact_server::devmock::serve_printing_url(args.listen, app).await
}

/// Sends the body on as it came and answers with what the upstream answered.
async fn forward(State(up): State<std::sync::Arc<Upstream>>, _headers: HeaderMap, body: Bytes) -> Response {
    let sent = up
        .client
        .post(&up.chat)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let resp = match sent {
        Ok(r) => r,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let status = resp.status();
    match resp.bytes().await {
        Ok(b) => (status, [(header::CONTENT_TYPE, "application/json")], b).into_response(),
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}
