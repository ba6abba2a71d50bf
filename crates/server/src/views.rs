//! Request and response bodies of the HTTP API. Field names here are the public contract.

use std::collections::BTreeMap;

use datapact_governance::settings::Effective;
use datapact_governance::{
    AiSettings, ApiKey, DataKind, KeyId, OptOut, Org, OrgId, OrgStatus, Plan, Purpose, Role, SupportGrant, Tenant,
    TenantId,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// `POST /v1/orgs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    /// Display name.
    pub name: String,
    /// Commercial plan.
    pub plan: Plan,
    /// Region; cannot change later.
    pub region: String,
    /// A BAA is in place.
    #[serde(default)]
    pub baa: bool,
    /// The contract forbids training on the data.
    #[serde(default)]
    pub contract_forbids_training: bool,
    /// Generative AI calls may be processed outside the region.
    #[serde(default)]
    pub allow_cross_region_llm: bool,
}

/// Present fields must carry a value: `null` would otherwise be silently taken as "no change".
fn no_null<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `PATCH /v1/orgs/{org}`: any field but `region` (which is refused with 409 if it would change).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchOrg {
    /// Display name.
    #[serde(default, deserialize_with = "no_null")]
    pub name: Option<String>,
    /// Commercial plan (vendor only).
    #[serde(default, deserialize_with = "no_null")]
    pub plan: Option<Plan>,
    /// BAA flag (vendor only).
    #[serde(default, deserialize_with = "no_null")]
    pub baa: Option<bool>,
    /// Contract flag (vendor only).
    #[serde(default, deserialize_with = "no_null")]
    pub contract_forbids_training: Option<bool>,
    /// Cross-region LLM consent.
    #[serde(default, deserialize_with = "no_null")]
    pub allow_cross_region_llm: Option<bool>,
    /// `active` cancels a termination (platform_admin only); terminating uses `POST /v1/orgs/{org}/terminate`.
    #[serde(default, deserialize_with = "no_null")]
    pub status: Option<OrgStatus>,
    /// Accepted only when equal to the current region.
    #[serde(default, deserialize_with = "no_null")]
    pub region: Option<String>,
    /// The AI trust-layer limits the contract sells (vendor only): ceilings for every tenant
    /// and product. Replaces the current ones; `{}` removes them.
    #[serde(default, deserialize_with = "no_null_object")]
    pub ai_limits: Option<datapact_governance::LimitTerms>,
}

/// A struct given as an object; `null` is refused, as [`no_null`] does.
fn no_null_object<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    datapact_governance::objects::object(d).map(Some)
}

/// An organization and its terms.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    /// Identifier.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Commercial plan.
    pub plan: Plan,
    /// Region.
    pub region: String,
    /// A BAA is in place.
    pub baa: bool,
    /// The contract forbids training.
    pub contract_forbids_training: bool,
    /// Cross-region LLM processing allowed.
    pub allow_cross_region_llm: bool,
    /// Contract status.
    pub status: OrgStatus,
    /// While `terminating`: when the grace period ends and every tenant is purged (RFC 3339).
    #[serde(with = "time::serde::rfc3339::option")]
    pub termination_due_at: Option<OffsetDateTime>,
    /// The AI trust-layer limits of the contract.
    pub ai_limits: datapact_governance::LimitTerms,
    /// Number of tenants.
    pub tenant_count: usize,
    /// Whether an opt-out from training is in force (for any product).
    pub training_opt_out_active: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl OrgView {
    /// The view of an organization at `now`.
    pub fn of(o: &Org, now: OffsetDateTime) -> Self {
        Self {
            id: o.id,
            name: o.name.clone(),
            plan: o.plan,
            region: o.region.clone(),
            baa: o.baa,
            contract_forbids_training: o.contract_forbids_training,
            allow_cross_region_llm: o.allow_cross_region_llm,
            status: o.status,
            termination_due_at: o.termination_due_at,
            ai_limits: o.ai_limits.clone(),
            tenant_count: o.tenants.len(),
            training_opt_out_active: o.opt_outs.iter().any(|x| x.is_active(now)),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// `POST /v1/orgs/{org}/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Display name.
    pub name: String,
    /// Region; defaults to the organization's; cannot change later.
    pub region: Option<String>,
}

/// `PATCH /v1/tenants/{tenant}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTenant {
    /// Display name.
    #[serde(default, deserialize_with = "no_null")]
    pub name: Option<String>,
    /// Accepted only when equal to the current region.
    #[serde(default, deserialize_with = "no_null")]
    pub region: Option<String>,
}

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    /// Identifier.
    pub id: TenantId,
    /// Owning organization.
    pub org: OrgId,
    /// Display name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Whether a support access grant is in force.
    pub support_access_active: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl TenantView {
    /// The view of a tenant at `now`.
    pub fn of(t: &Tenant, now: OffsetDateTime) -> Self {
        Self {
            id: t.id,
            org: t.org,
            name: t.name.clone(),
            region: t.region.clone(),
            support_access_active: t.active_grant(now).is_some(),
            created_at: t.created_at,
        }
    }
}

/// `POST /v1/orgs/{org}/opt-outs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOptOut {
    /// Support ticket reference.
    pub ticket: String,
    /// Who asked.
    pub requested_by: String,
    /// Products covered; all when absent.
    #[schema(min_items = 1)]
    pub products: Option<Vec<String>>,
    /// When it takes effect (RFC 3339); now when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub effective_at: Option<OffsetDateTime>,
}

/// A training opt-out with whether it is in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptOutView {
    /// The opt-out.
    #[serde(flatten)]
    pub opt_out: OptOut,
    /// In force now.
    pub active: bool,
}

impl OptOutView {
    /// The view at `now`.
    pub fn of(o: &OptOut, now: OffsetDateTime) -> Self {
        Self {
            opt_out: o.clone(),
            active: o.is_active(now),
        }
    }
}

/// AI trust-layer settings of one level, with what applies.
#[derive(Debug, Serialize, ToSchema)]
pub struct AiSettingsView {
    /// `org` or `tenant`.
    pub level: &'static str,
    /// The organization.
    pub org: OrgId,
    /// The tenant, at tenant level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    /// Whether the plan lets these settings be configured.
    pub configurable: bool,
    /// The settings stored at this level.
    #[serde(flatten)]
    pub settings: AiSettings,
    /// Tenant level: the value in force for each product, and where it comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective: Option<BTreeMap<String, EffectiveToggles>>,
}

/// The values in force for one product.
#[derive(Debug, Serialize, ToSchema)]
pub struct EffectiveToggles {
    /// Effective `genai_enabled`.
    pub genai_enabled: Effective,
    /// Effective `third_party_finetune_enabled`.
    pub third_party_finetune_enabled: Effective,
    /// Effective `save_prompts`.
    pub save_prompts: Effective,
    /// Effective `pii`.
    pub pii: EffectivePii,
    /// Effective `models`.
    pub models: EffectiveModels,
    /// Effective `limits`: each the lowest of the AI settings (the most specific level that
    /// sets it), the organization's terms and the server's configuration.
    pub limits: EffectiveLimits,
}

/// The limits in force, where the AI settings' part came from, and whether it is locked.
#[derive(Debug, Serialize, ToSchema)]
pub struct EffectiveLimits {
    /// The limits in force.
    pub value: datapact_governance::AiLimits,
    /// The most specific level of the AI settings that set any of them.
    pub source: datapact_governance::SettingSource,
    /// Whether the organization locked them.
    pub locked: bool,
}

/// The PII mode in force, where it came from, and whether it is locked.
#[derive(Debug, Serialize, ToSchema)]
pub struct EffectivePii {
    /// The mode in force.
    pub value: datapact_governance::PiiMode,
    /// The level it came from.
    pub source: datapact_governance::SettingSource,
    /// Whether the organization locked it.
    pub locked: bool,
}

/// The model policy in force, where it came from, and whether it is locked.
#[derive(Debug, Serialize, ToSchema)]
pub struct EffectiveModels {
    /// The policy in force.
    pub value: datapact_governance::ModelPolicy,
    /// The level it came from.
    pub source: datapact_governance::SettingSource,
    /// Whether the organization locked it.
    pub locked: bool,
}

/// `POST /v1/tenants/{tenant}/support-grants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGrant {
    /// Support ticket reference.
    pub ticket: String,
    /// When the grant lapses (RFC 3339), at most 7 days ahead.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A support grant with whether it is in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    /// The grant.
    #[serde(flatten)]
    pub grant: SupportGrant,
    /// In force now.
    pub active: bool,
}

impl GrantView {
    /// The view at `now`.
    pub fn of(g: &SupportGrant, now: OffsetDateTime) -> Self {
        Self {
            grant: g.clone(),
            active: g.is_active(now),
        }
    }
}

/// `POST /v1/decisions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    /// Whose data.
    pub tenant: String,
    /// Which product would use it.
    pub product: String,
    /// For what.
    pub purpose: Purpose,
    /// Which kind of data.
    pub data_kind: Option<DataKind>,
    /// Where processing would happen; the tenant's region when absent.
    pub region: Option<String>,
}

/// `POST /v1/keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// Role of the new key.
    pub role: Role,
    /// Organization scope.
    pub org: Option<OrgId>,
    /// Tenant scope.
    pub tenant: Option<TenantId>,
    /// Product scope (required for `service`).
    pub product: Option<String>,
    /// A label for people.
    pub label: Option<String>,
}

/// An API key's public description (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Identifier.
    pub id: KeyId,
    /// Role.
    pub role: Role,
    /// Organization scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<OrgId>,
    /// Tenant scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantId>,
    /// Product scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Creator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<KeyId>,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Revocation time.
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<&ApiKey> for KeyView {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id,
            role: k.role,
            org: k.org,
            tenant: k.tenant,
            product: k.product.clone(),
            label: k.label.clone(),
            created_by: k.created_by,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key: the only response that ever carries the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    /// The key's description.
    #[serde(flatten)]
    pub view: KeyView,
    /// The secret, to send as `Authorization: Bearer KEY`; shown only here.
    pub key: String,
}

/// A page of results.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `?limit=&after=` for listings.
#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
}

/// Health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
    /// Storage backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<&'static str>,
    /// This node's name (several nodes on PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Committed changes of the deployment this node has not applied yet (several nodes on
    /// PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag: Option<i64>,
    /// The deployment's live nodes as this node last counted them (several nodes on
    /// PostgreSQL); rates are divided among them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<u64>,
}

/// A record to write (`content` for text, `content_base64` for bytes).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    /// Product the data belongs to.
    pub product: String,
    /// Design-time or run-time data.
    pub data_kind: DataKind,
    /// Text content (JSON documents included).
    pub content: Option<String>,
    /// Byte content, base64.
    pub content_base64: Option<String>,
    /// Media type (`text/plain` or `application/octet-stream` by default; `application/json` is checked).
    pub content_type: Option<String>,
    /// Dotted data categories, e.g. `user.contact.email`.
    pub categories: Option<Vec<String>>,
    /// A small JSON object describing the record; no customer content.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// `POST /v1/tenants/{tenant}/records/batch`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchInput {
    /// The records, written all or nothing.
    pub records: Vec<RecordInput>,
}

/// `PATCH /v1/tenants/{tenant}/records/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPatchInput {
    /// New text content.
    pub content: Option<String>,
    /// New byte content, base64.
    pub content_base64: Option<String>,
    /// New media type.
    pub content_type: Option<String>,
    /// New categories.
    pub categories: Option<Vec<String>>,
    /// New metadata.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// A record: metadata and, when read with a purpose, content.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordView {
    /// Identifier.
    #[schema(value_type = String)]
    pub id: datapact_governance::RecordId,
    /// Owning tenant.
    pub tenant: TenantId,
    /// Product.
    pub product: String,
    /// Data kind.
    pub data_kind: DataKind,
    /// Text content (read with a purpose only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Byte content, base64 (read with a purpose only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_base64: Option<String>,
    /// Media type.
    pub content_type: String,
    /// Data categories.
    pub categories: Vec<String>,
    /// Metadata.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Plaintext size in bytes.
    pub size: usize,
    /// Record version.
    pub version: u64,
    /// Data key version encrypting it.
    pub key_version: u32,
    /// Region where it is stored.
    pub region: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl RecordView {
    /// The view of a record's metadata, with content if given.
    pub fn of(m: datapact_vault::RecordMeta, content: Option<datapact_vault::Content>) -> Self {
        let (content, content_base64) = match content {
            Some(datapact_vault::Content::Text(s)) => (Some(s), None),
            Some(datapact_vault::Content::Bytes(b)) => (None, Some(datapact_vault::b64(&b))),
            None => (None, None),
        };
        Self {
            id: m.id,
            tenant: m.tenant,
            product: m.product,
            data_kind: m.data_kind,
            content,
            content_base64,
            content_type: m.content_type,
            categories: m.categories,
            metadata: m.metadata,
            size: m.size,
            version: m.version,
            key_version: m.key_version,
            region: m.region,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// `GET /v1/tenants/{tenant}/records` query.
#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecordQuery {
    /// Only this product.
    pub product: Option<String>,
    /// Only this data kind.
    pub data_kind: Option<DataKind>,
    /// Only this category or ones below it.
    pub category: Option<String>,
    /// Created at or after (RFC 3339).
    #[param(format = DateTime)]
    pub created_after: Option<String>,
    /// Created before (RFC 3339).
    #[param(format = DateTime)]
    pub created_before: Option<String>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// `GET /v1/tenants/{tenant}/records/{id}` query.
#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReadQuery {
    /// Why the content is read; the decision point must allow it.
    pub purpose: Option<Purpose>,
}

/// `GET /v1/tenants/{tenant}/export` query.
#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Only this product.
    pub product: Option<String>,
}

/// `POST /v1/orgs/{org}/terminate`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminateInput {
    /// Days until every tenant is purged; 0 purges at once. Default from configuration (30).
    #[schema(maximum = 3650)]
    pub grace_days: Option<u32>,
}

/// Retention rules of a tenant.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionInput {
    /// The rules; a record matching several is deleted at the shortest maximum age.
    #[serde(deserialize_with = "datapact_governance::objects::vec")]
    pub rules: Vec<datapact_governance::RetentionRule>,
}
