//! AI trust-layer settings and how the effective value of each is resolved.
//!
//! Settings exist at four levels; the most specific one that sets a value wins
//! (tenant+product, tenant, org+product, org), unless the organization locks a setting,
//! in which case only the organization's own levels count. The same rule resolves every
//! setting: the on/off toggles, the model policy, the PII mode and `save_prompts`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A setting that can be configured and locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingKey {
    /// Whether data may be sent to third-party generative AI services.
    GenaiEnabled,
    /// Whether the customer's data may fine-tune third-party models.
    ThirdPartyFinetuneEnabled,
    /// Which models and providers the AI trust layer may call.
    Models,
    /// What the AI trust layer does with personal data in prompts.
    Pii,
    /// Whether prompts and responses are kept (encrypted, in the tenant's vault).
    SavePrompts,
    /// Request rates and token budgets of the AI trust layer.
    Limits,
}

impl SettingKey {
    /// Every setting key.
    pub const ALL: [SettingKey; 6] = [
        SettingKey::GenaiEnabled,
        SettingKey::ThirdPartyFinetuneEnabled,
        SettingKey::Models,
        SettingKey::Pii,
        SettingKey::SavePrompts,
        SettingKey::Limits,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingKey::GenaiEnabled => "genai_enabled",
            SettingKey::ThirdPartyFinetuneEnabled => "third_party_finetune_enabled",
            SettingKey::Models => "models",
            SettingKey::Pii => "pii",
            SettingKey::SavePrompts => "save_prompts",
            SettingKey::Limits => "limits",
        }
    }

    /// The value of an on/off setting when no level sets one: the toggles default to on,
    /// keeping prompts to off. (The model policy defaults to allowing every model, the PII
    /// mode to `mask`.)
    pub fn default_value(self) -> bool {
        !matches!(self, SettingKey::SavePrompts)
    }
}

/// Which models and providers a level allows. An entry is a model (`gpt-4o-mini`), every model
/// of one provider (`openai-eu/*`) or one provider's model (`openai-eu/gpt-4o-mini`); a trailing
/// `*` matches any ending (`gpt-4o*`). `deny` wins over `allow`; without `allow`, every model
/// not denied is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelPolicy {
    /// Only these (absent: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    /// Never these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

impl ModelPolicy {
    /// Whether `model` served by `provider` may be used.
    pub fn permits(&self, provider: &str, model: &str) -> bool {
        let hit = |e: &String| entry_matches(e, provider, model);
        !self.deny.iter().any(hit) && self.allow.as_ref().is_none_or(|a| a.iter().any(hit))
    }

    /// Why an entry is malformed, if it is.
    pub fn check_entry(entry: &str) -> Result<(), String> {
        let (provider, model) = entry.split_once('/').unwrap_or(("", entry));
        if entry.is_empty() || entry.len() > 200 {
            return Err("must be 1 to 200 characters".into());
        }
        if entry.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces or control characters".into());
        }
        if model.is_empty() || (entry.contains('/') && provider.is_empty()) {
            return Err("write `model`, `provider/*` or `provider/model`".into());
        }
        if entry.char_indices().any(|(i, c)| c == '*' && i + 1 != entry.len()) {
            return Err("`*` may only end an entry".into());
        }
        Ok(())
    }
}

fn entry_matches(entry: &str, provider: &str, model: &str) -> bool {
    let (p, m) = match entry.split_once('/') {
        Some((p, m)) => (Some(p), m),
        None => (None, entry),
    };
    p.is_none_or(|p| p == provider)
        && match m.strip_suffix('*') {
            Some(prefix) => model.starts_with(prefix),
            None => m == model,
        }
}

/// What the AI trust layer does with personal data found in a prompt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PiiMode {
    /// Send prompts as they are.
    Off,
    /// Replace personal data with consistent placeholders, and restore them in the response.
    #[default]
    Mask,
    /// Refuse prompts that hold personal data, naming the types found.
    Block,
}

impl fmt::Display for SettingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The toggles one level can set; `None` leaves the decision to a less specific level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AiToggles {
    /// Allow sending data to third-party generative AI services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genai_enabled: Option<bool>,
    /// Allow fine-tuning third-party models with the customer's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_finetune_enabled: Option<bool>,
    /// Models and providers the AI trust layer may call.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::objects::option"
    )]
    pub models: Option<ModelPolicy>,
    /// Personal data in prompts: `off`, `mask` (the default) or `block`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii: Option<PiiMode>,
    /// Keep prompts and responses, encrypted in the tenant's vault (default: no).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_prompts: Option<bool>,
    /// Request rate and token budgets for this product's calls.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::objects::option"
    )]
    pub limits: Option<AiLimits>,
}

impl AiToggles {
    /// The value this level sets for `key`, if any.
    pub fn get(&self, key: SettingKey) -> Option<bool> {
        match key {
            SettingKey::GenaiEnabled => self.genai_enabled,
            SettingKey::ThirdPartyFinetuneEnabled => self.third_party_finetune_enabled,
            SettingKey::SavePrompts => self.save_prompts,
            SettingKey::Models | SettingKey::Pii | SettingKey::Limits => None,
        }
    }
}

/// Limits on a tenant's use of the AI trust layer, each for one product's calls: a request
/// rate (GCRA: `requests_per_second` with a `burst`) and token budgets per UTC day and month.
/// Absent fields leave the limit to a less specific level; the organization's terms (set by
/// the vendor) and the server's configuration are ceilings no level can raise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AiLimits {
    /// Requests per second, 1 to 1,000,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub requests_per_second: Option<u32>,
    /// Requests that may arrive at once above the rate, 1 to 1,000,000 (default: the rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub burst: Option<u32>,
    /// Tokens (prompt and completion) per UTC day, 1 to 10^15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000000000000_u64)]
    pub tokens_per_day: Option<u64>,
    /// Tokens per UTC calendar month, 1 to 10^15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000000000000_u64)]
    pub tokens_per_month: Option<u64>,
}

impl AiLimits {
    /// The largest value of any limit.
    pub const MAX_RATE: u32 = 1_000_000;
    /// The largest token budget.
    pub const MAX_TOKENS: u64 = 1_000_000_000_000_000;

    /// The field out of range, if one is, and why.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (field, v) in [("requests_per_second", self.requests_per_second), ("burst", self.burst)] {
            if let Some(v) = v
                && !(1..=Self::MAX_RATE).contains(&v)
            {
                return Err((field, format!("between 1 and {}", Self::MAX_RATE)));
            }
        }
        for (field, v) in [
            ("tokens_per_day", self.tokens_per_day),
            ("tokens_per_month", self.tokens_per_month),
        ] {
            if let Some(v) = v
                && !(1..=Self::MAX_TOKENS).contains(&v)
            {
                return Err((field, format!("between 1 and {}", Self::MAX_TOKENS)));
            }
        }
        Ok(())
    }

    /// Each limit from `self`, or from `other` where `self` has none.
    pub fn or(self, other: AiLimits) -> AiLimits {
        AiLimits {
            requests_per_second: self.requests_per_second.or(other.requests_per_second),
            burst: self.burst.or(other.burst),
            tokens_per_day: self.tokens_per_day.or(other.tokens_per_day),
            tokens_per_month: self.tokens_per_month.or(other.tokens_per_month),
        }
    }

    /// Each limit the lower of the two (a missing one is no limit).
    pub fn min(self, other: AiLimits) -> AiLimits {
        fn low<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        AiLimits {
            requests_per_second: low(self.requests_per_second, other.requests_per_second),
            burst: low(self.burst, other.burst),
            tokens_per_day: low(self.tokens_per_day, other.tokens_per_day),
            tokens_per_month: low(self.tokens_per_month, other.tokens_per_month),
        }
    }

    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        *self == AiLimits::default()
    }
}

/// The AI trust-layer limits the vendor sells an organization (its terms): ceilings for every
/// tenant, optionally tighter for some products. Only the vendor's `platform_admin` sets them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitTerms {
    /// Request rate per tenant and product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub requests_per_second: Option<u32>,
    /// Burst above the rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub burst: Option<u32>,
    /// Tokens per tenant and product per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000000000000_u64)]
    pub tokens_per_day: Option<u64>,
    /// Tokens per tenant and product per UTC month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000000000000_u64)]
    pub tokens_per_month: Option<u64>,
    /// Tighter limits for some products (by product id).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::objects::map"
    )]
    pub products: BTreeMap<String, AiLimits>,
}

impl LimitTerms {
    /// The organization-wide part.
    pub fn base(&self) -> AiLimits {
        AiLimits {
            requests_per_second: self.requests_per_second,
            burst: self.burst,
            tokens_per_day: self.tokens_per_day,
            tokens_per_month: self.tokens_per_month,
        }
    }

    /// The ceilings for `product`: its own where set, the organization-wide ones otherwise,
    /// whichever is lower where both are.
    pub fn for_product(&self, product: &str) -> AiLimits {
        match self.products.get(product) {
            Some(p) => p.min(self.base()),
            None => self.base(),
        }
    }

    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        *self == LimitTerms::default()
    }
}

/// The limits in force for a tenant's use of one product: each the lowest of what the AI
/// settings resolve to (most specific level, unless the organization locks `limits`), the
/// organization's terms and the server's configuration.
pub fn effective_limits(
    org: &AiSettings,
    tenant: &AiSettings,
    product: &str,
    terms: &LimitTerms,
    server: AiLimits,
) -> Resolved<AiLimits> {
    // Field by field: a level that sets only a rate leaves the budgets to the levels below.
    let locked = org.is_locked(SettingKey::Limits);
    let at_product = |s: &AiSettings| s.products.get(product).and_then(|t| t.limits).unwrap_or_default();
    let at_level = |s: &AiSettings| s.limits.unwrap_or_default();
    let levels = [
        (at_product(tenant), SettingSource::TenantProduct, false),
        (at_level(tenant), SettingSource::Tenant, false),
        (at_product(org), SettingSource::OrgProduct, true),
        (at_level(org), SettingSource::Org, true),
    ];
    let mut settings = AiLimits::default();
    let mut source = SettingSource::Default;
    for (l, s, org_level) in levels {
        if (locked && !org_level) || l.is_empty() {
            continue;
        }
        if source == SettingSource::Default {
            source = s;
        }
        settings = settings.or(l);
    }
    Resolved {
        value: settings.min(terms.for_product(product)).min(server),
        source,
        locked,
    }
}

/// The AI settings of one level (organization or tenant), with per-product overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AiSettings {
    /// Allow sending data to third-party generative AI services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genai_enabled: Option<bool>,
    /// Allow fine-tuning third-party models with the customer's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_finetune_enabled: Option<bool>,
    /// Models and providers the AI trust layer may call.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::objects::option"
    )]
    pub models: Option<ModelPolicy>,
    /// Personal data in prompts: `off`, `mask` (the default) or `block`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii: Option<PiiMode>,
    /// Keep prompts and responses, encrypted in the tenant's vault (default: no).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_prompts: Option<bool>,
    /// Request rate and token budgets for each product's calls (per tenant and product).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::objects::option"
    )]
    pub limits: Option<AiLimits>,
    /// Settings the organization imposes on every level below it (organization level only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<BTreeSet<SettingKey>>,
    /// Cedar policies every AI trust-layer call of the organization must satisfy
    /// (organization level only; see `policy::SCHEMA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<String>,
    /// Sets of custom PII recognizers (named in the server's `[pii.recognizers]`) the
    /// organization's AI trust-layer calls use besides the built-in ones (organization level
    /// only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii_recognizers: Option<Vec<String>>,
    /// Overrides per product id.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "crate::objects::map"
    )]
    pub products: BTreeMap<String, AiToggles>,
}

impl AiSettings {
    /// The value this level sets for `key`, if any, ignoring product overrides.
    pub fn get(&self, key: SettingKey) -> Option<bool> {
        match key {
            SettingKey::GenaiEnabled => self.genai_enabled,
            SettingKey::ThirdPartyFinetuneEnabled => self.third_party_finetune_enabled,
            SettingKey::SavePrompts => self.save_prompts,
            SettingKey::Models | SettingKey::Pii | SettingKey::Limits => None,
        }
    }

    /// The on/off value this level sets for `key` on `product`, if any.
    pub fn get_for_product(&self, product: &str, key: SettingKey) -> Option<bool> {
        self.products.get(product).and_then(|t| t.get(key))
    }

    /// Whether this (organization) level locks `key`.
    pub fn is_locked(&self, key: SettingKey) -> bool {
        self.locked.as_ref().is_some_and(|l| l.contains(&key))
    }
}

/// Which level an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingSource {
    /// No level set it; the built-in default applies.
    Default,
    /// The organization's setting.
    Org,
    /// The organization's per-product override.
    OrgProduct,
    /// The tenant's setting.
    Tenant,
    /// The tenant's per-product override.
    TenantProduct,
}

impl SettingSource {
    /// A phrase for messages.
    pub fn describe(self) -> &'static str {
        match self {
            SettingSource::Default => "by default",
            SettingSource::Org => "by the organization",
            SettingSource::OrgProduct => "by the organization for this product",
            SettingSource::Tenant => "by the tenant",
            SettingSource::TenantProduct => "by the tenant for this product",
        }
    }
}

/// The value that applies, where it came from, and whether the organization locked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Effective {
    /// The value in force.
    pub value: bool,
    /// The level it came from.
    pub source: SettingSource,
    /// Whether the organization locked this setting.
    pub locked: bool,
}

/// A resolved setting of any type: the value in force, its level, and whether it is locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<T> {
    /// The value in force.
    pub value: T,
    /// The level it came from.
    pub source: SettingSource,
    /// Whether the organization locked this setting.
    pub locked: bool,
}

/// Resolves one setting for `product` in a tenant of an organization: `level` reads it from a
/// level, `product_level` from a per-product override; `default` applies when none sets it.
pub fn resolve<T: Clone>(
    org: &AiSettings,
    tenant: &AiSettings,
    product: &str,
    key: SettingKey,
    level: impl Fn(&AiSettings) -> Option<T>,
    product_level: impl Fn(&AiToggles) -> Option<T>,
    default: T,
) -> Resolved<T> {
    let locked = org.is_locked(key);
    let at_product = |s: &AiSettings| s.products.get(product).and_then(&product_level);
    let tenant_levels = [
        (at_product(tenant), SettingSource::TenantProduct),
        (level(tenant), SettingSource::Tenant),
    ];
    let org_levels = [
        (at_product(org), SettingSource::OrgProduct),
        (level(org), SettingSource::Org),
    ];
    let candidates = (!locked)
        .then_some(tenant_levels)
        .into_iter()
        .flatten()
        .chain(org_levels);
    for (value, source) in candidates {
        if let Some(value) = value {
            return Resolved { value, source, locked };
        }
    }
    Resolved {
        value: default,
        source: SettingSource::Default,
        locked,
    }
}

/// Resolves the on/off setting `key` for `product` in a tenant of an organization.
pub fn effective(org: &AiSettings, tenant: &AiSettings, product: &str, key: SettingKey) -> Effective {
    let r = resolve(
        org,
        tenant,
        product,
        key,
        |s| s.get(key),
        |t| t.get(key),
        key.default_value(),
    );
    Effective {
        value: r.value,
        source: r.source,
        locked: r.locked,
    }
}

/// The model policy in force for `product` in a tenant.
pub fn effective_models(org: &AiSettings, tenant: &AiSettings, product: &str) -> Resolved<ModelPolicy> {
    resolve(
        org,
        tenant,
        product,
        SettingKey::Models,
        |s| s.models.clone(),
        |t| t.models.clone(),
        ModelPolicy::default(),
    )
}

/// The PII mode in force for `product` in a tenant.
pub fn effective_pii(org: &AiSettings, tenant: &AiSettings, product: &str) -> Resolved<PiiMode> {
    resolve(
        org,
        tenant,
        product,
        SettingKey::Pii,
        |s| s.pii,
        |t| t.pii,
        PiiMode::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn toggles(g: Option<bool>) -> AiToggles {
        AiToggles {
            genai_enabled: g,
            ..Default::default()
        }
    }

    #[test]
    fn model_policies_match_models_and_providers() {
        let p = ModelPolicy {
            allow: Some(vec!["gpt-4o*".into(), "local/*".into()]),
            deny: vec!["gpt-4o".into(), "openai-us/gpt-4o-mini".into()],
        };
        assert!(p.permits("openai-eu", "gpt-4o-mini"));
        assert!(!p.permits("openai-us", "gpt-4o-mini"), "denied for that provider");
        assert!(!p.permits("openai-eu", "gpt-4o"), "deny wins over allow");
        assert!(p.permits("local", "llama3"));
        assert!(!p.permits("anthropic", "claude-3-5-haiku"), "not allowed");
        assert!(ModelPolicy::default().permits("any", "model"));
        for bad in ["", "a b", "/x", "p/", "g*pt", &"x".repeat(201)] {
            assert!(ModelPolicy::check_entry(bad).is_err(), "{bad:?}");
        }
        // Entries ending in a character of several bytes are checked, not sliced mid-character.
        for bad in ["g*\u{e9}", "\u{1F600}*x"] {
            assert!(ModelPolicy::check_entry(bad).is_err(), "{bad:?}");
        }
        for good in [
            "mod\u{e8}le",
            "\u{1F600}",
            "gpt-4o",
            "gpt-4o*",
            "openai-eu/*",
            "openai-eu/gpt-4o-mini",
            "*",
        ] {
            assert!(ModelPolicy::check_entry(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn trust_layer_settings_follow_the_same_precedence_and_lock() {
        let mut org = AiSettings {
            pii: Some(PiiMode::Block),
            models: Some(ModelPolicy {
                allow: Some(vec!["gpt-4o-mini".into()]),
                deny: vec![],
            }),
            ..Default::default()
        };
        let ten = AiSettings {
            pii: Some(PiiMode::Off),
            save_prompts: Some(true),
            products: [(
                "ixp".to_string(),
                AiToggles {
                    models: Some(ModelPolicy::default()),
                    ..Default::default()
                },
            )]
            .into(),
            ..Default::default()
        };
        assert_eq!(effective_pii(&org, &ten, "ixp").value, PiiMode::Off);
        assert_eq!(effective_pii(&org, &ten, "ixp").source, SettingSource::Tenant);
        assert_eq!(effective_models(&org, &ten, "ixp").source, SettingSource::TenantProduct);
        assert!(effective(&org, &ten, "ixp", SettingKey::SavePrompts).value);
        assert!(
            !effective(&org, &AiSettings::default(), "ixp", SettingKey::SavePrompts).value,
            "off by default"
        );
        assert_eq!(
            effective_pii(&AiSettings::default(), &AiSettings::default(), "ixp").value,
            PiiMode::Mask
        );
        org.locked = Some([SettingKey::Pii, SettingKey::Models, SettingKey::SavePrompts].into());
        assert_eq!(
            effective_pii(&org, &ten, "ixp"),
            Resolved {
                value: PiiMode::Block,
                source: SettingSource::Org,
                locked: true
            }
        );
        assert!(!effective_models(&org, &ten, "ixp").value.permits("p", "gpt-4o"));
        assert!(
            !effective(&org, &ten, "ixp", SettingKey::SavePrompts).value,
            "locked at the default"
        );
    }

    #[test]
    fn most_specific_wins() {
        let key = SettingKey::GenaiEnabled;
        let mut org = AiSettings::default();
        let mut ten = AiSettings::default();
        assert_eq!(
            effective(&org, &ten, "ixp", key),
            Effective {
                value: true,
                source: SettingSource::Default,
                locked: false
            }
        );
        org.genai_enabled = Some(false);
        assert_eq!(effective(&org, &ten, "ixp", key).source, SettingSource::Org);
        org.products.insert("ixp".into(), toggles(Some(true)));
        assert_eq!(
            effective(&org, &ten, "ixp", key),
            Effective {
                value: true,
                source: SettingSource::OrgProduct,
                locked: false
            }
        );
        assert!(!effective(&org, &ten, "apps", key).value);
        ten.genai_enabled = Some(false);
        assert_eq!(
            effective(&org, &ten, "ixp", key),
            Effective {
                value: false,
                source: SettingSource::Tenant,
                locked: false
            }
        );
        ten.products.insert("ixp".into(), toggles(Some(true)));
        assert_eq!(effective(&org, &ten, "ixp", key).source, SettingSource::TenantProduct);
    }

    #[test]
    fn locked_org_setting_beats_tenant_override() {
        let key = SettingKey::GenaiEnabled;
        let org = AiSettings {
            genai_enabled: Some(false),
            locked: Some([key].into()),
            ..Default::default()
        };
        let ten = AiSettings {
            genai_enabled: Some(true),
            products: [("ixp".to_string(), toggles(Some(true)))].into(),
            ..Default::default()
        };
        assert_eq!(
            effective(&org, &ten, "ixp", key),
            Effective {
                value: false,
                source: SettingSource::Org,
                locked: true
            }
        );
        // Locking one setting leaves the other to the usual precedence.
        let other = SettingKey::ThirdPartyFinetuneEnabled;
        let ten2 = AiSettings {
            third_party_finetune_enabled: Some(false),
            ..Default::default()
        };
        assert_eq!(effective(&org, &ten2, "ixp", other).source, SettingSource::Tenant);
    }

    #[test]
    fn locked_without_value_imposes_the_default() {
        let key = SettingKey::GenaiEnabled;
        let org = AiSettings {
            locked: Some([key].into()),
            ..Default::default()
        };
        let ten = AiSettings {
            genai_enabled: Some(false),
            ..Default::default()
        };
        assert_eq!(
            effective(&org, &ten, "ixp", key),
            Effective {
                value: true,
                source: SettingSource::Default,
                locked: true
            }
        );
    }

    fn arb_toggle() -> impl Strategy<Value = Option<bool>> {
        prop_oneof![Just(None), Just(Some(true)), Just(Some(false))]
    }

    proptest! {
        /// The resolved value always equals the first set value in precedence order.
        #[test]
        fn resolution_matches_the_precedence_list(
            o in arb_toggle(), op in arb_toggle(), t in arb_toggle(), tp in arb_toggle(), lock in any::<bool>()
        ) {
            let key = SettingKey::GenaiEnabled;
            let org = AiSettings {
                genai_enabled: o,
                locked: lock.then(|| [key].into()),
                products: op.map(|v| [("p".to_string(), toggles(Some(v)))].into()).unwrap_or_default(),
                ..Default::default()
            };
            let ten = AiSettings {
                genai_enabled: t,
                products: tp.map(|v| [("p".to_string(), toggles(Some(v)))].into()).unwrap_or_default(),
                ..Default::default()
            };
            let order: Vec<Option<bool>> = if lock { vec![op, o] } else { vec![tp, t, op, o] };
            let expected = order.into_iter().flatten().next().unwrap_or(true);
            prop_assert_eq!(effective(&org, &ten, "p", key).value, expected);
        }

        /// Limits resolve field by field in precedence order, then no level, term or server
        /// setting is ever exceeded.
        #[test]
        fn limits_resolve_per_field_and_never_exceed_a_ceiling(
            levels in proptest::collection::vec((proptest::option::of(1u32..100), proptest::option::of(1u64..1000)), 4),
            terms_rate in proptest::option::of(1u32..100),
            terms_day in proptest::option::of(1u64..1000),
            terms_product_day in proptest::option::of(1u64..1000),
            server_day in proptest::option::of(1u64..1000),
            lock in any::<bool>(),
        ) {
            let l = |i: usize| AiLimits { requests_per_second: levels[i].0, tokens_per_day: levels[i].1, ..Default::default() };
            let product_level = |i: usize| -> BTreeMap<String, AiToggles> {
                [("p".to_string(), AiToggles { limits: Some(l(i)), ..Default::default() })].into()
            };
            let org = AiSettings {
                limits: Some(l(3)),
                products: product_level(2),
                locked: lock.then(|| [SettingKey::Limits].into()),
                ..Default::default()
            };
            let ten = AiSettings { limits: Some(l(1)), products: product_level(0), ..Default::default() };
            let terms = LimitTerms {
                requests_per_second: terms_rate,
                tokens_per_day: terms_day,
                products: terms_product_day
                    .map(|d| [("p".to_string(), AiLimits { tokens_per_day: Some(d), ..Default::default() })].into())
                    .unwrap_or_default(),
                ..Default::default()
            };
            let server = AiLimits { tokens_per_day: server_day, ..Default::default() };
            let got = effective_limits(&org, &ten, "p", &terms, server).value;
            let order: Vec<usize> = if lock { vec![2, 3] } else { vec![0, 1, 2, 3] };
            let rate = order.iter().find_map(|&i| levels[i].0);
            let day = order.iter().find_map(|&i| levels[i].1);
            let lowest = |xs: &[Option<u64>]| xs.iter().flatten().min().copied();
            prop_assert_eq!(
                got.requests_per_second.map(u64::from),
                lowest(&[rate.map(u64::from), terms_rate.map(u64::from)])
            );
            prop_assert_eq!(got.tokens_per_day, lowest(&[day, terms_day, terms_product_day, server_day]));
        }
    }

    #[test]
    fn limits_check_their_ranges() {
        assert!(
            AiLimits {
                requests_per_second: Some(0),
                ..Default::default()
            }
            .check()
            .is_err()
        );
        assert!(
            AiLimits {
                tokens_per_month: Some(AiLimits::MAX_TOKENS + 1),
                ..Default::default()
            }
            .check()
            .is_err()
        );
        assert!(
            AiLimits {
                burst: Some(10),
                tokens_per_day: Some(1),
                ..Default::default()
            }
            .check()
            .is_ok()
        );
        // A tenant's own setting cannot raise what the organization's terms sell.
        let ten = AiSettings {
            limits: Some(AiLimits {
                tokens_per_day: Some(10_000),
                ..Default::default()
            }),
            ..Default::default()
        };
        let terms = LimitTerms {
            tokens_per_day: Some(500),
            ..Default::default()
        };
        let r = effective_limits(&AiSettings::default(), &ten, "p", &terms, AiLimits::default());
        assert_eq!((r.value.tokens_per_day, r.source), (Some(500), SettingSource::Tenant));
    }
}
