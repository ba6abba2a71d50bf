//! AI trust-layer settings and how the effective value of each is resolved.
//!
//! Settings exist at four levels; the most specific one that sets a value wins
//! (tenant+product, tenant, org+product, org), unless the organization locks a setting,
//! in which case only the organization's own levels count.

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
}

impl SettingKey {
    /// Every setting key.
    pub const ALL: [SettingKey; 2] = [SettingKey::GenaiEnabled, SettingKey::ThirdPartyFinetuneEnabled];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingKey::GenaiEnabled => "genai_enabled",
            SettingKey::ThirdPartyFinetuneEnabled => "third_party_finetune_enabled",
        }
    }

    /// The value when no level sets one.
    pub fn default_value(self) -> bool {
        true
    }
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
}

impl AiToggles {
    /// The value this level sets for `key`, if any.
    pub fn get(&self, key: SettingKey) -> Option<bool> {
        match key {
            SettingKey::GenaiEnabled => self.genai_enabled,
            SettingKey::ThirdPartyFinetuneEnabled => self.third_party_finetune_enabled,
        }
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
    /// Settings the organization imposes on every level below it (organization level only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<BTreeSet<SettingKey>>,
    /// Overrides per product id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub products: BTreeMap<String, AiToggles>,
}

impl AiSettings {
    /// The value this level sets for `key`, if any, ignoring product overrides.
    pub fn get(&self, key: SettingKey) -> Option<bool> {
        match key {
            SettingKey::GenaiEnabled => self.genai_enabled,
            SettingKey::ThirdPartyFinetuneEnabled => self.third_party_finetune_enabled,
        }
    }

    /// The value this level sets for `key` on `product`, if any.
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

/// Resolves the value of `key` for `product` in a tenant of an organization.
pub fn effective(org: &AiSettings, tenant: &AiSettings, product: &str, key: SettingKey) -> Effective {
    let locked = org.is_locked(key);
    let tenant_levels = [
        (tenant.get_for_product(product, key), SettingSource::TenantProduct),
        (tenant.get(key), SettingSource::Tenant),
    ];
    let org_levels = [
        (org.get_for_product(product, key), SettingSource::OrgProduct),
        (org.get(key), SettingSource::Org),
    ];
    let candidates = (!locked)
        .then_some(tenant_levels)
        .into_iter()
        .flatten()
        .chain(org_levels);
    for (value, source) in candidates {
        if let Some(value) = value {
            return Effective { value, source, locked };
        }
    }
    Effective {
        value: key.default_value(),
        source: SettingSource::Default,
        locked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn toggles(g: Option<bool>) -> AiToggles {
        AiToggles {
            genai_enabled: g,
            third_party_finetune_enabled: None,
        }
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
    }
}
