//! One call through the trust layer: who makes it (the caller), what is recorded of it (its
//! audit entries, its receipt), and the tenant's own copy when `save_prompts` is on.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use datapact_governance::{ApiKey, Org, Purpose, Role, Tenant, TenantId};
use datapact_vault::api_key;

use super::error::{GatewayError, audit_down};
use super::platform::Platform;
use super::request::Endpoint;
use super::upstream::Provider;
use crate::config::{GatewayAudit, ProviderKind};

/// The header naming the tenant when the key is bound to a product but not to one tenant.
pub const TENANT_HEADER: &str = "x-datapact-tenant";

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
pub fn caller(state: &Platform, headers: &HeaderMap) -> Result<GatewayCaller, GatewayError> {
    if state.stale.as_ref().is_some_and(|stale| stale()) {
        return Err(GatewayError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            "stale_state",
            "this node has not kept up with the deployment's changes; retry (another node answers)",
        ));
    }
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            GatewayError::unauthenticated("unauthenticated", "send an API key as `Authorization: Bearer KEY`")
        })?;
    let secret = api_key::bearer_secret(value).ok_or_else(|| {
        GatewayError::unauthenticated("unauthenticated", "the Authorization header must be `Bearer KEY`")
    })?;
    let key = state
        .registry
        .key_by_hash(&state.vault.api_key_hash(secret))
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

pub(crate) fn unknown_tenant(id: &str) -> GatewayError {
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

/// What a call records in the audit log, filled in as the call goes.
pub struct CallRecord {
    pub(crate) model: String,
    pub(crate) provider: Option<Provider>,
    pub(crate) status: datapact_audit::CallStatus,
    pub(crate) usage: [Option<u32>; 3],
    pub(crate) feature: Option<datapact_audit::Label>,
    pub(crate) pii_types: Vec<String>,
    pub(crate) reasons: Vec<datapact_governance::Reason>,
    /// The end user (`x-datapact-user`) as a keyed hash under the organization's key: calls of
    /// one user correlate in the log, and the log never holds who they are.
    pub(crate) user: Option<String>,
    pub(crate) streamed: bool,
    pub(crate) error: Option<&'static str>,
    pub(crate) retries: u32,
    pub(crate) endpoint: Endpoint,
    /// The vault record keeping the prompt and response, when the tenant's `save_prompts` is on.
    pub(crate) saved: Option<datapact_governance::RecordId>,
    /// Time spent waiting on providers so far.
    pub(crate) waited: std::time::Duration,
}

impl CallRecord {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
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
    pub(crate) fn forward_event(
        &self,
        caller: &GatewayCaller,
        started: std::time::Instant,
        provider: &Provider,
        masked: bool,
    ) -> datapact_audit::Ev {
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

    pub(crate) fn event(
        &self,
        caller: &GatewayCaller,
        started: std::time::Instant,
        upstream: std::time::Duration,
    ) -> datapact_audit::Ev {
        let elapsed = started.elapsed();
        let overhead = elapsed.saturating_sub(upstream);
        let mut ev = datapact_audit::Ev::by(&caller.key, datapact_audit::Action::LlmCall)
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
    pub(crate) fn done(&self, started: std::time::Instant, upstream: std::time::Duration) {
        let overhead = started.elapsed().saturating_sub(upstream);
        crate::metrics::gateway_call(self.endpoint.path(), self.status, self.streamed, overhead);
    }
}

/// A call to keep in the tenant's vault (`save_prompts`): the record's id, chosen before the
/// call so the audit entry can name it, and the request as the client sent it.
pub struct Keep {
    pub(crate) id: datapact_governance::RecordId,
    pub(crate) request: serde_json::Value,
}

impl Keep {
    /// Writes the prompt and the response, encrypted under the tenant's key in its region, as
    /// a record of the calling product: export, delete, retention and purge apply to it as to
    /// any customer data. A failure is logged; the client already has its answer.
    pub async fn store(self, st: &Platform, caller: &GatewayCaller, record: &CallRecord, response: serde_json::Value) {
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
        let vault = Arc::clone(&st.vault);
        let region = caller.tenant.region.clone();
        let now = (st.clock)();
        let write = datapact_audit::request::carry(move || {
            let t = datapact_vault::TenantRef {
                id: tenant_id,
                region: &region,
            };
            v_put(&vault, t, new, id, now)
        });
        match tokio::task::spawn_blocking(write).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(tenant = %tenant_id, record = %id, error = %e, "cannot keep the LLM call in the tenant's vault");
            }
            Err(e) => {
                tracing::error!(tenant = %tenant_id, record = %id, error = %e, "cannot keep the LLM call in the tenant's vault");
            }
        }
    }
}

/// Writes one record with its chosen id, stamped now (to the microsecond, as stored).
fn v_put(
    vault: &datapact_vault::Vault,
    t: datapact_vault::TenantRef<'_>,
    new: datapact_vault::NewRecord,
    id: datapact_governance::RecordId,
    now: time::OffsetDateTime,
) -> Result<(), datapact_vault::VaultError> {
    let now = now.replace_nanosecond(now.nanosecond() / 1000 * 1000).unwrap_or(now);
    vault.put_with_ids(t, vec![new], vec![id], now).map(|_| ())
}

/// The header naming a call's audit entry.
pub const RECEIPT_HEADER: &str = "x-datapact-audit-entry";

/// Names the call's audit entry on its answer: the `llm_forward` entry written, durably, before
/// the prompt left (for a forwarded call), or the `llm_call` entry of a refusal. A customer
/// fetches its inclusion proof (`GET /v1/audit/proofs/inclusion?index=N`) and checks it
/// against a signed checkpoint. Absent with `[gateway] audit = "async"`, where the entry is
/// not yet stored when the answer goes out.
pub(crate) fn receipt(resp: &mut Response, entry: Option<u64>) {
    if let Some(i) = entry {
        resp.headers_mut()
            .insert(RECEIPT_HEADER, axum::http::HeaderValue::from(i));
    }
}

/// Appends a call's entry; with durable audit (the default) the future ends once it is stored
/// and gives its index, with `audit = "async"` at once and without one.
pub(crate) fn record_call(
    st: &Platform,
    mode: GatewayAudit,
    ev: datapact_audit::Ev,
) -> impl Future<Output = Result<Option<u64>, GatewayError>> + Send + 'static {
    let appended = st.audit_log.submit(ev.0);
    let durable = match mode {
        GatewayAudit::Durable => Some(appended),
        GatewayAudit::Async => {
            tokio::spawn(async move {
                if let Err(e) = appended.await {
                    tracing::error!(error = %e, "an LLM call's audit entry could not be appended");
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
pub(crate) fn record_outcome(st: &Platform, ev: datapact_audit::Ev) {
    let appended = st.audit_log.submit(ev.0);
    tokio::spawn(async move {
        if let Err(e) = appended.await {
            tracing::error!(error = %e, "an LLM call's outcome entry could not be appended");
        }
    });
}
