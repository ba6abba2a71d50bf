//! The product catalog: every product and the data uses it declares.
//!
//! The catalog is TOML so that a person can read it beside the vendor's public page; it is
//! validated strictly at start, and a bad file is refused with the file, line and field.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The catalog shipped with datapact: the seed page's table plus Communications Mining.
pub const DEFAULT_CATALOG: &str = include_str!("../../../catalog/products.toml");

/// Name shown in messages for the built-in catalog.
pub const DEFAULT_CATALOG_NAME: &str = "catalog/products.toml (built in)";

/// How a product integrates with third-party generative AI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GenAi {
    /// No generative AI features.
    None,
    /// Integrates with GenAI services and keeps working without third-party LLMs.
    Optional,
    /// Cannot work without third-party LLMs.
    Required,
}

/// The kind of customer data: what is used to design automations, or what flows when they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    /// Data used while designing automations, workflows, datasets.
    DesignTime,
    /// Data processed while automations run.
    RunTime,
}

impl DataKind {
    /// Every data kind, in a stable order.
    pub const ALL: [DataKind; 2] = [DataKind::DesignTime, DataKind::RunTime];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DataKind::DesignTime => "design_time",
            DataKind::RunTime => "run_time",
        }
    }
}

impl fmt::Display for DataKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One product and the data uses it declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Product {
    /// Stable identifier, e.g. `orchestrator`.
    pub id: String,
    /// Display name as the vendor's page writes it.
    pub name: String,
    /// The product processes customer data to provide its services.
    pub provide_services: bool,
    /// The vendor may use the product's data to train or fine-tune its own models and improve the product.
    pub train_vendor_models: bool,
    /// The product lets the customer fine-tune third-party models with their data.
    pub finetune_third_party: bool,
    /// How the product depends on third-party generative AI.
    pub genai: GenAi,
    /// Which data kinds vendor training may use.
    pub training_data_kinds: Vec<DataKind>,
    /// A footnote from the vendor's page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Product {
    /// Whether vendor training may use data of this kind.
    pub fn trains_on(&self, kind: DataKind) -> bool {
        self.train_vendor_models && self.training_data_kinds.contains(&kind)
    }
}

/// A validated catalog with an index by product id.
#[derive(Debug, Clone)]
pub struct Catalog {
    products: Vec<Product>,
    index: HashMap<String, usize>,
}

/// Why a catalog file was refused: where, which field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{line}:{column}: {}{message}", field.as_deref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
pub struct CatalogError {
    /// The file (or built-in name) the catalog came from.
    pub source_name: String,
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column of the problem.
    pub column: usize,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    version: toml::Spanned<u32>,
    #[serde(default)]
    products: Vec<toml::Spanned<ProductEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductEntry {
    id: toml::Spanned<String>,
    name: toml::Spanned<String>,
    provide_services: bool,
    train_vendor_models: bool,
    finetune_third_party: toml::Spanned<bool>,
    genai: GenAi,
    #[serde(default)]
    training_data_kinds: Option<toml::Spanned<Vec<DataKind>>>,
    #[serde(default)]
    note: Option<String>,
}

/// Line and column (1-based) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

/// The key assigned on a given line (`key = value`), used to name the field of a type error.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?.trim_start();
    let (key, _) = l.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')).then(|| key.to_string())
}

fn valid_product_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Catalog {
    /// The catalog built into datapact.
    pub fn builtin() -> Result<Self, CatalogError> {
        Self::parse(DEFAULT_CATALOG, DEFAULT_CATALOG_NAME)
    }

    /// Parses and validates a catalog; `source_name` names the file in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, CatalogError> {
        let err_at = |offset: usize, field: Option<String>, message: String| {
            let (line, column) = line_col(text, offset);
            CatalogError {
                source_name: source_name.to_string(),
                line,
                column,
                field,
                message,
            }
        };
        let file: CatalogFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            let message = e.message().trim().to_string();
            // serde names an unknown field in its message; otherwise the key on the line is the field.
            let field = message
                .strip_prefix("unknown field `")
                .and_then(|r| r.split('`').next())
                .map(str::to_string)
                .or_else(|| {
                    message
                        .strip_prefix("missing field `")
                        .and_then(|r| r.split('`').next())
                        .map(str::to_string)
                })
                .or_else(|| key_on_line(text, line_col(text, offset).0));
            err_at(offset, field, message)
        })?;
        if *file.version.get_ref() != 1 {
            return Err(err_at(
                file.version.span().start,
                Some("version".into()),
                format!(
                    "unsupported catalog version {}; this datapact reads version 1",
                    file.version.get_ref()
                ),
            ));
        }
        if file.products.is_empty() {
            return Err(err_at(
                0,
                Some("products".into()),
                "the catalog declares no products".into(),
            ));
        }
        let mut products = Vec::with_capacity(file.products.len());
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut first_line: HashMap<String, usize> = HashMap::new();
        for entry in file.products {
            let entry = entry.into_inner();
            let id_span = entry.id.span();
            let id = entry.id.into_inner();
            if !valid_product_id(&id) {
                return Err(err_at(
                    id_span.start,
                    Some("id".into()),
                    format!("invalid product id `{id}`: use lowercase letters, digits and `-` (at most 64)"),
                ));
            }
            let line = line_col(text, id_span.start).0;
            if let Some(first) = first_line.get(&id) {
                return Err(err_at(
                    id_span.start,
                    Some("id".into()),
                    format!("duplicate product id `{id}` (first declared on line {first})"),
                ));
            }
            let training_data_kinds = match entry.training_data_kinds {
                None => DataKind::ALL.to_vec(),
                Some(kinds) => {
                    let span = kinds.span();
                    let mut kinds = kinds.into_inner();
                    kinds.sort();
                    kinds.dedup();
                    if kinds.is_empty() && entry.train_vendor_models {
                        return Err(err_at(
                            span.start,
                            Some("training_data_kinds".into()),
                            "a product that trains vendor models must allow at least one data kind".into(),
                        ));
                    }
                    kinds
                }
            };
            if *entry.finetune_third_party.get_ref() && entry.genai == GenAi::None {
                return Err(err_at(
                    entry.finetune_third_party.span().start,
                    Some("finetune_third_party".into()),
                    "fine-tuning third-party models sends data to a generative AI service, so `genai` cannot be \"none\"".into(),
                ));
            }
            if entry.name.get_ref().trim().is_empty() {
                return Err(err_at(
                    entry.name.span().start,
                    Some("name".into()),
                    "product name is empty".into(),
                ));
            }
            first_line.insert(id.clone(), line);
            index.insert(id.clone(), products.len());
            products.push(Product {
                id,
                name: entry.name.into_inner(),
                provide_services: entry.provide_services,
                train_vendor_models: entry.train_vendor_models,
                finetune_third_party: *entry.finetune_third_party.get_ref(),
                genai: entry.genai,
                training_data_kinds,
                note: entry.note,
            });
        }
        Ok(Self { products, index })
    }

    /// All products, in catalog order.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// A product by id.
    pub fn get(&self, id: &str) -> Option<&Product> {
        self.index.get(id).map(|&i| &self.products[i])
    }

    /// Whether a product id exists.
    pub fn contains(&self, id: &str) -> bool {
        self.index.contains_key(id)
    }
}

/// Whether `c` is a data category as records carry them: dot-separated lowercase words
/// (`user.contact.email`), each starting with a letter, at most 128 bytes.
pub fn valid_category(c: &str) -> bool {
    c.len() <= 128
        && c.split('.').all(|part| {
            part.starts_with(|ch: char| ch.is_ascii_lowercase())
                && part
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        })
}

/// Whether a record's category `c` is `scope` or below it (`user.contact` covers
/// `user.contact.email`, not `user.contacts`).
pub fn category_within(c: &str, scope: &str) -> bool {
    c.strip_prefix(scope)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"version = 1
[[products]]
id = "p"
name = "P"
provide_services = true
train_vendor_models = false
finetune_third_party = false
genai = "none"
"#;

    #[test]
    fn builtin_catalog_matches_the_seed_ids() {
        let c = Catalog::builtin().unwrap();
        let ids: Vec<&str> = c.products().iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "ai-center",
                "agent-builder",
                "assistant",
                "apps",
                "automation-hub",
                "automation-ops",
                "autopilot-for-everyone",
                "elastic-robot-orchestration",
                "automation-cloud-robots-vm",
                "automation-cloud-robots-serverless",
                "ixp",
                "ai-computer-vision",
                "context-grounding",
                "data-service",
                "document-understanding",
                "healing-agent",
                "insights",
                "integration-service",
                "it-automation",
                "maestro",
                "orchestrator",
                "process-mining",
                "robot",
                "screenplay",
                "studio",
                "studio-web",
                "test-manager",
                "communications-mining",
            ]
        );
        let cm = c.get("communications-mining").unwrap();
        assert_eq!(cm.training_data_kinds, vec![DataKind::DesignTime]);
        assert!(cm.trains_on(DataKind::DesignTime) && !cm.trains_on(DataKind::RunTime));
        assert_eq!(
            c.get("orchestrator").unwrap().training_data_kinds,
            DataKind::ALL.to_vec()
        );
    }

    #[test]
    fn unknown_field_names_file_line_and_field() {
        let text = ONE.replace("genai = \"none\"", "genai = \"none\"\ncolour = \"red\"");
        let e = Catalog::parse(&text, "my.toml").unwrap_err();
        assert_eq!(e.source_name, "my.toml");
        assert_eq!(e.field.as_deref(), Some("colour"));
        assert_eq!(e.line, 9, "{e}");
        assert!(e.to_string().starts_with("my.toml:9:"), "{e}");
    }

    #[test]
    fn invalid_enum_value_names_the_field() {
        let text = ONE.replace("genai = \"none\"", "genai = \"sometimes\"");
        let e = Catalog::parse(&text, "c.toml").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("genai"));
        assert_eq!(e.line, 8);
        assert!(e.message.contains("sometimes"), "{e}");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let text = ONE.replace("provide_services = true", "provide_services = \"yes\"");
        let e = Catalog::parse(&text, "c.toml").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("provide_services"));
        assert_eq!(e.line, 5);
    }

    #[test]
    fn duplicate_id_points_at_the_second() {
        let second = ONE.trim_start_matches("version = 1\n");
        let text = format!("{ONE}{second}");
        let e = Catalog::parse(&text, "c.toml").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("id"));
        assert_eq!(e.line, 10);
        assert!(e.message.contains("first declared on line 3"), "{e}");
    }

    #[test]
    fn missing_field_and_bad_values_are_refused() {
        let e = Catalog::parse(&ONE.replace("genai = \"none\"\n", ""), "c.toml").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("genai"), "{e}");
        let e = Catalog::parse(&ONE.replace("id = \"p\"", "id = \"Bad Id\""), "c.toml").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("id"));
        let e = Catalog::parse(
            &ONE.replace("finetune_third_party = false", "finetune_third_party = true"),
            "c.toml",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("finetune_third_party"));
        let e = Catalog::parse(&ONE.replace("version = 1", "version = 2"), "c.toml").unwrap_err();
        assert_eq!((e.field.as_deref(), e.line), (Some("version"), 1));
        let e = Catalog::parse("version = 1\n", "c.toml").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("products"));
        let e = Catalog::parse("version = 1\n[[products]\n", "c.toml").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }
}
