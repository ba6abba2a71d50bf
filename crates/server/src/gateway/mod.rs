//! The AI trust layer's OpenAI-compatible surface: who is calling, on behalf of which tenant
//! and product, which configured provider/model pairs their policy allows, and the pipeline
//! every call goes through (decision, model policy, residency, limits, PII, forwarding with
//! zero retention, restoring, accounting, audit). Errors use OpenAI's error body, so the
//! official SDKs surface them, with datapact's reason codes inside.

pub mod anthropic;
pub mod limits;
pub mod sse;
pub mod stream;
pub mod upstream;

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use datapact_governance::{ApiKey, DecisionRequest, Org, Purpose, Role, Tenant, TenantId};
use serde::Serialize;

use crate::auth;
use crate::config::ProviderKind;
use crate::state::{AppState, Provider};

/// The header naming the tenant when the key is bound to a product but not to one tenant.
pub const TENANT_HEADER: &str = "x-datapact-tenant";

/// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug)]
pub struct GatewayError {
    status: StatusCode,
    kind: &'static str,
    code: &'static str,
    message: String,
    param: Option<&'static str>,
    /// datapact's reason codes, when a decision refused the call.
    reasons: Vec<String>,
    /// For 429 and 503: when to try again.
    retry_after: Option<std::time::Duration>,
}

impl GatewayError {
    fn new(status: StatusCode, kind: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            code,
            message: message.into(),
            param: None,
            reasons: Vec::new(),
            retry_after: None,
        }
    }

    fn unauthenticated(code: &'static str, message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_request_error", code, message)
    }

    fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission_error", code, message)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    reasons: &'a [String],
}

impl GatewayError {
    /// The error in OpenAI's body shape: an answer's body, or a stream's error event.
    fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error: ErrorDetail {
                message: &self.message,
                kind: self.kind,
                param: self.param,
                code: self.code,
                reasons: &self.reasons,
            },
        }
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body())).into_response();
        if let Some(d) = self.retry_after {
            // Whole seconds, rounded up: a client waiting that long finds room.
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            if let Ok(v) = axum::http::HeaderValue::from_str(&secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// A gateway caller: the key, and the tenant and product it acts for.
#[derive(Clone)]
pub struct GatewayCaller {
    /// The key.
    pub key: Arc<ApiKey>,
    /// The tenant whose data the call carries.
    pub tenant: Arc<Tenant>,
    /// Its organization.
    pub org: Arc<Org>,
    /// The product making the call.
    pub product: String,
}

/// Authenticates a gateway call: a `service` key bound to a product, and to a tenant or with
/// the tenant named in `x-datapact-tenant` (within the key's scope). A tenant outside the
/// scope is reported as unknown, so its existence does not leak.
pub fn caller(state: &AppState, headers: &HeaderMap) -> Result<GatewayCaller, GatewayError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            GatewayError::unauthenticated("unauthenticated", "send an API key as `Authorization: Bearer KEY`")
        })?;
    let secret = auth::bearer_secret(value).ok_or_else(|| {
        GatewayError::unauthenticated("unauthenticated", "the Authorization header must be `Bearer KEY`")
    })?;
    let key = state
        .registry
        .key_by_hash(&state.key_hash(secret))
        .filter(|k| k.revoked_at.is_none())
        .ok_or_else(|| GatewayError::unauthenticated("invalid_api_key", "the API key is unknown or revoked"))?;
    let product = match (&key.role, &key.product) {
        (Role::Service, Some(p)) => p.clone(),
        _ => {
            return Err(GatewayError::forbidden(
                "not_a_service_key",
                "the AI trust layer takes `service` keys bound to a product",
            ));
        }
    };
    let named = headers
        .get(TENANT_HEADER)
        .map(|v| v.to_str().unwrap_or("").trim().to_string());
    let tenant_id = match (key.tenant, named) {
        (Some(bound), Some(n)) if n != bound.to_string() => {
            return Err(GatewayError::forbidden(
                "tenant_out_of_scope",
                format!("this key acts for tenant {bound} only"),
            ));
        }
        (Some(bound), _) => bound,
        (None, Some(n)) => n.parse::<TenantId>().map_err(|_| unknown_tenant(&n))?,
        (None, None) => {
            let mut e = GatewayError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "tenant_required",
                format!("name the tenant in the `{TENANT_HEADER}` header (this key is not bound to one)"),
            );
            e.param = Some(TENANT_HEADER);
            return Err(e);
        }
    };
    let (tenant, org) = state
        .registry
        .tenant_with_org(tenant_id)
        .filter(|(t, _)| key.sees_tenant(t))
        .ok_or_else(|| unknown_tenant(&tenant_id.to_string()))?;
    Ok(GatewayCaller {
        key,
        tenant,
        org,
        product,
    })
}

fn unknown_tenant(id: &str) -> GatewayError {
    let mut e = GatewayError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "tenant_not_found",
        format!("no tenant {id}"),
    );
    e.param = Some(TENANT_HEADER);
    e
}

/// The purpose a call to `provider` serves: sending data to a third party's generative AI, or
/// the customer's own model providing the service.
pub fn purpose_of(provider: &Provider) -> Purpose {
    match provider.config.kind {
        ProviderKind::ThirdParty => Purpose::Genai,
        ProviderKind::SelfHosted => Purpose::Service,
    }
}

/// Whether `caller` may send data to `provider` at all (its purpose decided in the provider's
/// region), with the decision's reason codes when not.
pub fn provider_allowed(
    state: &AppState,
    caller: &GatewayCaller,
    provider: &Provider,
) -> Result<(), Vec<datapact_governance::Reason>> {
    let req = DecisionRequest {
        tenant: caller.tenant.id,
        product: &caller.product,
        purpose: purpose_of(provider),
        data_kind: None,
        region: Some(&provider.config.region),
    };
    match state.registry.decide(&req, time::OffsetDateTime::now_utc()) {
        Ok(d) if d.allowed => Ok(()),
        Ok(d) => Err(d.reasons),
        // The tenant vanished meanwhile: nothing may be sent.
        Err(_) => Err(Vec::new()),
    }
}

/// Reason codes as the API writes them (snake_case).
fn reason_codes(reasons: &[datapact_governance::Reason]) -> Vec<String> {
    reasons
        .iter()
        .filter_map(|r| serde_json::to_value(r.code).ok())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// One model of `GET /v1/models`.
#[derive(Serialize)]
struct ModelEntry {
    id: String,
    object: &'static str,
    created: i64,
    owned_by: String,
}

/// `GET /v1/models`: the models this caller's policy allows, on providers its decisions allow
/// (in the provider's region, for `genai` or `service` by the provider's kind).
pub async fn list_models(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, GatewayError> {
    let caller = caller(&st, &headers)?;
    let policy =
        datapact_governance::settings::effective_models(&caller.org.ai, &caller.tenant.ai, &caller.product).value;
    let mut data: Vec<ModelEntry> = Vec::new();
    for p in &st.providers {
        if provider_allowed(&st, &caller, p).is_err() {
            continue;
        }
        for m in &p.config.models {
            if policy.permits(&p.config.name, m) && !data.iter().any(|d| d.id == *m) {
                data.push(ModelEntry {
                    id: m.clone(),
                    object: "model",
                    created: 0,
                    owned_by: p.config.name.clone(),
                });
            }
        }
    }
    Ok(Json(serde_json::json!({"object": "list", "data": data})).into_response())
}

/// The PII engine, built once.
/// The custom recognizer sets of `[pii.recognizers]` and the analyzers that use them.
pub struct PiiSets {
    sets: std::collections::BTreeMap<String, Vec<datapact_pii::CustomRecognizer>>,
    default: Vec<String>,
    built: std::sync::Mutex<std::collections::HashMap<Vec<String>, Arc<datapact_pii::Analyzer>>>,
}

impl PiiSets {
    /// Reads and checks every set's file (a mistake stops the server naming the set, the
    /// file and the field).
    pub fn load(cfg: &crate::config::PiiConfig) -> Result<Self, crate::state::StartError> {
        let mut sets = std::collections::BTreeMap::new();
        for (name, path) in &cfg.recognizers {
            let fail = |error: String| crate::state::StartError::Recognizers {
                set: name.clone(),
                path: path.display().to_string(),
                error,
            };
            let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
            let parsed = datapact_pii::CustomConfig::from_toml(&text).map_err(|e| fail(e.to_string()))?;
            // Compiled once here, so a pattern that does not compile is found at start.
            datapact_pii::Analyzer::with_custom(&parsed.recognizers).map_err(|e| fail(e.to_string()))?;
            sets.insert(name.clone(), parsed.recognizers);
        }
        Ok(Self {
            sets,
            default: cfg.default.clone(),
            built: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// The analyzer for an organization's calls: the built-in recognizers, with the server's
    /// default sets and those its AI settings name; built once per combination.
    fn analyzer(&self, org: &Org) -> Result<Arc<datapact_pii::Analyzer>, GatewayError> {
        let mut names: Vec<String> = self.default.clone();
        names.extend(org.ai.pii_recognizers.iter().flatten().cloned());
        names.sort();
        names.dedup();
        names.retain(|n| self.sets.contains_key(n));
        if names.is_empty() {
            return Ok(Arc::clone(&BUILTIN_ONLY));
        }
        let failed = |e: String| {
            GatewayError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "recognizers_unavailable",
                format!("the custom PII recognizers cannot be used: {e}"),
            )
        };
        let mut built = self.built.lock().map_err(|_| failed("lock poisoned".into()))?;
        if let Some(a) = built.get(&names) {
            return Ok(Arc::clone(a));
        }
        let recognizers: Vec<_> = names
            .iter()
            .filter_map(|n| self.sets.get(n))
            .flatten()
            .cloned()
            .collect();
        let a = Arc::new(datapact_pii::Analyzer::with_custom(&recognizers).map_err(|e| failed(e.to_string()))?);
        built.insert(names, Arc::clone(&a));
        Ok(a)
    }
}

static BUILTIN_ONLY: std::sync::LazyLock<Arc<datapact_pii::Analyzer>> =
    std::sync::LazyLock::new(|| Arc::new(datapact_pii::Analyzer::new()));

/// Builds the PII engine the gateway scans with (its patterns, lexicons and phone metadata):
/// a few hundred milliseconds better spent at start-up than on the first call.
pub fn warm_up() {
    datapact_pii::warm_up();
    std::sync::LazyLock::force(&BUILTIN_ONLY);
}

/// Largest chat request accepted, in bytes.
pub const MAX_CHAT_BYTES: usize = 4 * 1024 * 1024;

/// How long a client may take to send its request body.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Texts larger than this (in all) are scanned for personal data on the blocking pool, so a
/// few large calls cannot hold the async workers that every other call needs.
const INLINE_SCAN_BYTES: usize = 64 * 1024;

fn bad_request(code: &'static str, param: Option<&'static str>, message: impl Into<String>) -> GatewayError {
    let mut e = GatewayError::new(StatusCode::BAD_REQUEST, "invalid_request_error", code, message);
    e.param = param;
    e
}

/// The request fields forwarded to a provider, per endpoint: OpenAI's parameters. A field
/// not listed is refused (`unsupported_parameter`) rather than passed on unexamined, so a
/// field an API adds later cannot carry personal data past the scan.
const CHAT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "n",
    "stop",
    "max_tokens",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "user",
    "response_format",
    "seed",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "functions",
    "function_call",
    "metadata",
    "store",
    "prediction",
    "reasoning_effort",
    "modalities",
    "service_tier",
    "verbosity",
];
const EMBEDDING_FIELDS: &[&str] = &["model", "input", "encoding_format", "dimensions", "user"];

/// The chat parameters forwarded (the rest are refused), for the API description.
pub fn chat_fields() -> &'static [&'static str] {
    CHAT_FIELDS
}

/// The embedding parameters forwarded, for the API description.
pub fn embedding_fields() -> &'static [&'static str] {
    EMBEDDING_FIELDS
}

/// Keys whose string values are identifiers or enumerations, never free text: not scanned
/// (masking one would break the call). `name` is one only under `function`: a message's
/// `name` is a participant's and is scanned.
const NOT_TEXT: &[&str] = &[
    "model",
    "role",
    "type",
    "id",
    "tool_call_id",
    "tool_choice",
    "reasoning_effort",
    "service_tier",
    "encoding_format",
    "finish_reason",
    "detail",
    "format",
    "verbosity",
];

/// Every string a request sends to the provider, except identifiers and enumerations: each
/// message part, participant names, tool and function descriptions and schemas, arguments
/// of earlier calls (legacy `function_call` too), `user`, `metadata`, `prediction`, stops.
fn outgoing_texts(req: &mut serde_json::Value) -> Vec<&mut String> {
    fn walk<'a>(v: &'a mut serde_json::Value, key: &str, parent: &str, out: &mut Vec<&'a mut String>) {
        match v {
            serde_json::Value::String(s) => {
                let id = NOT_TEXT.contains(&key) || (key == "name" && parent == "function");
                if !id {
                    out.push(s);
                }
            }
            serde_json::Value::Array(items) => {
                for i in items {
                    walk(i, key, parent, out);
                }
            }
            serde_json::Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    walk(child, k, key, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(req, "", "", &mut out);
    out
}

/// What a call records in the audit log, filled in as the call goes.
pub struct CallRecord {
    model: String,
    provider: Option<Provider>,
    status: datapact_audit::CallStatus,
    usage: [Option<u32>; 3],
    feature: Option<datapact_audit::Label>,
    pii_types: Vec<String>,
    reasons: Vec<datapact_governance::Reason>,
    /// The end user (`x-datapact-user`) as a keyed hash under the organization's key: calls of
    /// one user correlate in the log, and the log never holds who they are.
    user: Option<String>,
    streamed: bool,
    error: Option<&'static str>,
    retries: u32,
    endpoint: Endpoint,
    /// The vault record keeping the prompt and response, when the tenant's `save_prompts` is on.
    saved: Option<datapact_governance::RecordId>,
    /// Time spent waiting on providers so far.
    waited: std::time::Duration,
}

impl CallRecord {
    fn new(endpoint: Endpoint) -> Self {
        Self {
            model: String::new(),
            provider: None,
            status: datapact_audit::CallStatus::Blocked,
            usage: [None; 3],
            feature: None,
            pii_types: Vec::new(),
            reasons: Vec::new(),
            user: None,
            streamed: false,
            error: None,
            retries: 0,
            endpoint,
            saved: None,
            waited: std::time::Duration::ZERO,
        }
    }

    /// The entry appended before the prompt goes to `provider`: what is disclosed to whom
    /// (model, provider, its region and purpose, the personal data types found, whether they
    /// were masked), before a byte of it leaves.
    fn forward_event(
        &self,
        caller: &GatewayCaller,
        started: std::time::Instant,
        provider: &Provider,
        masked: bool,
    ) -> crate::audit::Ev {
        let mut ev = self.event(caller, started, self.waited);
        ev.0.action = datapact_audit::Action::LlmForward;
        ev.0.outcome = datapact_audit::Outcome::Allowed;
        ev = ev.purpose(purpose_of(provider)).region(&provider.config.region);
        if let Some(call) = &mut ev.0.call {
            call.provider = datapact_audit::Name::new(&provider.config.name).ok();
            call.status = if masked {
                datapact_audit::CallStatus::Masked
            } else {
                datapact_audit::CallStatus::Allowed
            };
            call.error = None;
        }
        ev
    }

    fn event(
        &self,
        caller: &GatewayCaller,
        started: std::time::Instant,
        upstream: std::time::Duration,
    ) -> crate::audit::Ev {
        let elapsed = started.elapsed();
        let overhead = elapsed.saturating_sub(upstream);
        let mut ev = crate::audit::Ev::by(&caller.key, datapact_audit::Action::LlmCall)
            .tenant(&caller.tenant)
            .product(&caller.product)
            .reasons(&self.reasons)
            .outcome(match self.status {
                datapact_audit::CallStatus::Allowed | datapact_audit::CallStatus::Masked => {
                    datapact_audit::Outcome::Allowed
                }
                datapact_audit::CallStatus::Blocked => datapact_audit::Outcome::Denied,
                datapact_audit::CallStatus::Error => datapact_audit::Outcome::Error,
            });
        if let Some(p) = &self.provider {
            ev = ev.purpose(purpose_of(p)).region(&p.config.region);
        }
        if let Some(u) = &self.user {
            ev = ev.correlation(u.clone());
        }
        if let Some(id) = self.saved {
            ev = ev.resource(datapact_audit::Resource::Record(id));
        }
        let name = |s: &str| datapact_audit::Name::new(s).ok();
        ev.0.call = Some(datapact_audit::LlmCall {
            model: name(&self.model),
            provider: self.provider.as_ref().and_then(|p| name(&p.config.name)),
            status: self.status,
            prompt_tokens: self.usage[0],
            completion_tokens: self.usage[1],
            total_tokens: self.usage[2],
            latency_ms: elapsed.as_millis().min(u32::MAX as u128) as u32,
            overhead_us: overhead.as_micros().min(u32::MAX as u128) as u32,
            feature: self.feature.clone(),
            pii_types: self.pii_types.iter().filter_map(|t| name(t)).collect(),
            streamed: self.streamed,
            error: self.error.and_then(name),
            retries: (self.retries > 0).then_some(self.retries),
        });
        ev
    }
}

impl CallRecord {
    /// Records the call's gateway overhead in the metrics, once its audit entry is durable
    /// and the answer is ready: appending the entry is part of the gateway's time.
    fn done(&self, started: std::time::Instant, upstream: std::time::Duration) {
        let overhead = started.elapsed().saturating_sub(upstream);
        crate::metrics::gateway_call(self.endpoint.path(), self.status, self.streamed, overhead);
    }
}

/// The OpenAI endpoints the trust layer serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/chat/completions`: `messages` in, `choices` out.
    Chat,
    /// `/embeddings`: `input` in, `data` out.
    Embeddings,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat/completions",
            Endpoint::Embeddings => "embeddings",
        }
    }

    /// The texts a request sends to the provider, for scanning and masking.
    fn texts(self, req: &mut serde_json::Value) -> Vec<&mut String> {
        outgoing_texts(req)
    }

    /// The fields this endpoint forwards.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Endpoint::Chat => CHAT_FIELDS,
            Endpoint::Embeddings => EMBEDDING_FIELDS,
        }
    }

    /// Why a request's body is not one of this endpoint's, if it is not.
    fn check(self, req: &serde_json::Value) -> Result<(), GatewayError> {
        let Some(fields) = req.as_object() else {
            return Err(bad_request("invalid_body", None, "the body must be a JSON object"));
        };
        if let Some(unknown) = fields.keys().find(|k| !self.fields().contains(&k.as_str())) {
            return Err(bad_request(
                "unsupported_parameter",
                None,
                format!(
                    "`{}` is not a parameter datapact forwards to {}; the allowed ones are: {}",
                    unknown.chars().take(64).collect::<String>(),
                    self.path(),
                    self.fields().join(", ")
                ),
            ));
        }
        match self {
            Endpoint::Chat if !req.get("messages").is_some_and(serde_json::Value::is_array) => Err(bad_request(
                "invalid_messages",
                Some("messages"),
                "`messages` must be an array",
            )),
            Endpoint::Chat if req.get("stream").is_some_and(|s| !s.is_boolean() && !s.is_null()) => Err(bad_request(
                "invalid_stream",
                Some("stream"),
                "`stream` must be true or false",
            )),
            Endpoint::Chat
                if req
                    .get("stream_options")
                    .is_some_and(|s| !s.is_object() && !s.is_null()) =>
            {
                Err(bad_request(
                    "invalid_stream_options",
                    Some("stream_options"),
                    "`stream_options` must be an object",
                ))
            }
            Endpoint::Embeddings if !req.get("input").is_some_and(|i| i.is_string() || i.is_array()) => Err(
                bad_request("invalid_input", Some("input"), "`input` must be a string or an array"),
            ),
            _ => Ok(()),
        }
    }

    /// Whether an answer has this endpoint's shape.
    fn answered(self, v: &serde_json::Value) -> bool {
        let key = match self {
            Endpoint::Chat => "choices",
            Endpoint::Embeddings => "data",
        };
        v.get(key).is_some_and(serde_json::Value::is_array)
    }
}

/// `POST /v1/chat/completions`, streamed or not: authenticate, decide, apply the model policy
/// and residency, enforce limits, mask or refuse personal data, forward with zero retention,
/// restore the placeholders in the answer, and record one audit entry without the prompt or
/// the answer.
pub async fn chat_completions(
    state: State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, GatewayError> {
    call(state, headers, body, Endpoint::Chat).await
}

/// `POST /v1/embeddings`: the same pipeline as chat completions, for embedding inputs.
pub async fn embeddings(
    state: State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, GatewayError> {
    call(state, headers, body, Endpoint::Embeddings).await
}

/// An optional short header value, checked.
fn header_label(
    headers: &HeaderMap,
    name: &'static str,
    code: &'static str,
) -> Result<Option<datapact_audit::Label>, GatewayError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|f| datapact_audit::Label::new(&f.trim().to_ascii_lowercase()).ok())
            .map(Some)
            .ok_or_else(|| {
                bad_request(
                    code,
                    Some(name),
                    format!("{name} is a short name: letters, digits and -_.:, at most 64"),
                )
            }),
    }
}

/// The limits in force for the caller's product: its AI settings, its organization's terms and
/// the server's budgets, each the lowest.
pub fn effective_limits(st: &AppState, caller: &GatewayCaller) -> datapact_governance::AiLimits {
    datapact_governance::settings::effective_limits(
        &caller.org.ai,
        &caller.tenant.ai,
        &caller.product,
        &caller.org.ai_limits,
        st.limits.server_limits(&caller.product),
    )
    .value
}

/// The completion cap a chat request sets itself, if any.
fn requested_completion(req: &serde_json::Value) -> Option<u64> {
    ["max_completion_tokens", "max_tokens"]
        .iter()
        .filter_map(|k| req.get(*k).and_then(serde_json::Value::as_u64))
        .min()
}

/// Reserves the call's worst case against its budgets and writes the completion cap that
/// bounds it into the request (lowering the client's own, or adding `max_completion_tokens`).
async fn reserve(
    st: &AppState,
    caller: &GatewayCaller,
    endpoint: Endpoint,
    req: &mut serde_json::Value,
    budgets: &[limits::Budget],
) -> Result<Option<limits::Reservation>, GatewayError> {
    if budgets.is_empty() {
        return Ok(None);
    }
    // Every token a byte-level tokenizer makes covers at least one byte of what is sent.
    let prompt = serde_json::to_vec(&*req).map(|b| b.len() as u64).unwrap_or(u64::MAX);
    let completion = match endpoint {
        Endpoint::Embeddings => Some(0),
        Endpoint::Chat => Some(
            requested_completion(req).unwrap_or(u64::from(
                st.config
                    .gateway
                    .budget_completion_tokens
                    .unwrap_or(crate::config::GatewayConfig::DEFAULT_BUDGET_COMPLETION_TOKENS),
            )),
        ),
    };
    let r = st
        .limits
        .reserve(
            &*st.store,
            caller.tenant.id,
            &caller.product,
            budgets,
            prompt,
            completion,
        )
        .await
        .map_err(over_limit)?;
    if let (Endpoint::Chat, Some(cap), Some(obj)) =
        (endpoint, r.as_ref().and_then(|r| r.completion_cap), req.as_object_mut())
    {
        let mut set = false;
        for k in ["max_completion_tokens", "max_tokens"] {
            if let Some(v) = obj.get_mut(k) {
                *v = serde_json::json!(v.as_u64().map_or(cap, |n| n.min(cap)));
                set = true;
            }
        }
        if !set {
            obj.insert("max_completion_tokens".into(), serde_json::json!(cap));
        }
    }
    Ok(r)
}

fn over_limit(o: limits::Over) -> GatewayError {
    let (code, message, retry_after) = match o {
        limits::Over::Rate { retry_after } => (
            "rate_limited",
            "this tenant is sending requests faster than its rate limit".to_string(),
            retry_after,
        ),
        limits::Over::Budget {
            product,
            period,
            tokens,
            retry_after,
        } => (
            "token_budget_exhausted",
            format!(
                "this tenant used its budget of {tokens} tokens per {} for {}",
                match period {
                    crate::config::BudgetPeriod::Day => "day",
                    crate::config::BudgetPeriod::Month => "month",
                },
                if product == "*" {
                    "this product".to_string()
                } else {
                    format!("`{product}`")
                }
            ),
            retry_after,
        ),
        limits::Over::TooLarge {
            period,
            room,
            prompt,
            retry_after,
        } => (
            "token_budget_insufficient",
            format!(
                "this call's prompt may take up to {prompt} tokens, and this tenant's budget per {} has {room} left",
                match period {
                    crate::config::BudgetPeriod::Day => "day",
                    crate::config::BudgetPeriod::Month => "month",
                }
            ),
            retry_after,
        ),
    };
    let mut e = GatewayError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", code, message);
    e.retry_after = Some(retry_after);
    e
}

/// A call through the trust layer. The caller is authenticated before anything of the body is
/// read; from then on every refusal and failure is an `llm_call` entry with its code, written
/// once, here.
async fn call(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
    endpoint: Endpoint,
) -> Result<Response, GatewayError> {
    let started = std::time::Instant::now();
    let caller = caller(&st, &headers)?;
    let mut record = CallRecord::new(endpoint);
    match pipeline(&st, &headers, body, endpoint, &caller, &mut record, started).await {
        Ok(resp) => Ok(resp),
        // Nothing can be recorded while the log is down; the client is told so.
        Err(e) if e.code == "audit_unavailable" => Err(e),
        Err(e) => {
            if record.status != datapact_audit::CallStatus::Error {
                // A refusal is `blocked`; a failure of datapact or a provider is `error`.
                let failed = matches!(e.status.as_u16(), 500 | 502 | 504);
                record.status = if failed {
                    datapact_audit::CallStatus::Error
                } else {
                    datapact_audit::CallStatus::Blocked
                };
            }
            record.error.get_or_insert(e.code);
            let entry = record_call(&st, record.event(&caller, started, record.waited)).await?;
            record.done(started, record.waited);
            let mut resp = e.into_response();
            receipt(&mut resp, entry);
            Ok(resp)
        }
    }
}

/// The stages of a call after authentication; an error returned here is recorded by [`call`].
async fn pipeline(
    st: &Arc<AppState>,
    headers: &HeaderMap,
    body: axum::body::Body,
    endpoint: Endpoint,
    caller: &GatewayCaller,
    record: &mut CallRecord,
    started: std::time::Instant,
) -> Result<Response, GatewayError> {
    let st = Arc::clone(st);
    let permit = st.limits.admit().ok_or_else(|| {
        let mut e = GatewayError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            "server_overloaded",
            "the trust layer is handling as many calls as it is configured for; retry shortly",
        );
        e.retry_after = Some(std::time::Duration::from_secs(1));
        e
    })?;
    st.limits.check_rate(caller.tenant.id).map_err(over_limit)?;
    let limits = effective_limits(&st, caller);
    st.limits
        .check_product_rate(caller.tenant.id, &caller.product, &limits)
        .map_err(over_limit)?;
    let budgets = limits::Limits::budgets(&limits);
    record.feature = header_label(headers, "x-datapact-feature", "invalid_feature")?;
    // Read only up to the limit; a longer body is refused in OpenAI's error shape.
    let read = tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, MAX_CHAT_BYTES))
        .await
        .map_err(|_| {
            GatewayError::new(
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request_error",
                "request_timeout",
                format!(
                    "the request body did not arrive within {} s",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            )
        })?;
    let body = read.map_err(|e| {
        let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            GatewayError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "request_too_large",
                format!("a request is at most {MAX_CHAT_BYTES} bytes"),
            )
        } else {
            bad_request("invalid_body", None, "the request body could not be read")
        }
    })?;
    let mut req: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request("invalid_json", None, format!("the body is not JSON: {e}")))?;
    let model = req
        .get("model")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad_request("missing_model", Some("model"), "`model` is required"))?;
    record.model = model.clone();
    endpoint.check(&req)?;
    let stream = endpoint == Endpoint::Chat && req.get("stream").and_then(serde_json::Value::as_bool) == Some(true);
    let include_usage = req
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(serde_json::Value::as_bool)
        == Some(true);
    record.streamed = stream;
    record.user = match headers.get("x-datapact-user") {
        None => None,
        Some(v) => {
            let u = v.to_str().map(str::trim).unwrap_or("");
            if u.is_empty() || u.len() > 256 {
                return Err(bad_request(
                    "invalid_user",
                    Some("x-datapact-user"),
                    "x-datapact-user is 1 to 256 characters of visible ASCII",
                ));
            }
            Some(st.vault.correlate(&caller.org.id.to_string(), u))
        }
    };

    // Providers serving the model that the model policy permits.
    let mut serving: Vec<&Provider> = st
        .providers
        .iter()
        .filter(|p| p.config.models.contains(&model))
        .collect();
    if serving.is_empty() {
        let mut e = GatewayError::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "model_not_found",
            format!("no configured provider serves the model `{model}`"),
        );
        e.param = Some("model");
        return Err(e);
    }
    let policy =
        datapact_governance::settings::effective_models(&caller.org.ai, &caller.tenant.ai, &caller.product).value;
    serving.retain(|p| policy.permits(&p.config.name, &model));
    if serving.is_empty() {
        let e = GatewayError::forbidden(
            "model_not_allowed",
            format!("the model `{model}` is not allowed by this tenant's AI settings"),
        );
        return Err(e);
    }
    // Residency: providers in the tenant's region first; others only where the organization
    // allows cross-region processing (the decision says so). None in region and no such
    // permission: fail closed, never fall back silently.
    let region = &caller.tenant.region;
    serving.sort_by_key(|p| p.config.region != *region);
    if !serving.iter().any(|p| p.config.region == *region) && !caller.org.allow_cross_region_llm {
        record.provider = serving.first().map(|p| (*p).clone());
        let mut e = GatewayError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            "no_provider_in_region",
            format!(
                "no provider of `{model}` processes data in the tenant's region `{region}`, and the organization does not allow cross-region LLM processing"
            ),
        );
        e.reasons = vec!["no_provider_in_region".into()];
        record.reasons = vec![datapact_governance::Reason::new(
            datapact_governance::ReasonCode::RegionMismatch,
            "no provider of the model in the tenant's region",
        )];
        return Err(e);
    }
    let mut denied = Vec::new();
    let mut allowed: Vec<&Provider> = serving
        .iter()
        .copied()
        .filter(|p| match provider_allowed(&st, caller, p) {
            Ok(()) => true,
            Err(r) => {
                if denied.is_empty() {
                    denied = r;
                }
                false
            }
        })
        .collect();
    let Some(first) = allowed.first() else {
        record.provider = serving.first().map(|p| (*p).clone());
        let mut e = GatewayError::forbidden(
            "blocked_by_policy",
            format!(
                "the tenant's data may not be sent to any provider of `{model}`: {}",
                reason_codes(&denied).join(", ")
            ),
        );
        e.reasons = reason_codes(&denied);
        record.reasons = denied;
        return Err(e);
    };
    record.provider = Some((*first).clone());
    if let Err(o) = st
        .limits
        .check_budget(&*st.store, caller.tenant.id, &caller.product, &budgets)
        .await
    {
        let e = over_limit(o);
        return Err(e);
    }

    // The tenant's own copy, when it asked for one: the prompt as its users wrote it.
    let keep = datapact_governance::settings::effective(
        &caller.org.ai,
        &caller.tenant.ai,
        &caller.product,
        datapact_governance::SettingKey::SavePrompts,
    )
    .value
    .then(|| Keep {
        id: datapact_governance::RecordId::generate(),
        request: req.clone(),
    });

    // Personal data is looked for when the tenant masks or refuses it, and when Cedar
    // policies may ask which categories a call carries.
    let mode = datapact_governance::settings::effective_pii(&caller.org.ai, &caller.tenant.ai, &caller.product).value;
    let policies = match caller.org.ai.policies.as_deref() {
        None => None,
        Some(text) => Some(compiled_policies(caller.org.id, text).map_err(|e| {
            GatewayError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "policies_unavailable",
                format!("the organization's Cedar policies cannot be used: {e}"),
            )
        })?),
    };
    let mut found: Vec<Vec<datapact_pii::Span>> = Vec::new();
    if mode != datapact_governance::PiiMode::Off || policies.is_some() {
        let analyzer = st.pii_sets.analyzer(&caller.org)?;
        let texts = endpoint.texts(&mut req);
        let size: usize = texts.iter().map(|t| t.len()).sum();
        found = if size <= INLINE_SCAN_BYTES {
            let opts = datapact_pii::Options::default();
            texts.into_iter().map(|t| analyzer.analyze(t, &opts)).collect()
        } else {
            let owned: Vec<String> = texts.into_iter().map(|t| t.clone()).collect();
            tokio::task::spawn_blocking(move || {
                let opts = datapact_pii::Options::default();
                owned.iter().map(|t| analyzer.analyze(t, &opts)).collect()
            })
            .await
            .map_err(|_| {
                GatewayError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "scan_failed",
                    "the personal data scan did not complete",
                )
            })?
        };
        let mut types: Vec<String> = Vec::new();
        for s in found.iter().flatten() {
            let t = s.entity.as_str().to_string();
            if !types.contains(&t) {
                types.push(t);
            }
        }
        types.sort();
        record.pii_types = types;
    }

    // The organization's Cedar policies, per candidate provider: one they forbid is skipped.
    if let Some(policies) = &policies {
        let group = header_label(headers, "x-datapact-user-group", "invalid_user_group")?;
        let mut forbidding: Vec<String> = Vec::new();
        let tenant_id = caller.tenant.id.to_string();
        allowed.retain(|p| {
            let attrs = datapact_governance::policy::CallAttrs {
                tenant: &tenant_id,
                model: &model,
                product: &caller.product,
                provider: &p.config.name,
                provider_kind: match p.config.kind {
                    ProviderKind::ThirdParty => "third_party",
                    ProviderKind::SelfHosted => "self_hosted",
                },
                region: &p.config.region,
                tenant_region: &caller.tenant.region,
                endpoint: endpoint.path(),
                data_categories: &record.pii_types,
                user_group: group.as_ref().map(|g| g.as_str()),
                feature: record.feature.as_ref().map(|f| f.as_str()),
            };
            match policies.evaluate(&attrs) {
                Ok(v) if v.allowed => true,
                Ok(v) => {
                    if forbidding.is_empty() {
                        forbidding = v.policies;
                    }
                    false
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a Cedar policy evaluation failed; the call is refused");
                    false
                }
            }
        });
        if allowed.is_empty() {
            let mut e = GatewayError::forbidden(
                "blocked_by_cedar_policy",
                if forbidding.is_empty() {
                    "no policy of the organization permits this call".to_string()
                } else {
                    format!(
                        "the organization's policies forbid this call: {}",
                        forbidding.join(", ")
                    )
                },
            );
            e.reasons = forbidding;
            record.reasons = vec![datapact_governance::Reason::new(
                datapact_governance::ReasonCode::CedarPolicyForbids,
                "an organization's Cedar policy forbids the call",
            )];
            return Err(e);
        }
        record.provider = allowed.first().map(|p| (*p).clone());
    }

    if mode == datapact_governance::PiiMode::Block && !record.pii_types.is_empty() {
        let e = bad_request(
            "pii_blocked",
            Some("messages"),
            format!(
                "the prompt holds personal data ({}), which this tenant's AI settings refuse",
                record.pii_types.join(", ")
            ),
        );
        return Err(e);
    }
    let mut pseudonymizer = datapact_pii::Pseudonymizer::new();
    let mut masked = false;
    if mode == datapact_governance::PiiMode::Mask {
        for (text, spans) in endpoint.texts(&mut req).into_iter().zip(&found) {
            if spans.is_empty() {
                continue;
            }
            *text = datapact_pii::anonymize(text, spans, &datapact_pii::Operator::Pseudonymize, &mut pseudonymizer)
                .map_err(|e| {
                    GatewayError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "masking_failed",
                        e.to_string(),
                    )
                })?;
            masked = true;
        }
    }

    // Budgets: the call's worst case is reserved, and its completion capped to fit, in one
    // step with the check, so calls under way together cannot overshoot.
    let reservation = reserve(&st, caller, endpoint, &mut req, &budgets).await?;

    // Forward to the first allowed provider that answers, asking it to keep nothing.
    // Each provider that receives the prompt has its entry first (durable by default).
    let forwarded = &*record;
    let before = |p: &Provider| record_call(&st, forwarded.forward_event(caller, started, p, masked));
    let sent = upstream::send(&allowed, endpoint, &model, &req, stream, before).await;
    let sent = match sent {
        Ok(sent) => sent,
        Err(Err(e)) => return Err(e),
        Err(Ok(x)) => {
            record.status = datapact_audit::CallStatus::Error;
            record.error = Some(x.failure.code);
            record.retries = x.retries;
            record.waited = x.waited;
            if let Some(p) = x.provider {
                record.provider = Some(p.clone());
            }
            let mut e = match (x.failure.status, x.failure.detail) {
                // The provider refused the request itself: the client can fix it.
                (Some(s), Some(detail)) if s.is_client_error() => {
                    let mut e = bad_request(
                        "upstream_rejected_request",
                        None,
                        format!(
                            "{}: {}",
                            x.failure.message,
                            restore_text(&pseudonymizer, masked, &detail)
                        ),
                    );
                    e.status = if s == StatusCode::PAYLOAD_TOO_LARGE {
                        s
                    } else {
                        StatusCode::BAD_REQUEST
                    };
                    e
                }
                _ => GatewayError::new(StatusCode::BAD_GATEWAY, "api_error", x.failure.code, x.failure.message),
            };
            if x.failure.code == "upstream_rate_limited" || x.failure.code == "upstream_circuit_open" {
                e.status = StatusCode::SERVICE_UNAVAILABLE;
                e.retry_after = Some(x.failure.retry_after.unwrap_or(std::time::Duration::from_secs(1)));
            }
            return Err(e);
        }
    };
    record.provider = Some(sent.provider.clone());
    record.retries = sent.retries;
    record.status = if masked {
        datapact_audit::CallStatus::Masked
    } else {
        datapact_audit::CallStatus::Allowed
    };
    let entry = sent.entry;
    if stream {
        let mut resp = stream::relay(stream::Relay {
            st: Arc::clone(&st),
            caller: caller.clone(),
            record: std::mem::replace(record, CallRecord::new(endpoint)),
            started,
            waited: sent.waited,
            provider: sent.provider.clone(),
            response: sent.response,
            pseudonymizer,
            include_usage,
            keep,
            permit,
            reservation,
        });
        receipt(&mut resp, entry);
        return Ok(resp);
    }
    let provider = sent.provider;
    let mut waited = sent.waited;
    let t = std::time::Instant::now();
    let total = std::time::Duration::from_millis(provider.config.total_timeout_ms).saturating_sub(started.elapsed());
    let bytes = tokio::time::timeout(total, sent.response.bytes()).await;
    waited += t.elapsed();
    let parsed = match bytes {
        Err(_) => Err(("upstream_timeout", "did not finish its answer in time")),
        Ok(Err(_)) => Err(("upstream_stream_broken", "broke the answer off")),
        Ok(Ok(b)) => {
            let v = serde_json::from_slice::<serde_json::Value>(&b).ok();
            let v = match provider.config.api {
                crate::config::ProviderApi::Anthropic => v.as_ref().and_then(anthropic::response),
                _ => v,
            };
            v.filter(|v| endpoint.answered(v)).ok_or((
                "upstream_invalid_response",
                "answered with something that is not its API's answer",
            ))
        }
    };
    let mut answer = match parsed {
        Ok(v) => v,
        Err((code, what)) => {
            record.status = datapact_audit::CallStatus::Error;
            record.error = Some(code);
            record.waited = waited;
            return Err(GatewayError::new(
                StatusCode::BAD_GATEWAY,
                "api_error",
                code,
                format!("the provider `{}` {what}", provider.config.name),
            ));
        }
    };
    let usage = |k: &str| {
        answer
            .get("usage")
            .and_then(|u| u.get(k))
            .and_then(serde_json::Value::as_u64)
            .map(|n| n.min(u32::MAX as u64) as u32)
    };
    record.usage = [
        usage("prompt_tokens"),
        usage("completion_tokens"),
        usage("total_tokens"),
    ];
    record.reasons.clear();
    record.saved = keep.as_ref().map(|k| k.id);
    st.limits.account(caller, record, reservation);
    // The disclosure was recorded, durably, before the prompt left (`llm_forward`); the
    // outcome (tokens, latency) is queued now and committed with the next group, without the
    // answer waiting for a second fsync. A crash can lose the outcome of the last moments'
    // calls, never the record that their prompts were sent.
    record_outcome(&st, record.event(caller, started, waited));
    if masked {
        restore_answer(&pseudonymizer, &mut answer);
    }
    let kept = keep.map(|k| (k, answer.clone()));
    let mut resp = Json(answer).into_response();
    receipt(&mut resp, entry);
    if let Some((k, answer)) = kept {
        k.store(&st, caller, record, answer).await;
    }
    record.done(started, waited);
    Ok(resp)
}

/// A call to keep in the tenant's vault (`save_prompts`): the record's id, chosen before the
/// call so the audit entry can name it, and the request as the client sent it.
pub struct Keep {
    id: datapact_governance::RecordId,
    request: serde_json::Value,
}

impl Keep {
    /// Writes the prompt and the response, encrypted under the tenant's key in its region, as
    /// a record of the calling product: export, delete, retention and purge apply to it as to
    /// any customer data. A failure is logged; the client already has its answer.
    pub async fn store(self, st: &AppState, caller: &GatewayCaller, record: &CallRecord, response: serde_json::Value) {
        let doc = serde_json::json!({
            "model": record.model,
            "provider": record.provider.as_ref().map(|p| p.config.name.clone()),
            "endpoint": record.endpoint.path(),
            "request": self.request,
            "response": response,
        });
        let new = datapact_vault::NewRecord {
            product: caller.product.clone(),
            data_kind: datapact_governance::DataKind::RunTime,
            content: datapact_vault::Content::Text(doc.to_string()),
            content_type: Some("application/json".into()),
            categories: vec!["ai.llm_call".into()],
            metadata: Some(serde_json::json!({"kind": "llm_call", "model": record.model})),
        };
        let id = self.id;
        let tenant_id = caller.tenant.id;
        let written = crate::lifecycle::with_vault(st, &caller.tenant, move |v, t| {
            v.put_with_ids(t, vec![new], vec![id], crate::state::now())
        })
        .await;
        if let Err(e) = written {
            tracing::error!(tenant = %tenant_id, record = %id, code = %e.code, "cannot keep the LLM call in the tenant's vault");
        }
    }
}

fn restore_text(p: &datapact_pii::Pseudonymizer, masked: bool, s: &str) -> String {
    if masked { p.restore(s) } else { s.to_string() }
}

/// Restores placeholders in a chat answer: message contents and tool-call arguments.
fn restore_answer(p: &datapact_pii::Pseudonymizer, answer: &mut serde_json::Value) {
    let Some(choices) = answer.get_mut("choices").and_then(serde_json::Value::as_array_mut) else {
        return;
    };
    for c in choices {
        let Some(m) = c.get_mut("message") else {
            continue;
        };
        if let Some(serde_json::Value::String(content)) = m.get_mut("content") {
            *content = p.restore(content);
        }
        if let Some(calls) = m.get_mut("tool_calls").and_then(serde_json::Value::as_array_mut) {
            for call in calls {
                if let Some(serde_json::Value::String(a)) =
                    call.get_mut("function").and_then(|f| f.get_mut("arguments"))
                {
                    *a = restore_json_strings(p, a);
                }
            }
        }
    }
}

/// Restores placeholders inside the string values of a JSON document (tool-call arguments),
/// escaping what is restored so the document stays JSON; text that is not JSON is restored
/// as text.
fn restore_json_strings(p: &datapact_pii::Pseudonymizer, doc: &str) -> String {
    fn walk(p: &datapact_pii::Pseudonymizer, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = p.restore(s),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| walk(p, x)),
            serde_json::Value::Object(o) => o.values_mut().for_each(|x| walk(p, x)),
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(doc) {
        Ok(mut v) => {
            walk(p, &mut v);
            v.to_string()
        }
        Err(_) => p.restore(doc),
    }
}

/// An organization's policies, compiled once per version: the cache holds each
/// organization's text and its compiled set, so a call compares texts instead of hashing one.
fn compiled_policies(
    org: datapact_governance::OrgId,
    text: &str,
) -> Result<Arc<datapact_governance::policy::CallPolicies>, datapact_governance::policy::PolicyError> {
    type Compiled = (String, Arc<datapact_governance::policy::CallPolicies>);
    static CACHE: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<datapact_governance::OrgId, Compiled>>,
    > = std::sync::LazyLock::new(Default::default);
    if let Some(p) = CACHE
        .lock()
        .ok()
        .and_then(|c| c.get(&org).filter(|(t, _)| t == text).map(|(_, p)| Arc::clone(p)))
    {
        return Ok(p);
    }
    let p = Arc::new(datapact_governance::policy::compile(text)?);
    if let Ok(mut c) = CACHE.lock() {
        c.insert(org, (text.to_string(), Arc::clone(&p)));
    }
    Ok(p)
}

/// Appends a call's audit entry: before the answer (`[gateway] audit = "durable"`, the
/// default), or alongside it (`"async"`), logging a failure since the answer is gone.
///
/// The entry is queued before the returned future is first polled, so the answer can be
/// readied while it is committed.
/// The header naming a call's audit entry.
pub const RECEIPT_HEADER: &str = "x-datapact-audit-entry";

/// Names the call's audit entry on its answer: the `llm_forward` entry written, durably, before
/// the prompt left (for a forwarded call), or the `llm_call` entry of a refusal. A customer
/// fetches its inclusion proof (`GET /v1/audit/proofs/inclusion?index=N`) and checks it
/// against a signed checkpoint. Absent with `[gateway] audit = "async"`, where the entry is
/// not yet stored when the answer goes out.
fn receipt(resp: &mut Response, entry: Option<u64>) {
    if let Some(i) = entry {
        resp.headers_mut()
            .insert(RECEIPT_HEADER, axum::http::HeaderValue::from(i));
    }
}

/// Appends a call's entry; with durable audit (the default) the future ends once it is stored
/// and gives its index, with `audit = "async"` at once and without one.
pub(crate) fn record_call(
    st: &Arc<AppState>,
    ev: crate::audit::Ev,
) -> impl Future<Output = Result<Option<u64>, GatewayError>> + Send + 'static {
    let appended = st.audit_now(ev);
    let durable = match st.config.gateway.audit {
        crate::config::GatewayAudit::Durable => Some(appended),
        crate::config::GatewayAudit::Async => {
            tokio::spawn(async move {
                if let Err(e) = appended.await {
                    tracing::error!(code = e.code, detail = %e.detail, "an LLM call's audit entry could not be appended");
                }
            });
            None
        }
    };
    async move {
        match durable {
            Some(appended) => appended.await.map(|e| Some(e.index)).map_err(audit_down),
            None => Ok(None),
        }
    }
}

/// Queues an answered call's outcome entry; a failure to store it is logged (the call's
/// `llm_forward` entry already stands).
fn record_outcome(st: &Arc<AppState>, ev: crate::audit::Ev) {
    let appended = st.audit_now(ev);
    tokio::spawn(async move {
        if let Err(e) = appended.await {
            tracing::error!(code = e.code, detail = %e.detail, "an LLM call's outcome entry could not be appended");
        }
    });
}

fn audit_down(e: crate::problem::ApiError) -> GatewayError {
    GatewayError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "api_error",
        "audit_unavailable",
        e.detail,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any JSON, biased towards the keys a chat request has.
    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            "[a-z<>_0-9 ]{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let key = prop_oneof![
                Just("messages".to_string()),
                Just("content".to_string()),
                Just("role".to_string()),
                Just("tool_calls".to_string()),
                Just("function".to_string()),
                Just("arguments".to_string()),
                Just("stream_options".to_string()),
                Just("choices".to_string()),
                Just("message".to_string()),
                Just("text".to_string()),
                Just("type".to_string()),
                Just("tools".to_string()),
                Just("tool_choice".to_string()),
                Just("stop".to_string()),
                "[a-z]{1,6}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(key, inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever a client sends or a provider answers, reading, masking, translating and
        /// restoring it never panics.
        #[test]
        fn no_body_makes_the_pipeline_panic(mut req in json(), mut answer in json(), stream in any::<bool>()) {
            if Endpoint::Chat.check(&req).is_ok() {
                for t in Endpoint::Chat.texts(&mut req) {
                    t.push('x');
                }
                let _ = anthropic::request(&req, stream);
            }
            let _ = Endpoint::Embeddings.check(&req);
            let _ = Endpoint::Embeddings.texts(&mut req);
            let mut p = datapact_pii::Pseudonymizer::new();
            p.placeholder(datapact_pii::EntityType::Person, "Ann \"Lee\"");
            restore_answer(&p, &mut answer);
            let _ = anthropic::response(&answer);
            let mut t = anthropic::StreamTranslator::new();
            let _ = t.event("message_start", &answer.to_string());
            let _ = t.event("content_block_delta", &answer.to_string());
        }
    }
}
