//! The datapact HTTP server: authentication, authorization, terms management and the
//! decision point, over the in-memory registry and durable storage.
#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
pub mod extract;
pub mod guard;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod state;
pub mod views;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use datapact_governance::Catalog;
use datapact_store::SqliteStore;

pub use config::Config;
pub use state::{AppState, Bootstrap, StartError};

/// Where the server keeps its data and what it loads at start.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Data directory (the SQLite database lives here).
    pub data_dir: PathBuf,
    /// Configuration.
    pub config: Config,
    /// Product catalog.
    pub catalog: Catalog,
    /// Secret for the first platform_admin key (`DATAPACT_ADMIN_KEY`).
    pub admin_key: Option<String>,
}

/// Opens storage, loads state and creates the bootstrap key if needed.
pub async fn open(opts: ServerOptions) -> Result<(Arc<AppState>, Bootstrap), StartError> {
    let store = SqliteStore::open(&opts.data_dir)?;
    let state = AppState::open(Arc::new(store), opts.catalog, opts.config).await?;
    let bootstrap = state.bootstrap(opts.admin_key.as_deref()).await?;
    Ok((Arc::new(state), bootstrap))
}

/// Serves the API on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = routes::router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
