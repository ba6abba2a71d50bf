//! Purpose decisions: may this tenant's data be used by this product for this purpose?
//!
//! Every rule that applies is evaluated, so a denial lists all its causes rather than the
//! first, and an allowance lists the grounds it stands on.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::catalog::{DataKind, GenAi, Product};
use crate::ids::{OrgId, TenantId};
use crate::model::{Org, OrgStatus, Tenant};
use crate::settings::{SettingKey, effective};

/// What the data would be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Providing the product's services to the customer.
    Service,
    /// Training the vendor's models and improving the product.
    VendorTraining,
    /// Fine-tuning third-party models for the customer.
    ThirdPartyFinetune,
    /// Sending the data to a third-party generative AI service.
    Genai,
    /// Vendor support staff reading the data under a customer's grant.
    SupportAccess,
    /// Content-free usage telemetry.
    Telemetry,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Purpose; 6] = [
        Purpose::Service,
        Purpose::VendorTraining,
        Purpose::ThirdPartyFinetune,
        Purpose::Genai,
        Purpose::SupportAccess,
        Purpose::Telemetry,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Service => "service",
            Purpose::VendorTraining => "vendor_training",
            Purpose::ThirdPartyFinetune => "third_party_finetune",
            Purpose::Genai => "genai",
            Purpose::SupportAccess => "support_access",
            Purpose::Telemetry => "telemetry",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stable, machine-readable reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Processing happens in the tenant's region.
    InRegion,
    /// Processing would happen outside the tenant's region.
    RegionMismatch,
    /// Outside the region, but the organization allows cross-region LLM processing.
    CrossRegionLlmAllowed,
    /// The product declares providing services.
    ServiceDeclared,
    /// The product does not declare providing services.
    ServiceNotDeclared,
    /// The organization's contract has ended.
    OrgTerminated,
    /// The organization's contract is ending.
    OrgTerminating,
    /// The product declares vendor training on this data kind.
    TrainingDeclared,
    /// The product does not declare vendor training.
    TrainingNotDeclared,
    /// The product's vendor training does not use this data kind.
    DataKindNotTrained,
    /// No BAA, contract restriction or opt-out excludes the data from training.
    NoTrainingExclusion,
    /// A BAA is in place.
    BaaInPlace,
    /// The contract forbids training.
    ContractForbidsTraining,
    /// The organization opted out of training.
    OptedOut,
    /// The product integrates with generative AI.
    GenaiDeclared,
    /// The product has no generative AI features.
    GenaiNotDeclared,
    /// The plan does not include generative AI.
    PlanExcludesGenai,
    /// Generative AI is enabled in the trust-layer settings.
    GenaiEnabled,
    /// Generative AI is disabled in the trust-layer settings.
    GenaiDisabled,
    /// The product lets customers fine-tune third-party models.
    ThirdPartyFinetuneDeclared,
    /// The product does not offer third-party fine-tuning.
    ThirdPartyFinetuneNotDeclared,
    /// Third-party fine-tuning is enabled in the trust-layer settings.
    ThirdPartyFinetuneEnabled,
    /// Third-party fine-tuning is disabled in the trust-layer settings.
    ThirdPartyFinetuneDisabled,
    /// The customer granted support access.
    SupportGrantActive,
    /// No active support access grant.
    NoSupportGrant,
    /// Telemetry carries no customer content.
    TelemetryContentFree,
    /// Availability: the product does not depend on generative AI.
    NoGenaiDependency,
    /// Availability: generative AI features are allowed.
    GenaiAllowed,
    /// Access: content is never read for telemetry, which carries no customer content.
    ContentNotForTelemetry,
    /// Access: the vendor's people read content only under `support_access`, with the
    /// customer's active grant.
    VendorNeedsSupportAccess,
    /// Access: `support_access` is the vendor's purpose; customers and products read under
    /// their own purposes.
    SupportAccessIsForVendor,
    /// AI trust layer: a Cedar policy of the organization forbids the call.
    CedarPolicyForbids,
}

/// One reason: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    /// Stable machine-readable code.
    pub code: ReasonCode,
    /// Human-readable explanation.
    #[schema(value_type = String)]
    pub message: Cow<'static, str>,
}

impl Reason {
    /// A reason with its message.
    pub fn new(code: ReasonCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A question for the decision point.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRequest<'a> {
    /// Whose data.
    pub tenant: TenantId,
    /// Which product would use it.
    pub product: &'a str,
    /// For what.
    pub purpose: Purpose,
    /// Which kind of data, if known.
    pub data_kind: Option<DataKind>,
    /// Where processing would happen; the tenant's region when `None`.
    pub region: Option<&'a str>,
}

/// The answer: allowed or not, and every reason that applies.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Decision {
    /// Whether the use is allowed.
    pub allowed: bool,
    /// Denied: every rule that fails. Allowed: the grounds it stands on.
    pub reasons: Vec<Reason>,
    /// The tenant asked about.
    pub tenant: TenantId,
    /// The tenant's organization.
    pub org: OrgId,
    /// The product asked about.
    pub product: String,
    /// The purpose asked about.
    pub purpose: Purpose,
    /// The data kind asked about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_kind: Option<DataKind>,
    /// Where processing would happen.
    pub region: String,
    /// When the decision was made.
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
}

/// Collects failures and grounds while the rules run.
struct Verdict {
    denied: Vec<Reason>,
    grounds: Vec<Reason>,
}

impl Verdict {
    fn deny(&mut self, code: ReasonCode, message: impl Into<Cow<'static, str>>) {
        self.denied.push(Reason::new(code, message));
    }
    fn ground(&mut self, code: ReasonCode, message: impl Into<Cow<'static, str>>) {
        self.grounds.push(Reason::new(code, message));
    }
    fn finish(self) -> (bool, Vec<Reason>) {
        if self.denied.is_empty() {
            (true, self.grounds)
        } else {
            (false, self.denied)
        }
    }
}

fn require_active(v: &mut Verdict, org: &Org) {
    match org.status {
        OrgStatus::Active => {}
        OrgStatus::Terminating => v.deny(
            ReasonCode::OrgTerminating,
            "the organization's contract is terminating: processing beyond providing the service is stopped",
        ),
        OrgStatus::Terminated => v.deny(
            ReasonCode::OrgTerminated,
            "the organization's contract has been terminated",
        ),
    }
}

fn genai_rules(v: &mut Verdict, product: &Product, org: &Org, tenant: &Tenant) {
    match product.genai {
        GenAi::None => v.deny(
            ReasonCode::GenaiNotDeclared,
            format!("{} has no generative AI features", product.name),
        ),
        GenAi::Optional | GenAi::Required => v.ground(
            ReasonCode::GenaiDeclared,
            format!("{} integrates with generative AI services", product.name),
        ),
    }
    if !org.plan.includes_genai() {
        v.deny(
            ReasonCode::PlanExcludesGenai,
            format!(
                "generative AI is available on the advanced and enterprise plans; the organization is on {}",
                org.plan
            ),
        );
    }
    let eff = effective(&org.ai, &tenant.ai, &product.id, SettingKey::GenaiEnabled);
    if eff.value {
        v.ground(
            ReasonCode::GenaiEnabled,
            format!("generative AI is enabled {}", eff.source.describe()),
        );
    } else {
        v.deny(
            ReasonCode::GenaiDisabled,
            format!(
                "generative AI is disabled {}{}",
                eff.source.describe(),
                if eff.locked { " (locked)" } else { "" }
            ),
        );
    }
    require_active(v, org);
}

/// Evaluates every rule for one use of one tenant's data; pure, so it can be tested exhaustively.
pub fn evaluate(
    product: &Product,
    org: &Org,
    tenant: &Tenant,
    purpose: Purpose,
    data_kind: Option<DataKind>,
    region: &str,
    now: OffsetDateTime,
) -> (bool, Vec<Reason>) {
    let mut v = Verdict {
        denied: Vec::new(),
        grounds: Vec::with_capacity(4),
    };
    if purpose != Purpose::Telemetry {
        if region == tenant.region {
            v.ground(
                ReasonCode::InRegion,
                format!("processing stays in the tenant's region {}", tenant.region),
            );
        } else if purpose == Purpose::Genai && org.allow_cross_region_llm {
            v.ground(
                ReasonCode::CrossRegionLlmAllowed,
                format!(
                    "processing in {region} is outside the tenant's region {}, which the organization allows for LLM calls",
                    tenant.region
                ),
            );
        } else {
            v.deny(
                ReasonCode::RegionMismatch,
                format!(
                    "processing in {region} would leave the tenant's region {}",
                    tenant.region
                ),
            );
        }
    }
    match purpose {
        Purpose::Service => {
            if product.provide_services {
                v.ground(
                    ReasonCode::ServiceDeclared,
                    format!("{} processes data to provide its services", product.name),
                );
            } else {
                v.deny(
                    ReasonCode::ServiceNotDeclared,
                    format!("{} does not declare providing services", product.name),
                );
            }
            if org.status == OrgStatus::Terminated {
                v.deny(
                    ReasonCode::OrgTerminated,
                    "the organization's contract has been terminated",
                );
            }
        }
        Purpose::VendorTraining => {
            if !product.train_vendor_models {
                v.deny(
                    ReasonCode::TrainingNotDeclared,
                    format!(
                        "{} does not use customer data to train the vendor's models",
                        product.name
                    ),
                );
            } else {
                let kinds = || {
                    product
                        .training_data_kinds
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                match data_kind {
                    Some(k) if !product.trains_on(k) => v.deny(
                        ReasonCode::DataKindNotTrained,
                        format!("{} trains only on {} data, not {k}", product.name, kinds()),
                    ),
                    None if product.training_data_kinds.len() < DataKind::ALL.len() => v.deny(
                        ReasonCode::DataKindNotTrained,
                        format!("{} trains only on {} data; name the data kind", product.name, kinds()),
                    ),
                    _ => v.ground(
                        ReasonCode::TrainingDeclared,
                        format!("{} declares vendor training on {} data", product.name, kinds()),
                    ),
                }
            }
            let excluded_before = v.denied.len();
            if org.baa {
                v.deny(
                    ReasonCode::BaaInPlace,
                    "the organization has a BAA in place, which excludes its data from training",
                );
            }
            if org.contract_forbids_training {
                v.deny(
                    ReasonCode::ContractForbidsTraining,
                    "the organization's contract forbids training on its data",
                );
            }
            if let Some(o) = org.active_opt_out(&product.id, now) {
                let scope = if o.products.is_some() {
                    "for this product"
                } else {
                    "for all products"
                };
                v.deny(
                    ReasonCode::OptedOut,
                    format!(
                        "the organization opted out of training {scope} (ticket {}, {})",
                        o.ticket, o.id
                    ),
                );
            }
            if v.denied.len() == excluded_before {
                v.ground(
                    ReasonCode::NoTrainingExclusion,
                    "no BAA, contract restriction or opt-out excludes this data",
                );
            }
            require_active(&mut v, org);
        }
        Purpose::Genai => genai_rules(&mut v, product, org, tenant),
        Purpose::ThirdPartyFinetune => {
            if product.finetune_third_party {
                v.ground(
                    ReasonCode::ThirdPartyFinetuneDeclared,
                    format!("{} lets customers fine-tune third-party models", product.name),
                );
            } else {
                v.deny(
                    ReasonCode::ThirdPartyFinetuneNotDeclared,
                    format!("{} does not offer fine-tuning of third-party models", product.name),
                );
            }
            genai_rules(&mut v, product, org, tenant);
            let eff = effective(&org.ai, &tenant.ai, &product.id, SettingKey::ThirdPartyFinetuneEnabled);
            if eff.value {
                v.ground(
                    ReasonCode::ThirdPartyFinetuneEnabled,
                    format!("third-party fine-tuning is enabled {}", eff.source.describe()),
                );
            } else {
                v.deny(
                    ReasonCode::ThirdPartyFinetuneDisabled,
                    format!(
                        "third-party fine-tuning is disabled {}{}",
                        eff.source.describe(),
                        if eff.locked { " (locked)" } else { "" }
                    ),
                );
            }
        }
        Purpose::SupportAccess => match tenant.active_grant(now) {
            Some(g) => v.ground(
                ReasonCode::SupportGrantActive,
                format!(
                    "the customer granted support access until {} (ticket {})",
                    rfc3339(g.expires_at),
                    g.ticket
                ),
            ),
            None => v.deny(ReasonCode::NoSupportGrant, "the tenant has not granted support access"),
        },
        Purpose::Telemetry => v.ground(
            ReasonCode::TelemetryContentFree,
            "telemetry carries no customer content",
        ),
    }
    v.finish()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Whether a product works for a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Works fully.
    Available,
    /// Works without its generative AI features.
    Degraded,
    /// Does not work for this tenant.
    Unavailable,
}

/// A product's availability for a tenant, with the reasons.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProductAvailability {
    /// Product id.
    pub product: String,
    /// Availability.
    pub status: Availability,
    /// Why.
    pub reasons: Vec<Reason>,
}

/// Availability of one product for one tenant, derived from the `service` and `genai` decisions.
pub fn availability(product: &Product, org: &Org, tenant: &Tenant, now: OffsetDateTime) -> ProductAvailability {
    let status_of = |status, reasons| ProductAvailability {
        product: product.id.clone(),
        status,
        reasons,
    };
    let (service_ok, service_reasons) = evaluate(product, org, tenant, Purpose::Service, None, &tenant.region, now);
    if !service_ok {
        return status_of(Availability::Unavailable, service_reasons);
    }
    if product.genai == GenAi::None {
        return status_of(
            Availability::Available,
            vec![Reason::new(
                ReasonCode::NoGenaiDependency,
                format!("{} does not depend on generative AI", product.name),
            )],
        );
    }
    let (genai_ok, genai_reasons) = evaluate(product, org, tenant, Purpose::Genai, None, &tenant.region, now);
    match (genai_ok, product.genai) {
        (true, _) => status_of(
            Availability::Available,
            vec![Reason::new(
                ReasonCode::GenaiAllowed,
                "generative AI features are allowed for this tenant",
            )],
        ),
        (false, GenAi::Required) => status_of(Availability::Unavailable, genai_reasons),
        (false, _) => status_of(Availability::Degraded, genai_reasons),
    }
}
