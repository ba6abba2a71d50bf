//! Cedar policies over AI trust-layer calls: an organization's advanced rules, written in
//! Cedar, checked against a fixed schema when saved, evaluated for every call with the
//! call's attributes (tenant, product, model, provider, region, data categories found by PII
//! detection, user group, feature).
//!
//! Cedar's answer decides, as Cedar defines it: a call goes ahead when some `permit` applies
//! and no `forbid` does. A policy set without any `permit` is refused when saved, because it
//! would refuse every call.

use std::sync::LazyLock;

use cedar_policy::{
    Authorizer, Context, Decision, Effect, Entities, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression, Schema, ValidationMode, Validator,
};

/// The schema every organization's policies are validated against, in Cedar's schema syntax.
pub const SCHEMA: &str = r#"
// The tenant whose data the call carries; its id is the tenant id (`ten_…`).
entity Tenant;
// The model asked for; its id is the model name (`gpt-4o-mini`).
entity Model;
// A call through the AI trust layer.
action "call" appliesTo {
  principal: Tenant,
  resource: Model,
  context: {
    // The calling product (`ixp`).
    product: String,
    // The provider that would receive the data, and whose model it is.
    provider: String,
    provider_kind: String,          // "third_party" or "self_hosted"
    // Where that provider processes data, and the tenant's own region.
    region: String,
    tenant_region: String,
    // "chat/completions" or "embeddings".
    endpoint: String,
    // The entity types PII detection found in the request (`EMAIL_ADDRESS`, `US_SSN`…).
    data_categories: Set<String>,
    // The end user's group (`x-datapact-user-group`) and the calling feature
    // (`x-datapact-feature`), when the caller names them.
    user_group?: String,
    feature?: String,
  }
};
"#;

/// Most bytes of policy text an organization may save.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

static COMPILED_SCHEMA: LazyLock<Result<Schema, String>> = LazyLock::new(|| {
    Schema::from_cedarschema_str(SCHEMA)
        .map(|(s, _)| s)
        .map_err(|e| e.to_string())
});

static ACTION: LazyLock<Result<EntityUid, String>> =
    LazyLock::new(|| r#"Action::"call""#.parse::<EntityUid>().map_err(|e| e.to_string()));

/// Why policies were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    /// Not Cedar.
    #[error("the policies do not parse as Cedar: {0}")]
    Parse(String),
    /// Cedar, but not valid against the schema.
    #[error("the policies do not fit the schema: {0}")]
    Invalid(String),
    /// No `permit`: every call would be refused.
    #[error(
        "the policies permit nothing, so every call would be refused: add a `permit`, e.g. `permit(principal, action, resource);`, and narrow it with `forbid` rules"
    )]
    NeverPermits,
    /// Too long.
    #[error("policies are at most {MAX_POLICY_BYTES} bytes")]
    TooLarge,
    /// The built-in schema failed to load (a bug).
    #[error("the policy schema is unavailable: {0}")]
    Schema(String),
}

/// A validated policy set, ready to evaluate.
#[derive(Debug)]
pub struct CallPolicies {
    set: PolicySet,
}

/// The attributes of one call, as policies see them.
#[derive(Debug, Clone)]
pub struct CallAttrs<'a> {
    /// The tenant id.
    pub tenant: &'a str,
    /// The model.
    pub model: &'a str,
    /// The calling product.
    pub product: &'a str,
    /// The provider that would receive the data.
    pub provider: &'a str,
    /// `third_party` or `self_hosted`.
    pub provider_kind: &'a str,
    /// The provider's region.
    pub region: &'a str,
    /// The tenant's region.
    pub tenant_region: &'a str,
    /// `chat/completions` or `embeddings`.
    pub endpoint: &'a str,
    /// PII entity types found in the request.
    pub data_categories: &'a [String],
    /// The end user's group, if named.
    pub user_group: Option<&'a str>,
    /// The calling feature, if named.
    pub feature: Option<&'a str>,
}

/// What the policies answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the call may go ahead.
    pub allowed: bool,
    /// The policies that decided (their `@id` annotation, or Cedar's `policyN`).
    pub policies: Vec<String>,
    /// Evaluation errors (a policy that failed to evaluate is skipped, as Cedar does).
    pub errors: Vec<String>,
}

/// Entity type names, parsed once (Cedar's parser is not cheap enough for every call).
static TENANT_TYPE: LazyLock<Result<EntityTypeName, String>> = LazyLock::new(|| type_name("Tenant"));
static MODEL_TYPE: LazyLock<Result<EntityTypeName, String>> = LazyLock::new(|| type_name("Model"));

fn type_name(kind: &str) -> Result<EntityTypeName, String> {
    kind.parse().map_err(|e: cedar_policy::ParseErrors| e.to_string())
}

fn uid(kind: &Result<EntityTypeName, String>, id: &str) -> Result<EntityUid, String> {
    let t = kind.as_ref().map_err(Clone::clone)?.clone();
    Ok(EntityUid::from_type_name_and_id(t, EntityId::new(id)))
}

/// Parses and validates `text` against [`SCHEMA`].
pub fn compile(text: &str) -> Result<CallPolicies, PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge);
    }
    let schema = COMPILED_SCHEMA.as_ref().map_err(|e| PolicyError::Schema(e.clone()))?;
    let set: PolicySet = text.parse().map_err(|e: cedar_policy::ParseErrors| {
        PolicyError::Parse(
            e.iter()
                .map(|e| {
                    let at = miette_line(text, e);
                    format!("{at}{e}")
                })
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
    if !result.validation_passed() {
        let errors: Vec<String> = result
            .validation_errors()
            .map(|e| format!("{}{e}", miette_line(text, e)))
            .collect();
        return Err(PolicyError::Invalid(errors.join("; ")));
    }
    if !set.policies().any(|p| p.effect() == Effect::Permit) {
        return Err(PolicyError::NeverPermits);
    }
    Ok(CallPolicies { set })
}

/// `line N: ` for a parse or validation error, from its source span.
fn miette_line(text: &str, e: &impl miette::Diagnostic) -> String {
    e.labels()
        .and_then(|mut l| l.next())
        .map(|l| {
            let offset = l.offset().min(text.len());
            format!("line {}: ", text[..offset].matches('\n').count() + 1)
        })
        .unwrap_or_default()
}

impl CallPolicies {
    /// Evaluates the policies for one call.
    pub fn evaluate(&self, a: &CallAttrs<'_>) -> Result<Verdict, String> {
        let action = ACTION.as_ref().map_err(Clone::clone)?.clone();
        // Built from typed values rather than JSON read against the schema, and not validated
        // against it per call: the context's shape is this function's, the schema's types are
        // Strings and a Set of Strings, and the policies were validated against the schema
        // when saved. (Reading and validating took about half of the gateway's Cedar time.)
        let s = |v: &str| RestrictedExpression::new_string(v.to_string());
        let mut pairs = vec![
            ("product".to_string(), s(a.product)),
            ("provider".to_string(), s(a.provider)),
            ("provider_kind".to_string(), s(a.provider_kind)),
            ("region".to_string(), s(a.region)),
            ("tenant_region".to_string(), s(a.tenant_region)),
            ("endpoint".to_string(), s(a.endpoint)),
            (
                "data_categories".to_string(),
                RestrictedExpression::new_set(a.data_categories.iter().map(|c| s(c))),
            ),
        ];
        if let Some(g) = a.user_group {
            pairs.push(("user_group".to_string(), s(g)));
        }
        if let Some(f) = a.feature {
            pairs.push(("feature".to_string(), s(f)));
        }
        let context = Context::from_pairs(pairs).map_err(|e| e.to_string())?;
        let request = Request::new(
            uid(&TENANT_TYPE, a.tenant)?,
            action,
            uid(&MODEL_TYPE, a.model)?,
            context,
            None,
        )
        .map_err(|e| e.to_string())?;
        let response = Authorizer::new().is_authorized(&request, &self.set, &Entities::empty());
        let name = |id: &cedar_policy::PolicyId| {
            self.set
                .annotation(id, "id")
                .map_or_else(|| id.to_string(), str::to_string)
        };
        Ok(Verdict {
            allowed: response.decision() == Decision::Allow,
            policies: response.diagnostics().reason().map(name).collect(),
            errors: response.diagnostics().errors().map(ToString::to_string).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(categories: &'a [String], group: Option<&'a str>) -> CallAttrs<'a> {
        CallAttrs {
            tenant: "ten_1",
            model: "gpt-4o-mini",
            product: "ixp",
            provider: "openai-eu",
            provider_kind: "third_party",
            region: "eu",
            tenant_region: "eu",
            endpoint: "chat/completions",
            data_categories: categories,
            user_group: group,
            feature: None,
        }
    }

    #[test]
    fn schema_errors_name_their_line() {
        let text = "permit(principal, action, resource);\n\nforbid(principal, action, resource)\nwhen { context.nope == 1 };\n";
        match compile(text) {
            Err(PolicyError::Invalid(m)) => assert!(m.starts_with("line 4: "), "{m}"),
            other => panic!("expected a schema error, got {other:?}"),
        }
    }

    const POLICIES: &str = r#"
permit(principal, action, resource);

@id("no-ssn-to-third-parties")
forbid(principal, action, resource)
when { context.data_categories.contains("US_SSN") && context.provider_kind == "third_party" };

@id("interns-small-models-only")
forbid(principal, action, resource == Model::"gpt-4o")
when { context has user_group && context.user_group == "interns" };
"#;

    #[test]
    fn forbids_narrow_a_permit_and_name_themselves() {
        let p = compile(POLICIES).unwrap();
        let none: Vec<String> = Vec::new();
        assert!(p.evaluate(&attrs(&none, None)).unwrap().allowed);
        let ssn = vec!["US_SSN".to_string()];
        let v = p.evaluate(&attrs(&ssn, None)).unwrap();
        assert!(!v.allowed);
        assert_eq!(v.policies, ["no-ssn-to-third-parties"]);
        let mut a = attrs(&none, Some("interns"));
        assert!(p.evaluate(&a).unwrap().allowed, "interns may use gpt-4o-mini");
        a.model = "gpt-4o";
        assert_eq!(p.evaluate(&a).unwrap().policies, ["interns-small-models-only"]);
    }

    #[test]
    fn bad_policies_are_refused_with_the_reason() {
        assert!(matches!(
            compile("permit(principal, action, resource"),
            Err(PolicyError::Parse(_))
        ));
        let e = compile("permit(principal, action, resource) when { context.colour == \"red\" };").unwrap_err();
        assert!(matches!(&e, PolicyError::Invalid(m) if m.contains("colour")), "{e}");
        assert_eq!(
            compile("forbid(principal, action, resource);").unwrap_err(),
            PolicyError::NeverPermits
        );
        let long = "permit(principal, action, resource);".repeat(MAX_POLICY_BYTES / 10);
        assert_eq!(compile(&long).unwrap_err(), PolicyError::TooLarge);
        let e = compile("permit(principal, action, resource);\nforbid(principal, action, resource) when { 1 + };")
            .unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
