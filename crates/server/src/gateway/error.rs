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

pub(crate) fn audit_down(e: crate::problem::ApiError) -> GatewayError {
    GatewayError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "api_error",
        "audit_unavailable",
        e.detail,
    )
}
