//! Checks of request values shared by the routes: free text, regions, products, page sizes and
//! times. A leaf module: it imports no route.

use crate::problem::ApiError;
use crate::state::AppState;

/// Checks a free-text field: trimmed, not empty, no control characters, at most `max` characters.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::invalid(
            "invalid_value",
            field,
            format!("`{field}` must not be empty"),
        ));
    }
    if v.chars().count() > max {
        return Err(ApiError::invalid(
            "invalid_value",
            field,
            format!("`{field}` is longer than {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "invalid_value",
            field,
            format!("`{field}` must not contain control characters"),
        ));
    }
    Ok(v.to_string())
}

/// Checks that `region` is configured.
pub(crate) fn region(state: &AppState, field: &str, value: &str) -> Result<String, ApiError> {
    if state.registry.has_region(value) {
        Ok(value.to_string())
    } else {
        Err(ApiError::invalid(
            "unknown_region",
            field,
            format!(
                "unknown region `{value}`; configured regions: {}",
                state.registry.regions().join(", ")
            ),
        ))
    }
}

/// Checks that `product` is in the catalog.
pub(crate) fn product(state: &AppState, field: &str, value: &str) -> Result<String, ApiError> {
    if state.registry.catalog().contains(value) {
        Ok(value.to_string())
    } else {
        Err(ApiError::invalid(
            "unknown_product",
            field,
            format!("unknown product `{value}`"),
        ))
    }
}

/// Resolves `?limit=` into a page size.
pub(crate) fn page_bounds(q: &crate::views::PageQuery) -> Result<usize, ApiError> {
    match q.limit {
        None => Ok(100),
        Some(n @ 1..=1000) => Ok(n as usize),
        Some(_) => Err(ApiError::invalid(
            "invalid_query",
            "limit",
            "`limit` must be between 1 and 1000",
        )),
    }
}

/// A time from a request, in UTC; a time whose UTC form is out of range (year 9999 with a
/// negative offset) is the client's mistake, named by its field.
pub(crate) fn utc(field: &str, t: time::OffsetDateTime) -> Result<time::OffsetDateTime, ApiError> {
    t.checked_to_offset(time::UtcOffset::UTC)
        .ok_or_else(|| ApiError::invalid("invalid_value", field, format!("`{field}` is out of range")))
}

/// Checks the ranges of AI limits, naming the field under `prefix`.
pub(crate) fn limits(prefix: &str, l: &datapact_governance::AiLimits) -> Result<(), ApiError> {
    l.check()
        .map_err(|(field, why)| ApiError::invalid("invalid_value", &format!("{prefix}.{field}"), why))
}

/// Checks an organization's limit terms: ranges, and products of the catalog.
pub(crate) fn limit_terms(st: &AppState, t: &datapact_governance::LimitTerms) -> Result<(), ApiError> {
    limits("ai_limits", &t.base())?;
    for (p, l) in &t.products {
        product(st, &format!("ai_limits.products.{p}"), p)?;
        limits(&format!("ai_limits.products.{p}"), l)?;
    }
    Ok(())
}
