//! The AI trust layer's OpenAI-compatible surface (issue 6, being built): who is calling, on
//! behalf of which tenant and product, and which configured provider/model pairs their policy
//! allows. Errors use OpenAI's error body, so the official SDKs surface them, with datapact's
//! reason codes inside.

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

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                message: &self.message,
                kind: self.kind,
                param: self.param,
                code: self.code,
                reasons: &self.reasons,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// A gateway caller: the key, and the tenant and product it acts for.
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
        .key_by_hash(&auth::hash_secret(secret))
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
pub fn provider_allowed(state: &AppState, caller: &GatewayCaller, provider: &Provider) -> Result<(), Vec<String>> {
    let req = DecisionRequest {
        tenant: caller.tenant.id,
        product: &caller.product,
        purpose: purpose_of(provider),
        data_kind: None,
        region: Some(&provider.config.region),
    };
    match state.registry.decide(&req, time::OffsetDateTime::now_utc()) {
        Ok(d) if d.allowed => Ok(()),
        // Serialized as the API writes them: snake_case codes.
        Ok(d) => Err(d
            .reasons
            .iter()
            .filter_map(|r| serde_json::to_value(r.code).ok())
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()),
        Err(e) => Err(vec![e.to_string()]),
    }
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
static ANALYZER: std::sync::LazyLock<datapact_pii::Analyzer> = std::sync::LazyLock::new(datapact_pii::Analyzer::new);

/// One HTTP client for every provider: connection reuse, and limits on how long a provider may
/// take to connect and to answer.
static CLIENT: std::sync::LazyLock<Result<reqwest::Client, String>> = std::sync::LazyLock::new(|| {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| e.to_string())
});

/// Largest chat request accepted, in bytes.
pub const MAX_CHAT_BYTES: usize = 4 * 1024 * 1024;

fn bad_request(code: &'static str, param: Option<&'static str>, message: impl Into<String>) -> GatewayError {
    let mut e = GatewayError::new(StatusCode::BAD_REQUEST, "invalid_request_error", code, message);
    e.param = param;
    e
}

/// The texts of a chat request's messages, for scanning and masking: string contents and the
/// `text` of content parts.
fn message_texts(req: &mut serde_json::Value) -> Vec<&mut String> {
    let mut out = Vec::new();
    let Some(messages) = req.get_mut("messages").and_then(serde_json::Value::as_array_mut) else {
        return out;
    };
    for m in messages {
        match m.get_mut("content") {
            Some(serde_json::Value::String(s)) => out.push(s),
            Some(serde_json::Value::Array(parts)) => {
                for p in parts {
                    if let Some(serde_json::Value::String(t)) = p.get_mut("text") {
                        out.push(t);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// What a call records in the audit log, filled in as the call goes.
struct CallRecord {
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
}

impl CallRecord {
    fn event(
        &self,
        caller: &GatewayCaller,
        started: std::time::Instant,
        upstream: std::time::Duration,
    ) -> crate::audit::Ev {
        let elapsed = started.elapsed();
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
        let name = |s: &str| datapact_audit::Name::new(s).ok();
        ev.0.call = name(&self.model).map(|model| datapact_audit::LlmCall {
            model,
            provider: self.provider.as_ref().and_then(|p| name(&p.config.name)),
            status: self.status,
            prompt_tokens: self.usage[0],
            completion_tokens: self.usage[1],
            total_tokens: self.usage[2],
            latency_ms: elapsed.as_millis().min(u32::MAX as u128) as u32,
            overhead_us: elapsed.saturating_sub(upstream).as_micros().min(u32::MAX as u128) as u32,
            feature: self.feature.clone(),
            pii_types: self.pii_types.iter().filter_map(|t| name(t)).collect(),
        });
        ev
    }
}

/// The OpenAI endpoints the trust layer serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
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
        match self {
            Endpoint::Chat => message_texts(req),
            Endpoint::Embeddings => match req.get_mut("input") {
                Some(serde_json::Value::String(s)) => vec![s],
                Some(serde_json::Value::Array(items)) => items
                    .iter_mut()
                    .filter_map(|i| match i {
                        serde_json::Value::String(s) => Some(s),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            },
        }
    }

    /// Why a request's body is not one of this endpoint's, if it is not.
    fn check(self, req: &serde_json::Value) -> Result<(), GatewayError> {
        match self {
            Endpoint::Chat if !req.get("messages").is_some_and(serde_json::Value::is_array) => Err(bad_request(
                "invalid_messages",
                Some("messages"),
                "`messages` must be an array",
            )),
            Endpoint::Chat if req.get("stream").and_then(serde_json::Value::as_bool) == Some(true) => Err(bad_request(
                "streaming_not_supported",
                Some("stream"),
                "streaming through the AI trust layer is not available yet; send `stream: false`",
            )),
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

/// `POST /v1/chat/completions` (non-streaming): authenticate, decide, apply the model policy
/// and residency, mask or refuse personal data, forward with zero retention, restore the
/// placeholders in the answer, and record one audit entry without the prompt or the answer.
pub async fn chat_completions(
    state: State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<bytes::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, GatewayError> {
    call(state, headers, body, Endpoint::Chat).await
}

/// `POST /v1/embeddings`: the same pipeline as chat completions, for embedding inputs.
pub async fn embeddings(
    state: State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<bytes::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, GatewayError> {
    call(state, headers, body, Endpoint::Embeddings).await
}

async fn call(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<bytes::Bytes, axum::extract::rejection::BytesRejection>,
    endpoint: Endpoint,
) -> Result<Response, GatewayError> {
    let started = std::time::Instant::now();
    let caller = caller(&st, &headers)?;
    let feature = match headers.get("x-datapact-feature") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|f| datapact_audit::Label::new(&f.trim().to_ascii_lowercase()).ok())
                .ok_or_else(|| {
                    bad_request(
                        "invalid_feature",
                        Some("x-datapact-feature"),
                        "x-datapact-feature is a short name: letters, digits and -_.:, at most 64",
                    )
                })?,
        ),
    };
    // Read only up to the limit; a longer body is refused in OpenAI's error shape.
    let body = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            GatewayError::new(
                status,
                "invalid_request_error",
                "request_too_large",
                format!("a chat request is at most {MAX_CHAT_BYTES} bytes"),
            )
        } else {
            bad_request("invalid_body", None, e.body_text())
        }
    })?;
    let mut req: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request("invalid_json", None, format!("the body is not JSON: {e}")))?;
    let model = req
        .get("model")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad_request("missing_model", Some("model"), "`model` is required"))?;
    endpoint.check(&req)?;
    let user = match headers.get("x-datapact-user") {
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
    let mut record = CallRecord {
        model: model.clone(),
        provider: None,
        status: datapact_audit::CallStatus::Blocked,
        usage: [None; 3],
        feature,
        pii_types: Vec::new(),
        reasons: Vec::new(),
        user,
    };
    let zero = std::time::Duration::ZERO;

    // Providers serving the model, in the tenant's region first.
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
    serving.sort_by_key(|p| p.config.region != caller.tenant.region);
    let policy =
        datapact_governance::settings::effective_models(&caller.org.ai, &caller.tenant.ai, &caller.product).value;
    serving.retain(|p| policy.permits(&p.config.name, &model));
    if serving.is_empty() {
        let e = GatewayError::forbidden(
            "model_not_allowed",
            format!("the model `{model}` is not allowed by this tenant's AI settings"),
        );
        return refuse(&st, record.event(&caller, started, zero), e).await;
    }
    let mut denied = Vec::new();
    let provider = serving.iter().find(|p| match provider_allowed(&st, &caller, p) {
        Ok(()) => true,
        Err(r) => {
            if denied.is_empty() {
                denied = r;
            }
            false
        }
    });
    let Some(provider) = provider.copied() else {
        record.provider = serving.first().map(|p| (*p).clone());
        let mut e = GatewayError::forbidden(
            "blocked_by_policy",
            format!(
                "the tenant's data may not be sent to any provider of `{model}`: {}",
                denied.join(", ")
            ),
        );
        e.reasons = denied;
        return refuse(&st, record.event(&caller, started, zero), e).await;
    };
    record.provider = Some(provider.clone());

    // Personal data: off, masked with placeholders restored in the answer, or refused.
    let mode = datapact_governance::settings::effective_pii(&caller.org.ai, &caller.tenant.ai, &caller.product).value;
    let mut pseudonymizer = datapact_pii::Pseudonymizer::new();
    let mut masked = false;
    if mode != datapact_governance::PiiMode::Off {
        let opts = datapact_pii::Options::default();
        let mut types: Vec<String> = Vec::new();
        for text in endpoint.texts(&mut req) {
            let spans = ANALYZER.analyze(text, &opts);
            for s in &spans {
                let t = s.entity.as_str().to_string();
                if !types.contains(&t) {
                    types.push(t);
                }
            }
            if mode == datapact_governance::PiiMode::Mask && !spans.is_empty() {
                let replaced =
                    datapact_pii::anonymize(text, &spans, &datapact_pii::Operator::Pseudonymize, &mut pseudonymizer)
                        .map_err(|e| {
                            GatewayError::new(
                                StatusCode::INTERNAL_SERVER_ERROR,
                                "server_error",
                                "masking_failed",
                                e.to_string(),
                            )
                        })?;
                *text = replaced;
                masked = true;
            }
        }
        types.sort();
        record.pii_types = types;
        if mode == datapact_governance::PiiMode::Block && !record.pii_types.is_empty() {
            let e = bad_request(
                "pii_blocked",
                Some("messages"),
                format!(
                    "the prompt holds personal data ({}), which this tenant's AI settings refuse",
                    record.pii_types.join(", ")
                ),
            );
            return refuse(&st, record.event(&caller, started, zero), e).await;
        }
    }

    // Forward, asking the provider to keep nothing.
    let (url, auth_header) = match provider.config.api {
        crate::config::ProviderApi::Openai => (
            format!("{}/{}", provider.config.base_url.trim_end_matches('/'), endpoint.path()),
            provider
                .secret
                .as_ref()
                .map(|s| ("authorization", format!("Bearer {}", s.expose()))),
        ),
        crate::config::ProviderApi::AzureOpenai => (
            format!(
                "{}/openai/deployments/{}/{}?api-version={}",
                provider.config.base_url.trim_end_matches('/'),
                provider.config.deployment(&model),
                endpoint.path(),
                provider.config.api_version.as_deref().unwrap_or_default()
            ),
            provider.secret.as_ref().map(|s| ("api-key", s.expose().to_string())),
        ),
        crate::config::ProviderApi::Anthropic => {
            return Err(GatewayError::new(
                StatusCode::NOT_IMPLEMENTED,
                "api_error",
                "provider_api_unsupported",
                "translation to Anthropic's Messages API is not available yet",
            ));
        }
    };
    if provider.config.api == crate::config::ProviderApi::Openai && endpoint == Endpoint::Chat {
        req["store"] = serde_json::Value::Bool(false);
    }
    let client = CLIENT.as_ref().map_err(|e| {
        GatewayError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "client_unavailable",
            e.clone(),
        )
    })?;
    let mut upstream = client.post(&url).json(&req);
    if let Some((name, value)) = auth_header {
        upstream = upstream.header(name, value);
    }
    let sent = std::time::Instant::now();
    let answer = upstream.send().await;
    let answer = match answer {
        Ok(r) => {
            let status = r.status();
            r.bytes().await.map(|b| (status, b))
        }
        Err(e) => Err(e),
    };
    let waited = sent.elapsed();
    let fail = |record: &mut CallRecord, code: &'static str, message: String| {
        record.status = datapact_audit::CallStatus::Error;
        GatewayError::new(StatusCode::BAD_GATEWAY, "api_error", code, message)
    };
    let parsed = match answer {
        Err(e) => Err(fail(
            &mut record,
            if e.is_timeout() {
                "upstream_timeout"
            } else {
                "upstream_unreachable"
            },
            format!(
                "the provider `{}` did not answer: {}",
                provider.config.name,
                if e.is_timeout() {
                    "timed out"
                } else {
                    "connection failed"
                }
            ),
        )),
        Ok((status, _)) if !status.is_success() => Err(fail(
            &mut record,
            "upstream_error",
            format!("the provider `{}` answered {status}", provider.config.name),
        )),
        Ok((_, bytes)) => serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .filter(|v| endpoint.answered(v))
            .ok_or_else(|| {
                fail(
                    &mut record,
                    "upstream_invalid_response",
                    format!(
                        "the provider `{}` answered with something that is not its API's answer",
                        provider.config.name
                    ),
                )
            }),
    };
    let mut answer = match parsed {
        Ok(v) => v,
        Err(e) => {
            let ev = record.event(&caller, started, waited);
            st.audit(ev).await.map_err(audit_down)?;
            return Err(e);
        }
    };
    if masked {
        if let Some(choices) = answer.get_mut("choices").and_then(serde_json::Value::as_array_mut) {
            for c in choices {
                if let Some(serde_json::Value::String(content)) =
                    c.get_mut("message").and_then(|m| m.get_mut("content"))
                {
                    *content = pseudonymizer.restore(content);
                }
            }
        }
        record.status = datapact_audit::CallStatus::Masked;
    } else {
        record.status = datapact_audit::CallStatus::Allowed;
    }
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
    // Recorded before the answer is handed back: no answer leaves unrecorded.
    let ev = record.event(&caller, started, waited);
    st.audit(ev).await.map_err(audit_down)?;
    Ok(Json(answer).into_response())
}

/// Records a refused call, then refuses it: the record says who asked for what and why not.
async fn refuse(st: &AppState, ev: crate::audit::Ev, err: GatewayError) -> Result<Response, GatewayError> {
    st.audit(ev).await.map_err(audit_down)?;
    Err(err)
}

fn audit_down(e: crate::problem::ApiError) -> GatewayError {
    GatewayError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "api_error",
        "audit_unavailable",
        e.detail,
    )
}
