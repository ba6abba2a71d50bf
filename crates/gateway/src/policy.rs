//! The organizations' Cedar policies, compiled once per text and cached.

use std::sync::Arc;

/// An organization's policies, compiled once per version: the cache holds each
/// organization's text and its compiled set, so a call compares texts instead of hashing one.
pub(crate) fn compiled_policies(
    org: datapact_governance::OrgId,
    text: &str,
) -> Result<Arc<datapact_governance::policy::CallPolicies>, datapact_governance::policy::PolicyError> {
    type Compiled = (String, Arc<datapact_governance::policy::CallPolicies>);
    static CACHE: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<datapact_governance::OrgId, Compiled>>,
    > = std::sync::LazyLock::new(Default::default);
    if let Some(p) = CACHE
        .lock()
        .ok()
        .and_then(|c| c.get(&org).filter(|(t, _)| t == text).map(|(_, p)| Arc::clone(p)))
    {
        return Ok(p);
    }
    let p = Arc::new(datapact_governance::policy::compile(text)?);
    if let Ok(mut c) = CACHE.lock() {
        c.insert(org, (text.to_string(), Arc::clone(&p)));
    }
    Ok(p)
}
