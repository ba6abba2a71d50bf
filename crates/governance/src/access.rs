//! Who is calling: API keys, their roles and the scope each is bound to.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::ids::{KeyId, OrgId, TenantId};
use crate::model::Tenant;

/// What a key may do, as the seeds divide the work between vendor and customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The vendor's operators.
    PlatformAdmin,
    /// A customer's administrator, scoped to one organization.
    OrgAdmin,
    /// Read-only access for audits; scoped to one organization or, for the vendor's own auditors, to all.
    Auditor,
    /// The vendor's support staff.
    Support,
    /// A product's own identity, scoped to that product (and optionally to an organization or tenant).
    Service,
}

impl Role {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::OrgAdmin => "org_admin",
            Role::Auditor => "auditor",
            Role::Support => "support",
            Role::Service => "service",
        }
    }

    /// Whether the role belongs to the vendor rather than a customer.
    pub fn is_vendor(self) -> bool {
        matches!(self, Role::PlatformAdmin | Role::Support)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored API key: its public id, the SHA-256 of its secret, its role and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Public identifier, used in audit entries and for revocation.
    pub id: KeyId,
    /// SHA-256 of the secret; the secret itself is never stored.
    pub hash: [u8; 32],
    /// Role.
    pub role: Role,
    /// Organization scope, if any.
    pub org: Option<OrgId>,
    /// Tenant scope, if any (implies `org`).
    pub tenant: Option<TenantId>,
    /// Product scope (service keys).
    pub product: Option<String>,
    /// A label for people.
    pub label: Option<String>,
    /// The key that created it (`None` for the bootstrap key).
    pub created_by: Option<KeyId>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Revocation time, if revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiKey {
    /// Whether the key may see resources of organization `org` at all.
    pub fn sees_org(&self, org: OrgId) -> bool {
        self.org.is_none_or(|o| o == org)
    }

    /// Whether the key may see tenant `tenant` at all.
    pub fn sees_tenant(&self, tenant: &Tenant) -> bool {
        self.sees_org(tenant.org) && self.tenant.is_none_or(|t| t == tenant.id)
    }

    /// Whether the key may act for `product` (only service keys are bound to one).
    pub fn acts_for_product(&self, product: &str) -> bool {
        self.product.as_deref().is_none_or(|p| p == product)
    }

    /// Whether the key is scoped to the whole deployment.
    pub fn is_global(&self) -> bool {
        self.org.is_none() && self.tenant.is_none()
    }
}
