//! Customer records: write, list, read with a purpose, modify, delete, export.
//!
//! Content is only ever returned through a purpose that the decision point allows for this
//! tenant, product and data kind; a denial answers 403 with every reason.

use std::sync::Arc;

use crate::extract::Path;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use datapact_audit::{Action, Outcome, Resource};
use datapact_governance::{
    ApiKey, Decision, DecisionRequest, Org, Purpose, Reason, ReasonCode, RecordId, Role, Tenant,
};
use datapact_vault::{Content, ListFilter, NewRecord, RecordPatch};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::check::product;
use crate::audit::Ev;
use crate::blocking::with_vault;
use crate::extract::{Caller, JsonBody, QueryParams};
use crate::guard;
use crate::problem::ApiError;
use crate::state::{AppState, now};
use crate::views::{BatchInput, ExportQuery, Page, ReadQuery, RecordInput, RecordPatchInput, RecordQuery, RecordView};

/// Who may write records: a product's own service identity.
const WRITERS: &[Role] = &[Role::Service];
/// Who may change or delete records: the product itself and the customer's administrator.
const MODIFIERS: &[Role] = &[Role::Service, Role::OrgAdmin];
/// Who may read record content (each through an allowed purpose).
const CONTENT_READERS: &[Role] = &[Role::Service, Role::OrgAdmin, Role::PlatformAdmin, Role::Support];
/// Who may list record metadata.
const META_READERS: &[Role] = &[
    Role::Service,
    Role::OrgAdmin,
    Role::PlatformAdmin,
    Role::Support,
    Role::Auditor,
];

fn content_of(prefix: &str, text: Option<String>, b64: Option<String>) -> Result<Option<Content>, ApiError> {
    match (text, b64) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "invalid_value",
            &format!("{prefix}content_base64"),
            "give `content` or `content_base64`, not both",
        )),
        (Some(t), None) => Ok(Some(Content::Text(t))),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map(|v| Some(Content::Bytes(v)))
            .map_err(|e| {
                ApiError::invalid(
                    "invalid_value",
                    &format!("{prefix}content_base64"),
                    format!("not base64: {e}"),
                )
            }),
        (None, None) => Ok(None),
    }
}

/// Refuses a service key acting for another product, as if the record did not exist.
fn own_product(c: &ApiKey, product: &str, id: &str) -> Result<(), ApiError> {
    if c.role == Role::Service && !c.acts_for_product(product) {
        return Err(ApiError::not_found("record", id));
    }
    Ok(())
}

/// Asks the decision point. A denial is logged as `denied` for `ev` with every reason and
/// answered 403; an allowance is returned for the caller to log with the operation.
pub(crate) async fn require_purpose(
    st: &AppState,
    ev: &Ev,
    tenant: &Tenant,
    product: &str,
    purpose: Purpose,
    kind: Option<datapact_governance::DataKind>,
) -> Result<Decision, ApiError> {
    let d = st
        .registry
        .decide(
            &DecisionRequest {
                tenant: tenant.id,
                product,
                purpose,
                data_kind: kind,
                region: None,
            },
            now(),
        )
        .map_err(ApiError::internal)?;
    if d.allowed {
        return Ok(d);
    }
    st.audit(
        ev.clone()
            .product(product)
            .purpose(purpose)
            .outcome(Outcome::Denied)
            .reasons(&d.reasons),
    )
    .await?;
    let mut e = ApiError::new(
        StatusCode::FORBIDDEN,
        "purpose_denied",
        format!("{purpose} use of this tenant's {product} data is not allowed"),
    );
    e.reasons = serde_json::to_value(&d.reasons).ok().map(Box::new);
    Err(e)
}

fn to_new(st: &AppState, c: &ApiKey, prefix: &str, r: RecordInput) -> Result<NewRecord, ApiError> {
    let product = product(st, &format!("{prefix}product"), &r.product)?;
    if !c.acts_for_product(&product) {
        return Err(ApiError::forbidden(format!(
            "this key writes records of product `{}` only",
            c.product.as_deref().unwrap_or("")
        ))
        .field(format!("{prefix}product")));
    }
    let content = content_of(prefix, r.content, r.content_base64)?.ok_or_else(|| {
        ApiError::invalid(
            "missing_field",
            &format!("{prefix}content"),
            "give `content` (text) or `content_base64` (bytes)",
        )
    })?;
    Ok(NewRecord {
        product,
        data_kind: r.data_kind,
        content,
        content_type: r.content_type,
        categories: r.categories.unwrap_or_default(),
        metadata: r.metadata,
    })
}

async fn write_records(
    st: &Arc<AppState>,
    c: &ApiKey,
    tenant_id: &str,
    inputs: Vec<RecordInput>,
    batch: bool,
) -> Result<Vec<datapact_vault::RecordMeta>, ApiError> {
    let (tenant, _) = guard::tenant(st, c, tenant_id)?;
    guard::allow(
        c,
        WRITERS,
        "write records (a product's service key writes its own records)",
    )?;
    if inputs.is_empty() {
        return Err(ApiError::invalid("invalid_value", "records", "the batch is empty"));
    }
    if inputs.len() > st.config.vault.max_batch_records {
        return Err(ApiError::invalid(
            "batch_too_large",
            "records",
            format!("at most {} records per batch", st.config.vault.max_batch_records),
        ));
    }
    let mut records = Vec::with_capacity(inputs.len());
    for (i, r) in inputs.into_iter().enumerate() {
        let prefix = if batch { format!("records[{i}].") } else { String::new() };
        records.push(to_new(st, c, &prefix, r)?);
    }
    let mut products: Vec<String> = records.iter().map(|r| r.product.clone()).collect();
    products.sort();
    products.dedup();
    let ids: Vec<RecordId> = records.iter().map(|_| RecordId::generate()).collect();
    let mut ev = Ev::by(c, Action::RecordWrite)
        .tenant(&tenant)
        .purpose(Purpose::Service)
        .resources(ids.iter().map(|id| Resource::Record(*id)));
    for p in &products {
        let d = require_purpose(st, &ev, &tenant, p, Purpose::Service, None).await?;
        ev = ev.reasons(&d.reasons);
    }
    if let [only] = products.as_slice() {
        ev = ev.product(only);
    }
    st.audited(
        ev,
        with_vault(st, &tenant, move |v, t| v.put_with_ids(t, records, ids, now())),
    )
    .await
}

/// Writes one record (a product's service key).
#[utoipa::path(post, path = "/v1/tenants/{tenant}/records", tag = "records", security(("bearer" = [])),
    params(("tenant" = String, Path)), request_body = RecordInput,
    responses((status = 201, body = RecordView), (status = 403, body = crate::problem::Problem), (status = 413, body = crate::problem::Problem)))]
pub async fn create(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(tenant_id): Path<String>,
    JsonBody(body): JsonBody<RecordInput>,
) -> Result<(StatusCode, Json<RecordView>), ApiError> {
    let mut metas = write_records(&st, &c, &tenant_id, vec![body], false).await?;
    let meta = metas.pop().ok_or_else(|| ApiError::internal("no record written"))?;
    Ok((StatusCode::CREATED, Json(RecordView::of(meta, None))))
}

/// Writes many records, all or nothing.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/records/batch", tag = "records", security(("bearer" = [])),
    params(("tenant" = String, Path)), request_body = BatchInput,
    responses((status = 201, description = "`{\"ids\": [...]}` in the order given"), (status = 422, body = crate::problem::Problem)))]
pub async fn create_batch(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(tenant_id): Path<String>,
    JsonBody(body): JsonBody<BatchInput>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let metas = write_records(&st, &c, &tenant_id, body.records, true).await?;
    let ids: Vec<String> = metas.iter().map(|m| m.id.to_string()).collect();
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "ids": ids }))))
}

fn parse_time(field: &str, v: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    v.map(|s| {
        OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|_| ApiError::invalid("invalid_query", field, format!("`{field}` must be an RFC 3339 time")))
    })
    .transpose()
}

/// Lists record metadata (never content), filtered and paginated.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/records", tag = "records", security(("bearer" = [])),
    params(("tenant" = String, Path), RecordQuery), responses((status = 200, body = Page<RecordView>)))]
pub async fn list(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(tenant_id): Path<String>,
    QueryParams(q): QueryParams<RecordQuery>,
) -> Result<Json<Page<RecordView>>, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &tenant_id)?;
    guard::allow(&c, META_READERS, "list records")?;
    let limit = match q.limit {
        None => 100,
        Some(n @ 1..=1000) => n as usize,
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_query",
                "limit",
                "`limit` must be between 1 and 1000",
            ));
        }
    };
    if let Some(p) = &q.product {
        super::check::product(&st, "product", p)?;
    }
    let mut product_filter = q.product.clone();
    if c.role == Role::Service {
        match (&q.product, &c.product) {
            (Some(p), Some(own)) if p != own => {
                return Ok(Json(Page {
                    items: vec![],
                    next: None,
                }));
            }
            (_, own) => product_filter = own.clone(),
        }
    }
    let filter = ListFilter {
        product: product_filter,
        data_kind: q.data_kind,
        category: q.category,
        created_after: parse_time("created_after", q.created_after.as_deref())?,
        created_before: parse_time("created_before", q.created_before.as_deref())?,
        after: match q.after.as_deref() {
            None => None,
            Some(a) => Some(
                a.parse()
                    .map_err(|_| ApiError::invalid("invalid_query", "after", "`after` is not a record id"))?,
            ),
        },
        limit: limit + 1,
    };
    let mut ev = Ev::by(&c, Action::RecordList).tenant(&tenant);
    if let Some(p) = &filter.product {
        ev = ev.product(p);
    }
    let mut metas = with_vault(&st, &tenant, move |v, t| v.list(t, &filter)).await?;
    // Metadata is customer data too: logged before it is returned.
    st.audit(ev.resource(Resource::Count(metas.len().min(limit) as u64)))
        .await?;
    let next = (metas.len() > limit).then(|| {
        metas.truncate(limit);
        metas.last().map(|m| m.id.to_string()).unwrap_or_default()
    });
    Ok(Json(Page {
        items: metas.into_iter().map(|m| RecordView::of(m, None)).collect(),
        next,
    }))
}

fn record_id(id: &str) -> Result<RecordId, ApiError> {
    id.parse().map_err(|_| ApiError::not_found("record", id))
}

/// Who may read content under which purpose, before the decision point is asked:
/// - nobody under `telemetry`, which is content-free by definition;
/// - the vendor's people (`platform_admin`, `support`) only under `support_access`, which the
///   decision point then allows only while the customer's grant is active;
/// - `support_access` only for the vendor's people.
///
/// A refusal carries its reason, so it can be audited like a denied decision.
fn reader_refusal(c: &ApiKey, purpose: Purpose) -> Option<(ApiError, Reason)> {
    let vendor = matches!(c.role, Role::PlatformAdmin | Role::Support);
    let (code, status_code, detail, reason) = if purpose == Purpose::Telemetry {
        (
            "content_not_for_telemetry",
            ReasonCode::ContentNotForTelemetry,
            "telemetry carries no customer content, so content is never read under purpose=telemetry",
            "content is never read for telemetry",
        )
    } else if vendor && purpose != Purpose::SupportAccess {
        (
            "forbidden",
            ReasonCode::VendorNeedsSupportAccess,
            "the vendor's people read customer content only with purpose=support_access, under the customer's active grant",
            "the vendor's people read content only under the customer's support grant",
        )
    } else if !vendor && purpose == Purpose::SupportAccess {
        (
            "forbidden",
            ReasonCode::SupportAccessIsForVendor,
            "purpose=support_access is for the vendor's support staff",
            "support_access is the vendor's purpose",
        )
    } else {
        return None;
    };
    let e = ApiError::new(StatusCode::FORBIDDEN, code, detail).field("purpose");
    Some((e, Reason::new(status_code, reason)))
}

/// Reads one record's content for a purpose the decision point allows.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/records/{id}", tag = "records", security(("bearer" = [])),
    params(("tenant" = String, Path), ("id" = String, Path), ReadQuery),
    responses((status = 200, body = RecordView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn read(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((tenant_id, id)): Path<(String, String)>,
    QueryParams(q): QueryParams<ReadQuery>,
) -> Result<Json<RecordView>, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &tenant_id)?;
    let purpose = q.purpose.ok_or_else(|| {
        ApiError::invalid(
            "missing_field",
            "purpose",
            "reading content needs `?purpose=`; list records for metadata only",
        )
    })?;
    guard::allow(&c, CONTENT_READERS, "read record content")?;
    let rid = record_id(&id)?;
    let meta = with_vault(&st, &tenant, move |v, t| v.meta(t, rid)).await?;
    own_product(&c, &meta.product, &id)?;
    let mut ev = Ev::by(&c, Action::ContentRead)
        .tenant(&tenant)
        .resource(Resource::Record(rid));
    if let Some((e, reason)) = reader_refusal(&c, purpose) {
        // A refused attempt at content is access too: the customer sees who tried.
        st.audit(
            ev.product(&meta.product)
                .purpose(purpose)
                .outcome(Outcome::Denied)
                .reasons(std::slice::from_ref(&reason)),
        )
        .await?;
        return Err(e);
    }
    if purpose == Purpose::SupportAccess
        && let Some(g) = tenant.active_grant(now())
    {
        // The customer's view names the grant (and its ticket) this read happened under.
        ev = ev.resource(Resource::Grant(g.id));
    }
    let d = require_purpose(&st, &ev, &tenant, &meta.product, purpose, Some(meta.data_kind)).await?;
    let record = with_vault(&st, &tenant, move |v, t| v.get(t, rid)).await?;
    // No content leaves before its read is on the record.
    st.audit(ev.product(&meta.product).purpose(purpose).reasons(&d.reasons))
        .await?;
    Ok(Json(RecordView::of(record.meta, Some(record.content))))
}

/// Changes a record: new content gets a new ciphertext and the old one is destroyed.
#[utoipa::path(patch, path = "/v1/tenants/{tenant}/records/{id}", tag = "records", security(("bearer" = [])),
    params(("tenant" = String, Path), ("id" = String, Path)), request_body = RecordPatchInput,
    responses((status = 200, body = RecordView), (status = 404, body = crate::problem::Problem)))]
pub async fn patch(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((tenant_id, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<RecordPatchInput>,
) -> Result<Json<RecordView>, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &tenant_id)?;
    guard::allow(&c, MODIFIERS, "modify records")?;
    let rid = record_id(&id)?;
    let patch = RecordPatch {
        content: content_of("", body.content, body.content_base64)?,
        content_type: body.content_type,
        categories: body.categories,
        metadata: body.metadata,
    };
    let meta = with_vault(&st, &tenant, move |v, t| v.meta(t, rid)).await?;
    own_product(&c, &meta.product, &id)?;
    let mut ev = Ev::by(&c, Action::RecordModify)
        .tenant(&tenant)
        .product(&meta.product)
        .purpose(Purpose::Service)
        .resource(Resource::Record(rid));
    // Changing content is processing, like writing it: the same decision as a POST.
    let d = require_purpose(&st, &ev, &tenant, &meta.product, Purpose::Service, Some(meta.data_kind)).await?;
    ev = ev.reasons(&d.reasons);
    // A copy of it in a training dataset is stale once its content or categories change: the
    // datasets owe it, and the copy goes before the record changes.
    let stales = patch.content.is_some() || patch.categories.is_some();
    let meta = st
        .audited(ev, async {
            if stales {
                crate::training::record_changed(&st, &tenant, rid, false).await?;
            }
            let meta = with_vault(&st, &tenant, move |v, t| v.update(t, rid, patch, now())).await?;
            if stales {
                // A copy a build wrote in between goes too (idempotent).
                crate::training::record_changed(&st, &tenant, rid, false).await?;
            }
            Ok(meta)
        })
        .await?;
    Ok(Json(RecordView::of(meta, None)))
}

/// Deletes a record.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/records/{id}", tag = "records", security(("bearer" = [])),
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = crate::problem::Problem)))]
pub async fn delete(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((tenant_id, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (tenant, _) = guard::tenant(&st, &c, &tenant_id)?;
    guard::allow(&c, MODIFIERS, "delete records")?;
    let rid = record_id(&id)?;
    let meta = with_vault(&st, &tenant, move |v, t| v.meta(t, rid)).await?;
    own_product(&c, &meta.product, &id)?;
    let mut ev = Ev::by(&c, Action::RecordDelete)
        .tenant(&tenant)
        .product(&meta.product)
        .resource(Resource::Record(rid));
    if c.role == Role::Service {
        // A product deletes as part of providing its service, so the service decision applies;
        // the customer's own administrator may always delete its data (the right to deletion
        // does not depend on the contract's state).
        ev = ev.purpose(Purpose::Service);
        let d = require_purpose(&st, &ev, &tenant, &meta.product, Purpose::Service, Some(meta.data_kind)).await?;
        ev = ev.reasons(&d.reasons);
    }
    // Its copies in training datasets go first, and the datasets owe it.
    st.audited(ev, async {
        crate::training::record_changed(&st, &tenant, rid, true).await?;
        with_vault(&st, &tenant, move |v, t| v.delete(t, rid)).await?;
        // A copy a build wrote in between goes too (idempotent).
        crate::training::record_changed(&st, &tenant, rid, true).await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who may export: the customer's administrator (export is the customer's right).
fn export_allowed(c: &ApiKey, _org: &Org) -> Result<(), ApiError> {
    guard::allow(
        c,
        &[Role::OrgAdmin],
        "export a tenant's data (the customer's administrator can)",
    )
}

/// Streams every record of the tenant as NDJSON, content decrypted, in bounded memory.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/export", tag = "records", security(("bearer" = [])),
    params(("tenant" = String, Path), ExportQuery),
    responses((status = 200, content_type = "application/x-ndjson", description = "one record per line, as a read returns it")))]
pub async fn export(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(tenant_id): Path<String>,
    QueryParams(q): QueryParams<ExportQuery>,
) -> Result<Response, ApiError> {
    let (tenant, org) = guard::tenant(&st, &c, &tenant_id)?;
    export_allowed(&c, &org)?;
    if let Some(p) = &q.product {
        product(&st, "product", p)?;
    }
    let prod = q.product.clone();
    let total = with_vault(&st, &tenant, move |v, t| v.count(t, prod.as_deref())).await?;
    let mut ev = Ev::by(&c, Action::Export)
        .tenant(&tenant)
        .resource(Resource::Count(total));
    if let Some(p) = &q.product {
        ev = ev.product(p);
    }
    st.audit(ev).await?;
    let tid = tenant.id;
    // A bounded channel between the reader thread and the socket keeps memory flat.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(32);
    let vault = Arc::clone(&st.vault);
    let region = tenant.region.clone();
    tokio::task::spawn_blocking(move || {
        let mut buf = Vec::with_capacity(64 * 1024);
        let result = vault.export(
            datapact_vault::TenantRef {
                id: tid,
                region: &region,
            },
            q.product.as_deref(),
            |r| {
                serde_json::to_writer(&mut buf, &RecordView::of(r.meta, Some(r.content)))
                    .map_err(|e| datapact_vault::VaultError::Crypto(e.to_string()))?;
                buf.push(b'\n');
                if buf.len() >= 60 * 1024 {
                    let chunk = Bytes::from(std::mem::replace(&mut buf, Vec::with_capacity(64 * 1024)));
                    // The client went away: stop reading.
                    return Ok(tx.blocking_send(Ok(chunk)).is_ok());
                }
                Ok(true)
            },
        );
        match result {
            Ok(n) => {
                if !buf.is_empty() {
                    let _ = tx.blocking_send(Ok(Bytes::from(buf)));
                }
                tracing::info!(tenant = %tid, records = n, "export finished");
            }
            Err(e) => {
                tracing::error!(tenant = %tid, error = %e, "export failed midway; the stream is cut");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_string()),
            (
                header::HeaderName::from_static("x-datapact-record-count"),
                total.to_string(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
