//! Communications Mining over HTTP, part two: the customer's model (train, predict,
//! validation), the labeling queues, streams for automations, the review queue of human
//! validation, and the generative features that go through the AI trust layer.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use datapact_audit::{Action, Label, Resource};
use datapact_governance::{DataKind, Purpose, Role};
use datapact_mining::queues::Queue;
use datapact_mining::validation::Validation;
use datapact_vault::{MessageIndex, MessageOrder, MessageQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::mining::{
    CUSTOMER, MessageView, Scored, allow, audit_masked_read, decide_service, find_message, limit_of, read_rows, refuse,
    resolve_labels, scored, visible,
};
use crate::Server;
use crate::audit::Ev;
use crate::blocking::with_vault;
use crate::extract::{Caller, JsonBody, Path, QueryParams};
use crate::mining::{self as mn, MAX_BATCH, MAX_TEXT_BYTES, MiningDataset, PRODUCT, Stream};
use crate::mining_jobs::TrainJobView;
use crate::problem::ApiError;
use crate::state::{AppState, now};

fn no_model() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "no_model",
        "this dataset has no model yet: label design-time messages with at least two labels, then train",
    )
}

/// A training's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainResult {
    /// The new model's version.
    pub model_version: u32,
    /// How good it is.
    pub validation: Validation,
    /// Its entry in the training-data ledger.
    pub ledger_model: String,
}

/// Trains the dataset's model on its labeled design-time messages and the run-time ones a
/// person reviewed (never others, never another tenant's): the purpose `service` for this
/// tenant, decided and audited. Up to `[mining] sync_train_max` labeled messages (5,000 by
/// default) it trains within the request and answers 200; more, or a request with
/// `Prefer: respond-async`, answers 202 with a job (`Location` names it) that the worker
/// runs, on another node if this one stops.
#[utoipa::path(post, path = "/v1/mining/datasets/{id}/train", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path), ("Prefer" = Option<String>, Header, description = "`respond-async`: answer 202 with a job whatever the size")),
    responses((status = 200, body = TrainResult), (status = 202, body = TrainJobView, description = "Queued as a job (or the job already waiting or running for the dataset); poll `GET .../train/jobs/{job}`"),
        (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "`training_in_progress`"),
        (status = 422, body = crate::problem::Problem, description = "`too_few_labels`")))]
pub async fn train(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    allow(&c, CUSTOMER, "train a dataset's model")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    let prefer_async = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"));
    let ev = Ev::by(&c, Action::MiningTrain)
        .tenant(&tenant)
        .product(PRODUCT)
        .purpose(Purpose::Service)
        .resources(Label::new(&id).ok().map(Resource::Dataset));
    // It reads labeled design-time messages and reviewed run-time ones.
    let mut reasons = decide_service(&st, &ev, &tenant, Some(DataKind::DesignTime)).await?;
    reasons.extend(decide_service(&st, &ev, &tenant, Some(DataKind::RunTime)).await?);
    let accepted = |job: crate::mining_jobs::TrainJob| {
        let location = format!("/v1/mining/datasets/{id}/train/jobs/{}", job.view().id);
        let mut resp = (StatusCode::ACCEPTED, Json(job.view())).into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            resp.headers_mut().insert(axum::http::header::LOCATION, v);
        }
        resp
    };
    // A job waiting or running for the dataset is the answer, whatever the size.
    if let Some(job) = crate::mining_jobs::open_job(&st, &id).await? {
        return Ok(accepted(job));
    }
    let (id2, tax) = (id.clone(), d.taxonomy.clone());
    let sync_max = st.config.mining.sync_train_max as u64;
    // With an embedder, the design-time messages predicted after training cost as much as
    // the training's own: they count too.
    let embeds = st.embedder.is_some();
    let (labeled, in_use) = with_vault(&st, &tenant, move |v, t| {
        let counts = v.message_counts(t, &id2)?;
        let labeled = counts.2;
        let work = if embeds {
            labeled.max(counts.0.min(mn::PREDICT_AFTER_TRAINING as u64))
        } else {
            labeled
        };
        if !prefer_async && work <= sync_max {
            return Ok((labeled, None));
        }
        // Every labeled message's labels (a training reads some of them): fewer than two in
        // use there means the job would fail, said now rather than after the queue. Not all
        // read: not certain, the job will say.
        let (in_use, complete) = mn::labeled_counts(v, t, &id2, &tax, 200_000)?;
        if !complete {
            return Ok((labeled, Some(None)));
        }
        Ok((labeled, Some(Some(in_use))))
    })
    .await?;
    if let Some(Some(in_use)) = &in_use {
        datapact_mining::trainer::enough_labels(&d.taxonomy, in_use)
            .map_err(|e| ApiError::invalid("too_few_labels", "labels", e.to_string()))?;
    }
    if in_use.is_some() {
        st.audit(ev.reasons(&reasons)).await?;
        // A job already waiting or running for the dataset is the answer.
        let (job, _) = crate::mining_jobs::queue(&st, c.id, tenant.id, &id, labeled).await?;
        return Ok(accepted(job));
    }
    let _one = st.mining.begin_training(&id).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "training_in_progress",
            "this dataset's model is being trained; wait for it",
        )
    })?;
    let (phase, _) = tokio::sync::watch::channel("reading");
    let info = st
        .audited(ev.reasons(&reasons), mn::train(&st, &c, &tenant, d, None, &phase))
        .await?;
    Ok(Json(TrainResult {
        model_version: info.version,
        validation: info.validation,
        ledger_model: info.ledger_model,
    })
    .into_response())
}

/// A training job of a dataset: queued, running (with its phase), done (with the model's
/// version and validation, as a 200 training answers) or failed (with the code and detail
/// the training would have answered).
#[utoipa::path(get, path = "/v1/mining/datasets/{id}/train/jobs/{job}", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path), ("job" = String, Path)),
    responses((status = 200, body = TrainJobView), (status = 404, body = crate::problem::Problem)))]
pub async fn train_job(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((id, job)): Path<(String, String)>,
) -> Result<Json<TrainJobView>, ApiError> {
    allow(&c, CUSTOMER, "read a training job")?;
    let (d, _, _) = visible(&st, &c, &id).await?;
    crate::mining_jobs::load(&st, &job)
        .await?
        .filter(|j| j.dataset() == d.id)
        .map(|j| Json(j.view()))
        .ok_or_else(|| ApiError::not_found("job", &job))
}

/// Texts to predict.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictInput {
    /// 1 to 1,000 texts, each at most 64 KiB.
    pub texts: Vec<String>,
}

/// One text's prediction.
#[derive(Debug, Serialize, ToSchema)]
pub struct Prediction {
    /// Labels at probability 0.05 or more, most probable first.
    pub labels: Vec<Scored>,
}

/// Predictions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictResult {
    /// The model version that answered.
    pub model_version: u32,
    /// One per text, in order.
    pub predictions: Vec<Prediction>,
}

/// Predicts the labels of texts with the dataset's model.
#[utoipa::path(post, path = "/v1/mining/datasets/{id}/predict", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = PredictInput,
    responses((status = 200, body = PredictResult), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "`no_model`; `model_needs_embedder` (the model needs a `[mining] embedder` this deployment does not run: train again)"),
        (status = 422, body = crate::problem::Problem)))]
pub async fn predict(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<PredictInput>,
) -> Result<Json<PredictResult>, ApiError> {
    allow(&c, CUSTOMER, "predict")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    if input.texts.is_empty() || input.texts.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "batch_too_large",
            "texts",
            format!("give 1 to {MAX_BATCH} texts"),
        ));
    }
    if let Some(i) = input.texts.iter().position(|t| t.len() > MAX_TEXT_BYTES) {
        return Err(ApiError::invalid(
            "message_too_large",
            &format!("texts[{i}]"),
            format!("a text is at most {MAX_TEXT_BYTES} bytes"),
        ));
    }
    let info = d.model.clone().ok_or_else(no_model)?;
    let model = mn::model_of(&st, &tenant, &d).await?.ok_or_else(no_model)?;
    let ev = Ev::by(&c, Action::MiningPredict)
        .tenant(&tenant)
        .product(PRODUCT)
        .purpose(Purpose::Service)
        .resources(Label::new(&id).ok().map(Resource::Dataset))
        .resource(Resource::Count(input.texts.len() as u64));
    let reasons = decide_service(&st, &ev, &tenant, Some(DataKind::RunTime)).await?;
    let audited = st.audit_now(ev.reasons(&reasons));
    let texts = input.texts;
    let embedder = st.embedder.clone();
    let labels = crate::blocking::on_blocking_pool(move || {
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        mn::stored(info.version, &model, embedder.as_deref(), &texts)
    });
    let (entry, labels) = tokio::join!(audited, labels);
    entry?;
    let predictions = labels?
        .map_err(mn::predict_error)?
        .into_iter()
        .map(|p| Prediction {
            labels: scored(&d, &p.labels),
        })
        .collect();
    Ok(Json(PredictResult {
        model_version: info.version,
        predictions,
    }))
}

/// The validation of the model that serves.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationView {
    /// The model version.
    pub model_version: u32,
    /// When it was trained.
    #[serde(with = "time::serde::rfc3339")]
    pub trained_at: time::OffsetDateTime,
    /// Its validation.
    #[serde(flatten)]
    pub validation: Validation,
}

/// How good the dataset's model is, on held-out labeled messages.
#[utoipa::path(get, path = "/v1/mining/datasets/{id}/validation", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ValidationView), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)))]
pub async fn validation(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Json<ValidationView>, ApiError> {
    allow(
        &c,
        &[Role::OrgAdmin, Role::Service, Role::Auditor, Role::PlatformAdmin],
        "read a model's validation",
    )?;
    let (d, _, _) = visible(&st, &c, &id).await?;
    let info = d.model.ok_or_else(no_model)?;
    Ok(Json(ValidationView {
        model_version: info.version,
        trained_at: info.trained_at,
        validation: info.validation,
    }))
}

/// A queue's size.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// 1 to 1000 (default 20).
    pub limit: Option<u32>,
}

/// Messages to label next.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueView {
    /// The queue.
    pub queue: String,
    /// Messages, most useful first (personal data masked).
    pub messages: Vec<MessageView>,
}

fn current_version(d: &MiningDataset) -> Option<i64> {
    d.model.as_ref().map(|m| i64::from(m.version))
}

/// The messages a person should label next: `teach` (the model is least sure),
/// `low_confidence` (no confident label), `shuffle` (random, for coverage), `check` (labels
/// the model disagrees with).
#[utoipa::path(get, path = "/v1/mining/datasets/{id}/queues/{name}", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path), ("name" = String, Path), QueueQuery),
    responses((status = 200, body = QueueView), (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)))]
pub async fn queue(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((id, name)): Path<(String, String)>,
    QueryParams(q): QueryParams<QueueQuery>,
) -> Result<Json<QueueView>, ApiError> {
    allow(&c, CUSTOMER, "read labeling queues")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    let which = Queue::parse(&name).ok_or_else(|| {
        ApiError::not_found("queue", &name).field(format!("name (one of {})", Queue::NAMES.join(", ")))
    })?;
    let limit = limit_of(q.limit, 20)?;
    let version = current_version(&d);
    if which.needs_model() && version.is_none() {
        return Err(no_model());
    }
    let query = match which {
        Queue::Teach => MessageQuery {
            kind: Some("design_time"),
            labeled: Some(false),
            pred_model: version,
            order: MessageOrder::Margin,
            limit,
            ..MessageQuery::default()
        },
        Queue::LowConfidence => MessageQuery {
            kind: Some("design_time"),
            labeled: Some(false),
            pred_model: version,
            max_top: Some(f64::from(datapact_mining::validation::THRESHOLD)),
            order: MessageOrder::Top,
            limit,
            ..MessageQuery::default()
        },
        Queue::Shuffle => MessageQuery {
            kind: Some("design_time"),
            labeled: Some(false),
            order: MessageOrder::Shuffle,
            limit,
            ..MessageQuery::default()
        },
        Queue::Check => MessageQuery {
            kind: Some("design_time"),
            labeled: Some(true),
            pred_model: version,
            min_disagree: Some(0.0),
            order: MessageOrder::Disagree,
            limit,
            ..MessageQuery::default()
        },
    };
    let ev = audit_masked_read(&st, &c, &tenant, &d).await?;
    let ds = d.id.clone();
    let rows = with_vault(&st, &tenant, move |v, t| v.messages(t, &ds, &query)).await?;
    st.audit(ev.resource(Resource::Count(rows.len() as u64))).await?;
    let messages = read_rows(&st, &tenant, &d, rows).await?;
    Ok(Json(QueueView { queue: name, messages }))
}

/// A new stream.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamInput {
    /// Its name (1–64 of `a-z`, `0-9`, `-`, `_`).
    pub name: String,
    /// Label → probability at or above which a message passes for it (0–1).
    #[serde(default)]
    pub thresholds: BTreeMap<String, f32>,
}

/// A stream.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamView {
    /// Its name.
    pub name: String,
    /// Label → threshold.
    pub thresholds: BTreeMap<String, f32>,
    /// The last message committed (`advance`), as a cursor.
    pub cursor: String,
}

fn stream_view(d: &MiningDataset, s: &Stream) -> StreamView {
    StreamView {
        name: s.name.clone(),
        thresholds: s
            .thresholds
            .iter()
            .filter_map(|(l, t)| d.taxonomy.by_id(*l).map(|x| (x.name.clone(), *t)))
            .collect(),
        cursor: s.cursor.to_string(),
    }
}

/// Creates a stream over the dataset's run-time messages.
#[utoipa::path(post, path = "/v1/mining/datasets/{id}/streams", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = StreamInput,
    responses((status = 201, body = StreamView), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn create_stream(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<StreamInput>,
) -> Result<(StatusCode, Json<StreamView>), ApiError> {
    allow(&c, CUSTOMER, "create streams")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    let ok_name = !input.name.is_empty()
        && input.name.len() <= 64
        && input
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !ok_name {
        return Err(ApiError::invalid(
            "invalid_value",
            "name",
            "a name of 1 to 64 characters: a-z, 0-9, '-', '_'",
        ));
    }
    let mut thresholds = BTreeMap::new();
    for (name, t) in &input.thresholds {
        let l = d.taxonomy.get(name).ok_or_else(|| {
            ApiError::invalid(
                "unknown_label",
                &format!("thresholds.{name}"),
                format!("label {name:?} is not in the dataset's taxonomy"),
            )
        })?;
        if !(0.0..=1.0).contains(t) {
            return Err(ApiError::invalid(
                "out_of_range",
                &format!("thresholds.{name}"),
                "a threshold of 0 to 1",
            ));
        }
        thresholds.insert(l.id, *t);
    }
    let ev = Ev::by(&c, Action::MiningDatasetChange)
        .tenant(&tenant)
        .product(PRODUCT)
        .resources(Label::new(&id).ok().map(Resource::Dataset));
    let _w = st.write_lock().await?;
    if mn::load_stream(&st, &id, &input.name).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "stream_exists",
            "this dataset has a stream of that name",
        )
        .field("name"));
    }
    let s = Stream {
        dataset: id.clone(),
        name: input.name,
        thresholds,
        cursor: 0,
        created_at: now(),
        purged: false,
    };
    st.audited(ev, mn::save_stream(&st, &s)).await?;
    Ok((StatusCode::CREATED, Json(stream_view(&d, &s))))
}

/// A dataset's streams.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamList {
    /// Streams, by name.
    pub streams: Vec<StreamView>,
}

/// Lists a dataset's streams.
#[utoipa::path(get, path = "/v1/mining/datasets/{id}/streams", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = StreamList), (status = 404, body = crate::problem::Problem)))]
pub async fn list_streams(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> Result<Json<StreamList>, ApiError> {
    allow(&c, CUSTOMER, "read streams")?;
    let (d, _, _) = visible(&st, &c, &id).await?;
    let mut streams: Vec<StreamView> = mn::streams(&st, &id)
        .await?
        .iter()
        .map(|s| stream_view(&d, s))
        .collect();
    streams.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(StreamList { streams }))
}

async fn stream_of(st: &AppState, d: &MiningDataset, name: &str) -> Result<Stream, ApiError> {
    mn::load_stream(st, &d.id, name)
        .await?
        .ok_or_else(|| ApiError::not_found("stream", name))
}

/// One message of a stream.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamMessage {
    /// The message (personal data masked) with the model's prediction.
    #[serde(flatten)]
    pub message: MessageView,
    /// Labels whose probability passes the stream's threshold.
    pub passed: Vec<String>,
    /// This message's cursor: `advance` to it once handled.
    pub cursor: String,
}

/// A stream's next messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamBatch {
    /// Run-time messages after the stream's cursor, in order.
    pub messages: Vec<StreamMessage>,
    /// The cursor after the last message (`advance` to it once all are handled).
    pub cursor: String,
    /// Whether more messages wait after these.
    pub more: bool,
}

/// Run-time messages after the stream's cursor, with predictions and the labels that pass
/// its thresholds. Reading does not move the cursor: the same messages come again until
/// `advance`, so an automation handles each exactly once, in order, across restarts. A
/// message none of whose thresholds pass goes to the review queue.
#[utoipa::path(get, path = "/v1/mining/datasets/{id}/streams/{stream}/fetch", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path), ("stream" = String, Path), QueueQuery),
    responses((status = 200, body = StreamBatch), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "`no_model`; `model_needs_embedder`")))]
pub async fn fetch(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((id, name)): Path<(String, String)>,
    QueryParams(q): QueryParams<QueueQuery>,
) -> Result<Json<StreamBatch>, ApiError> {
    allow(&c, CUSTOMER, "read streams")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    let s = stream_of(&st, &d, &name).await?;
    let limit = limit_of(q.limit, 100)?;
    let info = d.model.clone().ok_or_else(no_model)?;
    let model = mn::model_of(&st, &tenant, &d).await?.ok_or_else(no_model)?;
    let ev = Ev::by(&c, Action::MiningStream)
        .tenant(&tenant)
        .product(PRODUCT)
        .purpose(Purpose::Service)
        .resources(Label::new(&id).ok().map(Resource::Dataset));
    let reasons = decide_service(&st, &ev, &tenant, Some(DataKind::RunTime)).await?;
    let (ds, after) = (d.id.clone(), i64::try_from(s.cursor).unwrap_or(i64::MAX));
    let rows = with_vault(&st, &tenant, move |v, t| {
        v.messages(
            t,
            &ds,
            &MessageQuery {
                kind: Some("run_time"),
                after_seq: after,
                limit: limit + 1,
                ..MessageQuery::default()
            },
        )
    })
    .await?;
    let more = rows.len() > limit;
    let rows: Vec<MessageIndex> = rows.into_iter().take(limit).collect();
    // The batch ends at the last row read, even one whose message could not be shown: a
    // stream never stalls on it.
    let last_seq = rows.last().map(|r| r.seq);
    st.audit(ev.reasons(&reasons).resource(Resource::Count(rows.len() as u64)))
        .await?;
    let (d2, m2, version, thresholds) = (d.clone(), model.clone(), info.version, s.thresholds.clone());
    let embedder = st.embedder.clone();
    let out = with_vault(&st, &tenant, move |v, t| {
        let mut out = Vec::with_capacity(rows.len());
        let mut to_review = Vec::new();
        let ids: Vec<datapact_governance::RecordId> = rows.iter().map(|r| r.record).collect();
        let mut bodies = mn::read_bodies(v, t, &ids)?;
        let read: Vec<_> = rows
            .iter()
            .filter_map(|r| bodies.remove(&r.record).map(|b| (r, b)))
            .collect();
        let texts: Vec<String> = read.iter().map(|(_, b)| b.model_text()).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let predictions = match mn::stored(version, &m2, embedder.as_deref(), &texts) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        for ((r, body), p) in read.into_iter().zip(predictions) {
            let passed: Vec<String> = p
                .labels
                .iter()
                .filter(|(l, prob)| thresholds.get(l).is_some_and(|th| prob >= th))
                .filter_map(|(l, _)| d2.taxonomy.by_id(*l).map(|x| x.name.clone()))
                .collect();
            let mut row = r.clone();
            // The prediction is kept (the review queue shows it), and a message that passed no
            // threshold waits for review.
            to_review.push(datapact_vault::prediction_change(&r.key, &p, 0.0));
            row.prediction = Some(p);
            if passed.is_empty() && !thresholds.is_empty() && r.review == 0 {
                to_review.push(datapact_vault::MessageChange {
                    key: r.key.clone(),
                    review: Some(1),
                    ..Default::default()
                });
                row.review = 1;
            }
            out.push(StreamMessage {
                message: super::mining::message_view(&d2, &row, body, true),
                passed,
                cursor: r.seq.to_string(),
            });
        }
        v.change_messages(t, &d2.id, &to_review)?;
        Ok(Ok(out))
    })
    .await?
    .map_err(mn::predict_error)?;
    let cursor = last_seq.unwrap_or(s.cursor).to_string();
    Ok(Json(StreamBatch {
        messages: out,
        cursor,
        more,
    }))
}

/// Where a stream's reader got to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvanceInput {
    /// A cursor `fetch` returned: every message up to it is handled.
    pub cursor: String,
}

/// Commits a stream's cursor (never backwards).
#[utoipa::path(post, path = "/v1/mining/datasets/{id}/streams/{stream}/advance", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path), ("stream" = String, Path)), request_body = AdvanceInput,
    responses((status = 200, body = StreamView), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn advance(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((id, name)): Path<(String, String)>,
    JsonBody(input): JsonBody<AdvanceInput>,
) -> Result<Json<StreamView>, ApiError> {
    allow(&c, CUSTOMER, "advance streams")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    let to: u64 = input
        .cursor
        .parse()
        .map_err(|_| ApiError::invalid("invalid_value", "cursor", "give a cursor that fetch returned"))?;
    let ev = Ev::by(&c, Action::MiningStream)
        .tenant(&tenant)
        .product(PRODUCT)
        .resources(Label::new(&id).ok().map(Resource::Dataset));
    let _w = st.write_lock().await?;
    let mut s = stream_of(&st, &d, &name).await?;
    if to < s.cursor {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "cursor_behind",
            format!("the stream is at {}; a cursor never moves back", s.cursor),
        )
        .field("cursor"));
    }
    // A cursor beyond the dataset's last message (a typo, another dataset's cursor) would
    // skip messages still to come; the one it is at may have been deleted since the fetch.
    if to > s.cursor {
        let ds = d.id.clone();
        let last = with_vault(&st, &tenant, move |v, t| {
            v.messages(
                t,
                &ds,
                &MessageQuery {
                    order: MessageOrder::SeqDesc,
                    limit: 1,
                    ..MessageQuery::default()
                },
            )
        })
        .await?;
        if last.first().is_none_or(|m| m.seq < to) {
            return Err(ApiError::invalid(
                "unknown_cursor",
                "cursor",
                "this dataset has no message at or after this cursor: give one that fetch returned",
            ));
        }
    }
    s.cursor = to;
    st.audited(ev, mn::save_stream(&st, &s)).await?;
    Ok(Json(stream_view(&d, &s)))
}

/// Messages waiting for a person to confirm or correct their labels.
#[utoipa::path(get, path = "/v1/mining/datasets/{id}/review", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path), QueueQuery),
    responses((status = 200, body = QueueView), (status = 404, body = crate::problem::Problem)))]
pub async fn review_queue(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<QueueQuery>,
) -> Result<Json<QueueView>, ApiError> {
    allow(&c, CUSTOMER, "read the review queue")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    let limit = limit_of(q.limit, 20)?;
    let ev = audit_masked_read(&st, &c, &tenant, &d).await?;
    let ds = d.id.clone();
    let rows = with_vault(&st, &tenant, move |v, t| {
        v.messages(
            t,
            &ds,
            &MessageQuery {
                review: Some(1),
                limit,
                ..MessageQuery::default()
            },
        )
    })
    .await?;
    st.audit(ev.resource(Resource::Count(rows.len() as u64))).await?;
    let messages = read_rows(&st, &tenant, &d, rows).await?;
    Ok(Json(QueueView {
        queue: "review".into(),
        messages,
    }))
}

/// A person's review of a message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// The labels that apply (empty: none).
    pub labels: Vec<String>,
    /// Who reviewed it.
    pub by: String,
}

/// Confirms or corrects a message's labels (human-in-the-loop validation, the purpose
/// `service`). The reviewed labels train the customer's next model; a run-time message stays
/// run-time data for every other use (never the vendor's training), and stays in its streams.
#[utoipa::path(post, path = "/v1/mining/datasets/{id}/review/{msg}", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path), ("msg" = String, Path)), request_body = ReviewInput,
    responses((status = 200, body = MessageView), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn review(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    Path((id, msg)): Path<(String, String)>,
    JsonBody(input): JsonBody<ReviewInput>,
) -> Result<Json<MessageView>, ApiError> {
    allow(&c, CUSTOMER, "review messages")?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    let row = find_message(&st, &tenant, &d, &msg).await?;
    let labels = resolve_labels(&d, &input.labels)?;
    let by = super::check::text("by", &input.by, 200)?;
    Ok(Json(
        super::mining::label_and_show(&st, &c, &tenant, &d, &row, labels, Some(by), Some(2)).await?,
    ))
}

/// A generative feature's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerativeResult {
    /// The text the model wrote (placeholders restored by the trust layer).
    pub text: String,
    /// The model that wrote it.
    pub model: String,
}

/// Which model a generative feature asks for.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerativeInput {
    /// A model the AI trust layer routes (default `gpt-4o-mini`).
    #[serde(default)]
    pub model: Option<String>,
}

/// Most messages of a thread a summary reads, and rows scanned to find them.
const THREAD_MESSAGES: usize = 20;
const THREAD_SCAN: usize = 1_000;

/// Sends a prompt through the AI trust layer as a `genai` call of this product for the
/// dataset's tenant, with the caller's own service key; the trust layer decides, masks,
/// audits (before anything leaves) and forwards with zero retention.
async fn through_trust_layer(
    srv: &Server,
    headers: &HeaderMap,
    d: &MiningDataset,
    model: &str,
    system: &str,
    user: String,
) -> Result<GenerativeResult, ApiError> {
    let mut h = HeaderMap::new();
    if let Some(a) = headers.get(axum::http::header::AUTHORIZATION) {
        h.insert(axum::http::header::AUTHORIZATION, a.clone());
    }
    h.insert(
        datapact_gateway::TENANT_HEADER,
        HeaderValue::from_str(&d.tenant.to_string()).map_err(ApiError::internal)?,
    );
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = serde_json::json!({
        "model": model,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ],
    });
    let resp = datapact_gateway::chat_completions(
        State(srv.gateway.clone()),
        h,
        Body::from(serde_json::to_vec(&body).map_err(ApiError::internal)?),
    )
    .await;
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            use axum::response::IntoResponse;
            let r = e.into_response();
            let status = r.status();
            let bytes = axum::body::to_bytes(r.into_body(), 64 * 1024).await.unwrap_or_default();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let code = v["error"]["code"].as_str().unwrap_or("llm_refused").to_string();
            let msg = v["error"]["message"]
                .as_str()
                .unwrap_or("the AI trust layer refused the call")
                .to_string();
            return Err(ApiError::new(
                if status.is_client_error() {
                    status
                } else {
                    StatusCode::BAD_GATEWAY
                },
                "trust_layer_refused",
                format!("{code}: {msg}"),
            ));
        }
    };
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "llm_unavailable", e.to_string()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "llm_unavailable", e.to_string()))?;
    Ok(GenerativeResult {
        text: v["choices"][0]["message"]["content"].as_str().unwrap_or("").to_string(),
        model: v["model"].as_str().unwrap_or(model).to_string(),
    })
}

/// Refuses a generative feature of a dataset created with AI features off, recorded.
async fn ai_features_on(st: &AppState, c: &datapact_governance::ApiKey, d: &MiningDataset) -> Result<(), ApiError> {
    if d.ai_features {
        return Ok(());
    }
    let ev = Ev::by(c, Action::LlmCall)
        .tenant_id(d.tenant)
        .product(PRODUCT)
        .purpose(Purpose::Genai)
        .resources(Label::new(&d.id).ok().map(Resource::Dataset));
    Err(refuse(
        st,
        ev,
        ApiError::new(
            StatusCode::FORBIDDEN,
            "ai_features_disabled",
            "this dataset was created with AI features disabled: its messages never go to a third-party LLM",
        ),
    )
    .await)
}

/// Summarizes a message's thread with a third-party LLM through the AI trust layer (the
/// product's service key; the tenant's genai settings apply; 403 `ai_features_disabled` for a
/// dataset created without AI features).
#[utoipa::path(post, path = "/v1/mining/datasets/{id}/messages/{msg}/summarize", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path), ("msg" = String, Path)), request_body = GenerativeInput,
    responses((status = 200, body = GenerativeResult), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn summarize(
    State(srv): State<Server>,
    Caller(c): Caller,
    headers: HeaderMap,
    Path((id, msg)): Path<(String, String)>,
    JsonBody(body): JsonBody<GenerativeInput>,
) -> Result<Json<GenerativeResult>, ApiError> {
    let st = srv.app.clone();
    allow(
        &c,
        &[Role::Service],
        "call generative features (the product's service key does)",
    )?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    ai_features_on(&st, &c, &d).await?;
    let row = find_message(&st, &tenant, &d, &msg).await?;
    let (ds, rid) = (d.id.clone(), row.record);
    // The thread: this message and the others with its thread id (bounded scan).
    let thread = with_vault(&st, &tenant, move |v, t| {
        let me = mn::read_body(v, t, rid)?;
        let mut out = vec![me.clone()];
        if let Some(th) = me.thread.clone() {
            let rows = v.messages(
                t,
                &ds,
                &MessageQuery {
                    limit: THREAD_SCAN,
                    ..MessageQuery::default()
                },
            )?;
            let ids: Vec<datapact_governance::RecordId> = rows.iter().map(|r| r.record).filter(|r| *r != rid).collect();
            let mut bodies = mn::read_bodies(v, t, &ids)?;
            for r in ids {
                if out.len() >= THREAD_MESSAGES {
                    break;
                }
                if let Some(b) = bodies.remove(&r)
                    && b.thread.as_deref() == Some(th.as_str())
                {
                    out.push(b);
                }
            }
        }
        Ok(out)
    })
    .await?;
    let text: String = thread
        .iter()
        .map(|m| {
            let body = datapact_mining::features::cut(&m.text, 8 * 1024);
            match m.subject.as_deref() {
                Some(sub) if !sub.is_empty() => format!("Subject: {sub}\n{body}\n"),
                _ => format!("{body}\n"),
            }
        })
        .collect::<Vec<_>>()
        .join("\n---\n");
    let model = body.model.unwrap_or_else(|| "gpt-4o-mini".into());
    let r = through_trust_layer(
        &srv,
        &headers,
        &d,
        &model,
        "Summarize this customer e-mail thread in at most three sentences.",
        text,
    )
    .await?;
    Ok(Json(r))
}

/// Which label to describe.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeInput {
    /// The label.
    pub label: String,
    /// A model the AI trust layer routes (default `gpt-4o-mini`).
    #[serde(default)]
    pub model: Option<String>,
}

/// Suggests a description of a label from a few of its messages, through the AI trust layer
/// (as `summarize`).
#[utoipa::path(post, path = "/v1/mining/datasets/{id}/labels/describe", tag = "mining", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = DescribeInput,
    responses((status = 200, body = GenerativeResult), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn describe_label(
    State(srv): State<Server>,
    Caller(c): Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<DescribeInput>,
) -> Result<Json<GenerativeResult>, ApiError> {
    let st = srv.app.clone();
    allow(
        &c,
        &[Role::Service],
        "call generative features (the product's service key does)",
    )?;
    let (d, tenant, _) = visible(&st, &c, &id).await?;
    ai_features_on(&st, &c, &d).await?;
    let label = d
        .taxonomy
        .get(&input.label)
        .ok_or_else(|| ApiError::not_found("label", &input.label).field("label"))?
        .clone();
    let ds = d.id.clone();
    let below = d.taxonomy.with_descendants(label.id);
    let examples = with_vault(&st, &tenant, move |v, t| {
        let rows = v.messages(
            t,
            &ds,
            &MessageQuery {
                label_any: &below,
                limit: 10,
                ..MessageQuery::default()
            },
        )?;
        Ok(rows
            .iter()
            .filter_map(|r| mn::read_body(v, t, r.record).ok())
            .map(|b| datapact_mining::features::cut(&b.text, 2048).to_string())
            .collect::<Vec<_>>())
    })
    .await?;
    let user = format!(
        "Label: {}\nExamples:\n{}",
        input.label,
        examples.iter().map(|e| format!("- {e}")).collect::<Vec<_>>().join("\n")
    );
    let model = input.model.unwrap_or_else(|| "gpt-4o-mini".into());
    let r = through_trust_layer(
        &srv,
        &headers,
        &d,
        &model,
        "Write a one-sentence description of what messages with this label are about.",
        user,
    )
    .await?;
    Ok(Json(r))
}

/// The generative features' routes: they reach the AI trust layer, so their state is the
/// whole server.
pub fn router(server: Server) -> axum::Router {
    axum::Router::new()
        .route(
            "/v1/mining/datasets/{id}/messages/{msg}/summarize",
            axum::routing::post(summarize),
        )
        .route(
            "/v1/mining/datasets/{id}/labels/describe",
            axum::routing::post(describe_label),
        )
        .with_state(server)
}

/// Which dataset the pre-labeler learns from.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrelabelerInput {
    /// A ready `vendor_training` dataset of `communications-mining` (`ds_…`).
    pub dataset: String,
}

/// Trains the vendor's pre-labeling model on a `vendor_training` dataset (the vendor's
/// platform admins): only tenants whose data may train the vendor's models are in it, with
/// personal data masked; it is registered in the training ledger with that lineage.
#[utoipa::path(post, path = "/v1/mining/prelabeler", tag = "mining", security(("bearer" = [])),
    request_body = PrelabelerInput,
    responses((status = 200, body = crate::prelabel::PrelabelerView), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn train_prelabeler(
    State(st): State<Arc<AppState>>,
    Caller(c): Caller,
    JsonBody(input): JsonBody<PrelabelerInput>,
) -> Result<Json<crate::prelabel::PrelabelerView>, ApiError> {
    allow(
        &c,
        &[Role::PlatformAdmin],
        "train the pre-labeling model (the vendor's platform admins do)",
    )?;
    if !c.is_global() {
        return Err(ApiError::forbidden(
            "the pre-labeler is trained by a platform admin of the whole deployment",
        ));
    }
    Ok(Json(crate::prelabel::train(&st, &c, &input.dataset).await?))
}
