//! Organizations, tenants and the terms that govern their data.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::catalog::DataKind;
use crate::ids::{GrantId, JobId, KeyId, OptOutId, OrgId, TenantId};
use crate::settings::AiSettings;

/// The commercial plan; generative AI and trust-layer governance need `advanced` or `enterprise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// Free plan.
    Free,
    /// Standard plan.
    Standard,
    /// Advanced plan.
    Advanced,
    /// Enterprise plan.
    Enterprise,
}

impl Plan {
    /// Whether the plan includes generative AI features and AI trust-layer governance.
    pub fn includes_genai(self) -> bool {
        matches!(self, Plan::Advanced | Plan::Enterprise)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Standard => "standard",
            Plan::Advanced => "advanced",
            Plan::Enterprise => "enterprise",
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an organization is in its contract's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgStatus {
    /// Under contract.
    Active,
    /// Contract ending: export still works, processing beyond `service` is denied.
    Terminating,
    /// Contract ended; final.
    Terminated,
}

impl OrgStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgStatus::Active => "active",
            OrgStatus::Terminating => "terminating",
            OrgStatus::Terminated => "terminated",
        }
    }

    /// Whether moving from `self` to `to` is a legal step of the contract's life.
    pub fn can_move_to(self, to: OrgStatus) -> bool {
        use OrgStatus::*;
        matches!(
            (self, to),
            (Active, Terminating) | (Active, Terminated) | (Terminating, Terminated) | (Terminating, Active)
        ) || self == to
    }
}

impl fmt::Display for OrgStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A customer organization and its terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Org {
    /// Identifier.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Commercial plan.
    pub plan: Plan,
    /// Region chosen at creation; never changes.
    pub region: String,
    /// A Business Associate Agreement is in place (excludes the data from vendor training).
    pub baa: bool,
    /// The contract forbids using the data for training.
    pub contract_forbids_training: bool,
    /// The customer allows generative AI processing outside its region.
    pub allow_cross_region_llm: bool,
    /// Contract status.
    pub status: OrgStatus,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change to the terms.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// While terminating: when the grace period ends and every tenant is purged.
    #[serde(with = "time::serde::rfc3339::option")]
    pub termination_due_at: Option<OffsetDateTime>,
    /// The AI trust-layer limits of the organization's terms (set by the vendor): ceilings
    /// for every tenant and product.
    #[serde(skip)]
    pub ai_limits: crate::settings::LimitTerms,
    /// Every opt-out ever recorded, revoked ones included (history is never rewritten).
    #[serde(skip)]
    pub opt_outs: Vec<OptOut>,
    /// Organization-level AI trust-layer settings.
    #[serde(skip)]
    pub ai: AiSettings,
    /// The organization's tenants, in creation order.
    #[serde(skip)]
    pub tenants: Vec<TenantId>,
}

impl Org {
    /// The first active opt-out that covers `product` at `now`, if any.
    pub fn active_opt_out(&self, product: &str, now: OffsetDateTime) -> Option<&OptOut> {
        self.opt_outs.iter().find(|o| o.is_active(now) && o.covers(product))
    }
}

/// An isolated environment of one organization, pinned to a region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tenant {
    /// Identifier.
    pub id: TenantId,
    /// The owning organization.
    pub org: OrgId,
    /// Display name.
    pub name: String,
    /// Region where the tenant's data lives; never changes.
    pub region: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Tenant-level AI trust-layer settings.
    #[serde(skip)]
    pub ai: AiSettings,
    /// Every support grant ever given, revoked and expired ones included.
    #[serde(skip)]
    pub grants: Vec<SupportGrant>,
    /// Retention rules for the tenant's records.
    #[serde(skip)]
    pub retention: Vec<RetentionRule>,
}

impl Tenant {
    /// The active support grant at `now`, if any.
    pub fn active_grant(&self, now: OffsetDateTime) -> Option<&SupportGrant> {
        self.grants.iter().find(|g| g.is_active(now))
    }
}

/// A training opt-out, recorded from a support ticket and reflected in the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OptOut {
    /// Identifier.
    pub id: OptOutId,
    /// The organization that opted out.
    pub org: OrgId,
    /// The support ticket reference.
    pub ticket: String,
    /// Who asked, as the ticket names them.
    pub requested_by: String,
    /// Products covered; `None` means every product.
    pub products: Option<Vec<String>>,
    /// When the opt-out took effect.
    #[serde(with = "time::serde::rfc3339")]
    pub effective_at: OffsetDateTime,
    /// The key that recorded it.
    pub recorded_by: KeyId,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// When it was revoked, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// The key that revoked it, if any.
    pub revoked_by: Option<KeyId>,
}

impl OptOut {
    /// In effect at `now`: started and not revoked.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.effective_at <= now && self.revoked_at.is_none_or(|r| r > now)
    }

    /// Whether it covers `product`.
    pub fn covers(&self, product: &str) -> bool {
        self.products.as_ref().is_none_or(|ps| ps.iter().any(|p| p == product))
    }
}

/// Time-limited permission, given by the customer, for vendor support to access a tenant's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SupportGrant {
    /// Identifier.
    pub id: GrantId,
    /// The tenant it opens.
    pub tenant: TenantId,
    /// The support ticket reference.
    pub ticket: String,
    /// When it lapses (at most 7 days after it was given).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The key that gave it.
    pub created_by: KeyId,
    /// When it was given.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was revoked, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// The key that revoked it, if any.
    pub revoked_by: Option<KeyId>,
}

impl SupportGrant {
    /// The longest a grant may run.
    pub const MAX_DURATION: time::Duration = time::Duration::days(7);

    /// In force at `now`: not expired and not revoked.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.created_at <= now && now < self.expires_at && self.revoked_at.is_none_or(|r| r > now)
    }
}

/// A retention rule: a tenant's records matching it are deleted once older than `max_age_days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// Only this product (every product when absent).
    #[serde(default)]
    pub product: Option<String>,
    /// Only this data kind (both when absent).
    #[serde(default)]
    pub data_kind: Option<DataKind>,
    /// Maximum age in days, 1 to 36,500.
    #[schema(minimum = 1, maximum = 36500)]
    pub max_age_days: u32,
}

/// What a background job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Re-encrypts a tenant's records under its newest data key, then retires old keys.
    Reencrypt,
    /// Removes the rows of a tenant whose keys were destroyed.
    RemoveRows,
}

/// A purge's durable intent: what it destroys and the certificate it issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PurgePlan {
    /// Why: `customer_request` or `contract_termination`.
    pub reason: String,
    /// The id of the one deletion certificate this purge issues.
    pub certificate: String,
    /// The highest data key version it destroys: keys created for writes after the purge
    /// was asked for are not.
    pub up_to_version: u32,
    /// Records that existed when it was asked for.
    pub record_count: u64,
    /// Whether the keys are destroyed and the certificate is stored (then only rows remain).
    pub certified: bool,
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting or under way; resumed after a restart.
    Running,
    /// Finished.
    Done,
    /// Stopped on an error; see `error`.
    Failed,
}

/// A background job and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Job {
    /// Identifier.
    pub id: JobId,
    /// What it does.
    pub kind: JobKind,
    /// The tenant it works on.
    pub tenant: TenantId,
    /// The tenant's organization.
    pub org: OrgId,
    /// State.
    pub state: JobState,
    /// Units done (records).
    pub done: u64,
    /// Units expected when the job started.
    pub total: u64,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For the row removal of a purge: the purge itself, recorded before any key is destroyed
    /// so that a purge interrupted at any step is resumed and certified exactly once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge: Option<PurgePlan>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last progress.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn status_moves_forward_only_except_cancelled_termination() {
        use OrgStatus::*;
        assert!(Active.can_move_to(Terminating));
        assert!(Terminating.can_move_to(Active));
        assert!(Terminating.can_move_to(Terminated));
        assert!(!Terminated.can_move_to(Active));
        assert!(!Terminated.can_move_to(Terminating));
    }

    #[test]
    fn opt_out_activity_and_coverage() {
        let mut o = OptOut {
            id: OptOutId::generate(),
            org: OrgId::generate(),
            ticket: "T-1".into(),
            requested_by: "dpo@example.com".into(),
            products: Some(vec!["ixp".into()]),
            effective_at: datetime!(2026-01-01 0:00 UTC),
            recorded_by: KeyId::generate(),
            recorded_at: datetime!(2026-01-01 0:00 UTC),
            revoked_at: None,
            revoked_by: None,
        };
        assert!(!o.is_active(datetime!(2025-12-31 0:00 UTC)));
        assert!(o.is_active(datetime!(2026-02-01 0:00 UTC)));
        assert!(o.covers("ixp") && !o.covers("apps"));
        o.products = None;
        assert!(o.covers("apps"));
        o.revoked_at = Some(datetime!(2026-03-01 0:00 UTC));
        assert!(o.is_active(datetime!(2026-02-01 0:00 UTC)));
        assert!(!o.is_active(datetime!(2026-03-01 0:00 UTC)));
    }
}
