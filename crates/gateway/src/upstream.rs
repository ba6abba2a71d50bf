//! Talking to providers: each API's URL, headers and body shape, timeouts, retries with
//! backoff that honors `Retry-After`, fallback to the next allowed provider, and a circuit
//! breaker per provider.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;

use super::error::GatewayError;
use super::providers::{self, Wire};
use super::request::Endpoint;
use crate::config::ProviderConfig;

/// A configured LLM provider, its API key and its connection state.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Its `[[providers]]` entry (shared: each call's record holds its provider).
    pub config: Arc<crate::config::ProviderConfig>,
    /// Its API key, if it needs one.
    pub secret: Option<crate::config::Secret>,
    /// Its HTTP client (connection pool and connect timeout).
    pub client: reqwest::Client,
    /// Its circuit breaker, shared by every call.
    pub breaker: Arc<Breaker>,
}

/// The HTTP client for one provider: its own pool and connect timeout; the total timeout is
/// per call, because a streamed answer is read chunk by chunk.
pub fn client(p: &ProviderConfig) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(p.connect_timeout_ms))
        .pool_idle_timeout(Duration::from_secs(90))
        // Only what the provider needs reaches it: no proxy from the environment picks up
        // customer prompts on the way.
        .no_proxy()
        // A redirect would send the prompt again, to wherever the provider (or anyone between)
        // points, with the provider's API key in the headers: never followed. A 3xx answer is a
        // provider failure like any other.
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// A circuit breaker: after `breaker_failures` failed calls in a row the provider is skipped
/// for `breaker_cooldown_ms`, then one trial call decides whether it is back.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<BreakerState>,
}

#[derive(Debug, Default)]
struct BreakerState {
    failures: u32,
    open_until: Option<Instant>,
    trial: bool,
}

impl Breaker {
    /// A closed breaker with the provider's settings.
    pub fn new(p: &ProviderConfig) -> Self {
        Self {
            threshold: p.breaker_failures,
            cooldown: Duration::from_millis(p.breaker_cooldown_ms),
            state: Mutex::new(BreakerState::default()),
        }
    }

    /// Whether a call may go to the provider now (an open breaker lets one trial through once
    /// the cooldown is over).
    pub fn allow(&self) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return true;
        };
        match s.open_until {
            None => true,
            Some(t) if Instant::now() < t => false,
            Some(_) if s.trial => false,
            Some(_) => {
                s.trial = true;
                true
            }
        }
    }

    /// The provider answered.
    pub fn success(&self) {
        if let Ok(mut s) = self.state.lock() {
            *s = BreakerState::default();
        }
    }

    /// The provider failed (after its retries).
    pub fn failure(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.failures = s.failures.saturating_add(1);
            if s.trial || s.failures >= self.threshold {
                s.open_until = Some(Instant::now() + self.cooldown);
                s.trial = false;
            }
        }
    }

    /// Whether the breaker is open (the provider is being skipped).
    #[cfg(test)]
    fn is_open(&self) -> bool {
        self.state
            .lock()
            .map(|s| s.open_until.is_some_and(|t| Instant::now() < t))
            .unwrap_or(false)
    }
}

/// A request ready for one provider.
pub struct Prepared {
    url: String,
    headers: Vec<(&'static str, String)>,
    /// Shared between attempts without copying.
    body: bytes::Bytes,
}

/// Builds the request `req` (chat-completions or embeddings shape) for `provider`'s API (see
/// [`providers::Api`]), with zero-retention settings where the API has them.
pub fn prepare(
    provider: &Provider,
    endpoint: Endpoint,
    model: &str,
    req: &Value,
    stream: bool,
) -> Result<Prepared, GatewayError> {
    let Wire { url, mut headers, body } = providers::api(provider.config.api).request(
        &provider.config,
        provider.secret.as_ref(),
        endpoint,
        model,
        req,
        stream,
    )?;
    headers.push(("content-type", "application/json".into()));
    let body = serde_json::to_vec(&body).map_err(|e| {
        GatewayError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "encoding_failed",
            e.to_string(),
        )
    })?;
    Ok(Prepared {
        url,
        headers,
        body: bytes::Bytes::from(body),
    })
}

/// Why one attempt at a provider failed.
#[derive(Debug)]
pub struct Failure {
    /// datapact's code for it (`upstream_timeout`, `upstream_unreachable`, `upstream_error`…).
    pub code: &'static str,
    /// What happened, without anything from the prompt.
    pub message: String,
    /// Whether another attempt (here or at the next provider) may succeed.
    pub retryable: bool,
    /// How long the provider asked us to wait.
    pub retry_after: Option<Duration>,
    /// The provider's HTTP status, if it answered.
    pub status: Option<StatusCode>,
    /// The provider's own error message for a refused request (4xx), shown to the client.
    pub detail: Option<String>,
}

/// One attempt: send, and wait for the answer's headers within the first-byte timeout.
pub async fn attempt(provider: &Provider, prepared: &Prepared) -> Result<reqwest::Response, Failure> {
    let name = &provider.config.name;
    let mut rb = provider.client.post(&prepared.url).body(prepared.body.clone());
    for (k, v) in &prepared.headers {
        rb = rb.header(*k, v);
    }
    let first_byte = Duration::from_millis(provider.config.first_byte_timeout_ms);
    let resp = match tokio::time::timeout(first_byte, rb.send()).await {
        Err(_) => {
            return Err(Failure {
                code: "upstream_timeout",
                message: format!("the provider `{name}` did not answer within {first_byte:?}"),
                retryable: true,
                retry_after: None,
                status: None,
                detail: None,
            });
        }
        Ok(Err(e)) => {
            let timeout = e.is_timeout();
            return Err(Failure {
                code: if timeout {
                    "upstream_timeout"
                } else {
                    "upstream_unreachable"
                },
                message: format!(
                    "the provider `{name}` {}",
                    if timeout {
                        "timed out connecting"
                    } else {
                        "could not be reached"
                    }
                ),
                retryable: true,
                retry_after: None,
                status: None,
                detail: None,
            });
        }
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(86_400.0)));
    let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
    // A refused request's reason helps the client fix it; read at most a little of it.
    let detail = if !retryable {
        let bytes = tokio::time::timeout(Duration::from_secs(5), resp.bytes())
            .await
            .ok()
            .and_then(Result::ok);
        bytes.and_then(|b| error_message(&b))
    } else {
        None
    };
    Err(Failure {
        code: if status == StatusCode::TOO_MANY_REQUESTS {
            "upstream_rate_limited"
        } else {
            "upstream_error"
        },
        message: format!("the provider `{name}` answered {status}"),
        retryable,
        retry_after,
        status: Some(status),
        detail,
    })
}

/// The `error.message` of an OpenAI- or Anthropic-shaped error body, if it has one.
fn error_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let m = v.get("error")?.get("message")?.as_str()?;
    Some(m.chars().take(1000).collect())
}

/// The longest `Retry-After` a retry waits for; a provider asking for more is skipped.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

/// The wait before retry number `n` (0-based): exponential from 100 ms with jitter, or what
/// the provider asked for.
fn backoff(n: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(d) = retry_after {
        return d;
    }
    let base = Duration::from_millis(100u64.saturating_mul(1 << n.min(6)));
    let mut b = [0u8; 2];
    let jitter = getrandom::fill(&mut b).map_or(0, |()| u64::from(u16::from_le_bytes(b)) % 100);
    base.min(Duration::from_secs(5)) + Duration::from_millis(jitter)
}

/// What sending a call came to.
pub struct Sent<'a> {
    /// The provider that answered.
    pub provider: &'a Provider,
    /// Its answer (headers read, body not yet).
    pub response: reqwest::Response,
    /// Attempts before this one (retries and fallbacks).
    pub retries: u32,
    /// Time spent waiting on providers, backoff included.
    pub waited: Duration,
    /// The index of the audit entry `before` appended for the provider that answered (durable
    /// audit only).
    pub entry: Option<u64>,
}

/// Why a call was not answered.
pub enum NotSent<'a> {
    /// Every provider failed or was skipped, or one refused the request.
    Exhausted(Exhausted<'a>),
    /// The call was stopped before anything left: its request could not be built for a
    /// provider, or its forward entry could not be recorded.
    Stopped(GatewayError),
}

/// Every provider failed or was skipped.
pub struct Exhausted<'a> {
    /// The last provider tried (or skipped).
    pub provider: Option<&'a Provider>,
    /// The last failure.
    pub failure: Failure,
    /// Attempts made.
    pub retries: u32,
    /// Time spent waiting on providers.
    pub waited: Duration,
}

/// Sends the call to the first provider of `candidates` that answers: retries on connection
/// errors, 429 and 5xx with backoff, then falls back to the next one. A request the provider
/// refuses (4xx other than 429) is not retried anywhere: it would be refused again.
///
/// `before` runs once per provider, after its request is built and before its first byte is
/// sent (the gateway appends the forward's audit entry there); its error stops the call
/// before anything leaves for that provider.
pub async fn send<'a, F, Fut>(
    candidates: &[&'a Provider],
    endpoint: Endpoint,
    model: &str,
    req: &Value,
    stream: bool,
    mut before: F,
) -> Result<Sent<'a>, NotSent<'a>>
where
    F: FnMut(&'a Provider) -> Fut,
    Fut: std::future::Future<Output = Result<Option<u64>, GatewayError>>,
{
    let mut waited = Duration::ZERO;
    let mut tries = 0u32;
    let mut last: Option<(&Provider, Failure)> = None;
    for &provider in candidates {
        if !provider.breaker.allow() {
            last = Some((
                provider,
                Failure {
                    code: "upstream_circuit_open",
                    message: format!(
                        "the provider `{}` failed repeatedly and is being skipped for a while",
                        provider.config.name
                    ),
                    retryable: true,
                    retry_after: None,
                    status: None,
                    detail: None,
                },
            ));
            continue;
        }
        let prepared = prepare(provider, endpoint, model, req, stream).map_err(NotSent::Stopped)?;
        let entry = before(provider).await.map_err(NotSent::Stopped)?;
        for n in 0..=provider.config.max_retries {
            let t = Instant::now();
            let result = attempt(provider, &prepared).await;
            waited += t.elapsed();
            match result {
                Ok(response) => {
                    provider.breaker.success();
                    return Ok(Sent {
                        provider,
                        response,
                        retries: tries,
                        waited,
                        entry,
                    });
                }
                Err(f) if !f.retryable => {
                    // The provider is healthy; the request is what it refused.
                    provider.breaker.success();
                    return Err(NotSent::Exhausted(Exhausted {
                        provider: Some(provider),
                        failure: f,
                        retries: tries,
                        waited,
                    }));
                }
                Err(f) => {
                    tries += 1;
                    let wait = backoff(n, f.retry_after);
                    let give_up = n == provider.config.max_retries || wait > MAX_RETRY_WAIT;
                    last = Some((provider, f));
                    if give_up {
                        break;
                    }
                    let t = Instant::now();
                    tokio::time::sleep(wait).await;
                    waited += t.elapsed();
                }
            }
        }
        provider.breaker.failure();
    }
    let (provider, failure) = match last {
        Some((p, f)) => (Some(p), f),
        None => (
            None,
            Failure {
                code: "upstream_unreachable",
                message: "no provider could be tried".into(),
                retryable: false,
                retry_after: None,
                status: None,
                detail: None,
            },
        ),
    };
    Err(NotSent::Exhausted(Exhausted {
        provider,
        failure,
        retries: tries.saturating_sub(1),
        waited,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ProviderConfig {
        let text = "name = \"p\"\nkind = \"self_hosted\"\napi = \"openai\"\n\
                    base_url = \"http://127.0.0.1:9/v1\"\nregion = \"eu\"\nmodels = [\"m\"]\n\
                    breaker_failures = 2\nbreaker_cooldown_ms = 50\n";
        match toml::from_str::<ProviderConfig>(text) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn breaker_opens_after_failures_and_lets_one_trial_through() {
        let b = Breaker::new(&config());
        assert!(b.allow());
        b.failure();
        assert!(b.allow(), "one failure is below the threshold");
        b.failure();
        assert!(b.is_open() && !b.allow(), "open after two");
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.allow(), "the trial after the cooldown");
        assert!(!b.allow(), "only one trial at a time");
        b.failure();
        assert!(!b.allow(), "a failed trial opens it again");
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.allow());
        b.success();
        assert!(
            b.allow() && b.allow() && !b.is_open(),
            "closed after a successful trial"
        );
    }

    #[test]
    fn backoff_grows_and_honors_retry_after() {
        assert!(backoff(0, None) < Duration::from_millis(200));
        assert!(backoff(3, None) >= Duration::from_millis(800));
        assert!(backoff(20, None) <= Duration::from_millis(5100), "capped");
        assert_eq!(backoff(0, Some(Duration::from_secs(2))), Duration::from_secs(2));
    }
}
