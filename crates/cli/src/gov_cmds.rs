//! CLI commands for governance: organizations and their terms, tenants, training opt-outs, AI
//! settings, support grants, decisions, API keys, and LLM usage.

use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::seg;
use crate::output::enum_name;
use crate::{EXIT_DENIED, Remote, UsageArgs, client, output, print, vault_cmds};

#[derive(Copy, Clone, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum PlanArg {
    Free,
    Standard,
    Advanced,
    Enterprise,
}

#[derive(Copy, Clone, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum StatusArg {
    Active,
    Terminating,
    Terminated,
}

#[derive(Subcommand)]
pub(crate) enum OrgCmd {
    /// Create an organization.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Commercial plan.
        #[arg(long, value_enum)]
        plan: PlanArg,
        /// Region, one of the configured regions (e.g. eu, us).
        #[arg(long)]
        region: String,
        /// A BAA is in place.
        #[arg(long)]
        baa: bool,
        /// The contract forbids training.
        #[arg(long)]
        contract_forbids_training: bool,
        /// Allow generative AI processing outside the region.
        #[arg(long)]
        allow_cross_region_llm: bool,
    },
    /// List organizations.
    List,
    /// Show an organization.
    Get {
        /// Organization id (org_…).
        org: String,
    },
    /// Terminate an organization's contract: every tenant is purged after the grace period.
    Terminate {
        /// Organization id (org_…).
        org: String,
        /// Days until the purge (0 purges at once); the server's default (30) when absent.
        #[arg(long)]
        grace_days: Option<u32>,
    },
    /// Change an organization's terms.
    Update {
        /// Organization id (org_…).
        org: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Commercial plan.
        #[arg(long, value_enum)]
        plan: Option<PlanArg>,
        /// BAA in place (true or false).
        #[arg(long)]
        baa: Option<bool>,
        /// The contract forbids training (true or false).
        #[arg(long)]
        contract_forbids_training: Option<bool>,
        /// Allow generative AI processing outside the region (true or false).
        #[arg(long)]
        allow_cross_region_llm: Option<bool>,
        /// Status: active cancels a termination (platform_admin).
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
    },
}

#[derive(Subcommand)]
pub(crate) enum TenantCmd {
    /// Create a tenant.
    Create {
        /// Organization id (org_…).
        #[arg(long)]
        org: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Defaults to the organization's region.
        #[arg(long)]
        region: Option<String>,
    },
    /// List an organization's tenants.
    List {
        /// Organization id (org_…).
        #[arg(long)]
        org: String,
    },
    /// Show a tenant.
    Get {
        /// Tenant id (ten_…).
        tenant: String,
    },
    /// Availability of every product for a tenant.
    Products {
        /// Tenant id (ten_…).
        tenant: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum OptOutCmd {
    /// Record a training opt-out from a support ticket.
    Add {
        /// Organization id (org_…).
        #[arg(long)]
        org: String,
        /// Support ticket reference.
        #[arg(long)]
        ticket: String,
        /// Who asked, as the ticket names them.
        #[arg(long)]
        requested_by: String,
        /// Limit to these products (repeat); all products when absent.
        #[arg(long = "product")]
        products: Vec<String>,
    },
    /// List an organization's opt-outs.
    List {
        /// Organization id (org_…).
        #[arg(long)]
        org: String,
    },
    /// Revoke an opt-out.
    Revoke {
        /// Organization id (org_…).
        #[arg(long)]
        org: String,
        /// Id of the item.
        id: String,
    },
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct Level {
    /// Organization id (org_…).
    #[arg(long)]
    org: Option<String>,
    /// Tenant id (ten_…).
    #[arg(long)]
    tenant: Option<String>,
}

impl Level {
    fn path(&self) -> String {
        match (&self.org, &self.tenant) {
            (Some(o), _) => format!("/v1/orgs/{}/ai-settings", seg(o)),
            (_, Some(t)) => format!("/v1/tenants/{}/ai-settings", seg(t)),
            _ => unreachable!("clap requires one of --org and --tenant"),
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum AiSettingsCmd {
    /// Show the settings of an organization or tenant.
    Get {
        #[command(flatten)]
        level: Level,
    },
    /// Change the given fields of an organization's or tenant's settings (a JSON merge patch,
    /// RFC 7386: objects merge, `null` removes a field), keeping every other one. Refused if
    /// someone else saved the settings between the read and the write.
    Set {
        #[command(flatten)]
        level: Level,
        /// The fields as JSON, or @FILE to read them from a file.
        settings: String,
    },
    /// Replace the whole settings document of an organization or tenant.
    Replace {
        #[command(flatten)]
        level: Level,
        /// The settings as JSON, or @FILE to read them from a file.
        settings: String,
    },
    /// Set an organization's Cedar policies for AI trust-layer calls from a file (validated
    /// by the server against the policy schema), keeping its other settings.
    Policies {
        /// Organization id (org_…).
        #[arg(long)]
        org: String,
        /// A file of Cedar policies.
        #[arg(required_unless_present = "clear")]
        file: Option<std::path::PathBuf>,
        /// Remove the policies instead.
        #[arg(long, conflicts_with = "file")]
        clear: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum GrantCmd {
    /// Grant vendor support access to a tenant.
    Create {
        /// Tenant id (ten_…).
        #[arg(long)]
        tenant: String,
        /// Support ticket reference.
        #[arg(long)]
        ticket: String,
        /// How long, e.g. `4h` or `3d` (at most 7d).
        #[arg(long, conflicts_with = "expires_at")]
        expires_in: Option<String>,
        /// When it lapses (RFC 3339).
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// List a tenant's support grants.
    List {
        /// Tenant id (ten_…).
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a support grant.
    Revoke {
        /// Tenant id (ten_…).
        #[arg(long)]
        tenant: String,
        /// Id of the item.
        id: String,
    },
}

#[derive(Copy, Clone, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum PurposeArg {
    Service,
    VendorTraining,
    ThirdPartyFinetune,
    Genai,
    SupportAccess,
    Telemetry,
}

#[derive(Copy, Clone, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum DataKindArg {
    DesignTime,
    RunTime,
}

#[derive(Args)]
pub(crate) struct DecideArgs {
    /// Tenant id (ten_…).
    #[arg(long)]
    tenant: String,
    /// Product id from the catalog, e.g. ixp.
    #[arg(long)]
    product: String,
    /// What the data would be used for.
    #[arg(long, value_enum)]
    purpose: PurposeArg,
    /// Which kind of data.
    #[arg(long, value_enum)]
    data_kind: Option<DataKindArg>,
    /// Where processing would happen (defaults to the tenant's region).
    #[arg(long)]
    region: Option<String>,
}

#[derive(Copy, Clone, ValueEnum)]
#[value(rename_all = "snake_case")]
pub(crate) enum RoleArg {
    PlatformAdmin,
    OrgAdmin,
    Auditor,
    Support,
    Service,
}

#[derive(Subcommand)]
pub(crate) enum KeyCmd {
    /// Create an API key (its secret is printed once).
    Create {
        /// Role of the new key.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Organization id (org_…).
        #[arg(long)]
        org: Option<String>,
        /// Tenant id (ten_…).
        #[arg(long)]
        tenant: Option<String>,
        /// Product id from the catalog, e.g. ixp.
        #[arg(long)]
        product: Option<String>,
        /// A label for people.
        #[arg(long)]
        label: Option<String>,
    },
    /// List keys.
    List,
    /// Revoke a key.
    Revoke {
        /// Id of the item.
        id: String,
    },
}

/// Parses `90m`, `4h`, `3d` into seconds.
pub(crate) fn parse_duration(s: &str) -> Result<i64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| anyhow!("--expires-in `{s}`: expected a number and a unit, like 4h or 3d"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => bail!("--expires-in `{s}`: unit must be s, m, h or d"),
    };
    // Anything beyond a year is refused here; the server allows 7 days and says so.
    n.checked_mul(mult)
        .filter(|secs| *secs <= 366 * 86400)
        .ok_or_else(|| anyhow!("--expires-in `{s}` is too long (a support grant lasts at most 7d)"))
}

pub(crate) fn reasons_table(v: &Value) -> String {
    output::rows(v.get("reasons").unwrap_or(&Value::Null), &["code", "message"]).to_string()
}

pub(crate) async fn org(cmd: OrgCmd, remote: &Remote) -> Result<ExitCode> {
    match cmd {
        OrgCmd::Create {
            name,
            plan,
            region,
            baa,
            contract_forbids_training,
            allow_cross_region_llm,
        } => {
            let body = json!({
                "name": name, "plan": enum_name(plan), "region": region, "baa": baa,
                "contract_forbids_training": contract_forbids_training, "allow_cross_region_llm": allow_cross_region_llm,
            });
            let v = client(remote)?.post("/v1/orgs", &body).await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
        OrgCmd::List => {
            let c = client(remote)?;
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let path = match &after {
                    Some(a) => format!("/v1/orgs?limit=1000&after={}", seg(a)),
                    None => "/v1/orgs?limit=1000".to_string(),
                };
                let page = c.get(&path).await?;
                all.extend(page.get("items").and_then(Value::as_array).cloned().unwrap_or_default());
                match page.get("next").and_then(Value::as_str) {
                    Some(n) => after = Some(n.to_string()),
                    None => break,
                }
            }
            let v = Value::Array(all);
            print(remote, &v, |v| {
                output::rows(
                    v,
                    &[
                        "id",
                        "name",
                        "plan",
                        "region",
                        "baa",
                        "contract_forbids_training",
                        "status",
                        "tenant_count",
                    ],
                )
                .to_string()
            })
        }
        OrgCmd::Terminate { org, grace_days } => vault_cmds::terminate(org, grace_days, remote).await,
        OrgCmd::Get { org } => {
            let v = client(remote)?.get(&format!("/v1/orgs/{}", seg(&org))).await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
        OrgCmd::Update {
            org,
            name,
            plan,
            baa,
            contract_forbids_training,
            allow_cross_region_llm,
            status,
        } => {
            let mut body = json!({});
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            if let Some(p) = plan {
                body["plan"] = json!(enum_name(p));
            }
            if let Some(b) = baa {
                body["baa"] = json!(b);
            }
            if let Some(b) = contract_forbids_training {
                body["contract_forbids_training"] = json!(b);
            }
            if let Some(b) = allow_cross_region_llm {
                body["allow_cross_region_llm"] = json!(b);
            }
            if let Some(s) = status {
                body["status"] = json!(enum_name(s));
            }
            let v = client(remote)?
                .call(Method::PATCH, &format!("/v1/orgs/{}", seg(&org)), Some(&body))
                .await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
    }
}

pub(crate) async fn tenant(cmd: TenantCmd, remote: &Remote) -> Result<ExitCode> {
    match cmd {
        TenantCmd::Create { org, name, region } => {
            let mut body = json!({"name": name});
            if let Some(r) = region {
                body["region"] = json!(r);
            }
            let v = client(remote)?
                .post(&format!("/v1/orgs/{}/tenants", seg(&org)), &body)
                .await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
        TenantCmd::List { org } => {
            let v = client(remote)?.get(&format!("/v1/orgs/{}/tenants", seg(&org))).await?;
            print(remote, &v, |v| {
                output::rows(v, &["id", "name", "region", "support_access_active", "created_at"]).to_string()
            })
        }
        TenantCmd::Get { tenant } => {
            let v = client(remote)?.get(&format!("/v1/tenants/{}", seg(&tenant))).await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
        TenantCmd::Products { tenant } => {
            let v = client(remote)?
                .get(&format!("/v1/tenants/{}/products", seg(&tenant)))
                .await?;
            print(remote, &v, |v| {
                let mut t = output::table(&["product", "status", "reasons"]);
                for item in v.as_array().into_iter().flatten() {
                    let reasons = item
                        .get("reasons")
                        .and_then(Value::as_array)
                        .map(|rs| {
                            rs.iter()
                                .map(|r| output::cell(r.get("code")))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    t.add_row(vec![
                        output::cell(item.get("product")),
                        output::cell(item.get("status")),
                        reasons,
                    ]);
                }
                output::keep_ids_whole(&mut t);
                t.to_string()
            })
        }
    }
}

pub(crate) async fn opt_out(cmd: OptOutCmd, remote: &Remote) -> Result<ExitCode> {
    // An opt-out without a product list covers every product; say so rather than show an empty cell.
    let all_products = |mut v: Value| {
        for o in v.as_array_mut().into_iter().flatten() {
            if o.get("products").is_none_or(Value::is_null) {
                o["products"] = json!("all products");
            }
        }
        v
    };
    let fields = [
        "id",
        "ticket",
        "requested_by",
        "products",
        "effective_at",
        "active",
        "revoked_at",
    ];
    match cmd {
        OptOutCmd::Add {
            org,
            ticket,
            requested_by,
            products,
        } => {
            let mut body = json!({"ticket": ticket, "requested_by": requested_by});
            if !products.is_empty() {
                body["products"] = json!(products);
            }
            let v = client(remote)?
                .post(&format!("/v1/orgs/{}/opt-outs", seg(&org)), &body)
                .await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
        OptOutCmd::List { org } => {
            let v = all_products(client(remote)?.get(&format!("/v1/orgs/{}/opt-outs", seg(&org))).await?);
            print(remote, &v, |v| output::rows(v, &fields).to_string())
        }
        OptOutCmd::Revoke { org, id } => {
            let v = client(remote)?
                .call(
                    Method::DELETE,
                    &format!("/v1/orgs/{}/opt-outs/{}", seg(&org), seg(&id)),
                    None,
                )
                .await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
    }
}

pub(crate) fn settings_text(v: &Value) -> String {
    let mut stored = v.clone();
    if let Some(m) = stored.as_object_mut() {
        m.remove("effective");
    }
    let mut out = output::object(&stored).to_string();
    if let Some(eff) = v.get("effective").and_then(Value::as_object) {
        let mut t = output::table(&[
            "product",
            "genai_enabled",
            "third_party_finetune_enabled",
            "pii",
            "save_prompts",
            "models",
        ]);
        let show = |e: Option<&Value>| {
            let e = e.cloned().unwrap_or(Value::Null);
            let value = match e.get("value") {
                // A model policy: `allow` and `deny`, or `any`.
                Some(Value::Object(m)) if m.is_empty() => "any".to_string(),
                Some(v @ Value::Object(_)) => v.to_string(),
                other => output::cell(other),
            };
            format!(
                "{} ({}{})",
                value,
                output::cell(e.get("source")),
                if e.get("locked").and_then(Value::as_bool) == Some(true) {
                    ", locked"
                } else {
                    ""
                }
            )
        };
        for (p, e) in eff {
            t.add_row(vec![
                p.clone(),
                show(e.get("genai_enabled")),
                show(e.get("third_party_finetune_enabled")),
                show(e.get("pii")),
                show(e.get("save_prompts")),
                show(e.get("models")),
            ]);
        }
        out.push_str("\nIn force:\n");
        output::keep_ids_whole(&mut t);
        out.push_str(&t.to_string());
    }
    out
}

/// A settings document from the argument (JSON, or @FILE), with its source named in errors.
pub(crate) fn settings_document(arg: String) -> Result<Value> {
    let (text, source) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?,
            path.to_string(),
        ),
        None => (arg, "the settings argument".to_string()),
    };
    serde_json::from_str(&text).map_err(|e| anyhow!("{source}: line {}, column {}: {e}", e.line(), e.column()))
}

/// Fields of a settings answer that describe the level, not settings stored at it.
const VIEW_ONLY: &[&str] = &["level", "org", "tenant", "configurable", "effective"];

/// Applies `patch` to `target` as RFC 7386 says: objects merge, `null` removes, the rest replaces.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (_, Some(_)) => {
            *target = Value::Object(Default::default());
            merge_patch(target, patch);
        }
        _ => *target = patch.clone(),
    }
}

/// Reads the settings at `path` with their version, applies `patch`, and writes them back only
/// if they are still that version.
pub(crate) async fn patch_settings(c: &client::Client, path: &str, patch: &Value) -> Result<Value> {
    let (mut current, tag) = c.call_versioned(Method::GET, path, None, None).await?;
    if let Some(m) = current.as_object_mut() {
        m.retain(|k, _| !VIEW_ONLY.contains(&k.as_str()));
    }
    merge_patch(&mut current, patch);
    c.call_versioned(Method::PUT, path, Some(&current), tag.as_deref())
        .await
        .map(|(v, _)| v)
        .map_err(|e| {
            if e.to_string().contains("settings_changed") {
                anyhow!(
                    "the settings changed while they were being edited (someone else saved them); run the command again"
                )
            } else {
                e
            }
        })
}

pub(crate) async fn ai_settings(cmd: AiSettingsCmd, remote: &Remote) -> Result<ExitCode> {
    match cmd {
        AiSettingsCmd::Get { level } => {
            let v = client(remote)?.get(&level.path()).await?;
            print(remote, &v, settings_text)
        }
        AiSettingsCmd::Set { level, settings } => {
            let patch = settings_document(settings)?;
            let v = patch_settings(&client(remote)?, &level.path(), &patch).await?;
            print(remote, &v, settings_text)
        }
        AiSettingsCmd::Replace { level, settings } => {
            let body = settings_document(settings)?;
            let v = client(remote)?.call(Method::PUT, &level.path(), Some(&body)).await?;
            print(remote, &v, settings_text)
        }
        AiSettingsCmd::Policies { org, file, clear } => {
            let path = format!("/v1/orgs/{}/ai-settings", seg(&org));
            let policies = match (&file, clear) {
                (Some(f), _) => {
                    Value::String(std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?)
                }
                (None, _) => Value::Null,
            };
            let v = patch_settings(&client(remote)?, &path, &serde_json::json!({ "policies": policies }))
                .await
                .map_err(|e| match &file {
                    Some(f) => anyhow!("{}: {e}", f.display()),
                    None => e,
                })?;
            print(remote, &v, settings_text)
        }
    }
}

pub(crate) async fn usage(a: UsageArgs, remote: &Remote) -> Result<ExitCode> {
    let mut query = Vec::new();
    for (k, v) in [("from", &a.from), ("to", &a.to), ("product", &a.product)] {
        if let Some(v) = v {
            query.push(format!("{k}={}", seg(v)));
        }
    }
    let path = format!(
        "/v1/tenants/{}/usage{}{}",
        seg(&a.tenant),
        if query.is_empty() { "" } else { "?" },
        query.join("&")
    );
    let v = client(remote)?.get(&path).await?;
    print(remote, &v, |v| {
        let mut out = format!(
            "{} from {} to {}\n",
            output::cell(v.get("tenant")),
            output::cell(v.get("from")),
            output::cell(v.get("to"))
        );
        out.push_str(
            &output::rows(
                &v["rows"],
                &[
                    "day",
                    "product",
                    "model",
                    "requests",
                    "prompt_tokens",
                    "completion_tokens",
                    "total_tokens",
                ],
            )
            .to_string(),
        );
        out.push_str(&format!(
            "\ntotal: {} requests, {} tokens\n",
            output::cell(v["totals"].get("requests")),
            output::cell(v["totals"].get("total_tokens"))
        ));
        if v["budgets"].as_array().is_some_and(|b| !b.is_empty()) {
            out.push_str(
                &output::rows(
                    &v["budgets"],
                    &["product", "period", "tokens", "used", "remaining", "resets_at"],
                )
                .to_string(),
            );
        }
        out
    })
}

pub(crate) async fn grant(cmd: GrantCmd, remote: &Remote) -> Result<ExitCode> {
    match cmd {
        GrantCmd::Create {
            tenant,
            ticket,
            expires_in,
            expires_at,
        } => {
            let expires_at = match (expires_in, expires_at) {
                (_, Some(at)) => at,
                (Some(d), None) => {
                    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(parse_duration(&d)?);
                    t.format(&time::format_description::well_known::Rfc3339)?
                }
                (None, None) => bail!("give --expires-in (e.g. 3d) or --expires-at"),
            };
            let body = json!({"ticket": ticket, "expires_at": expires_at});
            let v = client(remote)?
                .post(&format!("/v1/tenants/{}/support-grants", seg(&tenant)), &body)
                .await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
        GrantCmd::List { tenant } => {
            let v = client(remote)?
                .get(&format!("/v1/tenants/{}/support-grants", seg(&tenant)))
                .await?;
            print(remote, &v, |v| {
                output::rows(v, &["id", "ticket", "expires_at", "active", "revoked_at"]).to_string()
            })
        }
        GrantCmd::Revoke { tenant, id } => {
            let v = client(remote)?
                .call(
                    Method::DELETE,
                    &format!("/v1/tenants/{}/support-grants/{}", seg(&tenant), seg(&id)),
                    None,
                )
                .await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
    }
}

pub(crate) async fn key(cmd: KeyCmd, remote: &Remote) -> Result<ExitCode> {
    match cmd {
        KeyCmd::Create {
            role,
            org,
            tenant,
            product,
            label,
        } => {
            let mut body = json!({"role": enum_name(role)});
            for (k, v) in [("org", org), ("tenant", tenant), ("product", product), ("label", label)] {
                if let Some(v) = v {
                    body[k] = json!(v);
                }
            }
            let v = client(remote)?.post("/v1/keys", &body).await?;
            print(remote, &v, |v| {
                let mut described = v.clone();
                if let Some(m) = described.as_object_mut() {
                    m.remove("key");
                }
                format!(
                    "{}\nThe key is shown only this once:\n\n    {}\n",
                    output::object(&described),
                    output::cell(v.get("key"))
                )
            })
        }
        KeyCmd::List => {
            let v = client(remote)?.get("/v1/keys").await?;
            print(remote, &v, |v| {
                output::rows(
                    v,
                    &[
                        "id",
                        "role",
                        "org",
                        "tenant",
                        "product",
                        "label",
                        "created_at",
                        "revoked_at",
                    ],
                )
                .to_string()
            })
        }
        KeyCmd::Revoke { id } => {
            let v = client(remote)?
                .call(Method::DELETE, &format!("/v1/keys/{}", seg(&id)), None)
                .await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
    }
}

/// `datapact decide`: the decision and every reason; exits 3 when it is a denial.
pub(crate) async fn decide(a: DecideArgs, remote: &Remote) -> Result<ExitCode> {
    let mut body = json!({"tenant": a.tenant, "product": a.product, "purpose": enum_name(a.purpose)});
    if let Some(k) = a.data_kind {
        body["data_kind"] = json!(enum_name(k));
    }
    if let Some(r) = &a.region {
        body["region"] = json!(r);
    }
    let v = client(remote)?.post("/v1/decisions", &body).await?;
    let allowed = v.get("allowed").and_then(Value::as_bool).unwrap_or(false);
    print(remote, &v, |v| {
        format!(
            "{} {} for {} on {} (region {})\n{}",
            if allowed { "ALLOWED" } else { "DENIED" },
            output::cell(v.get("purpose")),
            output::cell(v.get("product")),
            output::cell(v.get("tenant")),
            output::cell(v.get("region")),
            reasons_table(v)
        )
    })?;
    Ok(if allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DENIED)
    })
}

#[cfg(test)]
mod merge_tests {
    use super::merge_patch;
    use serde_json::json;

    #[test]
    fn settings_merge_as_rfc_7386_says() {
        let mut doc =
            json!({"locked": ["pii"], "products": {"ixp": {"pii": "off", "save_prompts": true}}, "pii": "block"});
        merge_patch(
            &mut doc,
            &json!({"products": {"ixp": {"pii": null}, "assistant": {"genai_enabled": false}}, "pii": null}),
        );
        assert_eq!(
            doc,
            json!({"locked": ["pii"], "products": {"ixp": {"save_prompts": true}, "assistant": {"genai_enabled": false}}})
        );
        // Arrays replace, they do not merge.
        merge_patch(&mut doc, &json!({"locked": ["models"]}));
        assert_eq!(doc["locked"], json!(["models"]));
    }
}
