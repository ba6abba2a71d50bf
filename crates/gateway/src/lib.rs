//! The AI trust layer's OpenAI-compatible surface: who is calling, on behalf of which tenant
//! and product, which configured provider/model pairs their policy allows, and the pipeline
//! every call goes through (decision, model policy, residency, limits, PII, forwarding with
//! zero retention, restoring, accounting, audit). Errors use OpenAI's error body, so the
//! official SDKs surface them, with datapact's reason codes inside.
//!
//! The crate depends on the domain crates only (governance, store, vault, audit, PII); the
//! server builds a [`Gateway`] over the platform's state ([`Platform`]) and mounts
//! [`router`]. Files: [`pipeline`] (the stages, in order), [`call`] (the caller, the call's
//! audit entries and receipt), [`request`] (endpoints and the parameters they forward),
//! [`upstream`] (connections, timeouts, retries, fallback, circuit breakers), [`providers`]
//! (each provider API behind one interface, one file each: OpenAI, Azure OpenAI, Anthropic
//! translated), [`stream`] and [`sse`] (server-sent events), [`limits`] (rates, budgets,
//! usage), [`pii`] (recognizer sets and restoring), [`policy`] (Cedar), [`error`]
//! (OpenAI-shaped errors), [`service`] (the gateway's state), `platform` (what it uses of the
//! server's), [`config`] (its sections of the
//! configuration file), [`metrics`] (its Prometheus series).
#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]

pub mod call;
pub mod config;
mod error;
pub mod limits;
pub mod metrics;
mod pii;
pub mod pipeline;
mod platform;
mod policy;
pub mod providers;
pub mod request;
mod service;
pub mod sse;
pub mod stream;
pub mod upstream;

use std::sync::Arc;

pub use call::{CallRecord, GatewayCaller, RECEIPT_HEADER, TENANT_HEADER, caller};
pub use error::{GatewayError, StartError};
pub use limits::effective_limits;
pub use pii::PiiSets;
pub use pipeline::{chat_completions, embeddings, list_models};
pub use platform::Platform;
pub use request::{MAX_CHAT_BYTES, Request, chat_fields, embedding_fields};
pub use service::{Gateway, Parts, flusher};
pub use upstream::Provider;

/// The AI trust layer's routes, OpenAI's: `/v1/chat/completions`, `/v1/embeddings` and
/// `/v1/models`.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    use axum::extract::DefaultBodyLimit;
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v1/models", get(list_models))
        .route(
            "/v1/chat/completions",
            post(chat_completions).layer(DefaultBodyLimit::max(MAX_CHAT_BYTES)),
        )
        .route(
            "/v1/embeddings",
            post(embeddings).layer(DefaultBodyLimit::max(MAX_CHAT_BYTES)),
        )
        .with_state(gateway)
}

#[cfg(test)]
mod tests {
    use super::pii;
    use super::providers::anthropic;
    use super::request::{Endpoint, Request};
    use proptest::prelude::*;

    /// Any JSON, biased towards the keys a chat request has.
    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            "[a-z<>_0-9 ]{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let key = prop_oneof![
                Just("messages".to_string()),
                Just("content".to_string()),
                Just("role".to_string()),
                Just("tool_calls".to_string()),
                Just("function".to_string()),
                Just("arguments".to_string()),
                Just("stream_options".to_string()),
                Just("choices".to_string()),
                Just("message".to_string()),
                Just("text".to_string()),
                Just("type".to_string()),
                Just("tools".to_string()),
                Just("tool_choice".to_string()),
                Just("stop".to_string()),
                "[a-z]{1,6}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map(key, inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever a client sends or a provider answers, reading, masking, translating and
        /// restoring it never panics.
        #[test]
        fn no_body_makes_the_pipeline_panic(mut req in json(), mut answer in json(), stream in any::<bool>()) {
            if let Ok(mut typed) = Request::new(Endpoint::Chat, "m".into(), req.clone()) {
                let _ = typed.completion_cap();
                typed.cap_completion(7);
                for t in typed.texts() {
                    t.push('x');
                }
                let _ = anthropic::request(typed.body(), stream);
            }
            let _ = Endpoint::Embeddings.check(&req);
            let _ = Endpoint::Embeddings.texts(&mut req);
            let mut p = datapact_pii::Pseudonymizer::new();
            p.placeholder(datapact_pii::EntityType::Person, "Ann \"Lee\"");
            pii::restore_answer(&p, &mut answer);
            let _ = anthropic::response(&answer);
            let mut t = anthropic::StreamTranslator::new();
            let _ = t.event("message_start", &answer.to_string());
            let _ = t.event("content_block_delta", &answer.to_string());
        }
    }
}
