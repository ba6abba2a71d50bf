//! Personal data in the trust layer: the custom recognizer sets an organization's calls use,
//! the analyzers built from them, and restoring placeholders in answers.

use std::sync::Arc;

use axum::http::StatusCode;
use datapact_governance::Org;

use super::error::GatewayError;
use super::error::StartError;
use crate::config::PiiConfig;

/// The custom recognizer sets of `[pii.recognizers]` and the analyzers that use them.
pub struct PiiSets {
    sets: std::collections::BTreeMap<String, Vec<datapact_pii::CustomRecognizer>>,
    default: Vec<String>,
    built: std::sync::Mutex<std::collections::HashMap<Vec<String>, Arc<datapact_pii::Analyzer>>>,
}

impl PiiSets {
    /// Reads and checks every set's file (a mistake stops the server naming the set, the
    /// file and the field).
    pub fn load(cfg: &PiiConfig) -> Result<Self, StartError> {
        let mut sets = std::collections::BTreeMap::new();
        for (name, path) in &cfg.recognizers {
            let fail = |error: String| StartError::Recognizers {
                set: name.clone(),
                path: path.display().to_string(),
                error,
            };
            let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
            let parsed = datapact_pii::CustomConfig::from_toml(&text).map_err(|e| fail(e.to_string()))?;
            // Compiled once here, so a pattern that does not compile is found at start.
            datapact_pii::Analyzer::with_custom(&parsed.recognizers).map_err(|e| fail(e.to_string()))?;
            sets.insert(name.clone(), parsed.recognizers);
        }
        Ok(Self {
            sets,
            default: cfg.default.clone(),
            built: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// The analyzer for an organization's calls: the built-in recognizers, with the server's
    /// default sets and those its AI settings name; built once per combination.
    pub(super) fn analyzer(&self, org: &Org) -> Result<Arc<datapact_pii::Analyzer>, GatewayError> {
        let mut names: Vec<String> = self.default.clone();
        names.extend(org.ai.pii_recognizers.iter().flatten().cloned());
        names.sort();
        names.dedup();
        names.retain(|n| self.sets.contains_key(n));
        if names.is_empty() {
            return Ok(Arc::clone(&BUILTIN_ONLY));
        }
        let failed = |e: String| {
            GatewayError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "recognizers_unavailable",
                format!("the custom PII recognizers cannot be used: {e}"),
            )
        };
        let mut built = self.built.lock().map_err(|_| failed("lock poisoned".into()))?;
        if let Some(a) = built.get(&names) {
            return Ok(Arc::clone(a));
        }
        let recognizers: Vec<_> = names
            .iter()
            .filter_map(|n| self.sets.get(n))
            .flatten()
            .cloned()
            .collect();
        let a = Arc::new(datapact_pii::Analyzer::with_custom(&recognizers).map_err(|e| failed(e.to_string()))?);
        built.insert(names, Arc::clone(&a));
        Ok(a)
    }
}

static BUILTIN_ONLY: std::sync::LazyLock<Arc<datapact_pii::Analyzer>> =
    std::sync::LazyLock::new(|| Arc::new(datapact_pii::Analyzer::new()));

/// Builds the PII engine the gateway scans with (its patterns, lexicons and phone metadata):
/// a few hundred milliseconds better spent at start-up than on the first call.
pub fn warm_up() {
    datapact_pii::warm_up();
    std::sync::LazyLock::force(&BUILTIN_ONLY);
}

pub(super) fn restore_text(p: &datapact_pii::Pseudonymizer, masked: bool, s: &str) -> String {
    if masked { p.restore(s) } else { s.to_string() }
}

/// Restores placeholders in a chat answer: message contents and tool-call arguments.
pub(super) fn restore_answer(p: &datapact_pii::Pseudonymizer, answer: &mut serde_json::Value) {
    let Some(choices) = answer.get_mut("choices").and_then(serde_json::Value::as_array_mut) else {
        return;
    };
    for c in choices {
        let Some(m) = c.get_mut("message") else {
            continue;
        };
        if let Some(serde_json::Value::String(content)) = m.get_mut("content") {
            *content = p.restore(content);
        }
        if let Some(calls) = m.get_mut("tool_calls").and_then(serde_json::Value::as_array_mut) {
            for call in calls {
                if let Some(serde_json::Value::String(a)) =
                    call.get_mut("function").and_then(|f| f.get_mut("arguments"))
                {
                    *a = restore_json_strings(p, a);
                }
            }
        }
    }
}

/// Restores placeholders inside the string values of a JSON document (tool-call arguments),
/// escaping what is restored so the document stays JSON; text that is not JSON is restored
/// as text.
pub(super) fn restore_json_strings(p: &datapact_pii::Pseudonymizer, doc: &str) -> String {
    fn walk(p: &datapact_pii::Pseudonymizer, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = p.restore(s),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| walk(p, x)),
            serde_json::Value::Object(o) => o.values_mut().for_each(|x| walk(p, x)),
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(doc) {
        Ok(mut v) => {
            walk(p, &mut v);
            v.to_string()
        }
        Err(_) => p.restore(doc),
    }
}
