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

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use datapact_server::devmock::{MockOptions, router};

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
    let app = router(&MockOptions {
        delay: Duration::from_millis(args.delay_ms),
        chunk_delay: Duration::from_millis(args.chunk_delay_ms),
        embedding_dim: args.embedding_dim as usize,
        ..MockOptions::default()
    });
    datapact_server::devmock::serve_printing_url(args.listen, app).await
}
