//! Training-data governance over HTTP: datasets (asked for, built in the background, read
//! through their export only), models with their lineage, unlearning debt, and what an
//! organization sees of it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use datapact_audit::{Action, Label, Resource};
use datapact_governance::{ApiKey, Role, TenantId};
use datapact_training::debt::{EventCount, REASON_RECORD_DELETED, REASON_RECORD_MODIFIED, REASON_TENANT_PURGED};
use datapact_training::{Dataset, DatasetSpec, DatasetStatus, Model, TrainingPurpose};
use datapact_vault::{ShardPage, TenantRef};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::audit::Ev;
use crate::extract::{Caller, JsonBody, Path, QueryParams};
use crate::guard;
use crate::problem::ApiError;
use crate::state::{AppState, now};
use crate::training::{self as tr, load_dataset, model_debt, save_dataset, save_model, withheld_now};

/// Who may ask for, read and export datasets: the vendor's platform admins and products; a
/// customer's administrator for its own third-party fine-tuning datasets.
const DATASET_ROLES: &[Role] = &[Role::PlatformAdmin, Role::Service, Role::OrgAdmin];
/// Who may register and read models and their debt: the vendor's side.
const MODEL_ROLES: &[Role] = &[Role::PlatformAdmin, Role::Service];
/// Items read per page of a shard.
const EXPORT_PAGE: usize = 1000;
/// Most datasets one model names.
const MAX_MODEL_DATASETS: usize = 100;

fn spec_error(e: datapact_training::SpecError) -> ApiError {
    ApiError::invalid(e.code, e.field, e.message)
}

/// Whether `c` may see dataset `d` at all (else it answers 404 as if it did not exist).
fn sees(st: &AppState, c: &ApiKey, d: &Dataset) -> bool {
    // Every tenant of the plan within the caller's scope; a dataset without tenants only to
    // the key that asked for it.
    let within = || {
        if d.plan.is_empty() {
            return d.created_by.as_deref() == Some(c.id.to_string().as_str());
        }
        d.plan
            .iter()
            .all(|t| st.registry.tenant(*t).is_some_and(|t| c.sees_tenant(&t)))
    };
    match c.role {
        Role::PlatformAdmin => c.is_global(),
        Role::Service => c.acts_for_product(&d.request.product) && within(),
        Role::OrgAdmin => d.request.purpose == TrainingPurpose::ThirdPartyFinetune && within(),
        _ => false,
    }
}

async fn visible_dataset(st: &AppState, c: &ApiKey, id: &str) -> Result<Dataset, ApiError> {
    match load_dataset(st, id).await? {
        Some(d) if sees(st, c, &d) => Ok(d),
        _ => Err(ApiError::not_found("dataset", id)),
    }
}

/// One shard as it stands now: why its tenant's data may not be used any more (empty: it
/// may), and its items removed since the build (records deleted or changed), by reason.
struct ShardNow {
    withheld: Vec<String>,
    removed: Vec<(String, u64)>,
}

impl ShardNow {
    fn of(
        st: &AppState,
        d: &Dataset,
        s: &datapact_training::ShardLine,
        events: &HashMap<(String, TenantId), Vec<EventCount>>,
    ) -> Self {
        let mut withheld = withheld_now(st, d, s.tenant);
        let mut removed = Vec::new();
        for (reason, n, _) in events.get(&(d.id.clone(), s.tenant)).into_iter().flatten() {
            if reason == REASON_TENANT_PURGED {
                withheld.push(reason.clone());
            } else {
                removed.push((reason.clone(), *n));
            }
        }
        ShardNow { withheld, removed }
    }

    /// Items a reader gets from the shard now.
    fn items(&self, s: &datapact_training::ShardLine) -> u64 {
        if !self.withheld.is_empty() {
            return 0;
        }
        s.included.saturating_sub(self.removed.iter().map(|(_, n)| n).sum())
    }
}

/// What holds now for each shard: the items a reader would get, and those withheld by reason.
fn current(st: &AppState, d: &Dataset, events: &HashMap<(String, TenantId), Vec<EventCount>>) -> Value {
    let mut items = 0u64;
    let mut withheld: BTreeMap<String, u64> = BTreeMap::new();
    let mut tenants_withheld = 0u64;
    for s in &d.shards {
        let now = ShardNow::of(st, d, s, events);
        items += now.items(s);
        if now.withheld.is_empty() {
            for (r, n) in &now.removed {
                *withheld.entry(r.clone()).or_default() += n;
            }
        } else {
            tenants_withheld += 1;
            for r in now.withheld {
                *withheld.entry(r).or_default() += s.included;
            }
        }
    }
    json!({"items": items, "withheld": withheld, "tenants_withheld": tenants_withheld})
}

/// A dataset's manifest as `c` may see it.
fn manifest(st: &AppState, c: &ApiKey, d: &Dataset, events: &HashMap<(String, TenantId), Vec<EventCount>>) -> Value {
    let tenants: Vec<Value> = d
        .shards
        .iter()
        .filter(|s| st.registry.tenant(s.tenant).is_some_and(|t| c.sees_tenant(&t)))
        .map(|s| json!({"tenant": s.tenant, "shard": s.shard, "included": s.included}))
        .collect();
    let mut v = json!({
        "id": d.id,
        "name": d.request.name,
        "product": d.request.product,
        "purpose": d.request.purpose,
        "region": d.request.region,
        "status": d.status.as_str(),
        "progress": {"tenants_done": d.done, "tenants_total": d.plan.len(), "records_considered": d.counts.candidates},
        "request": d.request,
        "data_kinds": d.data_kinds,
        "counts": d.counts,
        "tenants": tenants,
        "digest": d.digest,
        "created_at": rfc(d.created_at),
        "built_at": d.built_at.map(rfc),
        "audit": {"created_entry": d.created_entry, "built_entry": d.built_entry},
    });
    if let Some(e) = &d.error {
        v["error"] = json!(e);
    }
    if d.status == DatasetStatus::Ready {
        v["current"] = current(st, d, events);
    }
    v
}

fn rfc(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Asks for a training dataset: checked against the catalog and the caller's scope, recorded,
/// then built in the background (202).
#[utoipa::path(post, path = "/v1/training/datasets", tag = "training", security(("bearer" = [])),
    request_body = DatasetSpec,
    responses((status = 202, description = "the dataset's manifest, `status: building`"),
        (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem),
        (status = 422, body = crate::problem::Problem)))]
pub async fn create_dataset(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    JsonBody(spec): JsonBody<DatasetSpec>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    guard::allow(&c, DATASET_ROLES, "create training datasets")?;
    let spec = spec
        .validate(st.registry.catalog(), st.registry.regions())
        .map_err(spec_error)?;
    let asked = &spec.asked;
    if c.role == Role::OrgAdmin && asked.purpose != TrainingPurpose::ThirdPartyFinetune {
        return Err(ApiError::forbidden(
            "an organization's administrator may create third-party fine-tuning datasets of its own data only",
        )
        .field("purpose"));
    }
    if !c.acts_for_product(&asked.product) {
        return Err(ApiError::forbidden("this service key acts for another product").field("product"));
    }
    let plan: Vec<TenantId> = match &asked.tenants {
        Some(named) => {
            for (i, t) in named.iter().enumerate() {
                let visible = st.registry.tenant(*t).is_some_and(|t| c.sees_tenant(&t));
                if !visible {
                    return Err(ApiError::not_found("tenant", &t.to_string()).field(format!("tenants[{i}]")));
                }
            }
            if asked.purpose == TrainingPurpose::ThirdPartyFinetune
                && let Some(t) = named.first().and_then(|t| st.registry.tenant(*t))
                && t.region != asked.region
            {
                return Err(ApiError::invalid(
                    "other_region",
                    "tenants[0]",
                    format!(
                        "the tenant's data is in region `{}`; a fine-tuning dataset is built there",
                        t.region
                    ),
                ));
            }
            named.clone()
        }
        None => {
            let mut all: Vec<TenantId> = st
                .registry
                .orgs()
                .iter()
                .flat_map(|o| o.tenants.clone())
                .filter_map(|t| st.registry.tenant(t))
                .filter(|t| t.region == asked.region && c.sees_tenant(t))
                .map(|t| t.id)
                .collect();
            all.sort();
            all
        }
    };
    let mut secret = [0u8; 32];
    datapact_vault::crypto::random(&mut secret).map_err(ApiError::internal)?;
    let id = format!("ds_{}", uuid::Uuid::now_v7().simple());
    let mut d = Dataset {
        id: id.clone(),
        request: asked.clone(),
        data_kinds: spec.data_kinds.clone(),
        status: DatasetStatus::Building,
        plan,
        done: 0,
        counts: Default::default(),
        shards: Vec::new(),
        digest: None,
        created_by: Some(c.id.to_string()),
        created_at: now(),
        built_at: None,
        created_entry: None,
        built_entry: None,
        error: None,
        shard_secret: hex::encode(secret),
    };
    let ev = Ev::by(&c, Action::TrainingDatasetCreate)
        .product(&asked.product)
        .purpose(asked.purpose.purpose())
        .region(&asked.region)
        .resources(Label::new(&id).ok().map(Resource::Dataset))
        .resource(Resource::Count(d.plan.len() as u64));
    let entry = st.audit(ev).await?;
    d.created_entry = Some(entry.index);
    save_dataset(&st, &d).await?;
    st.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(manifest(&st, &c, &d, &HashMap::new()))))
}

/// Filters of the dataset listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DatasetQuery {
    /// Only this product's.
    pub product: Option<String>,
    /// Only this purpose's.
    pub purpose: Option<TrainingPurpose>,
    /// Only datasets in this state.
    pub status: Option<DatasetStatus>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
}

/// The listing's cursor key: derived from the server's own keyed-hash key, the same on every
/// node of a deployment.
fn cursor_key(st: &AppState) -> Result<datapact_vault::crypto::Aead, ApiError> {
    use sha2::Digest;
    let label: [u8; 32] = sha2::Sha256::digest(b"datapact.training-list-cursor/v1").into();
    let mut key = st.vault.key_hash(&label);
    let key = datapact_vault::crypto::SecretKey::from_bytes(&mut key).map_err(ApiError::internal)?;
    datapact_vault::crypto::Aead::new(&key).map_err(ApiError::internal)
}

/// Where a listing stopped, sealed: the id of the last document it scanned may be one the
/// caller may not see, so it never leaves in the clear.
fn seal_cursor(st: &AppState, id: &str) -> Result<String, ApiError> {
    use base64::Engine;
    let sealed = cursor_key(st)?
        .seal(b"cursor", id.as_bytes())
        .map_err(ApiError::internal)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed))
}

fn open_cursor(st: &AppState, cursor: &str) -> Result<String, ApiError> {
    use base64::Engine;
    let bad = || ApiError::invalid("invalid_query", "after", "not a `next` value of this listing");
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .map_err(|_| bad())?;
    let id = cursor_key(st)?.open(b"cursor", &sealed).map_err(|_| bad())?;
    String::from_utf8(id).map_err(|_| bad())
}

/// Documents scanned per store page while listing.
const LIST_SCAN: usize = 200;
/// Store pages scanned at most for one page of a listing (the rest is behind `next`).
const LIST_SCAN_PAGES: usize = 10;

/// Training datasets the caller may see, oldest first.
#[utoipa::path(get, path = "/v1/training/datasets", tag = "training", security(("bearer" = [])),
    params(DatasetQuery),
    responses((status = 200, description = "`{\"datasets\": [manifest, ...]}`"), (status = 403, body = crate::problem::Problem),
        (status = 422, body = crate::problem::Problem)))]
pub async fn list_datasets(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    QueryParams(q): QueryParams<DatasetQuery>,
) -> Result<Json<Value>, ApiError> {
    guard::allow(&c, DATASET_ROLES, "read training datasets")?;
    if let Some(p) = &q.product {
        super::check::product(&st, "product", p)?;
    }
    let limit = super::check::page_bounds(&crate::views::PageQuery {
        limit: q.limit,
        after: None,
    })?;
    let events = tr::events(&st).await?;
    // Bounded work: at most LIST_SCAN_PAGES store pages are read for one answer page; where
    // the scan stopped is the next page's start.
    let mut after = match &q.after {
        Some(c) => open_cursor(&st, c)?,
        None => String::new(),
    };
    let mut out: Vec<Value> = Vec::new();
    let mut next = None;
    for _ in 0..LIST_SCAN_PAGES {
        let docs = st
            .store
            .training_docs_page(tr::DATASET, &after, LIST_SCAN)
            .await
            .map_err(ApiError::storage)?;
        let full = docs.len() == LIST_SCAN;
        for doc in docs {
            let d: Dataset = serde_json::from_str(&doc).map_err(ApiError::internal)?;
            after = d.id.clone();
            if !sees(&st, &c, &d)
                || q.product.as_ref().is_some_and(|p| *p != d.request.product)
                || q.purpose.is_some_and(|p| p != d.request.purpose)
                || q.status.is_some_and(|s| s != d.status)
            {
                continue;
            }
            out.push(manifest(&st, &c, &d, &events));
            if out.len() == limit {
                break;
            }
        }
        if out.len() == limit || !full {
            next = (out.len() == limit || full).then(|| after.clone());
            break;
        }
        next = Some(after.clone());
    }
    let mut v = json!({ "datasets": out });
    if let Some(n) = next {
        v["next"] = json!(seal_cursor(&st, &n)?);
    }
    Ok(Json(v))
}

/// A dataset's manifest: request, status and progress, counts, one line per tenant, digest,
/// audit entries, and what holds now (`current`).
#[utoipa::path(get, path = "/v1/training/datasets/{id}", tag = "training", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "the manifest"), (status = 404, body = crate::problem::Problem)))]
pub async fn get_dataset(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    guard::allow(&c, DATASET_ROLES, "read training datasets")?;
    let d = visible_dataset(&st, &c, &id).await?;
    let events = tr::events(&st).await?;
    Ok(Json(manifest(&st, &c, &d, &events)))
}

/// Streams a ready dataset's items as NDJSON (`{"id","shard","data_kind","categories","content"}`
/// per line), shard by shard in the manifest's order, leaving out every tenant whose data may
/// no longer be used. The export and each organization whose data goes out are on the record
/// before the first byte leaves.
#[utoipa::path(get, path = "/v1/training/datasets/{id}/export", tag = "training", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, content_type = "application/x-ndjson", description = "one item per line"),
        (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)))]
pub async fn export_dataset(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    guard::allow(&c, DATASET_ROLES, "read training datasets")?;
    let d = visible_dataset(&st, &c, &id).await?;
    if d.status != DatasetStatus::Ready {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "dataset_not_ready",
            format!(
                "dataset {id} is {}; only a ready dataset can be read",
                d.status.as_str()
            ),
        ));
    }
    let events = tr::events(&st).await?;
    // Who goes out: shards whose tenant may still be used, in the manifest's order.
    let mut out: Vec<(datapact_training::ShardLine, String)> = Vec::new();
    for s in &d.shards {
        let now = ShardNow::of(&st, &d, s, &events);
        if !now.withheld.is_empty() {
            continue;
        }
        let Some(t) = st.registry.tenant(s.tenant) else {
            continue;
        };
        let mut line = s.clone();
        line.included = now.items(s);
        out.push((line, t.region.clone()));
    }
    let planned: u64 = out.iter().map(|(s, _)| s.included).sum();
    let label = Label::new(&d.id).ok();
    st.audit(
        Ev::by(&c, Action::TrainingExport)
            .product(&d.request.product)
            .purpose(d.request.purpose.purpose())
            .region(&d.request.region)
            .resources(label.clone().map(Resource::Dataset))
            .resource(Resource::Count(planned)),
    )
    .await?;
    // Each organization's own entry: its data went into this dataset's reader.
    let mut pending = Vec::new();
    for (s, _) in &out {
        let Some(tenant) = st.registry.tenant(s.tenant) else {
            continue;
        };
        pending.push(
            st.audit_now(
                Ev::by(&c, Action::TrainingDataUsed)
                    .tenant(&tenant)
                    .product(&d.request.product)
                    .purpose(d.request.purpose.purpose())
                    .region(&d.request.region)
                    .resources(label.clone().map(Resource::Dataset))
                    .resource(Resource::Count(s.included)),
            ),
        );
    }
    for p in pending {
        p.await?;
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let vault = Arc::clone(&st.vault);
    let dataset = d.id.clone();
    tokio::task::spawn_blocking(move || {
        let mut buf: Vec<u8> = Vec::with_capacity(256 * 1024);
        let mut sent = 0u64;
        for (s, region) in &out {
            let t = TenantRef { id: s.tenant, region };
            let mut after = 0u64;
            loop {
                match vault.shard_items(t, &dataset, after, EXPORT_PAGE) {
                    Ok(ShardPage::Items(items)) if items.is_empty() => break,
                    Ok(ShardPage::Items(items)) => {
                        after = items.last().map_or(after, |i| i.seq);
                        for i in items {
                            buf.extend_from_slice(&i.item);
                            sent += 1;
                        }
                        if buf.len() >= 192 * 1024 {
                            let chunk = Bytes::from(std::mem::replace(&mut buf, Vec::with_capacity(256 * 1024)));
                            if tx.blocking_send(Ok(chunk)).is_err() {
                                return;
                            }
                        }
                    }
                    // Purged while the export ran: nothing of it can be read any more.
                    Ok(ShardPage::Shredded) => break,
                    Err(e) => {
                        let e = tr::shard_error(&dataset, &s.shard, e);
                        tracing::error!(%dataset, shard = %s.shard, detail = %e.detail, "dataset export failed midway; the stream is cut");
                        let _ = tx.blocking_send(Err(std::io::Error::other(e.detail)));
                        return;
                    }
                }
            }
        }
        if !buf.is_empty() {
            let _ = tx.blocking_send(Ok(Bytes::from(buf)));
        }
        tracing::info!(%dataset, items = sent, "dataset export finished");
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_string()),
            (
                header::HeaderName::from_static("x-datapact-item-count"),
                planned.to_string(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// A model to register.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelInput {
    /// Name.
    pub name: String,
    /// Version (registering a name and version again replaces its lineage).
    pub version: String,
    /// Product.
    pub product: String,
    /// Purpose.
    pub purpose: TrainingPurpose,
    /// Region.
    pub region: String,
    /// The datasets it was trained on (1 to 100, ready, of this product, purpose and region).
    pub datasets: Vec<String>,
    /// The digest the training job computed for each dataset it read; each must match.
    #[serde(default)]
    pub digests: BTreeMap<String, String>,
}

fn short_text(field: &str, v: &str) -> Result<(), ApiError> {
    if v.trim().is_empty() || v.chars().count() > 200 || v.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "invalid_value",
            field,
            "1 to 200 characters, without control characters",
        ));
    }
    Ok(())
}

/// Registers a model trained on datasets, with its lineage.
#[utoipa::path(post, path = "/v1/training/models", tag = "training", security(("bearer" = [])),
    request_body = ModelInput,
    responses((status = 201, description = "the model with its lineage and debt"), (status = 403, body = crate::problem::Problem),
        (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn register_model(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    JsonBody(m): JsonBody<ModelInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    guard::allow(&c, MODEL_ROLES, "register models")?;
    short_text("name", &m.name)?;
    short_text("version", &m.version)?;
    super::check::product(&st, "product", &m.product)?;
    if !c.acts_for_product(&m.product) {
        return Err(ApiError::forbidden("this service key acts for another product").field("product"));
    }
    if !st.registry.regions().contains(&m.region) {
        return Err(ApiError::invalid(
            "unknown_region",
            "region",
            format!("this deployment serves no region `{}`", m.region),
        ));
    }
    if m.datasets.is_empty() || m.datasets.len() > MAX_MODEL_DATASETS {
        return Err(ApiError::invalid(
            "out_of_range",
            "datasets",
            format!("name 1 to {MAX_MODEL_DATASETS} datasets"),
        ));
    }
    if let Some(k) = m.digests.keys().find(|k| !m.datasets.contains(k)) {
        return Err(ApiError::invalid(
            "unknown_dataset",
            &format!("digests.{k}"),
            "a digest for a dataset the model does not name",
        ));
    }
    let events = tr::events(&st).await?;
    let mut lineage = Vec::new();
    let mut loaded: HashMap<String, Dataset> = HashMap::new();
    for (i, id) in m.datasets.iter().enumerate() {
        let field = format!("datasets[{i}]");
        let d = match load_dataset(&st, id).await? {
            Some(d) if sees(&st, &c, &d) => d,
            _ => return Err(ApiError::not_found("dataset", id).field(field)),
        };
        if d.request.product != m.product || d.request.purpose != m.purpose || d.request.region != m.region {
            return Err(ApiError::invalid(
                "dataset_mismatch",
                &field,
                "the dataset is of another product, purpose or region than the model",
            ));
        }
        if lineage.iter().any(|l: &datapact_training::LineageDataset| l.id == d.id) {
            return Err(ApiError::invalid("duplicate", &field, "a dataset is named twice"));
        }
        let Some(l) = Model::lineage_of(&d).filter(|_| d.status == DatasetStatus::Ready) else {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "dataset_not_ready",
                format!(
                    "dataset {id} is {}; a model is trained on ready datasets",
                    d.status.as_str()
                ),
            )
            .field(field));
        };
        if let Some(given) = m.digests.get(id)
            && *given != l.digest
        {
            let changed = events.keys().any(|(ds, _)| ds == id);
            return Err(ApiError::invalid(
                "digest_mismatch",
                &format!("digests.{id}"),
                if changed {
                    "this is not the digest of the dataset's manifest: records it held were deleted, changed or purged since its build, so what a job reads now is not what was built; rebuild the dataset and train on the new one"
                } else {
                    "this is not the digest of the dataset's manifest: the job read something else"
                },
            ));
        }
        lineage.push(l);
        loaded.insert(d.id.clone(), d);
    }
    let existing = tr::models(&st)
        .await?
        .into_iter()
        .find(|x| x.name == m.name && x.version == m.version && x.product == m.product);
    // Registering a name and version again replaces its lineage, only for a caller who sees
    // the model as it is (else the name is taken, and nothing else about it is told).
    if let Some(x) = &existing {
        let mut theirs = HashMap::new();
        for d in &x.datasets {
            if let Some(ds) = load_dataset(&st, &d.id).await? {
                theirs.insert(d.id.clone(), ds);
            }
        }
        if !model_visible(&st, &c, x, &theirs) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "model_exists",
                "a model of this product with this name and version is registered; choose another version",
            )
            .field("version"));
        }
    }
    let id = existing
        .map(|x| x.id)
        .unwrap_or_else(|| format!("mdl_{}", uuid::Uuid::now_v7().simple()));
    let mut model = Model {
        id: id.clone(),
        name: m.name,
        version: m.version,
        product: m.product,
        purpose: m.purpose,
        region: m.region,
        datasets: lineage,
        registered_by: Some(c.id.to_string()),
        registered_at: now(),
        registered_entry: None,
    };
    let ev = Ev::by(&c, Action::ModelRegister)
        .product(&model.product)
        .purpose(model.purpose.purpose())
        .region(&model.region)
        .resources(Label::new(&id).ok().map(Resource::Model))
        .resources(
            model
                .datasets
                .iter()
                .filter_map(|d| Label::new(&d.id).ok().map(Resource::Dataset)),
        );
    model.registered_entry = Some(st.audit(ev).await?.index);
    save_model(&st, &model).await?;
    Ok((StatusCode::CREATED, Json(model_view(&st, &model, &loaded, &events))))
}

fn model_view(
    st: &AppState,
    m: &Model,
    datasets: &HashMap<String, Dataset>,
    events: &HashMap<(String, TenantId), Vec<EventCount>>,
) -> Value {
    let owed = tr::owed_by_dataset(st, datasets.values(), events, |_| true);
    let debt = model_debt(m, &owed);
    let mut tenants: BTreeMap<TenantId, u64> = BTreeMap::new();
    let shards = |id: &str| datasets.get(id).map(|d| d.shards.as_slice()).unwrap_or_default();
    for d in &m.datasets {
        for s in shards(&d.id) {
            *tenants.entry(s.tenant).or_default() += s.included;
        }
    }
    json!({
        "id": m.id,
        "name": m.name,
        "version": m.version,
        "product": m.product,
        "purpose": m.purpose,
        "region": m.region,
        "datasets": m.datasets.iter().map(|d| json!({
            "id": d.id, "name": d.name, "digest": d.digest, "built_at": rfc(d.built_at),
            "included": d.included,
            "tenants": shards(&d.id).iter().map(|s| json!({"tenant": s.tenant, "records": s.included})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "lineage": {
            "records": tenants.values().sum::<u64>(),
            "tenants": tenants.iter().map(|(t, n)| json!({"tenant": t, "records": n})).collect::<Vec<_>>(),
        },
        "registered_at": rfc(m.registered_at),
        "audit": {"registered_entry": m.registered_entry},
        "debt": debt,
    })
}

/// The datasets models name, by id (one read of every dataset document).
async fn datasets_by_id(st: &AppState) -> Result<HashMap<String, Dataset>, ApiError> {
    Ok(tr::datasets(st).await?.into_iter().map(|d| (d.id.clone(), d)).collect())
}

/// A model, its lineage and what it owes now.
#[utoipa::path(get, path = "/v1/training/models/{id}", tag = "training", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "the model with its lineage and `debt`"), (status = 404, body = crate::problem::Problem)))]
pub async fn get_model(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    guard::allow(&c, MODEL_ROLES, "read models")?;
    let doc = st.store.training_doc(tr::MODEL, &id).await.map_err(ApiError::storage)?;
    let m: Model = match doc {
        Some(doc) => serde_json::from_str(&doc).map_err(ApiError::internal)?,
        None => return Err(ApiError::not_found("model", &id)),
    };
    let mut datasets = HashMap::new();
    for d in &m.datasets {
        if let Some(ds) = load_dataset(&st, &d.id).await? {
            datasets.insert(d.id.clone(), ds);
        }
    }
    if !model_visible(&st, &c, &m, &datasets) {
        return Err(ApiError::not_found("model", &id));
    }
    let events = tr::events(&st).await?;
    Ok(Json(model_view(&st, &m, &datasets, &events)))
}

/// Whether `c` may see model `m`: the vendor's platform admin; a service key of its product
/// that sees every tenant of every dataset it was trained on.
fn model_visible(st: &AppState, c: &ApiKey, m: &Model, datasets: &HashMap<String, Dataset>) -> bool {
    match c.role {
        Role::PlatformAdmin => c.is_global(),
        Role::Service => {
            c.acts_for_product(&m.product)
                && m.datasets
                    .iter()
                    .all(|d| datasets.get(&d.id).is_some_and(|d| sees(st, c, d)))
        }
        _ => false,
    }
}

/// Every model that owes retraining, the most owed first.
#[utoipa::path(get, path = "/v1/training/debt", tag = "training", security(("bearer" = [])),
    responses((status = 200, description = "`{\"models\": [{\"id\", \"name\", \"version\", \"product\", \"debt\"}, ...]}`"),
        (status = 403, body = crate::problem::Problem)))]
pub async fn debt(State(st): State<Arc<AppState>>, Caller(c): Caller) -> Result<Json<Value>, ApiError> {
    guard::allow(&c, MODEL_ROLES, "read models")?;
    let (models, datasets, events) = tokio::try_join!(tr::models(&st), datasets_by_id(&st), tr::events(&st))?;
    let visible: Vec<&Model> = models.iter().filter(|m| model_visible(&st, &c, m, &datasets)).collect();
    let named: std::collections::BTreeSet<&str> = visible
        .iter()
        .flat_map(|m| m.datasets.iter().map(|d| d.id.as_str()))
        .collect();
    let owed = tr::owed_by_dataset(&st, named.iter().filter_map(|id| datasets.get(*id)), &events, |_| true);
    let mut owing: Vec<(u64, Value)> = visible
        .iter()
        .filter_map(|m| {
            let d = model_debt(m, &owed);
            d.owed.then(|| {
                (
                    d.weight(),
                    json!({"id": m.id, "name": m.name, "version": m.version, "product": m.product,
                        "purpose": m.purpose, "region": m.region, "debt": d}),
                )
            })
        })
        .collect();
    owing.sort_by_key(|o| std::cmp::Reverse(o.0));
    Ok(Json(
        json!({"models": owing.into_iter().map(|(_, v)| v).collect::<Vec<_>>()}),
    ))
}

/// Every dataset and model that holds the organization's data: product, purpose, region, how
/// many of its records, when, and their state. Nothing about other organizations.
#[utoipa::path(get, path = "/v1/orgs/{org}/training-usage", tag = "training", security(("bearer" = [])),
    params(("org" = String, Path)),
    responses((status = 200, description = "`{\"datasets\": [...], \"models\": [...]}`"), (status = 404, body = crate::problem::Problem)))]
pub async fn org_usage(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(org_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let org = guard::org(&st, &c, &org_id)?;
    guard::allow(
        &c,
        &[Role::OrgAdmin, Role::Auditor, Role::PlatformAdmin],
        "read an organization's training usage",
    )?;
    let (all, models, events) = tokio::try_join!(datasets_by_id(&st), tr::models(&st), tr::events(&st))?;
    let mine = |t: TenantId| org.tenants.contains(&t);
    // Only this organization's shards count, for states and for debt alike.
    let owed = tr::owed_by_dataset(&st, all.values(), &events, |s| mine(s.tenant));
    let mut datasets = Vec::new();
    // Ready datasets, and those being built that already hold some of its data.
    let mut ready: Vec<&Dataset> = all.values().filter(|d| d.status != DatasetStatus::Failed).collect();
    ready.sort_by(|a, b| a.id.cmp(&b.id));
    for d in ready {
        let shards: Vec<_> = d.shards.iter().filter(|s| mine(s.tenant)).collect();
        if shards.is_empty() {
            continue;
        }
        let records: u64 = shards.iter().map(|s| s.included).sum();
        let purged = shards.iter().all(|s| {
            events
                .get(&(d.id.clone(), s.tenant))
                .is_some_and(|e| e.iter().any(|(r, _, _)| r == REASON_TENANT_PURGED))
        });
        let reasons: Vec<String> = owed
            .get(&d.id)
            .map(|o| o.debt().items.into_iter().map(|i| i.reason).collect())
            .unwrap_or_default();
        // Deleted or changed records leave on their own; the rest of the data stays eligible.
        let withheld = reasons
            .iter()
            .any(|r| r != REASON_RECORD_DELETED && r != REASON_RECORD_MODIFIED);
        let state = if purged {
            "shredded"
        } else if d.status == DatasetStatus::Building {
            "building"
        } else if withheld {
            "withheld"
        } else {
            "eligible"
        };
        datasets.push(json!({
            "id": d.id, "name": d.request.name, "product": d.request.product, "purpose": d.request.purpose,
            "region": d.request.region, "records": records, "built_at": d.built_at.map(rfc),
            "state": state, "reasons": reasons,
        }));
    }
    let mut trained = Vec::new();
    for m in &models {
        let records: u64 = m
            .datasets
            .iter()
            .filter_map(|d| all.get(&d.id))
            .flat_map(|d| d.shards.iter())
            .filter(|s| mine(s.tenant))
            .map(|s| s.included)
            .sum();
        if records == 0 {
            continue;
        }
        let debt = model_debt(m, &owed);
        trained.push(json!({
            "id": m.id, "name": m.name, "version": m.version, "product": m.product, "purpose": m.purpose,
            "region": m.region, "records": records, "registered_at": rfc(m.registered_at),
            "state": if debt.owed { "owes_retraining" } else { "trained_on" },
            "reasons": debt.items.iter().map(|i| i.reason.clone()).collect::<Vec<_>>(),
        }));
    }
    st.audit(Ev::by(&c, Action::TrainingRead).org(org.id)).await?;
    Ok(Json(json!({"org": org.id, "datasets": datasets, "models": trained})))
}
