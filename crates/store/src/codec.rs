//! How values are stored, the same in every backend: times as RFC 3339 text, ids and
//! enumerations as their wire names, nested documents as JSON.

use std::str::FromStr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::StoreError;

pub(crate) fn ts(t: OffsetDateTime) -> String {
    // RFC 3339 formatting of a valid UTC time cannot fail; fall back to Display just in case.
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

pub(crate) fn parse_ts(s: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| StoreError::Corrupt(format!("timestamp `{s}`: {e}")))
}

/// Microseconds since the epoch, for times compared and aggregated in SQL.
pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(us: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .map_err(|e| StoreError::Corrupt(format!("time {us} µs: {e}")))
}

pub(crate) fn parse_opt_ts(s: Option<String>) -> Result<Option<OffsetDateTime>, StoreError> {
    s.as_deref().map(parse_ts).transpose()
}

pub(crate) fn parse<T: FromStr>(s: &str, what: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| StoreError::Corrupt(format!("{what} `{s}`: {e}")))
}

pub(crate) fn parse_opt<T: FromStr>(s: Option<String>, what: &str) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    s.as_deref().map(|s| parse(s, what)).transpose()
}

pub(crate) fn enum_from_str<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|e| StoreError::Corrupt(format!("{what} `{s}`: {e}")))
}

/// An organization's limit terms as stored: `NULL` when it has none.
pub(crate) fn limits_json(l: &datapact_governance::LimitTerms) -> Result<Option<String>, StoreError> {
    if l.is_empty() { Ok(None) } else { to_json(l).map(Some) }
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")))
}

/// A stored count as an unsigned one (counts are never written negative).
pub(crate) fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// An unsigned count as stored, saturating.
pub(crate) fn stored(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
