//! Audit entries. An entry can hold no customer content by construction: every field is an
//! identifier, an enum or a validated label, and there is no free-text field at all.

use std::fmt;

use datapact_governance::{GrantId, JobId, KeyId, OptOutId, OrgId, Purpose, ReasonCode, RecordId, Role, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A short identifier (product id, region, certificate id): lowercase letters, digits and `-_.:`,
/// at most 64 characters, so it cannot carry a sentence of customer text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Label(String);

/// A string that is not a valid [`Label`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a label (lowercase letters, digits and -_.:, at most 64)")]
pub struct LabelError(pub String);

impl Label {
    /// Checks and wraps a label.
    pub fn new(s: &str) -> Result<Self, LabelError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.:".contains(c));
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(LabelError(s.chars().take(64).collect()))
        }
    }

    /// The label text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Label::new(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A purpose decision was asked.
    Decision,
    /// The availability of every product for a tenant was asked.
    Availability,
    /// Record content was read.
    ContentRead,
    /// Record metadata (never content) was listed.
    RecordList,
    /// Records were written.
    RecordWrite,
    /// A record was changed.
    RecordModify,
    /// A record was deleted.
    RecordDelete,
    /// A tenant's data was exported.
    Export,
    /// A tenant's data was purged.
    Purge,
    /// Rows of a purged tenant were removed.
    RowsRemoved,
    /// Expired records were deleted by retention.
    RetentionSweep,
    /// A data key was created.
    KeyCreate,
    /// A data key was rotated.
    KeyRotate,
    /// Data keys were destroyed.
    KeyDestroy,
    /// An organization was created.
    OrgCreate,
    /// An organization's terms changed.
    TermsChange,
    /// A contract termination started or completed.
    Termination,
    /// A tenant was created or changed.
    TenantChange,
    /// A training opt-out was recorded.
    OptOutRecord,
    /// A training opt-out was revoked.
    OptOutRevoke,
    /// AI settings changed.
    AiSettingsChange,
    /// Retention rules changed.
    RetentionChange,
    /// A support grant was given.
    SupportGrantCreate,
    /// A support grant was revoked.
    SupportGrantRevoke,
    /// An API key was created.
    ApiKeyCreate,
    /// An API key was revoked.
    ApiKeyRevoke,
    /// A call to an LLM through the AI trust layer (refused ones too): its outcome.
    LlmCall,
    /// A call's prompt is about to go to a provider: appended (durably, by default) before
    /// the first byte leaves, once per provider that receives it.
    LlmForward,
    /// The audit log itself was read (entries or an export): who looked, at what scope.
    AuditRead,
    /// A tenant's data key versions were listed.
    KeyList,
    /// A tenant's deletion certificates were read.
    CertificateRead,
    /// A step of re-encrypting a tenant's records under its newest key (a background job).
    Reencrypt,
    /// A training dataset was asked for.
    TrainingDatasetCreate,
    /// A training dataset's build finished (or one tenant's part of it, in that tenant's view).
    TrainingDatasetBuild,
    /// A training dataset was read through its export.
    TrainingExport,
    /// An organization's data went out in a training dataset's export (its own entry).
    TrainingDataUsed,
    /// A model trained on datasets was registered.
    ModelRegister,
    /// Training datasets, models, their debt or an organization's training usage were read.
    TrainingRead,
    /// A Communications Mining dataset was created.
    MiningDatasetCreate,
    /// A Communications Mining dataset's labels or streams changed.
    MiningDatasetChange,
    /// Messages' labels were set (by a person labeling, or a review).
    MiningLabel,
    /// A dataset's model was trained on its labeled design-time messages.
    MiningTrain,
    /// A dataset's model predicted labels of texts.
    MiningPredict,
    /// An automation read a stream's messages with their predictions, or moved its cursor.
    MiningStream,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 44] = [
        Action::Decision,
        Action::Availability,
        Action::ContentRead,
        Action::RecordList,
        Action::RecordWrite,
        Action::RecordModify,
        Action::RecordDelete,
        Action::Export,
        Action::Purge,
        Action::RowsRemoved,
        Action::RetentionSweep,
        Action::KeyCreate,
        Action::KeyRotate,
        Action::KeyDestroy,
        Action::OrgCreate,
        Action::TermsChange,
        Action::Termination,
        Action::TenantChange,
        Action::OptOutRecord,
        Action::OptOutRevoke,
        Action::AiSettingsChange,
        Action::RetentionChange,
        Action::SupportGrantCreate,
        Action::SupportGrantRevoke,
        Action::ApiKeyCreate,
        Action::ApiKeyRevoke,
        Action::LlmCall,
        Action::LlmForward,
        Action::AuditRead,
        Action::KeyList,
        Action::CertificateRead,
        Action::Reencrypt,
        Action::TrainingDatasetCreate,
        Action::TrainingDatasetBuild,
        Action::TrainingExport,
        Action::TrainingDataUsed,
        Action::ModelRegister,
        Action::TrainingRead,
        Action::MiningDatasetCreate,
        Action::MiningDatasetChange,
        Action::MiningLabel,
        Action::MiningTrain,
        Action::MiningPredict,
        Action::MiningStream,
    ];

    /// The wire name (`"content_read"`), as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Decision => "decision",
            Action::Availability => "availability",
            Action::ContentRead => "content_read",
            Action::RecordList => "record_list",
            Action::RecordWrite => "record_write",
            Action::RecordModify => "record_modify",
            Action::RecordDelete => "record_delete",
            Action::Export => "export",
            Action::Purge => "purge",
            Action::RowsRemoved => "rows_removed",
            Action::RetentionSweep => "retention_sweep",
            Action::KeyCreate => "key_create",
            Action::KeyRotate => "key_rotate",
            Action::KeyDestroy => "key_destroy",
            Action::OrgCreate => "org_create",
            Action::TermsChange => "terms_change",
            Action::Termination => "termination",
            Action::TenantChange => "tenant_change",
            Action::OptOutRecord => "opt_out_record",
            Action::OptOutRevoke => "opt_out_revoke",
            Action::AiSettingsChange => "ai_settings_change",
            Action::RetentionChange => "retention_change",
            Action::SupportGrantCreate => "support_grant_create",
            Action::SupportGrantRevoke => "support_grant_revoke",
            Action::ApiKeyCreate => "api_key_create",
            Action::ApiKeyRevoke => "api_key_revoke",
            Action::LlmCall => "llm_call",
            Action::LlmForward => "llm_forward",
            Action::AuditRead => "audit_read",
            Action::KeyList => "key_list",
            Action::CertificateRead => "certificate_read",
            Action::Reencrypt => "reencrypt",
            Action::TrainingDatasetCreate => "training_dataset_create",
            Action::TrainingDatasetBuild => "training_dataset_build",
            Action::TrainingExport => "training_export",
            Action::TrainingDataUsed => "training_data_used",
            Action::ModelRegister => "model_register",
            Action::TrainingRead => "training_read",
            Action::MiningDatasetCreate => "mining_dataset_create",
            Action::MiningDatasetChange => "mining_dataset_change",
            Action::MiningLabel => "mining_label",
            Action::MiningTrain => "mining_train",
            Action::MiningPredict => "mining_predict",
            Action::MiningStream => "mining_stream",
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Allowed and done.
    Allowed,
    /// Refused by policy.
    Denied,
    /// Failed.
    Error,
}

impl Outcome {
    /// The wire name (`"allowed"`), as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
        }
    }
}

/// The wire name of an enum value (`"content_read"`), for storage columns and filters.
pub fn wire_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A resource an entry concerns, by id only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// A record.
    Record(RecordId),
    /// A support grant.
    Grant(GrantId),
    /// An opt-out.
    OptOut(OptOutId),
    /// An API key.
    ApiKey(KeyId),
    /// A background job.
    Job(JobId),
    /// A data key version.
    DataKey(u32),
    /// A deletion certificate.
    Certificate(Label),
    /// A number of records affected (batch writes, exports, sweeps).
    Count(u64),
    /// A training dataset.
    Dataset(Label),
    /// A model registered with its training datasets.
    Model(Label),
}

/// Who acted: a key (with its role), or datapact itself (background jobs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The API key, if a caller acted.
    pub key: Option<KeyId>,
    /// Its role.
    pub role: Option<Role>,
}

impl Actor {
    /// datapact's own background work.
    pub fn system() -> Self {
        Self { key: None, role: None }
    }
}

/// Everything an entry records except its position and time, which the log assigns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Who.
    pub actor: Actor,
    /// The organization concerned.
    pub org: Option<OrgId>,
    /// The tenant concerned.
    pub tenant: Option<TenantId>,
    /// The product concerned.
    pub product: Option<Label>,
    /// What.
    pub action: Action,
    /// For which purpose.
    pub purpose: Option<Purpose>,
    /// The resources, by id.
    pub resources: Vec<Resource>,
    /// How it ended.
    pub outcome: Outcome,
    /// The decision's reason codes.
    pub reasons: Vec<ReasonCode>,
    /// The HTTP request it belongs to.
    pub request_id: Option<uuid::Uuid>,
    /// Where processing happened.
    pub region: Option<Label>,
    /// A keyed hash (HMAC-SHA-256 with the organization's key) correlating a sensitive value.
    pub correlation: Option<String>,
    /// An LLM call through the AI trust layer. Absent from every other entry, and then not
    /// written at all, so entries written before this field existed hash the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<LlmCall>,
}

/// A configured name (a model, a provider, an entity type): printable ASCII without spaces, at
/// most 128 characters. Only names from the server's configuration or the PII engine are used.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// Checks and wraps a name.
    pub fn new(s: &str) -> Result<Self, LabelError> {
        if !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(s.to_string()))
        } else {
            Err(LabelError(s.chars().take(64).collect()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Name::new(&s).map_err(serde::de::Error::custom)
    }
}

/// How an LLM call through the AI trust layer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Forwarded as it was.
    Allowed,
    /// Refused by a decision, a policy or the PII setting.
    Blocked,
    /// Forwarded with personal data replaced by placeholders.
    Masked,
    /// The provider failed or answered with something that is not its API.
    Error,
}

/// An LLM call: which model, where, how it ended and what it cost. Never the prompt or the
/// response: their entity types at most.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmCall {
    /// The model asked for; absent when the request was refused before naming a valid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<Name>,
    /// The provider that served it (or would have).
    pub provider: Option<Name>,
    /// How it ended.
    pub status: CallStatus,
    /// Tokens of the prompt, as the provider counted them.
    pub prompt_tokens: Option<u32>,
    /// Tokens of the completion.
    pub completion_tokens: Option<u32>,
    /// Both.
    pub total_tokens: Option<u32>,
    /// Time from request to response, in milliseconds.
    pub latency_ms: u32,
    /// Of which the gateway's own work (not waiting on the provider), in microseconds.
    pub overhead_us: u32,
    /// The calling feature (`x-datapact-feature`), if named.
    pub feature: Option<Label>,
    /// The types of personal data found in the prompt (masked or refused).
    pub pii_types: Vec<Name>,
    /// Whether the answer was streamed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub streamed: bool,
    /// Why the call failed (`upstream_timeout`, `upstream_invalid_response`,
    /// `client_disconnected`…), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Name>,
    /// Providers tried before the one that answered (retries and fallbacks), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
}

impl Event {
    /// An event with the given actor, action and outcome, and nothing else set.
    pub fn new(actor: Actor, action: Action, outcome: Outcome) -> Self {
        Self {
            actor,
            org: None,
            tenant: None,
            product: None,
            action,
            purpose: None,
            resources: Vec::new(),
            outcome,
            reasons: Vec::new(),
            request_id: None,
            region: None,
            correlation: None,
            call: None,
        }
    }
}

/// An entry as it sits in the log. Its canonical JSON is the exact leaf that is hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the log (0-based), inside the hashed bytes so entries cannot be reordered.
    pub index: u64,
    /// When it was appended.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// What it records.
    #[serde(flatten)]
    pub event: Event,
}

impl Entry {
    /// The exact bytes that are hashed as this entry's leaf.
    pub fn leaf(&self) -> Vec<u8> {
        // Field order is fixed by the struct definitions, and there are no maps, so the bytes
        // are deterministic.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_without_a_call_hash_as_before() {
        let e = Entry {
            index: 7,
            time: OffsetDateTime::UNIX_EPOCH,
            event: Event::new(Actor::system(), Action::Decision, Outcome::Allowed),
        };
        let text = String::from_utf8(e.leaf()).unwrap();
        assert!(!text.contains("call"), "{text}");
        let back: Entry = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
        assert!(Name::new("gpt-4o-mini").is_ok() && Name::new("Llama-3.1-8B").is_ok());
        assert!(Name::new("two words").is_err() && Name::new("").is_err());
    }

    #[test]
    fn wire_names_are_serde_names() {
        for a in Action::ALL {
            assert_eq!(a.as_str(), wire_name(&a));
        }
        for o in [Outcome::Allowed, Outcome::Denied, Outcome::Error] {
            assert_eq!(o.as_str(), wire_name(&o));
        }
    }
}
