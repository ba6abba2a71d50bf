//! The pipeline every call goes through. Its stages, in order, each a named step below that
//! returns the call's refusal or what the next stage needs; [`call`] records whatever the
//! pipeline returns, once:
//!
//! 1. **Caller** ([`super::call::caller`]): a service key, its product and tenant, before the body.
//! 2. **Admission and rates**: calls at once, the server's per-tenant rate, the tenant's rate
//!    for the product from the limits in force.
//! 3. **Request**: the body within its size and time, OpenAI's parameters only.
//! 4. **Providers** serving the model; **model policy** of the AI settings.
//! 5. **Residency**: the tenant's region first; elsewhere only with the organization's consent.
//! 6. **Decisions**: `genai` or `service` for each provider, in its region.
//! 7. **Budgets**: a first check that they have room.
//! 8. **PII scan** of every string the request sends.
//! 9. **Cedar** policies of the organization, per provider.
//! 10. **Masking** (or refusal under `block`).
//! 11. **Reservation** of the call's worst case against its budgets, and its completion cap.
//! 12. **Forward**, each provider's `llm_forward` entry durable first.
//! 13. **Restore** placeholders in the answer (streamed: chunk by chunk).
//! 14. **Account and audit**: usage, the `llm_call` entry, the receipt header.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use datapact_governance::DecisionRequest;
use serde::Serialize;

use super::call::{CallRecord, GatewayCaller, Keep, caller, purpose_of, receipt, record_call, record_outcome};
use super::error::{GatewayError, bad_request};
use super::limits::{self, effective_limits};
use super::request::{self, Endpoint, MAX_CHAT_BYTES, Request};
use super::service::Gateway;
use super::upstream::Provider;
use super::{pii, policy, providers, stream, upstream};
use crate::config::ProviderKind;

/// Whether `caller` may send data to `provider` at all (its purpose decided in the provider's
/// region), with the decision's reason codes when not.
pub fn provider_allowed(
    state: &Gateway,
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
    match state.registry.decide(&req, (state.clock)()) {
        Ok(d) if d.allowed => Ok(()),
        Ok(d) => Err(d.reasons),
        // The tenant vanished meanwhile: nothing may be sent.
        Err(_) => Err(Vec::new()),
    }
}

/// Reason codes as the API writes them (snake_case).
pub(crate) fn reason_codes(reasons: &[datapact_governance::Reason]) -> Vec<String> {
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
pub async fn list_models(State(st): State<Arc<Gateway>>, headers: HeaderMap) -> Result<Response, GatewayError> {
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

/// How long a client may take to send its request body.
pub(crate) const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Texts larger than this (in all) are scanned for personal data on the blocking pool, so a
/// few large calls cannot hold the async workers that every other call needs.
/// Policy sets longer than this are evaluated on the blocking pool (bytes of policy text).
pub(crate) const INLINE_CEDAR_BYTES: usize = 16 * 1024;

/// One call's attributes for Cedar, owned, so that a large policy set can be evaluated off the
/// async workers: the call's own and each candidate provider's (name, kind, region).
struct CedarCall {
    tenant: String,
    model: String,
    product: String,
    tenant_region: String,
    endpoint: &'static str,
    categories: Vec<String>,
    group: Option<String>,
    feature: Option<String>,
    providers: Vec<(String, &'static str, String)>,
}

impl CedarCall {
    /// The policies' verdict for each candidate provider, in order.
    fn judge(
        &self,
        policies: &datapact_governance::policy::CallPolicies,
    ) -> Vec<Result<datapact_governance::policy::Verdict, String>> {
        self.providers
            .iter()
            .map(|(name, kind, region)| {
                policies.evaluate(&datapact_governance::policy::CallAttrs {
                    tenant: &self.tenant,
                    model: &self.model,
                    product: &self.product,
                    provider: name,
                    provider_kind: kind,
                    region,
                    tenant_region: &self.tenant_region,
                    endpoint: self.endpoint,
                    data_categories: &self.categories,
                    user_group: self.group.as_deref(),
                    feature: self.feature.as_deref(),
                })
            })
            .collect()
    }
}

pub(crate) const INLINE_SCAN_BYTES: usize = 64 * 1024;

/// `POST /v1/chat/completions`, streamed or not: authenticate, decide, apply the model policy
/// and residency, enforce limits, mask or refuse personal data, forward with zero retention,
/// restore the placeholders in the answer, and record one audit entry without the prompt or
/// the answer.
pub async fn chat_completions(
    state: State<Arc<Gateway>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, GatewayError> {
    call(state, headers, body, Endpoint::Chat).await
}

/// `POST /v1/embeddings`: the same pipeline as chat completions, for embedding inputs.
pub async fn embeddings(
    state: State<Arc<Gateway>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, GatewayError> {
    call(state, headers, body, Endpoint::Embeddings).await
}

/// An optional short header value, checked.
pub(crate) fn header_label(
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

/// How many bytes `v` serializes to, counted without building the text.
fn serialized_len(v: &serde_json::Value) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len() as u64;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    match serde_json::to_writer(&mut c, v) {
        Ok(()) => c.0,
        Err(_) => u64::MAX,
    }
}

/// Reserves the call's worst case against its budgets and writes the completion cap that
/// bounds it into the request (lowering the client's own, or adding `max_completion_tokens`).
pub(crate) async fn reserve(
    st: &Gateway,
    caller: &GatewayCaller,
    req: &mut Request,
    budgets: &[limits::Budget],
) -> Result<Option<limits::Reservation>, GatewayError> {
    if budgets.is_empty() {
        return Ok(None);
    }
    // Every token a byte-level tokenizer makes covers at least one byte of what is sent.
    let prompt = serialized_len(req.body());
    let completion = match req.endpoint {
        Endpoint::Embeddings => Some(0),
        Endpoint::Chat => Some(
            req.completion_cap().unwrap_or(u64::from(
                st.config
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
    if let Some(cap) = r.as_ref().and_then(|r| r.completion_cap) {
        req.cap_completion(cap);
    }
    Ok(r)
}

pub(crate) fn over_limit(o: limits::Over) -> GatewayError {
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
pub(crate) async fn call(
    State(st): State<Arc<Gateway>>,
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
            let entry = record_call(
                &st.platform,
                st.config.audit,
                record.event(&caller, started, record.waited),
            )
            .await?;
            record.done(started, record.waited);
            let mut resp = e.into_response();
            receipt(&mut resp, entry);
            Ok(resp)
        }
    }
}

/// The stages of a call after authentication; an error returned here is recorded by [`call`].
pub(crate) async fn pipeline(
    st: &Arc<Gateway>,
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
    let limits = effective_limits(&st.limits, caller);
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
    let body: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request("invalid_json", None, format!("the body is not JSON: {e}")))?;
    let model = request::model_of(&body)?;
    record.model = model.clone();
    let mut req = Request::new(endpoint, model.clone(), body)?;
    let (stream, include_usage) = (req.stream, req.include_usage);
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
        request: req.body().clone(),
    });

    // Personal data is looked for when the tenant masks or refuses it, and when Cedar
    // policies may ask which categories a call carries.
    let mode = datapact_governance::settings::effective_pii(&caller.org.ai, &caller.tenant.ai, &caller.product).value;
    let policy_text_len = caller.org.ai.policies.as_deref().map_or(0, str::len);
    let policies = match caller.org.ai.policies.as_deref() {
        None => None,
        Some(text) => Some(policy::compiled_policies(caller.org.id, text).map_err(|e| {
            GatewayError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "policies_unavailable",
                format!("the organization's Cedar policies cannot be used: {e}"),
            )
        })?),
    };
    // Secrets and credentials are masked whatever the mode: with masking of personal data off
    // (and no policies to judge its types), only they are looked for.
    let secrets_only = mode == datapact_governance::PiiMode::Off && policies.is_none();
    let opts = datapact_pii::Options {
        entities: secrets_only.then(|| datapact_pii::EntityType::SECRETS.to_vec()),
        ..datapact_pii::Options::default()
    };
    let found: Vec<Vec<datapact_pii::Span>>;
    {
        let analyzer = st.pii_sets.analyzer(&caller.org)?;
        let texts = req.texts();
        let size: usize = texts.iter().map(|t| t.len()).sum();
        let scan_started = std::time::Instant::now();
        // The CPU time is read on the thread that scans, so each branch brackets its own scan.
        let cpu;
        (found, cpu) = if size <= INLINE_SCAN_BYTES {
            let cpu_started = crate::metrics::thread_cpu_time();
            let found = texts.into_iter().map(|t| analyzer.analyze(t, &opts)).collect();
            (found, crate::metrics::thread_cpu_since(cpu_started))
        } else {
            let owned: Vec<String> = texts.into_iter().map(|t| t.clone()).collect();
            tokio::task::spawn_blocking(move || {
                let cpu_started = crate::metrics::thread_cpu_time();
                let found: Vec<Vec<datapact_pii::Span>> = owned.iter().map(|t| analyzer.analyze(t, &opts)).collect();
                (found, crate::metrics::thread_cpu_since(cpu_started))
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
        crate::metrics::pii_scan(size, scan_started.elapsed(), cpu);
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
        let call = CedarCall {
            tenant: caller.tenant.id.to_string(),
            model: model.clone(),
            product: caller.product.clone(),
            tenant_region: caller.tenant.region.clone(),
            endpoint: endpoint.path(),
            categories: record.pii_types.clone(),
            group: group.as_ref().map(|g| g.as_str().to_string()),
            feature: record.feature.as_ref().map(|f| f.as_str().to_string()),
            providers: allowed
                .iter()
                .map(|p| {
                    let kind = match p.config.kind {
                        ProviderKind::ThirdParty => "third_party",
                        ProviderKind::SelfHosted => "self_hosted",
                    };
                    (p.config.name.clone(), kind, p.config.region.clone())
                })
                .collect(),
        };
        // A large policy set takes a few hundred microseconds per provider (see
        // `cargo bench -p datapact-governance --bench cedar`): off the async workers.
        let verdicts = if policy_text_len > INLINE_CEDAR_BYTES {
            let policies = Arc::clone(policies);
            tokio::task::spawn_blocking(move || call.judge(&policies))
                .await
                .map_err(|_| {
                    GatewayError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "server_error",
                        "policy_evaluation_failed",
                        "the organization's policies could not be evaluated",
                    )
                })?
        } else {
            call.judge(policies)
        };
        let mut verdicts = verdicts.into_iter();
        allowed.retain(|_| match verdicts.next() {
            Some(Ok(v)) if v.allowed => true,
            Some(Ok(v)) => {
                if forbidding.is_empty() {
                    forbidding = v.policies;
                }
                false
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "a Cedar policy evaluation failed; the call is refused");
                false
            }
            None => false,
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
                "the prompt holds personal data or secrets ({}), which this tenant's AI settings refuse",
                record.pii_types.join(", ")
            ),
        );
        return Err(e);
    }
    let mut pseudonymizer = datapact_pii::Pseudonymizer::new();
    let mut masked = false;
    let mask_all = mode == datapact_governance::PiiMode::Mask;
    if mask_all || mode == datapact_governance::PiiMode::Off {
        for (text, spans) in req.texts().into_iter().zip(&found) {
            // With masking of personal data off, the secrets alone.
            let secrets: Vec<datapact_pii::Span>;
            let spans = if mask_all {
                spans.as_slice()
            } else {
                secrets = spans.iter().filter(|s| s.entity.is_secret()).copied().collect();
                secrets.as_slice()
            };
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
    let reservation = reserve(&st, caller, &mut req, &budgets).await?;

    // Forward to the first allowed provider that answers, asking it to keep nothing.
    // Each provider that receives the prompt has its entry first (durable by default).
    let forwarded = &*record;
    let before = |p: &Provider| {
        record_call(
            &st.platform,
            st.config.audit,
            forwarded.forward_event(caller, started, p, masked),
        )
    };
    let sent = upstream::send(&allowed, endpoint, &model, req.body(), stream, before).await;
    let sent = match sent {
        Ok(sent) => sent,
        Err(upstream::NotSent::Stopped(e)) => return Err(e),
        Err(upstream::NotSent::Exhausted(x)) => {
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
                            pii::restore_text(&pseudonymizer, masked, &detail)
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
            let v = v.and_then(|v| providers::api(provider.config.api).answer(v));
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
    record_outcome(&st.platform, record.event(caller, started, waited));
    if masked {
        pii::restore_answer(&pseudonymizer, &mut answer);
    }
    let kept = keep.map(|k| (k, answer.clone()));
    let mut resp = Json(answer).into_response();
    receipt(&mut resp, entry);
    if let Some((k, answer)) = kept {
        k.store(&st.platform, caller, record, answer).await;
    }
    record.done(started, waited);
    Ok(resp)
}
