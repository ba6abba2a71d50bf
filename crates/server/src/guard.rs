//! Authorization: who may do what, and what a caller may know exists.
//!
//! A resource outside the caller's scope answers 404 exactly like a missing one, so a caller
//! never learns that another organization's resources exist. Inside its scope, a role that
//! may not perform an action gets 403.

use std::sync::Arc;

use datapact_governance::{ApiKey, Org, OrgId, Role, Tenant, TenantId};

use crate::problem::ApiError;
use crate::state::AppState;

/// Vendor operators: organizations and their contractual terms.
pub const VENDOR: &[Role] = &[Role::PlatformAdmin, Role::Support];
/// Everyone who may read an organization's terms.
pub const ORG_READERS: &[Role] = &[Role::PlatformAdmin, Role::Support, Role::Auditor, Role::OrgAdmin];
/// Everyone who may read a tenant.
pub const TENANT_READERS: &[Role] = &[
    Role::PlatformAdmin,
    Role::Support,
    Role::Auditor,
    Role::OrgAdmin,
    Role::Service,
];
/// Who may change AI trust-layer settings.
pub const AI_SETTINGS_WRITERS: &[Role] = &[Role::OrgAdmin, Role::PlatformAdmin];
/// The customer's administrator alone.
pub const CUSTOMER_ADMIN: &[Role] = &[Role::OrgAdmin];
/// Every role.
pub const ANY: &[Role] = &[
    Role::PlatformAdmin,
    Role::Support,
    Role::Auditor,
    Role::OrgAdmin,
    Role::Service,
];

/// Refuses the caller unless its role is one of `roles`.
pub fn allow(caller: &ApiKey, roles: &[Role], action: &str) -> Result<(), ApiError> {
    if roles.contains(&caller.role) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "the {} role may not {action}",
            caller.role
        )))
    }
}

/// The organization, if it exists and the caller may know it does.
pub fn org(state: &AppState, caller: &ApiKey, id: &str) -> Result<Arc<Org>, ApiError> {
    let find = || {
        id.parse::<OrgId>()
            .ok()
            .filter(|id| caller.sees_org(*id) && caller.tenant.is_none())
            .and_then(|id| state.registry.org(id))
    };
    find()
        .or_else(|| caught_up(state).and_then(|()| find()))
        .ok_or_else(|| ApiError::not_found("organization", id))
}

/// On a shared database, after a lookup missed: waits until this node has applied what other
/// nodes committed before (something created through another node a moment ago is found).
fn caught_up(state: &AppState) -> Option<()> {
    let cluster = state.cluster.as_ref()?;
    cluster.catch_up_blocking();
    Some(())
}

/// The tenant and its organization, if the caller may know the tenant exists.
pub fn tenant(state: &AppState, caller: &ApiKey, id: &str) -> Result<(Arc<Tenant>, Arc<Org>), ApiError> {
    let find = || {
        id.parse::<TenantId>()
            .ok()
            .and_then(|id| state.registry.tenant_with_org(id))
            .filter(|(t, _)| caller.sees_tenant(t))
    };
    find()
        .or_else(|| caught_up(state).and_then(|()| find()))
        .ok_or_else(|| ApiError::not_found("tenant", id))
}
