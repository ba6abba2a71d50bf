//! LLM usage through the AI trust layer: tokens per tenant, product, model and day, and the
//! token budgets that apply.

use std::sync::Arc;

use crate::extract::Path;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use datapact_gateway::GatewayCaller;
use datapact_gateway::limits::effective_limits;

use crate::Server;
use crate::extract::{Caller, QueryParams};
use crate::guard;
use crate::problem::ApiError;

/// `?from=&to=&product=`
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// First day (`YYYY-MM-DD`, UTC); default: the first of this month.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive; default: today. At most 366 days after `from`.
    #[param(format = Date)]
    pub to: Option<String>,
    /// Only this product.
    #[param(min_length = 1)]
    pub product: Option<String>,
}

/// One row: a product's use of a model on a day.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageRowView {
    /// The day (UTC).
    pub day: String,
    /// The calling product.
    pub product: String,
    /// The model.
    pub model: String,
    /// Calls that reached a provider.
    pub requests: u64,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
}

/// A token budget and how much of it is used.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BudgetView {
    /// The product it covers.
    pub product: String,
    /// `day` or `month` (UTC).
    pub period: String,
    /// Tokens per period.
    pub tokens: u64,
    /// Tokens used this period.
    pub used: u64,
    /// Tokens left.
    pub remaining: u64,
    /// When the period ends (RFC 3339).
    pub resets_at: String,
}

/// A tenant's usage.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageView {
    /// The tenant.
    pub tenant: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Rows by day, product and model.
    pub rows: Vec<UsageRowView>,
    /// Totals over the rows.
    pub totals: UsageTotals,
    /// The budgets of the products in the rows (and every product a budget names).
    pub budgets: Vec<BudgetView>,
}

/// Sums over a usage report.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct UsageTotals {
    /// Calls.
    pub requests: u64,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
}

fn day(field: &str, v: Option<&str>, default: Date) -> Result<Date, ApiError> {
    let Some(s) = v else {
        return Ok(default);
    };
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
            format!("`{field}` must be a day as YYYY-MM-DD, not `{s}`"),
        )
        .field(field)
    })
}

/// A tenant's LLM usage by day, product and model, with its token budgets.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/usage", tag = "gateway", security(("bearer" = [])),
    params(("tenant" = String, Path), UsageQuery),
    responses((status = 200, body = UsageView), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn usage(
    State(srv): State<Server>,
    Caller(c): Caller,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<UsageQuery>,
) -> Result<Json<UsageView>, ApiError> {
    let st = &*srv.gateway;
    let (tenant, org) = guard::tenant(&srv.app, &c, &id)?;
    guard::allow(&c, guard::TENANT_READERS, "read usage")?;
    if let Some(p) = &q.product {
        crate::routes::check::product(&srv.app, "product", p)?;
    }
    let today = OffsetDateTime::now_utc().date();
    let from = day("from", q.from.as_deref(), today.replace_day(1).unwrap_or(today))?;
    let to = day("to", q.to.as_deref(), today)?;
    if from > to || (to - from).whole_days() > 366 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
            "`from` must not be after `to`, and a report covers at most 366 days",
        )
        .field("from"));
    }
    let mut rows = st
        .limits
        .usage(&*st.store, tenant.id, from, to)
        .await
        .map_err(ApiError::storage)?;
    if let Some(p) = &q.product {
        rows.retain(|r| &r.product == p);
    }
    let mut totals = UsageTotals::default();
    for r in &rows {
        totals.requests += r.requests;
        totals.prompt_tokens += r.prompt_tokens;
        totals.completion_tokens += r.completion_tokens;
        totals.total_tokens += r.total_tokens;
    }
    // Budgets of the products in the rows and of every product a budget applies to (the
    // server's, the organization's terms, the AI settings).
    let caller_for = |p: &str| GatewayCaller {
        key: Arc::clone(&c),
        tenant: Arc::clone(&tenant),
        org: Arc::clone(&org),
        product: p.to_string(),
    };
    let mut products: Vec<String> = rows.iter().map(|r| r.product.clone()).collect();
    // Every product a budget applies to: the catalog's, with the limits in force for each.
    let budgets_of: std::collections::BTreeMap<String, Vec<datapact_gateway::limits::Budget>> = st
        .registry
        .catalog()
        .products()
        .iter()
        .map(|p| {
            let l = effective_limits(&st.limits, &caller_for(&p.id));
            (p.id.clone(), datapact_gateway::limits::Limits::budgets(&l))
        })
        .filter(|(_, b)| !b.is_empty())
        .collect();
    products.extend(budgets_of.keys().cloned());
    products.extend(st.limits.budget_products());
    if let Some(p) = &q.product {
        products.retain(|x| x == p);
        products.push(p.clone());
    }
    products.sort();
    products.dedup();
    let mut budgets = Vec::new();
    let now = OffsetDateTime::now_utc();
    for p in products {
        let list = match budgets_of.get(&p) {
            Some(list) => list.clone(),
            None => datapact_gateway::limits::Limits::budgets(&effective_limits(&st.limits, &caller_for(&p))),
        };
        for (b, used, _) in st.limits.budget_status(&*st.store, tenant.id, &p, &list).await {
            let resets = datapact_gateway::limits::period_end(now, b.period);
            budgets.push(BudgetView {
                product: p.clone(),
                period: match b.period {
                    datapact_gateway::config::BudgetPeriod::Day => "day".into(),
                    datapact_gateway::config::BudgetPeriod::Month => "month".into(),
                },
                tokens: b.tokens,
                used,
                remaining: b.tokens.saturating_sub(used),
                resets_at: resets
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            });
        }
    }
    Ok(Json(UsageView {
        tenant: tenant.id.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        rows: rows
            .into_iter()
            .map(|r| UsageRowView {
                day: r.day.to_string(),
                product: r.product,
                model: r.model,
                requests: r.requests,
                prompt_tokens: r.prompt_tokens,
                completion_tokens: r.completion_tokens,
                total_tokens: r.total_tokens,
            })
            .collect(),
        totals,
        budgets,
    }))
}

/// The usage report's route, over the platform's state and the gateway's.
pub fn router(server: Server) -> axum::Router {
    axum::Router::new()
        .route("/v1/tenants/{tenant}/usage", axum::routing::get(usage))
        .with_state(server)
}
