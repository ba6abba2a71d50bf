//! An open-loop, constant-rate HTTP load generator for the gateway benchmarks
//! (`bench/gateway/run.sh`).
//!
//! Request `i` is due at `start + i / rate` and is sent then whether or not earlier requests
//! have been answered, and its latency counts from that due time, not from when it actually
//! left: a server that stalls is charged for the requests that queued behind the stall
//! (no coordinated omission). Requests due during `--warmup` are sent but not recorded.
//!
//! ```sh
//! cargo run --release -p datapact-server --example loadgen -- --url http://127.0.0.1:8080/v1/chat/completions \
//!     --header 'authorization: Bearer KEY' --body bench/gateway/prompt-2k.json --rate 2000 --duration 20 --warmup 5
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use hdrhistogram::Histogram;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::{Value, json};

/// Most requests one run may schedule, so a typo in `--rate` cannot exhaust memory.
const MAX_REQUESTS: f64 = 20_000_000.0;

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    about = "Open-loop constant-rate HTTP load generator (latency from scheduled send time)"
)]
struct Args {
    /// The URL every request goes to (http:// or https://).
    #[arg(long, value_parser = parse_url)]
    url: Url,
    /// A request header, `NAME: VALUE`; repeat for more.
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    headers: Vec<(HeaderName, HeaderValue)>,
    /// File whose bytes are the request body (sent as `application/json` unless a header says otherwise).
    #[arg(long)]
    body: Option<PathBuf>,
    /// HTTP method (default: POST with `--body`, GET without).
    #[arg(long, value_parser = parse_method)]
    method: Option<Method>,
    /// Requests per second, spread evenly.
    #[arg(long, value_parser = parse_rate)]
    rate: f64,
    /// Seconds of measured load, after the warm-up.
    #[arg(long, default_value = "10", value_parser = parse_positive_secs)]
    duration: f64,
    /// Seconds of load sent first and not recorded, so connections are open and caches warm.
    #[arg(long, default_value = "2", value_parser = parse_non_negative_secs)]
    warmup: f64,
    /// Read the body as server-sent events: also record the time to the first `data:` event,
    /// and count a stream that never sends `data: [DONE]` as an error.
    #[arg(long)]
    stream: bool,
    /// At most this many requests in flight (and pooled connections); a request waiting for
    /// one is late, and that wait counts in its latency. Default: no limit.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    connections: Option<u32>,
    /// Seconds after its scheduled send before a request is given up and counted as a
    /// `timeout` error (waiting for a connection slot included).
    #[arg(long, default_value = "30", value_parser = parse_positive_secs)]
    timeout: f64,
    /// Runtime worker threads of the load generator (it shares the machine with the server).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
    /// A name for this run, echoed in the output.
    #[arg(long)]
    label: Option<String>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
}

fn parse_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!("the scheme must be http or https, not {other}")),
    }
}

fn parse_header(s: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("expected `NAME: VALUE`, got `{s}`"))?;
    let name =
        HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| format!("invalid header name `{}`", name.trim()))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| format!("invalid value for header `{name}`"))?;
    Ok((name, value))
}

fn parse_method(s: &str) -> Result<Method, String> {
    Method::from_bytes(s.to_ascii_uppercase().as_bytes()).map_err(|_| format!("invalid HTTP method `{s}`"))
}

fn parse_number(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("`{s}` is not a finite number"))
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let v = parse_number(s)?;
    if v > 0.0 && v <= 1_000_000.0 {
        Ok(v)
    } else {
        Err("the rate must be above 0 and at most 1000000 requests/s".into())
    }
}

fn parse_positive_secs(s: &str) -> Result<f64, String> {
    let v = parse_number(s)?;
    if v > 0.0 && v <= 86_400.0 {
        Ok(v)
    } else {
        Err("must be above 0 and at most 86400 seconds".into())
    }
}

fn parse_non_negative_secs(s: &str) -> Result<f64, String> {
    let v = parse_number(s)?;
    if (0.0..=86_400.0).contains(&v) {
        Ok(v)
    } else {
        Err("must be 0 to 86400 seconds".into())
    }
}

/// What every request shares.
struct Ctx {
    client: reqwest::Client,
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Bytes>,
    stream: bool,
    timeout: Duration,
    limit: Option<tokio::sync::Semaphore>,
    stats: Mutex<Stats>,
}

/// What the measured requests found.
struct Stats {
    /// Due time to the end of a successful answer, in µs.
    latency: Histogram<u64>,
    /// Actual send to the end of a successful answer, in µs (what a closed-loop tool reports).
    service: Histogram<u64>,
    /// Due time to the first server-sent event (`--stream`), in µs.
    ttfb: Histogram<u64>,
    /// Due time to the moment the request's task started, in µs: the generator's own lateness.
    lag: Histogram<u64>,
    sent: u64,
    ok: u64,
    errors: BTreeMap<String, u64>,
    /// The first message seen for each error kind, to say what went wrong.
    error_samples: BTreeMap<String, String>,
    response_bytes: u64,
    last_done: Option<Instant>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to one hour at 3 significant digits; the bounds are constants, so this cannot fail.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant histogram bounds are valid")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Why one request failed: a short kind for counting, and the message.
struct Failure {
    kind: String,
    message: String,
}

impl Failure {
    fn from_reqwest(e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connect"
        } else if e.is_body() || e.is_decode() {
            "body"
        } else if e.is_request() {
            "request"
        } else {
            "other"
        };
        // The chain of sources says more than the top error ("error sending request").
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Failure {
            kind: kind.into(),
            message,
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Sends one request and reads the whole answer; returns when the first event arrived
/// (streams only) and how many body bytes came back.
async fn exchange(ctx: &Ctx) -> Result<(Option<Instant>, usize), Failure> {
    let mut req = ctx
        .client
        .request(ctx.method.clone(), ctx.url.clone())
        .headers(ctx.headers.clone());
    if let Some(body) = &ctx.body {
        req = req.body(body.clone());
    }
    let mut resp = req.send().await.map_err(|e| Failure::from_reqwest(&e))?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.bytes().await.unwrap_or_default();
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(Failure {
            kind: format!("status {}", status.as_u16()),
            message: text,
        });
    }
    if !ctx.stream {
        let body = resp.bytes().await.map_err(|e| Failure::from_reqwest(&e))?;
        return Ok((None, body.len()));
    }
    let mut first_event = None;
    let mut done = false;
    let mut total = 0;
    // The end of the previous chunk, so a marker split across two chunks is still found.
    let mut carry: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| Failure::from_reqwest(&e))? {
        total += chunk.len();
        carry.extend_from_slice(&chunk);
        if first_event.is_none() && contains(&carry, b"data:") {
            first_event = Some(Instant::now());
        }
        if contains(&carry, b"data: [DONE]") {
            done = true;
        }
        let keep = carry.len().saturating_sub(16);
        carry.drain(..keep);
    }
    if !done {
        return Err(Failure {
            kind: "stream_incomplete".into(),
            message: format!("the stream ended after {total} bytes without `data: [DONE]`"),
        });
    }
    Ok((first_event, total))
}

/// One request due at `due`; recorded when `measured`.
async fn one(ctx: Arc<Ctx>, due: Instant, measured: bool) {
    let started = Instant::now();
    // The deadline counts from the due time and covers the wait for a connection slot too,
    // so a server that cannot keep up is charged timeouts and the run still ends on time.
    let deadline = tokio::time::Instant::from_std(due + ctx.timeout);
    let attempt = tokio::time::timeout_at(deadline, async {
        let _permit = match &ctx.limit {
            // The semaphore is never closed, so `acquire` cannot fail; were it closed, go unlimited.
            Some(limit) => limit.acquire().await.ok(),
            None => None,
        };
        let sent = Instant::now();
        exchange(&ctx).await.map(|answer| (sent, answer))
    })
    .await;
    let end = Instant::now();
    if !measured {
        return;
    }
    let result = attempt.unwrap_or_else(|_| {
        Err(Failure {
            kind: "timeout".into(),
            message: format!("no complete answer within {:?} of the scheduled send", ctx.timeout),
        })
    });
    let mut st = ctx.stats.lock().unwrap_or_else(PoisonError::into_inner);
    st.sent += 1;
    st.lag.saturating_record(micros(started.saturating_duration_since(due)));
    match result {
        Ok((sent, (first_event, bytes))) => {
            st.ok += 1;
            st.response_bytes += bytes as u64;
            st.latency.saturating_record(micros(end.saturating_duration_since(due)));
            st.service
                .saturating_record(micros(end.saturating_duration_since(sent)));
            if let Some(t) = first_event {
                st.ttfb.saturating_record(micros(t.saturating_duration_since(due)));
            }
        }
        Err(f) => {
            *st.errors.entry(f.kind.clone()).or_default() += 1;
            st.error_samples.entry(f.kind).or_insert(f.message);
        }
    }
    st.last_done = Some(st.last_done.map_or(end, |t| t.max(end)));
}

fn main() {
    let args = Args::parse();
    let total = (args.warmup + args.duration) * args.rate;
    if total > MAX_REQUESTS {
        fail_usage(&format!(
            "--rate × (--warmup + --duration) schedules {total:.0} requests; at most {MAX_REQUESTS:.0} per run"
        ));
    }
    if args.duration * args.rate < 1.0 {
        fail_usage("--rate × --duration schedules no measured request");
    }
    let body = match &args.body {
        Some(path) => match std::fs::read(path) {
            Ok(b) => Some(Bytes::from(b)),
            Err(e) => fail_usage(&format!("cannot read --body {}: {e}", path.display())),
        },
        None => None,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(args.threads))
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => fail(&format!("cannot start the runtime: {e}")),
    };
    let report = match runtime.block_on(run(&args, body)) {
        Ok(r) => r,
        Err(e) => fail(&e),
    };
    if args.json {
        println!("{report}");
    } else {
        print_text(&report);
    }
}

fn fail_usage(message: &str) -> ! {
    eprintln!("loadgen: error: {message}");
    std::process::exit(2);
}

fn fail(message: &str) -> ! {
    eprintln!("loadgen: error: {message}");
    std::process::exit(1);
}

async fn run(args: &Args, body: Option<Bytes>) -> Result<Value, String> {
    let mut headers = HeaderMap::new();
    for (name, value) in &args.headers {
        headers.append(name.clone(), value.clone());
    }
    if body.is_some() && !headers.contains_key(CONTENT_TYPE) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let method = args
        .method
        .clone()
        .unwrap_or(if body.is_some() { Method::POST } else { Method::GET });
    // A proxy from the environment must not sit between the generator and a loopback server.
    let mut client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs_f64(args.timeout));
    if let Some(n) = args.connections {
        client = client.pool_max_idle_per_host(n as usize);
    }
    let client = client
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let ctx = Arc::new(Ctx {
        client,
        method: method.clone(),
        url: args.url.clone(),
        headers,
        body,
        stream: args.stream,
        timeout: Duration::from_secs_f64(args.timeout),
        limit: args.connections.map(|n| tokio::sync::Semaphore::new(n as usize)),
        stats: Mutex::new(Stats {
            latency: histogram(),
            service: histogram(),
            ttfb: histogram(),
            lag: histogram(),
            sent: 0,
            ok: 0,
            errors: BTreeMap::new(),
            error_samples: BTreeMap::new(),
            response_bytes: 0,
            last_done: None,
        }),
    });

    let rate = args.rate;
    let warm_count = (args.warmup * rate).round() as u64;
    let total = ((args.warmup + args.duration) * rate).round() as u64;
    // A little slack so the first requests are not already late when the schedule starts.
    let start = Instant::now() + Duration::from_millis(20);
    let measure_start = start + Duration::from_secs_f64(warm_count as f64 / rate);
    let handle = tokio::runtime::Handle::current();
    let dispatch_ctx = ctx.clone();
    // The schedule runs on its own OS thread: a thread sleep wakes within tens of µs, where
    // the runtime's timer rounds to whole milliseconds, which would blur sub-ms latencies.
    let tasks = tokio::task::spawn_blocking(move || {
        let mut tasks = Vec::with_capacity(total as usize);
        for i in 0..total {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            tasks.push(handle.spawn(one(dispatch_ctx.clone(), due, i >= warm_count)));
        }
        tasks
    })
    .await
    .map_err(|e| format!("the scheduler thread failed: {e}"))?;
    for t in tasks {
        // A request task only fails by panicking, and it has nothing that panics; count none.
        let _ = t.await;
    }

    let st = ctx.stats.lock().unwrap_or_else(PoisonError::into_inner);
    let window = st.last_done.map_or(args.duration, |t| {
        t.saturating_duration_since(measure_start)
            .as_secs_f64()
            .max(args.duration)
    });
    let percentiles = |h: &Histogram<u64>| {
        if h.is_empty() {
            return Value::Null;
        }
        // Recorded in whole µs, so three decimals of ms are exact.
        let ms = |us: u64| us as f64 / 1000.0;
        json!({
            "p50": ms(h.value_at_quantile(0.50)),
            "p90": ms(h.value_at_quantile(0.90)),
            "p99": ms(h.value_at_quantile(0.99)),
            "p99_9": ms(h.value_at_quantile(0.999)),
            "max": ms(h.max()),
            "mean": h.mean().round() / 1000.0,
        })
    };
    Ok(json!({
        "label": args.label,
        "url": args.url.as_str(),
        "method": method.as_str(),
        "target_rate": rate,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "stream": args.stream,
        "connections": args.connections,
        "sent": st.sent,
        "ok": st.ok,
        "error_count": st.sent - st.ok,
        "errors": st.errors,
        "error_samples": st.error_samples,
        "achieved_rate": ((st.ok as f64 / window) * 10.0).round() / 10.0,
        "response_bytes": st.response_bytes,
        "latency_ms": percentiles(&st.latency),
        "service_ms": percentiles(&st.service),
        "ttfb_ms": if args.stream { percentiles(&st.ttfb) } else { Value::Null },
        "dispatch_lag_ms": percentiles(&st.lag),
    }))
}

fn print_text(r: &Value) {
    let line = |name: &str, p: &Value| {
        if p.is_null() {
            println!("{name:<34} (no successful request)");
        } else {
            println!(
                "{name:<34} p50 {:>8.3}  p90 {:>8.3}  p99 {:>8.3}  p99.9 {:>8.3}  max {:>8.3}",
                p["p50"].as_f64().unwrap_or(f64::NAN),
                p["p90"].as_f64().unwrap_or(f64::NAN),
                p["p99"].as_f64().unwrap_or(f64::NAN),
                p["p99_9"].as_f64().unwrap_or(f64::NAN),
                p["max"].as_f64().unwrap_or(f64::NAN),
            );
        }
    };
    if let Some(label) = r["label"].as_str() {
        println!("== {label}");
    }
    println!(
        "{} {} at {} req/s for {} s after {} s warm-up (stream: {}, connections: {})",
        r["method"].as_str().unwrap_or("?"),
        r["url"].as_str().unwrap_or("?"),
        r["target_rate"],
        r["duration_s"],
        r["warmup_s"],
        if r["stream"].as_bool() == Some(true) {
            "yes"
        } else {
            "no"
        },
        r["connections"]
            .as_u64()
            .map_or("unlimited".to_string(), |n| n.to_string()),
    );
    println!(
        "requests: {} sent, {} ok, {} errors; achieved {} req/s",
        r["sent"], r["ok"], r["error_count"], r["achieved_rate"]
    );
    if let Some(errors) = r["errors"].as_object() {
        for (kind, n) in errors {
            let sample = r["error_samples"][kind].as_str().unwrap_or("");
            println!("  {kind}: {n} (e.g. {})", sample.replace('\n', " "));
        }
    }
    line("latency ms (from scheduled send)", &r["latency_ms"]);
    line("service ms (from actual send)", &r["service_ms"]);
    if r["stream"].as_bool() == Some(true) {
        line("first event ms (from scheduled)", &r["ttfb_ms"]);
    }
    line("generator lag ms", &r["dispatch_lag_ms"]);
}
