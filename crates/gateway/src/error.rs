//! The trust layer's errors, in OpenAI's shape (so the official SDKs read them), each with its
//! own status and a stable code.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug)]
pub struct GatewayError {
    pub(crate) status: StatusCode,
    pub(crate) kind: &'static str,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) param: Option<&'static str>,
    /// datapact's reason codes, when a decision refused the call.
    pub(crate) reasons: Vec<String>,
    /// For 429 and 503: when to try again.
    pub(crate) retry_after: Option<std::time::Duration>,
}

impl GatewayError {
    pub(crate) fn new(status: StatusCode, kind: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            code,
            message: message.into(),
            param: None,
            reasons: Vec::new(),
            retry_after: None,
        }
    }

    pub(crate) fn unauthenticated(code: &'static str, message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_request_error", code, message)
    }

    pub(crate) fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission_error", code, message)
    }
}

#[derive(Serialize)]
pub(crate) struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    reasons: &'a [String],
}

impl GatewayError {
    /// The error in OpenAI's body shape: an answer's body, or a stream's error event.
    pub(crate) fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error: ErrorDetail {
                message: &self.message,
                kind: self.kind,
                param: self.param,
                code: self.code,
                reasons: &self.reasons,
            },
        }
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(self.body())).into_response();
        if let Some(d) = self.retry_after {
            // Whole seconds, rounded up: a client waiting that long finds room.
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            if let Ok(v) = axum::http::HeaderValue::from_str(&secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

pub(crate) fn bad_request(code: &'static str, param: Option<&'static str>, message: impl Into<String>) -> GatewayError {
    let mut e = GatewayError::new(StatusCode::BAD_REQUEST, "invalid_request_error", code, message);
    e.param = param;
    e
}

/// The audit log cannot take the call's entry: nothing is sent, the call is refused.
pub(crate) fn audit_down(e: datapact_audit::AuditError) -> GatewayError {
    tracing::error!(error = %e, "audit append failed; the LLM call is refused");
    GatewayError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "api_error",
        "audit_unavailable",
        "the audit log cannot record this call right now, so it was not made; retry later",
    )
}

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A provider's API key cannot be read.
    #[error(transparent)]
    Credential(#[from] crate::config::CredentialError),
    /// A custom PII recognizer file of `[pii.recognizers]` cannot be used.
    #[error("[pii.recognizers] {set}: {path}: {error}")]
    Recognizers {
        /// The set.
        set: String,
        /// Its file.
        path: String,
        /// Why.
        error: String,
    },
    /// A provider's HTTP client cannot be built.
    #[error("provider `{provider}`: cannot build its HTTP client: {error}")]
    Client {
        /// The provider.
        provider: String,
        /// Why.
        error: String,
    },
}
