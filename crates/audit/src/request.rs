//! The request an entry belongs to: a task-local id that the server sets for each request, so
//! every entry the request appends (in its handler, or in blocking work it started) names it
//! without the id being threaded through each call.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: Option<uuid::Uuid>;
}

/// Runs `f` as the request `id`.
pub async fn scope<F: Future>(id: Option<uuid::Uuid>, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// The id of the request being served here, if any.
pub fn current() -> Option<uuid::Uuid> {
    REQUEST_ID.try_with(|r| *r).ok().flatten()
}

/// Wraps blocking work so entries it appends (a data key created mid-write) carry the request
/// id of the request that caused it.
pub fn carry<T>(f: impl FnOnce() -> T) -> impl FnOnce() -> T {
    let id = current();
    move || REQUEST_ID.sync_scope(id, f)
}
