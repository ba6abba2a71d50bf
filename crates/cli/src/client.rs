//! A small HTTP client for the datapact API that turns problem+json answers into readable errors.

use anyhow::{Context, Result, bail};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Percent-encodes one path segment, so an id typed by a user cannot reach another endpoint.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Talks to one datapact server with one key.
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
}

impl Client {
    /// A client for `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, key: Option<String>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("datapact-cli/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            key,
        })
    }

    /// Sends a request and returns the JSON answer, or an error carrying the server's problem detail.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        self.call_versioned(method, path, body, None).await.map(|(v, _)| v)
    }

    /// Like [`Client::call`], sending `If-Match` when given, and returning the answer's `ETag`.
    pub async fn call_versioned(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<(Value, Option<String>)> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(tag) = if_match {
            req = req.header(reqwest::header::IF_MATCH, tag);
        }
        if let Some(k) = &self.key {
            req = req.bearer_auth(k);
        } else if path.starts_with("/v1/") {
            bail!("no API key: pass --key or set DATAPACT_KEY");
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach datapact at {} ({method} {path})", self.base))?;
        let status = resp.status();
        let etag = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.context("cannot read the server's answer")?;
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            return Ok((value, etag));
        }
        bail!("{}", describe_problem(status, &value))
    }

    /// GET whose answer is streamed by the caller (after a successful status).
    pub async fn get_stream(&self, path: &str) -> Result<reqwest::Response> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.get(&url).timeout(std::time::Duration::from_secs(24 * 3600));
        match &self.key {
            Some(k) => req = req.bearer_auth(k),
            None => bail!("no API key: pass --key or set DATAPACT_KEY"),
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach datapact at {} (GET {path})", self.base))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        bail!("{}", describe_problem(status, &value))
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.call(Method::GET, path, None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.call(Method::POST, path, Some(body)).await
    }
}

/// One line saying what the server refused and why.
fn describe_problem(status: StatusCode, v: &Value) -> String {
    let detail = v
        .get("detail")
        .and_then(Value::as_str)
        .unwrap_or_else(|| v.as_str().unwrap_or("no detail"));
    let mut s = format!(
        "{} {}: {detail}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    if let Some(code) = v.get("code").and_then(Value::as_str) {
        s.push_str(&format!(" [code: {code}"));
        if let Some(field) = v.get("field").and_then(Value::as_str) {
            s.push_str(&format!(", field: {field}"));
        }
        s.push(']');
    }
    // A denied purpose carries the decision's reasons: show every one.
    for r in v.get("reasons").and_then(Value::as_array).into_iter().flatten() {
        let code = r.get("code").and_then(Value::as_str).unwrap_or("");
        let message = r.get("message").and_then(Value::as_str).unwrap_or("");
        s.push_str(&format!("\n  - {code}: {message}"));
    }
    s
}

/// Creates (or truncates) `path` readable and writable by its owner only, whatever the umask:
/// downloads hold customer data (an export) or name tenants and keys (an audit export).
pub fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    // A file that already existed keeps its mode through `open`: make it private too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// Streams a response body into `partial`, counting lines on `bar`, and makes it durable.
/// Returns the number of lines; the caller moves the file into place once it is satisfied.
pub async fn download(
    mut resp: reqwest::Response,
    partial: &std::path::Path,
    bar: &indicatif::ProgressBar,
) -> Result<u64> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(
        private_file(partial).with_context(|| format!("cannot write the output (via {})", partial.display()))?,
    );
    let mut lines = 0u64;
    while let Some(chunk) = resp.chunk().await.context("the download broke off")? {
        let n = chunk.iter().filter(|b| **b == b'\n').count() as u64;
        lines += n;
        bar.inc(n);
        file.write_all(&chunk)
            .with_context(|| format!("cannot write {}", partial.display()))?;
    }
    bar.finish_and_clear();
    file.flush()
        .with_context(|| format!("cannot write {}", partial.display()))?;
    file.into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", partial.display()))?
        .sync_all()
        .with_context(|| format!("cannot write {}", partial.display()))?;
    Ok(lines)
}
