//! Zero retention, proven: thousands of calls carry unique canary strings in prompts, in end
//! user ids and in the provider's answers, streamed and not, with failures injected; then
//! every file the server wrote and everything it logged (at TRACE) is searched. With
//! `save_prompts` off, no canary may be anywhere.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use serde_json::json;

/// Log output, kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every canary written here starts so (`canary-00042-...`), and the mock provider answers
/// `upstream-canary`; a bare "canary" would also match PostgreSQL's own time zone names
/// (Atlantic/Canary) in its catalogs.
const CANARIES: [&[u8]; 2] = [b"canary-", b"upstream-canary"];

/// Files under `dir` (recursively) whose bytes contain a canary.
fn files_with_canaries(dir: &Path, since: std::time::SystemTime, out: &mut Vec<String>, scanned: &mut usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            files_with_canaries(&path, since, out, scanned);
        } else if meta.is_file()
            && meta.modified().is_ok_and(|m| m >= since)
            && let Ok(bytes) = std::fs::read(&path)
        {
            *scanned += 1;
            if CANARIES
                .iter()
                .any(|c| bytes.windows(c.len()).any(|w| w.eq_ignore_ascii_case(c)))
            {
                out.push(path.display().to_string());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_prompt_or_answer_is_kept_anywhere() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let since = std::time::SystemTime::now() - std::time::Duration::from_secs(2);

    let (url, mock) = common::llm::mock().await;
    let key = "api_key_file = \"KEYFILE\"\n";
    let toml = [
        common::llm::provider_entry(
            "openai-eu",
            "third_party",
            "openai",
            &url,
            "eu",
            &["gpt-4o-mini", "broken", "fail", "cut", "stall", "reject"],
            None,
            &format!("{key}idle_timeout_ms = 200\nmax_retries = 0\nbreaker_failures = 1000000\n"),
        ),
        common::llm::provider_entry(
            "anthropic-eu",
            "third_party",
            "anthropic",
            &url,
            "eu",
            &["claude-sonnet"],
            None,
            key,
        ),
    ]
    .concat();
    let (s, dir, org, oa, tenant, svc) = common::llm::gateway(&toml).await;
    let other = s.tenant(&oa, &org, None).await;
    // One tenant with PII masking, one with it off: canaries pass through both ways.
    let (st, v) = s
        .call(
            reqwest::Method::PUT,
            &format!("/v1/tenants/{other}/ai-settings"),
            Some(&oa),
            Some(json!({"pii": "off"})),
        )
        .await;
    assert!(st.is_success(), "{v}");

    const CALLS: usize = 2000;
    let http = reqwest::Client::new();
    let base = s.url.clone();
    let outcomes = futures_util::stream::iter(0..CALLS)
        .map(|i| {
            let http = http.clone();
            let (base, svc) = (base.clone(), svc.clone());
            let tenant = if i % 2 == 0 { tenant.clone() } else { other.clone() };
            async move {
                let canary = format!("canary-{i:05}-{}", uuid_like(i));
                let model = match i % 20 {
                    0 => "broken",
                    1 => "fail",
                    2 => "cut",
                    3 if i % 100 == 3 => "stall",
                    4 => "reject",
                    5..=7 => "claude-sonnet",
                    _ => "gpt-4o-mini",
                };
                let stream = i % 3 == 0;
                let (path, body) = if i % 10 == 9 {
                    (
                        "embeddings",
                        json!({"model": "gpt-4o-mini", "input": [format!("embed {canary}")]}),
                    )
                } else {
                    (
                        "chat/completions",
                        json!({"model": model, "stream": stream, "messages": [
                            {"role": "system", "content": format!("system {canary}")},
                            {"role": "user", "content": format!("Dear Ann Smith (ann@example.com), note {canary}")}]}),
                    )
                };
                let resp = http
                    .post(format!("{base}/v1/{path}"))
                    .bearer_auth(&svc)
                    .header("x-datapact-tenant", tenant)
                    .header("x-datapact-user", format!("user-{canary}"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                (status, text.contains(&canary), text.contains("upstream-canary"))
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let ok = outcomes.iter().filter(|(s, _, _)| s.is_success()).count();
    let echoed = outcomes.iter().filter(|(_, c, u)| *c && *u).count();
    assert!(ok > CALLS / 2, "{ok} of {CALLS} succeeded");
    assert!(echoed > CALLS / 3, "canaries went through and came back: {echoed}");
    assert!(mock.seen().bodies.len() >= CALLS - 100, "the provider saw the calls");

    // While the server runs (WAL files present), and after it stopped.
    let mut found = Vec::new();
    let mut scanned = 0;
    files_with_canaries(&dir.path().join("data"), since, &mut found, &mut scanned);
    let database = common::database_url(&dir.path().join("data"));
    s.stop().await;
    files_with_canaries(&dir.path().join("data"), since, &mut found, &mut scanned);
    if let Some(url) = database {
        // On PostgreSQL: every page and WAL segment the cluster wrote, once flushed.
        common::pg_sql(&url, "CHECKPOINT").await;
        let cluster = datapact_pgtest::Cluster::shared().expect("PostgreSQL");
        files_with_canaries(&cluster.data_path(), since, &mut found, &mut scanned);
    }
    files_with_canaries(&std::env::temp_dir(), since, &mut found, &mut scanned);
    assert!(
        scanned >= 4,
        "the database, WAL and audit files were scanned ({scanned})"
    );
    assert!(found.is_empty(), "canaries in files: {found:?}");
    let logged = log.0.lock().unwrap().clone();
    eprintln!(
        "{CALLS} calls, {ok} answered, {echoed} echoed canaries; {scanned} files and {} bytes of log searched",
        logged.len()
    );
    assert!(logged.len() > 10_000, "the log was captured ({} bytes)", logged.len());
    let hits: Vec<String> = String::from_utf8_lossy(&logged)
        .lines()
        .filter(|l| l.to_ascii_lowercase().contains("canary"))
        .take(3)
        .map(str::to_string)
        .collect();
    assert!(hits.is_empty(), "canaries in the log: {hits:?}");

    // The search itself finds a canary where there is one.
    let planted = dir.path().join("data").join("planted");
    std::fs::write(&planted, b"xx CANARY-1 xx").unwrap();
    let mut found = Vec::new();
    files_with_canaries(&dir.path().join("data"), since, &mut found, &mut scanned);
    assert_eq!(found, [planted.display().to_string()]);
}

/// A per-call unique suffix without a random source: the index spread over hex digits.
fn uuid_like(i: usize) -> String {
    format!("{:016x}", (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}
