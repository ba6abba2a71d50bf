//! API keys: created by administrators, shown once, stored hashed, revocable.

use std::sync::Arc;

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use datapact_audit::{Action, Resource};
use datapact_governance::{ApiKey, KeyId, Role};

use super::check::{product, text};
use crate::audit::Ev;
use crate::extract::{Caller, JsonBody};
use crate::guard;
use crate::problem::ApiError;
use crate::state::{AppState, now};
use crate::views::{CreateKey, CreatedKey, KeyView};
use datapact_vault::api_key;

fn scope_error(field: &str, detail: String) -> ApiError {
    ApiError::invalid("invalid_scope", field, detail)
}

/// Checks the requested role and scope against what the caller may hand out.
fn check_new_key(st: &AppState, c: &ApiKey, body: &CreateKey) -> Result<ApiKey, ApiError> {
    match c.role {
        Role::PlatformAdmin => {}
        Role::OrgAdmin if matches!(body.role, Role::OrgAdmin | Role::Auditor) => {}
        Role::OrgAdmin => {
            return Err(ApiError::forbidden(format!(
                "an org_admin may create org_admin and auditor keys, not {}",
                body.role
            ))
            .field("role"));
        }
        _ => {
            return Err(ApiError::forbidden(format!("the {} role may not create keys", c.role)));
        }
    }
    // A caller bound to an organization creates keys inside it; naming it is optional.
    let org = body.org.or(c.org);
    let unknown_org = || ApiError::invalid("unknown_org", "org", "no such organization");
    if let Some(o) = org
        && (!c.sees_org(o) || st.registry.org(o).is_none())
    {
        return Err(unknown_org());
    }
    let mut tenant_org = None;
    if let Some(t) = body.tenant {
        let tenant = st
            .registry
            .tenant(t)
            .filter(|t| c.sees_tenant(t))
            .ok_or_else(|| ApiError::invalid("unknown_tenant", "tenant", "no such tenant"))?;
        if org.is_some_and(|o| o != tenant.org) {
            return Err(scope_error("tenant", "the tenant does not belong to `org`".into()));
        }
        tenant_org = Some(tenant.org);
    }
    let product = body.product.as_deref().map(|p| product(st, "product", p)).transpose()?;
    match body.role {
        Role::PlatformAdmin | Role::Support => {
            if let Some(f) = [
                ("org", org.is_some()),
                ("tenant", body.tenant.is_some()),
                ("product", product.is_some()),
            ]
            .iter()
            .find(|(_, set)| *set)
            {
                return Err(scope_error(
                    f.0,
                    format!("{} keys are the vendor's and cannot be scoped", body.role),
                ));
            }
        }
        Role::OrgAdmin | Role::Auditor => {
            if body.role == Role::OrgAdmin && org.is_none() {
                return Err(ApiError::invalid(
                    "missing_field",
                    "org",
                    "an org_admin key needs `org`",
                ));
            }
            if body.tenant.is_some() {
                return Err(scope_error(
                    "tenant",
                    format!("{} keys are scoped to an organization, not a tenant", body.role),
                ));
            }
            if product.is_some() {
                return Err(scope_error(
                    "product",
                    format!("{} keys are not bound to a product", body.role),
                ));
            }
        }
        Role::Service => {
            if product.is_none() {
                return Err(ApiError::invalid(
                    "missing_field",
                    "product",
                    "a service key needs `product`",
                ));
            }
        }
    }
    let label = body.label.as_deref().map(|l| text("label", l, 200)).transpose()?;
    Ok(ApiKey {
        id: KeyId::generate(),
        hash: [0; 32],
        role: body.role,
        org: org.or(tenant_org),
        tenant: body.tenant,
        product,
        label,
        created_by: Some(c.id),
        created_at: now(),
        revoked_at: None,
    })
}

/// Creates an API key; the secret is in this response only.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", security(("bearer" = [])), request_body = CreateKey,
    responses((status = 201, body = CreatedKey), (status = 403, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn create(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    JsonBody(body): JsonBody<CreateKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let mut key = check_new_key(&st, &c, &body)?;
    let secret = api_key::generate_secret().map_err(ApiError::internal)?;
    key.hash = st.key_hash(&secret);
    let _w = st.write_lock().await?;
    st.audited(key_event(&c, Action::ApiKeyCreate, &key), async {
        st.store.put_key(&key).await.map_err(ApiError::storage)
    })
    .await?;
    tracing::info!(key = %key.id, role = %key.role, by = %c.id, "API key created");
    let view = KeyView::from(&key);
    st.registry.put_key(key);
    Ok((StatusCode::CREATED, Json(CreatedKey { view, key: secret })))
}

fn key_event(c: &ApiKey, action: Action, key: &ApiKey) -> Ev {
    let mut ev = Ev::by(c, action).resource(Resource::ApiKey(key.id));
    if let Some(o) = key.org {
        ev = ev.org(o);
    }
    if let Some(t) = key.tenant {
        ev = ev.tenant_id(t);
    }
    if let Some(p) = &key.product {
        ev = ev.product(p);
    }
    ev
}

fn visible_key(c: &ApiKey, k: &ApiKey) -> bool {
    match c.role {
        Role::PlatformAdmin => true,
        Role::OrgAdmin => c.org.is_some() && k.org == c.org,
        _ => k.id == c.id,
    }
}

/// The keys the caller administers (a platform_admin sees all; an org_admin its organization's).
#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("bearer" = [])), responses((status = 200, body = [KeyView])))]
pub async fn list(State(st): State<Arc<AppState>>, Caller(c): Caller) -> Result<Json<Vec<KeyView>>, ApiError> {
    guard::allow(&c, &[Role::PlatformAdmin, Role::OrgAdmin], "list keys")?;
    Ok(Json(
        st.registry
            .keys()
            .iter()
            .filter(|k| visible_key(&c, k))
            .map(|k| KeyView::from(k.as_ref()))
            .collect(),
    ))
}

/// Revokes a key at once.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = KeyView), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)))]
pub async fn revoke(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Json<KeyView>, ApiError> {
    guard::allow(&c, &[Role::PlatformAdmin, Role::OrgAdmin], "revoke keys")?;
    let _w = st.write_lock().await?;
    let key = id
        .parse::<KeyId>()
        .ok()
        .and_then(|k| st.registry.key(k))
        .filter(|k| visible_key(&c, k))
        .ok_or_else(|| ApiError::not_found("key", &id))?;
    if key.revoked_at.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_revoked",
            format!("key {id} is already revoked"),
        ));
    }
    if key.role == Role::PlatformAdmin {
        let others = st
            .registry
            .keys()
            .iter()
            .filter(|k| k.role == Role::PlatformAdmin && k.revoked_at.is_none())
            .count();
        if others <= 1 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "last_admin_key",
                "this is the last platform_admin key; create another before revoking it",
            ));
        }
    }
    let mut revoked = (*key).clone();
    revoked.revoked_at = Some(now());
    st.audited(key_event(&c, Action::ApiKeyRevoke, &revoked), async {
        st.store.put_key(&revoked).await.map_err(ApiError::storage)
    })
    .await?;
    tracing::info!(key = %revoked.id, by = %c.id, "API key revoked");
    let view = KeyView::from(&revoked);
    st.registry.put_key(revoked);
    Ok(Json(view))
}
