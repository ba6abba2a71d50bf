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
    let secret = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
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
