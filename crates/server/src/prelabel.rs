//! The vendor's pre-labeling model for Communications Mining: trained by the vendor on a
//! `vendor_training` dataset of the product (built by the training-data governance
//! capability, so only tenants whose data may train the vendor's models are in it, with
//! personal data masked), labels taken from the datasets its messages belong to (by leaf
//! name, lower-cased, across customers). It is registered in the training ledger with that
//! dataset as its lineage, so it owes retraining when an organization opts out or is purged.
//! Every dataset without a model of its own gets its suggestions, whether or not its tenant's
//! data may train it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use base64::Engine;
use datapact_audit::{Action, Label, Resource};
use datapact_governance::{ApiKey, Purpose};
use datapact_mining::classifier::{Model, TrainConfig};
use datapact_mining::taxonomy::Taxonomy;
use datapact_mining::trainer::Labeled;
use datapact_training::{DatasetStatus, Model as LedgerModel, TrainingPurpose};
use datapact_vault::ShardPage;
use serde::Serialize;

use crate::audit::Ev;
use crate::blocking::{on_blocking_pool, with_vault};
use crate::mining::{self as mn, MessageBody, PRODUCT};
use crate::problem::ApiError;
use crate::state::{AppState, now};

const DOC: &str = "mining_prelabeler";
const CURRENT: &str = "current";

pub use crate::mining_cache::Prelabeler;

/// The pre-labeler, if one was trained (cached by version).
pub async fn current(st: &AppState) -> Result<Option<(Arc<Prelabeler>, Arc<Model>)>, ApiError> {
    // Looked at again at most every few seconds: a listing must not parse the stored model.
    if let Some(fresh) = st.mining.prelabeler_fresh(std::time::Duration::from_secs(10)) {
        return Ok(fresh);
    }
    let Some(doc) = st.store.training_doc(DOC, CURRENT).await.map_err(ApiError::storage)? else {
        st.mining.prelabeler_checked(None);
        return Ok(None);
    };
    let p: Prelabeler =
        serde_json::from_str(&doc).map_err(|e| ApiError::internal(format!("stored pre-labeler: {e}")))?;
    if let Some(hit) = st.mining.prelabeler(p.version) {
        st.mining.prelabeler_checked(Some(hit.clone()));
        return Ok(Some(hit));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&p.model)
        .map_err(|e| ApiError::internal(format!("stored pre-labeler: {e}")))?;
    let model = on_blocking_pool(move || Model::from_bytes(&bytes))
        .await?
        .map_err(|e| ApiError::internal(format!("stored pre-labeler: {e}")))?;
    let hit = (Arc::new(p), Arc::new(model));
    st.mining.prelabeler_checked(Some(hit.clone()));
    Ok(Some(hit))
}

/// Suggestions for a text in a dataset's taxonomy: the pre-labeler's labels whose leaf name
/// one of the dataset's labels has, most probable first.
pub fn suggest(p: &Prelabeler, model: &Model, tax: &Taxonomy, text: &str) -> Vec<(u32, f32)> {
    let names: HashMap<u32, &str> = p.labels.iter().map(|(i, n)| (*i, n.as_str())).collect();
    let mut out = Vec::new();
    for (id, prob) in mn::predict(model, text) {
        let Some(leaf) = names.get(&id) else { continue };
        for l in tax.labels() {
            let own = l.name.rsplit(" > ").next().unwrap_or(&l.name).to_lowercase();
            if own == *leaf {
                out.push((l.id, prob));
            }
        }
    }
    out
}

/// What a pre-labeler training did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrelabelerView {
    /// Version.
    pub version: u32,
    /// The `vendor_training` dataset it learned from.
    pub dataset: String,
    /// Messages it learned from.
    pub examples: usize,
    /// Tenants whose messages it learned from.
    pub tenants: usize,
    /// Tenants of the dataset left out because their data may no longer train it.
    pub tenants_withheld: usize,
    /// Labels (leaf names) it predicts.
    pub labels: Vec<String>,
    /// Its entry in the training ledger.
    pub ledger_model: String,
}

/// Trains the pre-labeler on a ready `vendor_training` dataset of the product.
pub async fn train(st: &AppState, c: &ApiKey, dataset: &str) -> Result<PrelabelerView, ApiError> {
    let d = crate::training::load_dataset(st, dataset)
        .await?
        .ok_or_else(|| ApiError::not_found("dataset", dataset).field("dataset"))?;
    if d.request.product != PRODUCT || d.request.purpose != TrainingPurpose::VendorTraining {
        return Err(ApiError::invalid(
            "invalid_value",
            "dataset",
            format!("the pre-labeler learns from a vendor_training dataset of {PRODUCT}"),
        ));
    }
    if d.status != DatasetStatus::Ready {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "dataset_not_ready",
            "the dataset is not built yet",
        )
        .field("dataset"));
    }
    // (index key, text, leaf names) of each labeled message.
    let mut raw: Vec<(String, String, BTreeSet<String>)> = Vec::new();
    let mut leafs: BTreeSet<String> = BTreeSet::new();
    let mut withheld = 0usize;
    let mut tenants = 0usize;
    let mut taxonomies: HashMap<String, Option<Taxonomy>> = HashMap::new();
    for s in &d.shards {
        if !crate::training::withheld_now(st, &d, s.tenant).is_empty() {
            withheld += 1;
            continue;
        }
        let Some(tenant) = st.registry.tenant(s.tenant) else {
            withheld += 1;
            continue;
        };
        let ds_id = d.id.clone();
        // Items with the index rows of their records: (mining dataset, label ids, text).
        let rows = with_vault(st, &tenant, move |v, t| {
            let mut out = Vec::new();
            let mut after = 0;
            loop {
                let page = match v.shard_items(t, &ds_id, after, 1000)? {
                    ShardPage::Shredded => break,
                    ShardPage::Items(i) if i.is_empty() => break,
                    ShardPage::Items(i) => i,
                };
                for it in page {
                    after = it.seq;
                    let Ok(record) = it.record.parse() else { continue };
                    let Some((mds, row)) = v.message_of_record(t, record)? else {
                        continue;
                    };
                    if !row.labeled {
                        continue;
                    }
                    let line: serde_json::Value = serde_json::from_slice(&it.item).unwrap_or_default();
                    let content = line["content"].as_str().unwrap_or("").to_string();
                    let text = serde_json::from_str::<MessageBody>(&content)
                        .map(|b| b.model_text())
                        .unwrap_or(content);
                    out.push((mds, row.labels, text, row.key));
                }
            }
            Ok(out)
        })
        .await?;
        if !rows.is_empty() {
            tenants += 1;
        }
        for (mds, ids, text, key) in rows {
            if !taxonomies.contains_key(&mds) {
                let t = mn::load(st, &mds).await?.map(|x| x.taxonomy);
                taxonomies.insert(mds.clone(), t);
            }
            let Some(Some(tax)) = taxonomies.get(&mds) else {
                continue;
            };
            let names: BTreeSet<String> = tax
                .expand(&ids)
                .iter()
                .filter_map(|i| tax.by_id(*i))
                .map(|l| l.name.rsplit(" > ").next().unwrap_or(&l.name).to_lowercase())
                .collect();
            leafs.extend(names.iter().cloned());
            raw.push((key, text, names));
        }
    }
    let names: Vec<String> = leafs.into_iter().collect();
    let tax = Taxonomy::new(&names).map_err(|e| ApiError::invalid("invalid_value", "dataset", e.to_string()))?;
    let examples: Vec<Labeled> = raw
        .into_iter()
        .map(|(key, text, ns)| Labeled {
            key: key.into_bytes(),
            text,
            labels: ns.iter().filter_map(|n| tax.get(n)).map(|l| l.id).collect(),
        })
        .collect();
    let n_examples = examples.len();
    let t2 = tax.clone();
    let outcome =
        on_blocking_pool(move || datapact_mining::trainer::train(&t2, &examples, &[], None, &TrainConfig::default()))
            .await?
            .map_err(|e| match e {
                datapact_mining::MiningError::TooFewLabels(m) => ApiError::invalid(
                    "too_few_labels",
                    "dataset",
                    format!("the dataset's labeled messages: {m}"),
                ),
                other => ApiError::invalid("invalid_value", "dataset", other.to_string()),
            })?;
    let bytes = outcome.model.to_bytes().map_err(ApiError::internal)?;
    let previous = match st.store.training_doc(DOC, CURRENT).await.map_err(ApiError::storage)? {
        Some(doc) => serde_json::from_str::<Prelabeler>(&doc).map(|p| p.version).unwrap_or(0),
        None => 0,
    };
    let version = previous + 1;
    let model_id = format!("mdl_{}", uuid::Uuid::now_v7().simple());
    let at = now();
    let mut lm = LedgerModel {
        id: model_id.clone(),
        name: format!("{PRODUCT}/prelabeler"),
        version: format!("v{version}"),
        product: PRODUCT.to_string(),
        purpose: TrainingPurpose::VendorTraining,
        region: d.request.region.clone(),
        datasets: LedgerModel::lineage_of(&d).into_iter().collect(),
        registered_by: Some(c.id.to_string()),
        registered_at: at,
        registered_entry: None,
    };
    let ev = Ev::by(c, Action::ModelRegister)
        .product(PRODUCT)
        .purpose(Purpose::VendorTraining)
        .region(&d.request.region)
        .resources(Label::new(&model_id).ok().map(Resource::Model))
        .resources(Label::new(&d.id).ok().map(Resource::Dataset));
    lm.registered_entry = Some(st.audit(ev).await?.index);
    crate::training::save_model(st, &lm).await?;
    let p = Prelabeler {
        version,
        trained_at: at,
        dataset: d.id.clone(),
        examples: n_examples,
        tenants,
        labels: tax.labels().iter().map(|l| (l.id, l.name.clone())).collect(),
        ledger_model: model_id.clone(),
        model: base64::engine::general_purpose::STANDARD.encode(&bytes),
    };
    let doc = serde_json::to_string(&p).map_err(ApiError::internal)?;
    st.store
        .put_training_doc(DOC, CURRENT, "active", &doc)
        .await
        .map_err(ApiError::storage)?;
    st.mining
        .prelabeler_checked(Some((Arc::new(p), Arc::new(outcome.model))));
    Ok(PrelabelerView {
        version,
        dataset: d.id,
        examples: n_examples,
        tenants,
        tenants_withheld: withheld,
        labels: names,
        ledger_model: model_id,
    })
}
