//! Request extractors that turn every client mistake into a problem+json answer naming the
//! field, instead of axum's plain-text rejections.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use datapact_governance::ApiKey;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;
use datapact_vault::api_key;

/// A JSON body, parsed strictly: unknown fields, wrong types and bad enum values are refused.
pub struct JsonBody<T>(pub T);

/// Joins a serde path and a field named in a serde message into one dotted path.
fn join_path(path: &str, name: Option<&str>) -> Option<String> {
    let path = if path == "." { "" } else { path };
    match (path.is_empty(), name) {
        (true, None) => None,
        (true, Some(n)) => Some(n.to_string()),
        (false, None) => Some(path.to_string()),
        (false, Some(n)) => Some(format!("{path}.{n}")),
    }
}

fn backticked<'a>(msg: &'a str, prefix: &str) -> Option<&'a str> {
    msg.strip_prefix(prefix).and_then(|r| r.split('`').next())
}

/// Classifies a deserialization failure into a stable code and the field at fault.
/// `valid_json` says whether the document itself parses, which serde_json's own
/// classification gets wrong for enums given a number (it reports a syntax error).
pub fn json_error(err: serde_path_to_error::Error<serde_json::Error>, valid_json: bool) -> ApiError {
    let path = err.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let inner = err.into_inner();
    let msg = inner.to_string();
    // serde_json appends " at line L column C"; the field path says more to an API caller.
    let clean = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    use serde_json::error::Category;
    let with_field = |code, detail: String, field: Option<String>| {
        let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail);
        e.field = field.filter(|f| !f.is_empty());
        e
    };
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io if !valid_json => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {msg}"),
        ),
        Category::Syntax | Category::Eof | Category::Io => {
            with_field("invalid_type", format!("`{path}` has the wrong type"), Some(path))
        }
        Category::Data => {
            if let Some(name) = backticked(&clean, "unknown field `") {
                // The path already ends in the unknown field.
                let field = if path.rsplit('.').next() == Some(name) {
                    path.clone()
                } else {
                    join_path(&path, Some(name)).unwrap_or_default()
                };
                with_field("unknown_field", clean.clone(), Some(field))
            } else if let Some(name) = backticked(&clean, "duplicate field `") {
                with_field("duplicate_field", clean.clone(), join_path(&path, Some(name)))
            } else if let Some(name) = backticked(&clean, "missing field `") {
                with_field("missing_field", clean.clone(), join_path(&path, Some(name)))
            } else if clean.starts_with("invalid type") {
                with_field("invalid_type", clean, Some(path))
            } else {
                with_field("invalid_value", clean, Some(path))
            }
        }
    }
}

/// Parses a JSON document strictly.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize(&mut *de) {
        Ok(v) => v,
        // JSON has one number type: `30.0` is the integer 30 (as JSON Schema says). Parsed
        // again with whole floats made integers, only when the strict parse tripped on one.
        Err(e) if e.inner().to_string().starts_with("invalid type: floating point") => {
            let mut v: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| json_error(e, false))?;
            whole_floats_to_integers(&mut v);
            return serde_path_to_error::deserialize(v).map_err(|e| json_error(e, true));
        }
        Err(e) => {
            let valid = serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
            return Err(json_error(e, valid));
        }
    };
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("trailing characters after the JSON body: {e}"),
        )
    })?;
    Ok(value)
}

/// Turns every float with no fractional part (within 64-bit integer range) into an integer.
fn whole_floats_to_integers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) {
                if f >= 0.0 && f < u64::MAX as f64 {
                    *n = serde_json::Number::from(f as u64);
                } else if f < 0.0 && f >= i64::MIN as f64 {
                    *n = serde_json::Number::from(f as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_floats_to_integers),
        serde_json::Value::Object(map) => map.values_mut().for_each(whole_floats_to_integers),
        _ => {}
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("");
            let essence = ct.split(';').next().unwrap_or("").trim();
            if !essence.eq_ignore_ascii_case("application/json") && !essence.to_ascii_lowercase().ends_with("+json") {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!("expected Content-Type application/json, got `{ct}`"),
                ));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the request body exceeds the size limit",
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "body_unreadable", rej.body_text())
            }
        })?;
        if bytes.is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "the request body is empty; send a JSON object",
            ));
        }
        // Every body of this API is an object; serde would otherwise accept a struct as an array.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_type",
                    "the body must be a JSON object",
                )
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", "the body is not valid JSON")
            });
        }
        parse_json(&bytes).map(JsonBody)
    }
}

/// Query parameters, parsed strictly.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(QueryParams).map_err(|e| {
            let path = e.path().to_string();
            let msg = e.into_inner().to_string();
            let field = backticked(&msg, "unknown field `")
                .or_else(|| backticked(&msg, "missing field `"))
                .map(str::to_string)
                .or((path != ".").then_some(path));
            let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_query", msg);
            err.field = field;
            err
        })
    }
}

/// The authenticated caller.
pub struct Caller(pub Arc<ApiKey>);

impl<S: crate::state::HasApp + Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = state.app();
        if let Some(age) = state.cluster.as_ref().and_then(|c| c.stale()) {
            // Cut off from the deployment's changes: a revoked key or a new opt-out may not
            // have reached this node. Refuse rather than answer from old state.
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "stale_state",
                format!(
                    "this node has not kept up with the deployment's changes for {} s; retry (another node answers)",
                    age.as_secs()
                ),
            ));
        }
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "send an API key as `Authorization: Bearer KEY`",
            )
        })?;
        let value = header.to_str().unwrap_or("");
        let secret = api_key::bearer_secret(value).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "the Authorization header must be `Bearer KEY`",
            )
        })?;
        let hash = state.key_hash(secret);
        let mut found = state.registry.key_by_hash(&hash);
        if found.is_none()
            && let Some(cluster) = &state.cluster
        {
            // Created through another node a moment ago?
            cluster.catch_up().await;
            found = state.registry.key_by_hash(&hash);
        }
        let key = found.filter(|k| k.revoked_at.is_none()).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_key",
                "the API key is unknown or revoked",
            )
        })?;
        Ok(Caller(key))
    }
}

/// Path parameters; a path that does not decode (`%ff%fe` is not UTF-8) is a problem+json
/// `400 invalid_path`, like every other client mistake, not axum's plain text.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_path",
                    format!("the path cannot be read: {}", e.body_text()),
                )
            })
    }
}

#[cfg(test)]
mod float_tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Days {
        days: u32,
    }

    #[test]
    fn whole_floats_are_integers_and_fractions_are_not() {
        assert_eq!(parse_json::<Days>(br#"{"days": 30.0}"#).unwrap().days, 30);
        assert_eq!(parse_json::<Days>(br#"{"days": 3e1}"#).unwrap().days, 30);
        let e = parse_json::<Days>(br#"{"days": 30.5}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("days"));
        assert!(parse_json::<Days>(br#"{"days": -1.0}"#).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::{CreateOrg, DecideBody};
    use proptest::prelude::*;

    proptest! {
        /// Any bytes give a value or a 4xx problem; never a panic, never a 5xx.
        #[test]
        fn arbitrary_bodies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Err(e) = parse_json::<DecideBody>(&bytes) {
                prop_assert!(e.status.is_client_error());
            }
        }

        /// JSON-shaped input with wrong types or extra fields names a field or is malformed.
        #[test]
        fn json_shaped_bodies_name_a_field(
            name in prop_oneof![Just(json!("x")), Just(json!(1)), Just(json!(null)), Just(json!([])), Just(json!({}))],
            plan in prop_oneof![Just(json!("free")), Just(json!("gold")), Just(json!(true))],
            extra in proptest::option::of("[a-z]{1,8}"),
        ) {
            let mut body = json!({"name": name, "plan": plan, "region": "eu"});
            if let Some(k) = &extra {
                body[k] = json!(1);
            }
            match parse_json::<CreateOrg>(body.to_string().as_bytes()) {
                Ok(_) => {}
                Err(e) => {
                    prop_assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
                    prop_assert!(e.field.is_some(), "{:?}", e);
                }
            }
        }
    }

    use serde_json::json;
}
