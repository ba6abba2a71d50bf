//! Communications Mining over HTTP, part one: datasets, their labels, and messages (upload,
//! list, read masked or revealed, label, delete). Models, queues, streams and review are in
//! `mining_model`. Every read of content is a purpose decision and an audit entry; labelers
//! see personal data masked.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use datapact_audit::{Action, Label, Outcome, Resource};
use datapact_governance::{ApiKey, DataKind, Org, Purpose, Role, Tenant};
use datapact_mining::taxonomy::Taxonomy;
use datapact_vault::{Content, MessageIndex, MessageQuery, NewMessage, NewRecord, RecordPatch, label_change};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::records::require_purpose;
use crate::audit::Ev;
use crate::blocking::with_vault;
use crate::extract::{Caller, JsonBody, Path, QueryParams};
use crate::guard;
use crate::mining::{self as mn, MAX_BATCH, MAX_TEXT_BYTES, MessageBody, MiningDataset, PRODUCT};
use crate::problem::ApiError;
use crate::state::{AppState, now};

/// The customer's side: its administrators and the product's service key.
pub(crate) const CUSTOMER: &[Role] = &[Role::OrgAdmin, Role::Service];
/// Who may see a dataset's description (no message content): the customer's side, its
/// auditors and the vendor's platform admins.
const DESCRIBERS: &[Role] = &[Role::OrgAdmin, Role::Service, Role::Auditor, Role::PlatformAdmin];
/// Longest customer message id.
const MAX_ID_CHARS: usize = 256;

/// The dataset, if the caller may know it exists (else 404, as if it did not), with its
/// tenant and organization.
pub(crate) async fn visible(
    st: &AppState,
    c: &ApiKey,
    id: &str,
) -> Result<(MiningDataset, Arc<Tenant>, Arc<Org>), ApiError> {
    let missing = || ApiError::not_found("dataset", id);
    if !id.starts_with("mds_") || id.len() > 64 {
        return Err(missing());
    }
    let d = mn::load(st, id).await?.ok_or_else(missing)?;
    let (t, o) = guard::tenant(st, c, &d.tenant.to_string()).map_err(|_| missing())?;
    if !c.acts_for_product(PRODUCT) {
        return Err(missing());
    }
    Ok((d, t, o))
}

/// Checks that the caller's role may do `what`, and that a product key is this product's.
pub(crate) fn allow(c: &ApiKey, roles: &[Role], what: &str) -> Result<(), ApiError> {
    guard::allow(c, roles, what)
}

/// The service decision for this tenant's messages of `kind`, refused with an audit entry.
pub(crate) async fn decide_service(
    st: &AppState,
    ev: &Ev,
    tenant: &Tenant,
    kind: Option<DataKind>,
) -> Result<Vec<datapact_governance::Reason>, ApiError> {
    Ok(require_purpose(st, ev, tenant, PRODUCT, Purpose::Service, kind)
        .await?
        .reasons)
}

/// A label in a response.
#[derive(Debug, Serialize, ToSchema)]
pub struct LabelView {
    /// Full name (`Billing > Refund`).
    pub name: String,
    /// Messages that have it (in a dataset's own view; a listing leaves it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
}

/// A dataset's model, in short.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelSummary {
    /// Version (1, 2, ...).
    pub version: u32,
    /// When it was trained.
    #[serde(with = "time::serde::rfc3339")]
    pub trained_at: time::OffsetDateTime,
    /// Messages it learned from.
    pub messages: usize,
    /// The model rating, 0–100.
    pub rating: u32,
    /// Held-out accuracy.
    pub accuracy: f64,
    /// Held-out macro F1.
    pub macro_f1: f64,
    /// Its entry in the training-data ledger (lineage and unlearning debt).
    pub ledger_model: String,
    /// The sentence-embedding model whose vectors it uses beside hashed n-grams (absent:
    /// n-grams alone). It predicts only where the deployment runs that model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedder: Option<String>,
}

/// Counts of a dataset's messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageCounts {
    /// Design-time messages.
    pub design_time: u64,
    /// Run-time messages.
    pub run_time: u64,
    /// Labeled (reviewed with no label included).
    pub labeled: u64,
    /// Waiting for review.
    pub review: u64,
}

/// A dataset.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetView {
    /// `mds_…`.
    pub id: String,
    /// Whose messages.
    pub tenant: String,
    /// Name.
    pub name: String,
    /// Whether generative AI features may send its messages to a third-party LLM.
    pub ai_features: bool,
    /// Its labels, parents before children.
    pub labels: Vec<LabelView>,
    /// Its messages.
    pub messages: MessageCounts,
    /// The model that serves, if any.
    pub model: Option<ModelSummary>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

pub(crate) async fn dataset_view(st: &AppState, tenant: &Tenant, d: &MiningDataset) -> Result<DatasetView, ApiError> {
    view_of(st, tenant, d, true).await
}

/// A dataset's view; with `per_label`, each label's message count (a pass over the labeled
/// messages' index rows, up to a million).
async fn view_of(st: &AppState, tenant: &Tenant, d: &MiningDataset, per_label: bool) -> Result<DatasetView, ApiError> {
    let id = d.id.clone();
    let ids: Vec<u32> = d.taxonomy.labels().iter().map(|l| l.id).collect();
    let tax = d.taxonomy.clone();
    let (counts, per_label) = with_vault(st, tenant, move |v, t| {
        let counts = v.message_counts(t, &id)?;
        // Labeled rows in pages (label ids only), counted here: one pass whatever the taxonomy.
        let per = if per_label {
            mn::labeled_counts(v, t, &id, &tax, 1_000_000)?.0
        } else {
            Default::default()
        };
        let per: Vec<Option<u64>> = ids
            .iter()
            .map(|l| per_label.then(|| per.get(l).copied().unwrap_or(0)))
            .collect();
        Ok((counts, per))
    })
    .await?;
    Ok(DatasetView {
        id: d.id.clone(),
        tenant: d.tenant.to_string(),
        name: d.name.clone(),
        ai_features: d.ai_features,
        labels: d
            .taxonomy
            .labels()
            .iter()
            .zip(per_label)
            .map(|(l, n)| LabelView {
                name: l.name.clone(),
                messages: n,
            })
            .collect(),
        messages: MessageCounts {
            design_time: counts.0,
            run_time: counts.1,
            labeled: counts.2,
            review: counts.3,
        },
        model: d.model.as_ref().map(|m| ModelSummary {
            version: m.version,
            trained_at: m.trained_at,
            messages: m.messages,
            rating: m.validation.rating.score,
            accuracy: m.validation.accuracy,
            macro_f1: m.validation.macro_f1,
            ledger_model: m.ledger_model.clone(),
            embedder: m.embedder.clone(),
        }),
        created_at: d.created_at,
    })
}

/// A new dataset.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetInput {
    /// The tenant whose messages it holds.
    pub tenant: String,
    /// A name (1–200 characters).
    pub name: String,
    /// Whether generative AI features may send its messages to a third-party LLM (default
    /// true); false: never, whatever the tenant's other settings.
    #[serde(default)]
    pub ai_features: Option<bool>,
    /// Labels; a child (`Billing > Refund`) implies its parent.
    #[serde(default)]
    pub labels: Vec<String>,
}

fn taxonomy_error(field: &str, e: datapact_mining::MiningError) -> ApiError {
    ApiError::invalid("invalid_label", field, e.to_string())
}

/// Creates a dataset (the tenant's administrator, or the product's service key).
#[utoipa::path(post, path = "/v1/mining/datasets", tag = "mining", security(("bearer" = [])),
    request_body = DatasetInput,
    responses((status = 201, body = DatasetView), (status = 403, body = crate::problem::Problem),
        (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn create_dataset(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    JsonBody(input): JsonBody<DatasetInput>,
) -> Result<(StatusCode, Json<DatasetView>), ApiError> {
    allow(&c, CUSTOMER, "create Communications Mining datasets")?;
    if !c.acts_for_product(PRODUCT) {
        return Err(ApiError::forbidden(format!(
            "this key acts for another product than {PRODUCT}"
        )));
    }
    let (tenant, _) = guard::tenant(&st, &c, &input.tenant).map_err(|e| e.field("tenant"))?;
    let name = super::check::text("name", &input.name, 200)?;
    let taxonomy = Taxonomy::new(&input.labels).map_err(|e| taxonomy_error("labels", e))?;
    let id = format!("mds_{}", uuid::Uuid::now_v7().simple());
    let ev = Ev::by(&c, Action::MiningDatasetCreate)
        .tenant(&tenant)
        .product(PRODUCT)
        .purpose(Purpose::Service)
        .resources(Label::new(&id).ok().map(Resource::Dataset));
    let reasons = decide_service(&st, &ev, &tenant, None).await?;
    let d = MiningDataset {
        id: id.clone(),
        tenant: tenant.id,
        org: tenant.org,
        name,
        ai_features: input.ai_features.unwrap_or(true),
        taxonomy,
        created_at: now(),
        model: None,
        history: Vec::new(),
        next_version: 1,
        purged_at: None,
    };
    st.audited(ev.reasons(&reasons), mn::save(&st, &d)).await?;
    Ok((StatusCode::CREATED, Json(dataset_view(&st, &tenant, &d).await?)))
}

/// Filters of the dataset listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DatasetQuery {
    /// Only this tenant's.
    pub tenant: Option<String>,
}

/// Datasets the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetList {
    /// Datasets, oldest first.
    pub datasets: Vec<DatasetView>,
}

/// Lists the datasets the caller may see.
#[utoipa::path(get, path = "/v1/mining/datasets", tag = "mining", security(("bearer" = [])),
    params(DatasetQuery), responses((status = 200, body = DatasetList), (status = 404, body = crate::problem::Problem)))]
pub async fn list_datasets(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    QueryParams(q): QueryParams<DatasetQuery>,
) -> Result<Json<DatasetList>, ApiError> {
    allow(&c, DESCRIBERS, "list Communications Mining datasets")?;
    let only = match &q.tenant {
        Some(t) => Some(guard::tenant(&st, &c, t).map_err(|e| e.field("tenant"))?.0.id),
        None => None,
    };
    let mut out = Vec::new();
    let mut all = mn::all(&st).await?;
    all.sort_by(|a, b| a.id.cmp(&b.id));
    for d in all {
        if only.is_some_and(|t| t != d.tenant) || !c.acts_for_product(PRODUCT) {
            continue;
        }
        let Ok((tenant, _)) = guard::tenant(&st, &c, &d.tenant.to_string()) else {
            continue;
        };
        out.push(view_of(&st, &tenant, &d, false).await?);
    }
    Ok(Json(DatasetList { datasets: out }))
}

/// One dataset.
#[utoipa::path(get, path = "/v1/mining/datasets/{id}", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = DatasetView), (status = 404, body = crate::problem::Problem)))]
pub async fn get_dataset(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Json<DatasetView>, ApiError> {
    allow(&c, DESCRIBERS, "read Communications Mining datasets")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    Ok(Json(dataset_view(&st, &tenant, &d).await?))
}

/// A dataset's labels, all of them: new names are added, missing ones removed (with their
/// assignments), and `rename` keeps a label's messages under its new name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelsInput {
    /// Every label the dataset has from now on.
    pub labels: Vec<String>,
    /// Old name → new name.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
}

/// Replaces a dataset's labels (adds, renames, removes).
#[utoipa::path(put, path = "/v1/mining/datasets/{id}/labels", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = LabelsInput,
    responses((status = 200, body = DatasetView), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn put_labels(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<LabelsInput>,
) -> Result<Json<DatasetView>, ApiError> {
    allow(&c, CUSTOMER, "change a dataset's labels")?;
    let (_, tenant, _) = visible(&st, &c, &id).await?;
    let ev = Ev::by(&c, Action::MiningDatasetChange)
        .tenant(&tenant)
        .product(PRODUCT)
        .resources(Label::new(&id).ok().map(Resource::Dataset));
    let w = st.write_lock().await?;
    let mut d = mn::load(&st, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("dataset", &id))?;
    let before = d.taxonomy.clone();
    let removed = d
        .taxonomy
        .replace(&input.labels, &input.rename)
        .map_err(|e| taxonomy_error("labels", e))?;
    // A message with a removed label keeps what it implied: its nearest ancestor that stays
    // (labels are stored as assigned).
    let replaced: Vec<(u32, Option<u32>)> = removed
        .iter()
        .map(|r| {
            let keep = before
                .with_ancestors(*r)
                .into_iter()
                .skip(1)
                .find(|a| d.taxonomy.by_id(*a).is_some());
            (*r, keep)
        })
        .collect();
    st.audited(ev, async {
        let (ds, rm) = (id.clone(), replaced);
        with_vault(&st, &tenant, move |v, t| v.remove_message_labels(t, &ds, &rm)).await?;
        mn::save(&st, &d).await
    })
    .await?;
    drop(w);
    d = mn::load(&st, &id).await?.unwrap_or(d);
    Ok(Json(dataset_view(&st, &tenant, &d).await?))
}

/// Recipients: one address or a list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Recipients {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// A message to upload.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageInput {
    /// The customer's id, unique in the dataset (1–256 characters); uploading it again
    /// updates the message.
    pub id: String,
    /// The body (at most 64 KiB).
    pub text: String,
    /// Subject line.
    #[serde(default)]
    pub subject: Option<String>,
    /// Sender.
    #[serde(default)]
    pub from: Option<String>,
    /// Recipients.
    #[serde(default)]
    pub to: Option<Recipients>,
    /// When it was sent.
    #[serde(default)]
    pub sent_at: Option<String>,
    /// Thread (conversation) id.
    #[serde(default)]
    pub thread: Option<String>,
    /// `design_time` (trains the dataset's model once labeled) or `run_time` (read by
    /// streams).
    pub data_kind: DataKind,
    /// Labels it has (empty: reviewed, none apply; absent: not labeled).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
}

/// An upload.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadInput {
    /// 1 to 1,000 messages.
    pub messages: Vec<MessageInput>,
}

/// A message that was not stored, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadFailure {
    /// Its place in the upload.
    pub index: usize,
    /// Its id, as given.
    pub id: String,
    /// The field at fault.
    pub field: String,
    /// A stable code.
    pub code: String,
    /// What is wrong.
    pub detail: String,
}

/// What an upload did.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadResult {
    /// Messages stored for the first time.
    pub created: usize,
    /// Messages that existed and were updated.
    pub updated: usize,
    /// Messages not stored (the others were).
    pub failed: Vec<UploadFailure>,
}

/// A message checked for storing: its index key, content and labels.
struct Checked {
    index: usize,
    id: String,
    key: String,
    kind: DataKind,
    body: MessageBody,
    labels: Option<Vec<u32>>,
}

fn check_message(
    st: &AppState,
    d: &MiningDataset,
    i: usize,
    m: MessageInput,
    seen: &mut BTreeSet<String>,
) -> Result<Checked, UploadFailure> {
    let fail = |field: &str, code: &str, detail: String| UploadFailure {
        index: i,
        id: m.id.chars().take(MAX_ID_CHARS).collect(),
        field: format!("messages[{i}].{field}"),
        code: code.to_string(),
        detail,
    };
    if m.id.is_empty() || m.id.chars().count() > MAX_ID_CHARS || m.id.chars().any(char::is_control) {
        return Err(fail(
            "id",
            "invalid_value",
            format!("an id of 1 to {MAX_ID_CHARS} characters, without control characters"),
        ));
    }
    if !seen.insert(m.id.clone()) {
        return Err(fail("id", "duplicate", "this id is given twice in the upload".into()));
    }
    if m.text.len() > MAX_TEXT_BYTES {
        return Err(fail(
            "text",
            "message_too_large",
            format!("a message's text is at most {MAX_TEXT_BYTES} bytes"),
        ));
    }
    for (field, v) in [
        ("subject", &m.subject),
        ("from", &m.from),
        ("sent_at", &m.sent_at),
        ("thread", &m.thread),
    ] {
        if v.as_ref().is_some_and(|s| s.len() > 4096) {
            return Err(fail(field, "too_long", "at most 4096 bytes".into()));
        }
    }
    let to = match m.to {
        None => Vec::new(),
        Some(Recipients::One(s)) => vec![s],
        Some(Recipients::Many(v)) => v,
    };
    if to.len() > 100 || to.iter().any(|s| s.len() > 1024) {
        return Err(fail("to", "too_long", "at most 100 recipients of 1024 bytes".into()));
    }
    let labels = match &m.labels {
        None => None,
        Some(names) => {
            Some(resolve_labels(d, names).map_err(|e| fail(e.field.as_deref().unwrap_or("labels"), e.code, e.detail))?)
        }
    };
    Ok(Checked {
        index: i,
        key: mn::message_key(&st.vault, d.org, &d.id, &m.id),
        id: m.id.clone(),
        kind: m.data_kind,
        body: MessageBody {
            id: m.id,
            text: m.text,
            subject: m.subject,
            from: m.from,
            to,
            sent_at: m.sent_at,
            thread: m.thread,
        },
        labels,
    })
}

fn record_of(d: &MiningDataset, m: &Checked) -> Result<NewRecord, ApiError> {
    Ok(NewRecord {
        product: PRODUCT.to_string(),
        data_kind: m.kind,
        content: Content::Text(serde_json::to_string(&m.body).map_err(ApiError::internal)?),
        content_type: Some("application/json".into()),
        categories: Vec::new(),
        metadata: Some(serde_json::json!({ "mining_dataset": d.id })),
    })
}

/// Uploads messages (each a vault record of `communications-mining` in the tenant's region).
/// Messages with a fault are reported in `failed`; the others are stored. Nothing stored
/// answers 422 with the first fault.
#[utoipa::path(post, path = "/v1/mining/datasets/{id}/messages", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = UploadInput,
    responses((status = 200, body = UploadResult), (status = 404, body = crate::problem::Problem),
        (status = 422, body = crate::problem::Problem)))]
pub async fn upload(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<UploadInput>,
) -> Result<Json<UploadResult>, ApiError> {
    allow(&c, CUSTOMER, "upload messages")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    if input.messages.is_empty() || input.messages.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "batch_too_large",
            "messages",
            format!("give 1 to {MAX_BATCH} messages"),
        ));
    }
    let mut failed = Vec::new();
    let mut ok = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, m) in input.messages.into_iter().enumerate() {
        match check_message(&st, &d, i, m, &mut seen) {
            Ok(x) => ok.push(x),
            Err(f) => failed.push(f),
        }
    }
    if ok.is_empty() {
        let f = &failed[0];
        return Err(ApiError::invalid(
            "invalid_message",
            &f.field,
            format!("{}: {}", f.code, f.detail),
        ));
    }
    // Two uploads of the same new id at once: the one that stores second finds it stored
    // and nothing of its batch written; looked at again, that message is an update.
    let mut attempt = 0;
    let (created, updated, predict) = loop {
        attempt += 1;
        match store_upload(&st, &c, &tenant, &d, &ok).await {
            Err(e) if e.code == "message_stored_meanwhile" && attempt < 4 => continue,
            Err(e) => return Err(e),
            Ok((created, updated, predict, kind_changes)) => {
                failed.extend(kind_changes);
                break (created, updated, predict);
            }
        }
    };
    failed.sort_by_key(|f| f.index);
    mn::predict_new(&st, &tenant, &d, predict).await?;
    Ok(Json(UploadResult {
        created,
        updated,
        failed,
    }))
}

/// A message's text and labels as predictions of it are stored.
type ToPredict = (String, String, Vec<u32>, bool);

/// Stores checked messages: new ones created, existing ones updated (their kind never
/// changes: such a message is listed as failed), decided and audited. Created and updated
/// counts, what to predict, and the failures.
async fn store_upload(
    st: &Arc<AppState>,
    c: &datapact_governance::ApiKey,
    tenant: &datapact_governance::Tenant,
    d: &MiningDataset,
    ok: &[Checked],
) -> Result<(usize, usize, Vec<ToPredict>, Vec<UploadFailure>), ApiError> {
    let mut failed = Vec::new();
    // Which exist already.
    let ds = d.id.clone();
    let keys: Vec<String> = ok.iter().map(|m| m.key.clone()).collect();
    let mut found = with_vault(st, tenant, move |v, t| v.messages_by_key(t, &ds, &keys)).await?;
    let existing: Vec<Option<MessageIndex>> = ok.iter().map(|m| found.remove(&m.key)).collect();
    let mut fresh = Vec::new();
    let mut updates: Vec<(&Checked, MessageIndex)> = Vec::new();
    for (m, e) in ok.iter().zip(existing) {
        match e {
            Some(row) if row.kind != m.kind => failed.push(UploadFailure {
                index: m.index,
                id: m.id.clone(),
                field: format!("messages[{}].data_kind", m.index),
                code: "kind_change".into(),
                detail: format!(
                    "message {:?} is {} data; delete it first to upload it as {}",
                    m.id,
                    row.kind.as_str(),
                    m.kind.as_str()
                ),
            }),
            Some(row) => updates.push((m, row)),
            None => fresh.push(m),
        }
    }
    let kinds: BTreeSet<DataKind> = fresh
        .iter()
        .chain(updates.iter().map(|u| &u.0))
        .map(|m| m.kind)
        .collect();
    let mut ev = Ev::by(c, Action::RecordWrite)
        .tenant(tenant)
        .product(PRODUCT)
        .purpose(Purpose::Service)
        .resources(Label::new(&d.id).ok().map(Resource::Dataset))
        .resource(Resource::Count((fresh.len() + updates.len()) as u64));
    for k in kinds {
        let reasons = decide_service(st, &ev, tenant, Some(k)).await?;
        ev = ev.reasons(&reasons);
    }
    let (created, updated) = (fresh.len(), updates.len());
    let mut predict: Vec<ToPredict> = Vec::new();
    for m in fresh.iter().copied().chain(updates.iter().map(|u| u.0)) {
        predict.push((
            m.key.clone(),
            m.body.model_text(),
            d.taxonomy
                .expand(m.labels.as_deref().unwrap_or(&[]))
                .into_iter()
                .collect(),
            m.labels.is_some(),
        ));
    }
    let by = Some(c.id.to_string());
    st.audited(ev, async {
        let mut news = Vec::with_capacity(fresh.len());
        for m in &fresh {
            news.push(NewMessage {
                key: m.key.clone(),
                record: record_of(d, m)?,
                labels: m.labels.clone().map(|l| (l, by.clone())),
                shuffle: mn::shuffle_of(&m.key),
            });
        }
        let ds = d.id.clone();
        if !news.is_empty() {
            // A message stored meanwhile by another upload: 409 message_stored_meanwhile.
            with_vault(st, tenant, move |v, t| v.put_messages(t, &ds, news, now())).await?;
        }
        for (m, row) in &updates {
            // Its copies in training datasets are stale: they owe it, and go.
            crate::training::record_changed(st, tenant, row.record, false).await?;
            let patch = RecordPatch {
                content: Some(Content::Text(
                    serde_json::to_string(&m.body).map_err(ApiError::internal)?,
                )),
                ..RecordPatch::default()
            };
            let (rid, ds, key, labels, by) = (row.record, d.id.clone(), m.key.clone(), m.labels.clone(), by.clone());
            with_vault(st, tenant, move |v, t| {
                v.update(t, rid, patch, now())?;
                if let Some(l) = labels {
                    v.change_messages(t, &ds, &[label_change(&key, Some(&l), by, now())])?;
                }
                Ok(())
            })
            .await?;
        }
        Ok(())
    })
    .await?;
    Ok((created, updated, predict, failed))
}

/// A label with a probability.
#[derive(Debug, Serialize, ToSchema)]
pub struct Scored {
    /// Label.
    pub name: String,
    /// Probability, 0–1.
    pub probability: f32,
}

/// A model's prediction of a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictionView {
    /// The model version.
    pub model_version: u32,
    /// Labels at probability 0.05 or more, most probable first.
    pub labels: Vec<Scored>,
}

/// A message as labelers see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// The customer's id.
    pub id: String,
    /// `design_time` or `run_time`.
    pub data_kind: String,
    /// Its content (personal data masked unless revealed).
    pub message: MessageBody,
    /// Whether personal data is masked.
    pub masked: bool,
    /// Whether a person labeled it.
    pub labeled: bool,
    /// Its labels (ancestors included).
    pub labels: Vec<String>,
    /// Who labeled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labeled_by: Option<String>,
    /// The latest model's prediction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prediction: Option<PredictionView>,
    /// Until the dataset has a model of its own: the vendor pre-labeling model's suggestions
    /// among the dataset's labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prelabels: Option<Vec<Scored>>,
    /// `none`, `pending` or `reviewed`.
    pub review: &'static str,
    /// Place in upload order.
    pub seq: u64,
}

pub(crate) fn scored(d: &MiningDataset, labels: &[(u32, f32)]) -> Vec<Scored> {
    labels
        .iter()
        .filter_map(|(l, p)| {
            d.taxonomy.by_id(*l).map(|x| Scored {
                name: x.name.clone(),
                probability: (p * 1000.0).round() / 1000.0,
            })
        })
        .collect()
}

pub(crate) fn message_view(d: &MiningDataset, row: &MessageIndex, body: MessageBody, masked: bool) -> MessageView {
    let ids = d.taxonomy.expand(&row.labels);
    MessageView {
        id: body.id.clone(),
        data_kind: row.kind.as_str().to_string(),
        message: if masked { body.masked() } else { body },
        masked,
        labeled: row.labeled,
        labels: d.taxonomy.names(&ids),
        labeled_by: row.labeled_by.clone(),
        prediction: row.prediction.as_ref().map(|p| PredictionView {
            model_version: p.model,
            labels: scored(d, &p.labels),
        }),
        prelabels: None,
        review: match row.review {
            1 => "pending",
            2 => "reviewed",
            _ => "none",
        },
        seq: row.seq,
    }
}

/// The pre-labeler, for a dataset that has no model of its own yet.
pub(crate) async fn prelabeler_for(st: &AppState, d: &MiningDataset) -> Result<Option<mn::Prelabel>, ApiError> {
    if d.model.is_some() {
        return Ok(None);
    }
    crate::prelabel::current(st).await
}

/// Reads the messages of `rows` (masked), skipping any deleted meanwhile.
pub(crate) async fn read_rows(
    st: &AppState,
    tenant: &Tenant,
    d: &MiningDataset,
    rows: Vec<MessageIndex>,
) -> Result<Vec<MessageView>, ApiError> {
    let d2 = d.clone();
    let pre = prelabeler_for(st, d).await?;
    with_vault(st, tenant, move |v, t| {
        let mut out = Vec::with_capacity(rows.len());
        let ids: Vec<datapact_governance::RecordId> = rows.iter().map(|r| r.record).collect();
        let mut bodies = mn::read_bodies(v, t, &ids)?;
        for r in &rows {
            // Deleted meanwhile: left out.
            let Some(b) = bodies.remove(&r.record) else { continue };
            let text = b.model_text();
            let mut view = message_view(&d2, r, b, true);
            if let Some((p, m)) = &pre {
                view.prelabels = Some(scored(&d2, &crate::prelabel::suggest(p, m, &d2.taxonomy, &text)));
            }
            out.push(view)
        }
        Ok(out)
    })
    .await
}

/// The audit entry and decision of a labeler's read of `n` messages (masked).
pub(crate) async fn audit_masked_read(
    st: &AppState,
    c: &ApiKey,
    tenant: &Tenant,
    d: &MiningDataset,
) -> Result<Ev, ApiError> {
    let ev = Ev::by(c, Action::ContentRead)
        .tenant(tenant)
        .product(PRODUCT)
        .purpose(Purpose::Service)
        .resources(Label::new(&d.id).ok().map(Resource::Dataset));
    let reasons = decide_service(st, &ev, tenant, None).await?;
    Ok(ev.reasons(&reasons))
}

/// Which messages to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MessageListQuery {
    /// Only messages with this label.
    pub label: Option<String>,
    /// Only messages nobody labeled (true) or only labeled ones (false).
    pub unlabeled: Option<bool>,
    /// Only `design_time` or `run_time` messages.
    pub data_kind: Option<DataKind>,
    /// Page size, 1 to 1000 (default 50).
    pub limit: Option<u32>,
    /// The `next` value of the previous page.
    pub cursor: Option<String>,
}

/// A page of messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    /// Messages in upload order.
    pub messages: Vec<MessageView>,
    /// Give it as `cursor` for the next page (absent: no more).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

pub(crate) fn limit_of(limit: Option<u32>, default: u32) -> Result<usize, ApiError> {
    match limit.unwrap_or(default) {
        n @ 1..=1000 => Ok(n as usize),
        _ => Err(ApiError::invalid("out_of_range", "limit", "a limit of 1 to 1000")),
    }
}

/// Lists a dataset's messages (personal data masked), in upload order.
#[utoipa::path(get, path = "/v1/mining/datasets/{id}/messages", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path), MessageListQuery),
    responses((status = 200, body = MessagePage), (status = 404, body = crate::problem::Problem)))]
pub async fn list_messages(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<MessageListQuery>,
) -> Result<Json<MessagePage>, ApiError> {
    allow(&c, CUSTOMER, "read messages")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    let limit = limit_of(q.limit, 50)?;
    // A label's messages include those of the labels below it.
    let wanted: Vec<u32> = match &q.label {
        Some(n) => d.taxonomy.with_descendants(
            d.taxonomy
                .get(n)
                .ok_or_else(|| ApiError::not_found("label", n).field("label"))?
                .id,
        ),
        None => Vec::new(),
    };
    let after = match &q.cursor {
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::invalid("invalid_value", "cursor", "give the `next` of the previous page"))?,
        None => 0,
    };
    let ev = audit_masked_read(&st, &c, &tenant, &d).await?;
    let ds = d.id.clone();
    let kind = q.data_kind.map(|k| k.as_str());
    let rows = with_vault(&st, &tenant, move |v, t| {
        v.messages(
            t,
            &ds,
            &MessageQuery {
                kind,
                labeled: q.unlabeled.map(|u| !u),
                label_any: &wanted,
                after_seq: after,
                limit: limit + 1,
                ..MessageQuery::default()
            },
        )
    })
    .await?;
    let more = rows.len() > limit;
    let rows: Vec<MessageIndex> = rows.into_iter().take(limit).collect();
    let next = if more {
        rows.last().map(|r| r.seq.to_string())
    } else {
        None
    };
    st.audit(ev.resource(Resource::Count(rows.len() as u64))).await?;
    let messages = read_rows(&st, &tenant, &d, rows).await?;
    Ok(Json(MessagePage { messages, next }))
}

/// How to read one message.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReadMessageQuery {
    /// Show the original, personal data unmasked: a purpose decision (`service` for the
    /// customer's side, `support_access` for the vendor's support staff under the customer's
    /// grant) and an audit entry naming the record.
    pub reveal: Option<bool>,
}

pub(crate) async fn find_message(
    st: &AppState,
    tenant: &Tenant,
    d: &MiningDataset,
    msg: &str,
) -> Result<MessageIndex, ApiError> {
    let key = mn::message_key(&st.vault, d.org, &d.id, msg);
    let ds = d.id.clone();
    with_vault(st, tenant, move |v, t| v.message(t, &ds, &key))
        .await?
        .ok_or_else(|| ApiError::not_found("message", msg))
}

/// One message (masked, or revealed).
#[utoipa::path(get, path = "/v1/mining/datasets/{id}/messages/{msg}", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path), ("msg" = String, Path), ReadMessageQuery),
    responses((status = 200, body = MessageView), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn get_message(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((id, msg)): Path<(String, String)>,
    QueryParams(q): QueryParams<ReadMessageQuery>,
) -> Result<Json<MessageView>, ApiError> {
    allow(&c, &[Role::OrgAdmin, Role::Service, Role::Support], "read messages")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    let reveal = q.reveal.unwrap_or(false);
    if c.role == Role::Support && !reveal {
        return Err(ApiError::forbidden(
            "the vendor's support staff read a message only with ?reveal=true, under the customer's active support grant",
        ));
    }
    let row = find_message(&st, &tenant, &d, &msg).await?;
    let purpose = if c.role == Role::Support {
        Purpose::SupportAccess
    } else {
        Purpose::Service
    };
    let mut ev = Ev::by(&c, Action::ContentRead)
        .tenant(&tenant)
        .product(PRODUCT)
        .purpose(purpose)
        .resource(Resource::Record(row.record));
    if purpose == Purpose::SupportAccess
        && let Some(g) = tenant.active_grant(now())
    {
        ev = ev.resource(Resource::Grant(g.id));
    }
    let d_ = require_purpose(&st, &ev, &tenant, PRODUCT, purpose, Some(row.kind)).await?;
    let rid = row.record;
    let body = with_vault(&st, &tenant, move |v, t| mn::read_body(v, t, rid)).await?;
    // Nothing is shown before its read is on the record.
    st.audit(ev.reasons(&d_.reasons)).await?;
    let text = body.model_text();
    let mut view = message_view(&d, &row, body, !reveal);
    if let Some((p, m)) = prelabeler_for(&st, &d).await? {
        view.prelabels = Some(scored(&d, &crate::prelabel::suggest(&p, &m, &d.taxonomy, &text)));
    }
    Ok(Json(view))
}

/// A message's labels.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelInput {
    /// Its labels (empty: reviewed, none apply).
    pub labels: Vec<String>,
    /// Who labeled it (a name or id of the person; the API key's id when absent).
    #[serde(default)]
    pub by: Option<String>,
}

/// Resolves label names to ids with ancestors, naming the one at fault.
pub(crate) fn resolve_labels(d: &MiningDataset, names: &[String]) -> Result<Vec<u32>, ApiError> {
    let mut ids = BTreeSet::new();
    for (i, n) in names.iter().enumerate() {
        let l = d.taxonomy.get(n).ok_or_else(|| {
            ApiError::invalid(
                "unknown_label",
                &format!("labels[{i}]"),
                format!("label {n:?} is not in the dataset's taxonomy"),
            )
        })?;
        ids.insert(l.id);
    }
    Ok(ids.into_iter().collect())
}

/// Sets labels of one message (and its disagreement with the model, for the check queue).
pub(crate) async fn set_labels(
    st: &AppState,
    tenant: &Tenant,
    d: &MiningDataset,
    row: &MessageIndex,
    labels: Vec<u32>,
    by: Option<String>,
    review: Option<i64>,
) -> Result<(), ApiError> {
    let model = mn::model_of(st, tenant, d).await?;
    let mut ch = label_change(&row.key, Some(&labels), by, now());
    if let (Some(p), Some(m)) = (&row.prediction, &model) {
        let all: Vec<u32> = d.taxonomy.expand(&labels).into_iter().collect();
        ch.disagree = Some(f64::from(mn::disagreement(p, &all, m)));
    }
    ch.review = review;
    let ds = d.id.clone();
    with_vault(st, tenant, move |v, t| v.change_messages(t, &ds, &[ch])).await?;
    Ok(())
}

/// Assigns a message's labels.
#[utoipa::path(put, path = "/v1/mining/datasets/{id}/messages/{msg}/labels", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path), ("msg" = String, Path)), request_body = LabelInput,
    responses((status = 200, body = MessageView), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn put_message_labels(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((id, msg)): Path<(String, String)>,
    JsonBody(input): JsonBody<LabelInput>,
) -> Result<Json<MessageView>, ApiError> {
    allow(&c, CUSTOMER, "label messages")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    let row = find_message(&st, &tenant, &d, &msg).await?;
    let labels = resolve_labels(&d, &input.labels)?;
    let by = match input.by {
        Some(b) => Some(super::check::text("by", &b, 200)?),
        None => Some(c.id.to_string()),
    };
    Ok(Json(
        label_and_show(&st, &c, &tenant, &d, &row, labels, by, None).await?,
    ))
}

/// Labels a message (a `service` decision and a `mining_label` entry first) and answers it
/// as it is now, masked; `review` marks it reviewed.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn label_and_show(
    st: &AppState,
    c: &ApiKey,
    tenant: &Tenant,
    d: &MiningDataset,
    row: &MessageIndex,
    labels: Vec<u32>,
    by: Option<String>,
    review: Option<i64>,
) -> Result<MessageView, ApiError> {
    let ev = Ev::by(c, Action::MiningLabel)
        .tenant(tenant)
        .product(PRODUCT)
        .purpose(Purpose::Service)
        .resource(Resource::Record(row.record));
    let reasons = decide_service(st, &ev, tenant, Some(row.kind)).await?;
    st.audited(ev.reasons(&reasons), set_labels(st, tenant, d, row, labels, by, review))
        .await?;
    let (ds, key, rid) = (d.id.clone(), row.key.clone(), row.record);
    let (now_row, body) = with_vault(st, tenant, move |v, t| {
        let r = v
            .message(t, &ds, &key)?
            .ok_or_else(|| datapact_vault::VaultError::NotFound(key.clone()))?;
        Ok((r, mn::read_body(v, t, rid)?))
    })
    .await?;
    Ok(message_view(d, &now_row, body, true))
}

/// Deletes a message: its record, labels and predictions go, it leaves every queue and
/// stream, and every model version trained on it owes its unlearning.
#[utoipa::path(delete, path = "/v1/mining/datasets/{id}/messages/{msg}", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path), ("msg" = String, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = crate::problem::Problem)))]
pub async fn delete_message(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((id, msg)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    allow(&c, CUSTOMER, "delete messages")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    let row = find_message(&st, &tenant, &d, &msg).await?;
    let rid = row.record;
    let mut ev = Ev::by(&c, Action::RecordDelete)
        .tenant(&tenant)
        .product(PRODUCT)
        .resource(Resource::Record(rid));
    if c.role == Role::Service {
        ev = ev.purpose(Purpose::Service);
        let reasons = decide_service(&st, &ev, &tenant, Some(row.kind)).await?;
        ev = ev.reasons(&reasons);
    }
    st.audited(ev, async {
        crate::training::record_changed(&st, &tenant, rid, true).await?;
        with_vault(&st, &tenant, move |v, t| v.delete(t, rid)).await?;
        crate::training::record_changed(&st, &tenant, rid, true).await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A refused use, recorded: what a route answers when a dataset's setting forbids it.
pub(crate) async fn refuse(st: &AppState, ev: Ev, e: ApiError) -> ApiError {
    match st.audit(ev.outcome(Outcome::Denied)).await {
        Ok(_) => e,
        Err(ae) => ae,
    }
}
