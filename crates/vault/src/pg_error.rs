//! How a PostgreSQL error becomes a vault error (shared by the region's storage and the
//! message index, which do not import each other).

use crate::VaultError;

/// A lost connection is `Unavailable`; what the database refused is `Postgres`.
pub(crate) fn pg(e: tokio_postgres::Error) -> VaultError {
    if e.is_closed() || e.as_db_error().is_none() && e.code().is_none() {
        return VaultError::Unavailable(e.to_string());
    }
    match e.as_db_error() {
        Some(db) => VaultError::Postgres(format!("{} (SQLSTATE {})", db.message(), db.code().code())),
        None => VaultError::Postgres(e.to_string()),
    }
}
