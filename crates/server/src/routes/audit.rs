//! The audit log over HTTP: signed checkpoints, inclusion and consistency proofs, entries and
//! exports. An organization's `org_admin` and `auditor` see their organization's entries only;
//! the vendor's `platform_admin` and unscoped auditors see all.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use datapact_audit::{Action, AuditError, Checkpoint, Entry, Outcome, Query, Resource, StoredEntry};
use datapact_governance::{ApiKey, OrgId, Purpose, Registry, Role};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::audit::Ev;
use crate::extract::{Caller, QueryParams};
use crate::guard;
use crate::problem::ApiError;
use crate::state::{AppState, now};
use crate::views::Page;

/// Who may read the audit log (each within its scope).
const READERS: &[Role] = &[Role::PlatformAdmin, Role::Auditor, Role::OrgAdmin];

/// Filters of `GET /v1/audit/entries` and `GET /v1/audit/export`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// Only this organization (scoped callers see their own only).
    #[param(pattern = "^org_[0-9a-fA-F]{32}$")]
    pub org: Option<String>,
    /// Only this tenant.
    #[param(pattern = "^ten_[0-9a-fA-F]{32}$")]
    pub tenant: Option<String>,
    /// Only this product.
    #[param(min_length = 1)]
    pub product: Option<String>,
    /// Only this action (e.g. `content_read`).
    pub action: Option<String>,
    /// Only this purpose (e.g. `support_access`).
    #[param(value_type = Option<Purpose>)]
    pub purpose: Option<String>,
    /// Only this outcome: `allowed`, `denied` or `error`.
    pub outcome: Option<String>,
    /// At or after this time (RFC 3339). Entries default to the configured window (60 days).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Before this time (RFC 3339); later than `since`.
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Page size, 1 to 1000 (default 100); entries only.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` value of the previous page: entries after this index.
    pub after: Option<u64>,
    /// Export format: `jsonl` (default) or `csv`; export only.
    #[param(value_type = Option<ExportFormat>)]
    pub format: Option<String>,
}

/// `?index=&tree_size=`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry's index.
    pub index: u64,
    /// The tree size the proof is for (default: the newest checkpoint's).
    pub tree_size: Option<u64>,
}

/// `?from=&to=`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older tree size.
    pub from: u64,
    /// The newer tree size (default: the newest checkpoint's).
    pub to: Option<u64>,
}

/// `?after=&limit=` over checkpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckpointsQuery {
    /// Checkpoints with a larger tree size than this.
    pub after: Option<u64>,
    /// At most this many, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The formats of an audit export.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ExportFormat {
    /// JSON lines, one entry per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

/// Vendor support access as the customer sees it: the grant and its ticket.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SupportAccessView {
    /// The grant the read happened under.
    pub grant: String,
    /// The customer's ticket reference of that grant.
    pub ticket: Option<String>,
}

/// An entry as the API returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    /// Position in the log.
    pub index: u64,
    /// Base64 of the exact leaf bytes; leaf hash = SHA-256(0x00 ‖ leaf).
    pub leaf: String,
    /// The entry, parsed from `leaf`.
    #[schema(value_type = Object)]
    pub entry: Entry,
    /// Present when this was a read by the vendor's support staff under a customer's grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_access: Option<SupportAccessView>,
}

impl EntryView {
    fn of(e: StoredEntry, registry: &Registry) -> Self {
        let ev = &e.entry.event;
        let support_access = (ev.action == Action::ContentRead
            && ev.purpose == Some(Purpose::SupportAccess)
            && ev.outcome == Outcome::Allowed)
            .then(|| {
                let grant = ev.resources.iter().find_map(|r| match r {
                    Resource::Grant(g) => Some(*g),
                    _ => None,
                })?;
                let ticket = ev
                    .tenant
                    .and_then(|t| registry.tenant(t))
                    .and_then(|t| t.grants.iter().find(|g| g.id == grant).map(|g| g.ticket.clone()));
                Some(SupportAccessView {
                    grant: grant.to_string(),
                    ticket,
                })
            })
            .flatten();
        Self {
            index: e.index,
            leaf: e.leaf,
            entry: e.entry,
            support_access,
        }
    }
}

fn audit_error(e: AuditError) -> ApiError {
    match e {
        AuditError::OutOfRange(m) => ApiError::invalid("out_of_range", "tree_size", m),
        other => ApiError::storage(other),
    }
}

/// An index or size of the log from a query: the log counts in signed 64 bits, as the
/// document's `int64` says, so a larger number is the client's mistake, named by its field.
fn log_index(field: &str, v: Option<u64>) -> Result<Option<u64>, ApiError> {
    match v {
        Some(n) if n > i64::MAX as u64 => Err(ApiError::invalid(
            "out_of_range",
            field,
            format!("`{field}` is at most {}", i64::MAX),
        )),
        other => Ok(other),
    }
}

fn parse_time(field: &str, v: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    v.map(|s| {
        OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|_| ApiError::invalid("invalid_query", field, format!("`{field}` must be an RFC 3339 time")))
    })
    .transpose()
}

fn wire_enum<T: serde::de::DeserializeOwned>(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    match v {
        None => Ok(None),
        Some(s) => serde_json::from_value::<T>(serde_json::Value::String(s.clone()))
            .map(|_| Some(s.clone()))
            .map_err(|_| ApiError::invalid("invalid_query", field, format!("unknown {field} `{s}`"))),
    }
}

/// Turns the filters into a log query within the caller's scope. A scoped caller naming
/// another organization or a tenant it cannot see gets 404, as for any other resource.
fn scoped_query(st: &AppState, c: &ApiKey, q: EntriesQuery) -> Result<Query, ApiError> {
    guard::allow(c, READERS, "read the audit log")?;
    let mut org = match q.org.as_deref() {
        None => None,
        Some(o) => {
            let id: OrgId = o
                .parse()
                .ok()
                .filter(|id| c.sees_org(*id))
                .ok_or_else(|| ApiError::not_found("organization", o).field("org"))?;
            Some(id)
        }
    };
    if let Some(own) = c.org {
        org = Some(own);
    }
    let mut tenant = match q.tenant.as_deref() {
        None => None,
        Some(t) => Some(guard::tenant(st, c, t).map_err(|e| e.field("tenant"))?.0.id.to_string()),
    };
    if let Some(own) = c.tenant {
        tenant = Some(own.to_string());
    }
    if let Some(p) = &q.product {
        super::check::product(st, "product", p)?;
    }
    let (since, until) = (
        parse_time("since", q.since.as_deref())?,
        parse_time("until", q.until.as_deref())?,
    );
    if let (Some(a), Some(b)) = (since, until)
        && a >= b
    {
        return Err(ApiError::invalid(
            "invalid_query",
            "until",
            "`until` must be later than `since`",
        ));
    }
    // An organization's entries are also its tenants' (every one it has had: tenants are never
    // removed from the registry).
    let org_tenants = match (org, &tenant) {
        (Some(id), None) => st
            .registry
            .org(id)
            .map(|o| o.tenants.iter().map(|t| t.to_string()).collect()),
        _ => None,
    };
    Ok(Query {
        org: org.map(|o| o.to_string()),
        org_tenants,
        tenant,
        product: q.product,
        action: wire_enum::<Action>("action", q.action).map_err(|mut e| {
            let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
            e.detail = format!("{}; actions: {}", e.detail, names.join(", "));
            e
        })?,
        purpose: wire_enum::<Purpose>("purpose", q.purpose)?,
        outcome: wire_enum::<Outcome>("outcome", q.outcome)?,
        since,
        until,
        after: log_index("after", q.after)?,
        limit: 100,
    })
}

/// The entry of a read of the log, scoped as the query was (so an organization's auditors
/// see reads of their organization's entries, whoever made them).
fn audit_read(c: &ApiKey, q: &Query) -> Ev {
    let mut ev = Ev::by(c, Action::AuditRead);
    if let Some(org) = q.org.as_deref().and_then(|o| o.parse().ok()) {
        ev = ev.org(org);
    }
    if let Some(t) = q.tenant.as_deref().and_then(|t| t.parse().ok()) {
        ev = ev.tenant_id(t);
    }
    ev
}

/// The outcome of a read of the log, as the API answers it.
fn read_log<T>(r: Result<T, AuditError>) -> Result<T, ApiError> {
    r.map_err(audit_error)
}

/// A signed checkpoint of the log as it is now.
#[utoipa::path(get, path = "/v1/audit/checkpoint", tag = "audit", security(("bearer" = [])),
    responses((status = 200, description = "`{\"tree_size\", \"root_hash\", \"timestamp\", \"signature\", \"key_id\", \"public_key\", \"note\"}`")))]
pub async fn checkpoint(State(st): State<Arc<AppState>>, Caller(c): Caller) -> Result<Json<Checkpoint>, ApiError> {
    guard::allow(&c, READERS, "read audit checkpoints")?;
    Ok(Json(read_log(st.audit_log.checkpoint().await)?))
}

/// Every checkpoint the log has signed, oldest first: keep them to prove the log only grew.
#[utoipa::path(get, path = "/v1/audit/checkpoints", tag = "audit", security(("bearer" = [])), params(CheckpointsQuery),
    responses((status = 200, description = "`{\"items\": [checkpoint...], \"next\"}`")))]
pub async fn checkpoints(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    QueryParams(q): QueryParams<CheckpointsQuery>,
) -> Result<Json<Page<Checkpoint>>, ApiError> {
    guard::allow(&c, READERS, "read audit checkpoints")?;
    let limit = super::check::page_bounds(&crate::views::PageQuery {
        limit: q.limit,
        after: None,
    })?;
    let after = log_index("after", q.after)?;
    let mut items = read_log(st.audit_log.checkpoints(after, limit + 1).await)?;
    let next = (items.len() > limit).then(|| {
        items.truncate(limit);
        items.last().map(|c| c.tree_size.to_string()).unwrap_or_default()
    });
    Ok(Json(Page { items, next }))
}

/// A scoped caller may ask for proofs of entries it can see only.
async fn visible_index(st: &AppState, c: &ApiKey, index: u64) -> Result<(), ApiError> {
    if c.is_global() {
        return Ok(());
    }
    let entry = read_log(st.audit_log.entry(index).await)?;
    let visible = entry.is_some_and(|e| {
        let ev = &e.entry.event;
        ev.org.is_some_and(|o| c.sees_org(o)) && c.tenant.is_none_or(|t| ev.tenant == Some(t))
    });
    if visible {
        Ok(())
    } else {
        Err(ApiError::not_found("audit entry", &index.to_string()).field("index"))
    }
}

async fn default_size(st: &AppState, given: Option<u64>) -> Result<u64, ApiError> {
    match given {
        Some(s) => Ok(s),
        None => Ok(read_log(st.audit_log.checkpoint().await)?.tree_size),
    }
}

fn b64_hashes(hs: Vec<[u8; 32]>) -> Vec<String> {
    hs.iter().map(|h| B64.encode(h)).collect()
}

/// The RFC 6962 inclusion proof of entry `index` in the tree of `tree_size` entries.
#[utoipa::path(get, path = "/v1/audit/proofs/inclusion", tag = "audit", security(("bearer" = [])), params(InclusionQuery),
    responses((status = 200, description = "`{\"index\", \"tree_size\", \"hashes\": [base64...]}`"), (status = 404, body = crate::problem::Problem)))]
pub async fn inclusion(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    QueryParams(q): QueryParams<InclusionQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    guard::allow(&c, READERS, "read audit proofs")?;
    let index = log_index("index", Some(q.index))?.unwrap_or_default();
    visible_index(&st, &c, index).await?;
    let size = default_size(&st, log_index("tree_size", q.tree_size)?).await?;
    let hashes = read_log(st.audit_log.inclusion_proof(index, size).await)?;
    Ok(Json(serde_json::json!({
        "index": index,
        "tree_size": size,
        "hashes": b64_hashes(hashes),
    })))
}

/// The RFC 6962 consistency proof between tree sizes `from` and `to`.
#[utoipa::path(get, path = "/v1/audit/proofs/consistency", tag = "audit", security(("bearer" = [])), params(ConsistencyQuery),
    responses((status = 200, description = "`{\"from\", \"to\", \"hashes\": [base64...]}`"), (status = 422, body = crate::problem::Problem)))]
pub async fn consistency(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    QueryParams(q): QueryParams<ConsistencyQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    guard::allow(&c, READERS, "read audit proofs")?;
    let to = default_size(&st, log_index("to", q.to)?).await?;
    let from = log_index("from", Some(q.from))?.unwrap_or_default();
    let hashes = read_log(st.audit_log.consistency_proof(from, to).await).map_err(|e| e.field("from"))?;
    Ok(Json(serde_json::json!({
        "from": from,
        "to": to,
        "hashes": b64_hashes(hashes),
    })))
}

/// Entries in the caller's scope, oldest first, filtered and paginated.
#[utoipa::path(get, path = "/v1/audit/entries", tag = "audit", security(("bearer" = [])), params(EntriesQuery),
    responses((status = 200, body = Page<EntryView>), (status = 422, body = crate::problem::Problem)))]
pub async fn entries(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    QueryParams(q): QueryParams<EntriesQuery>,
) -> Result<Json<Page<EntryView>>, ApiError> {
    if q.format.is_some() {
        return Err(ApiError::invalid(
            "invalid_query",
            "format",
            "`format` is for /v1/audit/export",
        ));
    }
    let limit = super::check::page_bounds(&crate::views::PageQuery {
        limit: q.limit,
        after: None,
    })?;
    let mut query = scoped_query(&st, &c, q)?;
    if query.since.is_none() {
        query.since = Some(now() - time::Duration::days(st.config.audit.default_window_days as i64));
    }
    query.limit = limit + 1;
    // Reading the log is access too: the customer's auditors see who looked. Appended first,
    // so the read also sees every entry queued before it (the writer commits in order).
    st.audit(audit_read(&c, &query)).await?;
    let mut items = read_log(st.audit_log.query(query).await)?;
    let next = (items.len() > limit).then(|| {
        items.truncate(limit);
        items.last().map(|e| e.index.to_string()).unwrap_or_default()
    });
    Ok(Json(Page {
        items: items.into_iter().map(|e| EntryView::of(e, &st.registry)).collect(),
        next,
    }))
}

const CSV_HEADER: &str = "index,time,action,outcome,org,tenant,product,purpose,region,actor_key,actor_role,resources,reasons,request_id,correlation,support_ticket,leaf\n";

fn csv_field(out: &mut String, v: &str) {
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

fn wire<T: Serialize>(v: &T) -> String {
    datapact_audit::entry::wire_name(v)
}

fn resource_text(r: &Resource) -> String {
    match r {
        Resource::Record(id) => format!("record:{id}"),
        Resource::Grant(id) => format!("grant:{id}"),
        Resource::OptOut(id) => format!("opt_out:{id}"),
        Resource::ApiKey(id) => format!("api_key:{id}"),
        Resource::Job(id) => format!("job:{id}"),
        Resource::DataKey(v) => format!("data_key:{v}"),
        Resource::Certificate(c) => format!("certificate:{c}"),
        Resource::Count(n) => format!("count:{n}"),
        Resource::Dataset(d) => format!("dataset:{d}"),
        Resource::Model(m) => format!("model:{m}"),
    }
}

fn csv_row(v: &EntryView) -> String {
    let e = &v.entry.event;
    let opt = |o: Option<String>| o.unwrap_or_default();
    let cols = [
        v.index.to_string(),
        v.entry.time.format(&Rfc3339).unwrap_or_default(),
        wire(&e.action),
        wire(&e.outcome),
        opt(e.org.map(|o| o.to_string())),
        opt(e.tenant.map(|t| t.to_string())),
        opt(e.product.as_ref().map(|p| p.to_string())),
        opt(e.purpose.map(|p| wire(&p))),
        opt(e.region.as_ref().map(|r| r.to_string())),
        opt(e.actor.key.map(|k| k.to_string())),
        opt(e.actor.role.map(|r| wire(&r))),
        e.resources.iter().map(resource_text).collect::<Vec<_>>().join(";"),
        e.reasons.iter().map(wire).collect::<Vec<_>>().join(";"),
        opt(e.request_id.map(|r| r.to_string())),
        opt(e.correlation.clone()),
        opt(v.support_access.as_ref().and_then(|s| s.ticket.clone())),
        v.leaf.clone(),
    ];
    let mut out = String::with_capacity(512);
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(&mut out, c);
    }
    out.push('\n');
    out
}

/// Every entry in the caller's scope matching the filters, any time range, streamed as JSON
/// lines (one entry per line, as `entries` returns them) or CSV.
#[utoipa::path(get, path = "/v1/audit/export", tag = "audit", security(("bearer" = [])), params(EntriesQuery),
    responses((status = 200, content_type = "application/x-ndjson", description = "JSON lines, or CSV with `format=csv`")))]
pub async fn export(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    QueryParams(mut q): QueryParams<EntriesQuery>,
) -> Result<Response, ApiError> {
    if q.limit.is_some() {
        return Err(ApiError::invalid(
            "invalid_query",
            "limit",
            "an export has no page size; narrow it with since/until",
        ));
    }
    let csv = match q.format.take().as_deref() {
        None | Some("jsonl") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "invalid_query",
                "format",
                format!("unknown format `{other}`: use jsonl or csv"),
            ));
        }
    };
    let mut query = scoped_query(&st, &c, q)?;
    if query.since.is_none() {
        // The same default window as entries: an export is bounded unless asked for more.
        query.since = Some(now() - time::Duration::days(st.config.audit.default_window_days as i64));
    }
    query.limit = 1000;
    st.audit(audit_read(&c, &query)).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let log = Arc::clone(&st.audit_log);
    let registry = Arc::clone(&st.registry);
    tokio::spawn(async move {
        let mut buf = if csv { CSV_HEADER.to_string() } else { String::new() };
        loop {
            let page = match log.query(query.clone()).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "audit export failed midway; the stream is cut");
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            let last = page.last().map(|e| e.index);
            for e in page {
                let v = EntryView::of(e, &registry);
                if csv {
                    buf.push_str(&csv_row(&v));
                } else if let Ok(line) = serde_json::to_string(&v) {
                    buf.push_str(&line);
                    buf.push('\n');
                }
            }
            if !buf.is_empty() && tx.send(Ok(Bytes::from(std::mem::take(&mut buf)))).await.is_err() {
                return;
            }
            match last {
                Some(l) => query.after = Some(l),
                None => return,
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let content_type = if csv {
        "text/csv; charset=utf-8"
    } else {
        "application/x-ndjson"
    };
    Ok(([(header::CONTENT_TYPE, content_type)], Body::from_stream(stream)).into_response())
}
