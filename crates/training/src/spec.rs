//! What a training dataset may ask for: `POST /v1/training/datasets`'s body, checked against
//! the catalog before anything is read.

use std::collections::BTreeSet;

use datapact_governance::catalog::valid_category;
use datapact_governance::{Catalog, DataKind, Purpose, TenantId};
use serde::{Deserialize, Serialize};

/// Why a training dataset may exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrainingPurpose {
    /// Training the vendor's own models on the product's data.
    VendorTraining,
    /// A customer fine-tuning a third-party model with its own data.
    ThirdPartyFinetune,
    /// A model trained for one customer on its own data by the product it uses (a
    /// Communications Mining dataset's model): providing the service. Such datasets are
    /// recorded by their product when it trains, never asked for over the API.
    CustomerModel,
}

impl TrainingPurpose {
    /// The decision point's purpose.
    pub fn purpose(self) -> Purpose {
        match self {
            TrainingPurpose::VendorTraining => Purpose::VendorTraining,
            TrainingPurpose::ThirdPartyFinetune => Purpose::ThirdPartyFinetune,
            TrainingPurpose::CustomerModel => Purpose::Service,
        }
    }
}

/// What personal data in the content becomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PiiMinimization {
    /// Replaced with its type (`<EMAIL_ADDRESS>`) before it is stored.
    #[default]
    Mask,
    /// Records in which any is found are left out.
    Drop,
    /// Kept as it is: only for `third_party_finetune`, where a customer asks for its own data.
    Off,
}

/// Which records' categories may enter: `include` (every category when empty) minus `exclude`,
/// each entry covering the categories below it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryFilter {
    /// A record enters only with a category within one of these (any record when empty).
    #[serde(default)]
    pub include: Vec<String>,
    /// A record with a category within one of these is left out.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// How little of the data enters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Minimization {
    /// Personal data in the content (default `mask`).
    #[serde(default)]
    pub pii: PiiMinimization,
    /// Identical contents after minimization are kept once (default true).
    #[serde(default = "yes")]
    pub dedup: bool,
    /// At most this many records of one tenant (none when absent).
    #[serde(default)]
    pub max_records_per_tenant: Option<u64>,
}

fn yes() -> bool {
    true
}

impl Default for Minimization {
    fn default() -> Self {
        Minimization {
            pii: PiiMinimization::Mask,
            dedup: true,
            max_records_per_tenant: None,
        }
    }
}

/// A dataset as asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// A name for people (1–200 characters).
    pub name: String,
    /// The catalog product whose records it holds.
    pub product: String,
    /// What it is for.
    pub purpose: TrainingPurpose,
    /// The one region whose records it reads and where it is stored.
    pub region: String,
    /// Data kinds (default: those the catalog lets the product train on; for
    /// `third_party_finetune`, every kind).
    #[serde(default)]
    pub data_kinds: Option<Vec<DataKind>>,
    /// Tenants (default for `vendor_training`: every tenant in the region; exactly one for
    /// `third_party_finetune`).
    #[serde(default)]
    pub tenants: Option<Vec<TenantId>>,
    /// Categories that may enter.
    #[serde(default)]
    pub categories: CategoryFilter,
    /// How little enters.
    #[serde(default)]
    pub minimization: Minimization,
}

/// A spec that asks for something the catalog does not allow, or is malformed: the field,
/// a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    /// The field at fault, as the body names it (`minimization.pii`, `tenants`).
    pub field: &'static str,
    /// A stable code.
    pub code: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

fn fail(field: &'static str, code: &'static str, message: impl Into<String>) -> SpecError {
    SpecError {
        field,
        code,
        message: message.into(),
    }
}

/// Most tenants one dataset names.
pub const MAX_TENANTS: usize = 10_000;
/// Most category entries in `include` and in `exclude`.
pub const MAX_CATEGORY_ENTRIES: usize = 64;
/// The largest `max_records_per_tenant`.
pub const MAX_RECORDS_PER_TENANT: u64 = 10_000_000;

/// A spec the catalog allows, with its defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidSpec {
    /// The spec as given.
    pub asked: DatasetSpec,
    /// The data kinds it reads, resolved (never empty).
    pub data_kinds: Vec<DataKind>,
}

impl DatasetSpec {
    /// Checks the spec against the catalog and the regions this deployment serves. Tenants are
    /// only checked for shape here: whether they exist, are the caller's and are in the region
    /// is the server's to check, against its registry.
    pub fn validate(self, catalog: &Catalog, regions: &[String]) -> Result<ValidSpec, SpecError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(fail(
                "name",
                "invalid_name",
                "a name of 1 to 200 characters, without control characters",
            ));
        }
        let product = catalog.get(&self.product).ok_or_else(|| {
            fail(
                "product",
                "unknown_product",
                format!("no product `{}` in the catalog", self.product),
            )
        })?;
        match self.purpose {
            TrainingPurpose::CustomerModel => {
                return Err(fail(
                    "purpose",
                    "invalid_value",
                    "customer_model datasets are recorded by the product that trains a customer's model; ask for vendor_training or third_party_finetune",
                ));
            }
            TrainingPurpose::VendorTraining if !product.train_vendor_models => {
                return Err(fail(
                    "purpose",
                    "purpose_not_declared",
                    format!("the catalog does not let `{}` train the vendor's models", product.id),
                ));
            }
            TrainingPurpose::ThirdPartyFinetune if !product.finetune_third_party => {
                return Err(fail(
                    "purpose",
                    "purpose_not_declared",
                    format!("`{}` does not offer fine-tuning of third-party models", product.id),
                ));
            }
            _ => {}
        }
        if !regions.contains(&self.region) {
            return Err(fail(
                "region",
                "unknown_region",
                format!("this deployment serves no region `{}`", self.region),
            ));
        }
        let data_kinds: Vec<DataKind> = match (&self.data_kinds, self.purpose) {
            (None, TrainingPurpose::VendorTraining) => product.training_data_kinds.clone(),
            (None, TrainingPurpose::ThirdPartyFinetune) => DataKind::ALL.to_vec(),
            (None, TrainingPurpose::CustomerModel) => vec![DataKind::DesignTime],
            (Some(kinds), _) => {
                let unique: BTreeSet<&str> = kinds.iter().map(|k| k.as_str()).collect();
                if unique.is_empty() {
                    return Err(fail(
                        "data_kinds",
                        "empty",
                        "name at least one data kind, or leave it out",
                    ));
                }
                DataKind::ALL
                    .into_iter()
                    .filter(|k| unique.contains(k.as_str()))
                    .collect()
            }
        };
        if self.purpose == TrainingPurpose::VendorTraining
            && let Some(k) = data_kinds.iter().find(|k| !product.trains_on(**k))
        {
            return Err(fail(
                "data_kinds",
                "data_kind_not_trained",
                format!("`{}` does not train on {} data", product.id, k.as_str()),
            ));
        }
        match (&self.tenants, self.purpose) {
            (Some(t), TrainingPurpose::ThirdPartyFinetune) if t.len() == 1 => {}
            (Some(t), TrainingPurpose::CustomerModel) if t.len() == 1 => {}
            (_, TrainingPurpose::ThirdPartyFinetune | TrainingPurpose::CustomerModel) => {
                return Err(fail(
                    "tenants",
                    "one_tenant_required",
                    "a third-party fine-tuning dataset holds exactly one tenant's data: name it",
                ));
            }
            (Some(t), TrainingPurpose::VendorTraining) => {
                if t.is_empty() || t.len() > MAX_TENANTS {
                    return Err(fail(
                        "tenants",
                        "out_of_range",
                        format!("name 1 to {MAX_TENANTS} tenants, or leave it out for every tenant in the region"),
                    ));
                }
                if t.iter().collect::<BTreeSet<_>>().len() != t.len() {
                    return Err(fail("tenants", "duplicate", "a tenant is named twice"));
                }
            }
            (None, TrainingPurpose::VendorTraining) => {}
        }
        for (field, list) in [
            ("categories.include", &self.categories.include),
            ("categories.exclude", &self.categories.exclude),
        ] {
            if list.len() > MAX_CATEGORY_ENTRIES {
                return Err(fail(
                    field,
                    "out_of_range",
                    format!("at most {MAX_CATEGORY_ENTRIES} categories"),
                ));
            }
            if let Some(c) = list.iter().find(|c| !valid_category(c)) {
                return Err(fail(
                    field,
                    "invalid_category",
                    format!("`{c}` is not a category (dot-separated lowercase words, e.g. `user.content`)"),
                ));
            }
        }
        if self.minimization.pii == PiiMinimization::Off && self.purpose != TrainingPurpose::ThirdPartyFinetune {
            return Err(fail(
                "minimization.pii",
                "pii_off_not_allowed",
                "personal data is masked or dropped in vendor training data; `off` is only for a customer fine-tuning with its own data",
            ));
        }
        if let Some(n) = self.minimization.max_records_per_tenant
            && !(1..=MAX_RECORDS_PER_TENANT).contains(&n)
        {
            return Err(fail(
                "minimization.max_records_per_tenant",
                "out_of_range",
                format!("between 1 and {MAX_RECORDS_PER_TENANT}"),
            ));
        }
        Ok(ValidSpec {
            asked: DatasetSpec {
                name: name.to_string(),
                ..self
            },
            data_kinds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> DatasetSpec {
        serde_json::from_value(v).unwrap()
    }

    fn regions() -> Vec<String> {
        vec!["eu".into(), "us".into()]
    }

    fn check(v: serde_json::Value) -> Result<ValidSpec, SpecError> {
        spec(v).validate(&Catalog::builtin().unwrap(), &regions())
    }

    #[test]
    fn defaults_come_from_the_catalog() {
        let v = check(json!({"name": " cm ", "product": "communications-mining",
                              "purpose": "vendor_training", "region": "eu"}))
        .unwrap();
        assert_eq!(v.data_kinds, vec![DataKind::DesignTime]);
        assert_eq!(v.asked.name, "cm");
        assert_eq!(v.asked.minimization, Minimization::default());
        assert!(v.asked.minimization.dedup);
    }

    #[test]
    fn each_refusal_names_its_field() {
        let t = TenantId::generate().to_string();
        let cases = [
            (json!({"product": "nope"}), "product", "unknown_product"),
            (json!({"region": "mars"}), "region", "unknown_region"),
            (json!({"name": ""}), "name", "invalid_name"),
            (
                json!({"data_kinds": ["run_time"]}),
                "data_kinds",
                "data_kind_not_trained",
            ),
            (json!({"data_kinds": []}), "data_kinds", "empty"),
            (json!({"tenants": []}), "tenants", "out_of_range"),
            (json!({"tenants": [t, t]}), "tenants", "duplicate"),
            (
                json!({"categories": {"include": ["User.Content"]}}),
                "categories.include",
                "invalid_category",
            ),
            (
                json!({"minimization": {"pii": "off"}}),
                "minimization.pii",
                "pii_off_not_allowed",
            ),
            (
                json!({"minimization": {"max_records_per_tenant": 0}}),
                "minimization.max_records_per_tenant",
                "out_of_range",
            ),
            (
                json!({"product": "ixp", "purpose": "third_party_finetune"}),
                "tenants",
                "one_tenant_required",
            ),
        ];
        for (over, field, code) in cases {
            let mut v = json!({"name": "d", "product": "communications-mining",
                               "purpose": "vendor_training", "region": "eu"});
            for (k, x) in over.as_object().unwrap() {
                v[k] = x.clone();
            }
            let e = check(v.clone()).unwrap_err();
            assert_eq!((e.field, e.code), (field, code), "{v}: {e}");
        }
    }

    #[test]
    fn a_customers_finetune_may_keep_its_data_as_it_is() {
        let t = TenantId::generate();
        let ft = |product: &str| {
            check(
                json!({"name": "ft", "product": product, "purpose": "third_party_finetune",
                         "region": "eu", "tenants": [t.to_string()], "minimization": {"pii": "off"}}),
            )
        };
        assert_eq!(ft("ixp").unwrap().data_kinds, DataKind::ALL.to_vec());
        // Communications Mining offers no fine-tuning of third-party models.
        let e = ft("communications-mining").unwrap_err();
        assert_eq!((e.field, e.code), ("purpose", "purpose_not_declared"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<DatasetSpec, _> = serde_json::from_value(json!({"name": "d", "product": "p",
            "purpose": "vendor_training", "region": "eu", "minimisation": {}}));
        assert!(r.is_err());
    }
}
