//! The datapact HTTP server: authentication, authorization, terms management and the
//! decision point, over the in-memory registry and durable storage.
#![forbid(unsafe_code)]

pub mod audit;
pub mod blocking;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod devmock;
pub mod extract;
pub mod guard;
pub mod lifecycle;
pub mod metrics;
pub mod migrate;
pub mod mining;
pub mod mining_cache;
pub mod mining_jobs;
pub mod openapi;
pub mod prelabel;
pub mod problem;
pub mod routes;
pub mod state;
pub mod training;
pub mod views;
pub mod worker;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use datapact_audit::AuditLog;
use datapact_gateway::Gateway;
use datapact_governance::Catalog;
use datapact_store::{PostgresStore, SqliteStore, Store};
use datapact_vault::{MasterOutcome, MasterSecret, Vault, VaultOptions, VaultStorage};

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
    /// Where the master key comes from.
    pub master: MasterSecret,
}

/// What starting the server did that the operator must know about.
pub struct Started {
    /// The shared state to serve.
    pub state: Server,
    /// What happened to the first admin key.
    pub bootstrap: Bootstrap,
    /// What happened to the master key.
    pub master: MasterOutcome,
}

/// Opens the vault and storage, loads state and creates the bootstrap key if needed.
pub async fn open(opts: ServerOptions) -> Result<Started, StartError> {
    let dir_err = |error| StartError::DataDir {
        path: opts.data_dir.display().to_string(),
        error,
    };
    // Secrets and configuration are checked before anything is written: a mistake leaves no
    // half-made data directory behind.
    if let Some(k) = opts.admin_key.as_deref().map(str::trim).filter(|k| !k.is_empty())
        && k.len() < datapact_vault::api_key::MIN_KEY_LEN
    {
        return Err(StartError::AdminKeyTooShort {
            min: datapact_vault::api_key::MIN_KEY_LEN,
        });
    }
    // Files this process creates from here on (databases, and SQLite's WAL and shared-memory
    // files, which a background thread may create at any moment) are the server's alone.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    create_private_dir(&opts.data_dir).map_err(dir_err)?;
    let lock = match lock_data_dir(&opts.data_dir) {
        Ok(Some(lock)) => lock,
        Ok(None) => return Err(StartError::Locked(opts.data_dir.display().to_string())),
        Err(e) => return Err(dir_err(e)),
    };
    let urls = opts.config.storage.urls()?;
    let vault_opts = VaultOptions {
        data_dir: opts.data_dir.clone(),
        regions: opts
            .config
            .regions
            .iter()
            .map(|r| (r.clone(), opts.config.vault.region_paths.get(r).cloned()))
            .collect(),
        master: opts.master.clone(),
        max_content_bytes: opts.config.vault.max_content_bytes,
        storage: match &urls {
            None => VaultStorage::Files,
            Some(u) => VaultStorage::Postgres {
                url: u.main.clone(),
                region_urls: u.regions.clone().into_iter().collect(),
            },
        },
    };
    // Argon2 and key unwrapping are CPU work: keep them off the async threads.
    let (vault, master) = tokio::task::spawn_blocking(move || Vault::open(vault_opts))
        .await
        .map_err(|e| StartError::Worker(e.to_string()))??;
    let vault = Arc::new(vault);
    let signer = Arc::new(audit::VaultSigner(Arc::clone(&vault)));
    let origin = opts.config.audit.origin.clone();
    let (store, audit_log, shared): (Arc<dyn Store>, AuditLog, Option<PostgresStore>) = match &urls {
        None => {
            let store = SqliteStore::open(&opts.data_dir)?;
            let audit_path = opts.data_dir.join("audit.db");
            let log = tokio::task::spawn_blocking(move || AuditLog::sqlite(&audit_path, &origin, signer))
                .await
                .map_err(|e| StartError::Worker(e.to_string()))??;
            (Arc::new(store), log, None)
        }
        Some(u) => {
            let store = PostgresStore::connect(&u.main).await?;
            let log = AuditLog::postgres(&u.main, &origin, signer).await?;
            (Arc::new(store.clone()), log, Some(store))
        }
    };
    audit_log.set_min_checkpoint_gap(std::time::Duration::from_secs(
        opts.config.audit.checkpoint_min_gap_seconds,
    ));
    // Everything below the data directory (and each region's directory) is the server's
    // alone: organization names, e-mails, tickets, key hashes and sealed keys live there.
    let mut private = vec![opts.data_dir.clone()];
    private.extend(opts.config.vault.region_paths.values().cloned());
    for dir in &private {
        make_private(dir).map_err(|error| StartError::DataDir {
            path: dir.display().to_string(),
            error,
        })?;
    }
    // The gateway's providers first: a missing key stops the server before state is loaded.
    let parts = gateway_parts(&opts.config)?;
    // On a shared database, changes after this point are applied by the follower (applying
    // one the snapshot already holds again is harmless).
    let from = match &shared {
        Some(pg) => pg.latest_change().await?,
        None => 0,
    };
    let mut state = AppState::open(store, vault, Arc::new(audit_log), opts.catalog, opts.config).await?;
    if let Some(pg) = shared {
        let cluster = Arc::new(cluster::Cluster::new(pg.clone()));
        // Before anything is dated: this node's times are the database's.
        cluster.measure_clock().await?;
        cluster.attach(datapact_store::follow(pg, Arc::clone(&state.registry), from));
        state.cluster = Some(cluster);
        tracing::info!(node = %state.node, "joined the deployment on PostgreSQL");
    }
    let bootstrap = state.bootstrap(opts.admin_key.as_deref()).await?;
    state.hold_lock(lock);
    let app = Arc::new(state);
    let gateway = Arc::new(Gateway::new(app.platform(), app.config.gateway.clone(), parts));
    gateway.limits.set_shared(app.shared());
    gateway.limits.set_clock(clock::now);
    Ok(Started {
        state: Server { app, gateway },
        bootstrap,
        master,
    })
}

/// A started server: the platform's state, and the AI trust layer over it.
#[derive(Clone)]
pub struct Server {
    /// Registry, store, vault, audit log, jobs and configuration.
    pub app: Arc<AppState>,
    /// The AI trust layer: providers, limits, recognizer sets.
    pub gateway: Arc<Gateway>,
}

/// The gateway's parts from its sections of the configuration.
fn gateway_parts(config: &Config) -> Result<datapact_gateway::Parts, StartError> {
    Ok(datapact_gateway::Parts::new(
        &config.providers,
        &config.gateway,
        &config.pii,
    )?)
}

/// The usage report's routes reach both the platform's state and the gateway's.
impl state::HasApp for Server {
    fn app(&self) -> &AppState {
        &self.app
    }
}

impl Server {
    /// A server over a loaded state, with the AI trust layer its configuration describes.
    pub fn new(app: Arc<AppState>) -> Result<Self, StartError> {
        let parts = gateway_parts(&app.config)?;
        let gateway = Arc::new(Gateway::new(app.platform(), app.config.gateway.clone(), parts));
        gateway.limits.set_shared(app.shared());
        gateway.limits.set_clock(clock::now);
        Ok(Self { app, gateway })
    }
}

impl std::ops::Deref for Server {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.app
    }
}

/// Serves the API on `listener` until `shutdown` resolves, then drains in-flight requests.
/// Background work (jobs, terminations, retention) runs alongside and stops with it.
pub async fn serve(
    listener: tokio::net::TcpListener,
    server: Server,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let usage = routes::usage::router(server.clone()).merge(routes::mining_model::router(server.clone()));
    let Server { app: state, gateway } = server;
    let worker = tokio::spawn(lifecycle::run(Arc::clone(&state)));
    let flusher = tokio::spawn(datapact_gateway::flusher(Arc::downgrade(&gateway)));
    let heartbeat = tokio::spawn(cluster::heartbeat(Arc::clone(&state), Arc::downgrade(&gateway)));
    metrics::install(&state.node);
    let app = routes::router(
        Arc::clone(&state),
        datapact_gateway::router(Arc::clone(&gateway)).merge(usage),
    );
    let stop_worker = AbortOnDrop(Some(worker));
    let stop_flusher = AbortOnDrop(Some(flusher));
    let stop_heartbeat = AbortOnDrop(Some(heartbeat));
    // Small writes (streamed chunks) go out at once: Nagle's algorithm against the client's
    // delayed ACKs would hold each for up to 40 ms.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    // Requests under way get `shutdown_grace_seconds` to finish once a stop is asked for; a
    // client that stopped reading an export or a stream cannot keep the server from exiting.
    let (stopping, mut stop_asked) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let grace = std::time::Duration::from_secs(state.config.lifecycle.shutdown_grace_seconds);
    let deadline = async move {
        let _ = stop_asked.wait_for(|s| *s).await;
        tokio::time::sleep(grace).await;
    };
    let graceful = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(signal)
        .into_future();
    let served = tokio::select! {
        served = graceful => served,
        () = deadline => {
            tracing::warn!(grace_seconds = grace.as_secs(), "requests still under way at shutdown; their connections are closed");
            Ok(())
        }
    };
    // Wait until the worker has let go of the state, so the data directory's lock is released
    // when this returns.
    stop_worker.stop().await;
    // Another node takes the deployment's background work over at once, not when the lease
    // would have expired.
    lifecycle::stand_down(&state).await;
    stop_heartbeat.stop().await;
    cluster::leave(&state).await;
    stop_flusher.stop().await;
    // Usage counted since the last tick is written before the server lets go of the store.
    if let Err(e) = gateway.limits.flush(&*state.store).await {
        tracing::error!(error = %e, "cannot write the last LLM usage counts");
    }
    // The gateway holds the state too; the wait below covers the last of both.
    drop(gateway);
    // Work that outlived its request (a blocking task, a connection being torn down) may still
    // hold the state for a moment; wait for it, so the lock goes with the last reference.
    let start = std::time::Instant::now();
    while Arc::strong_count(&state) > 1 && start.elapsed() < std::time::Duration::from_secs(10) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    if Arc::strong_count(&state) > 1 {
        tracing::warn!("work still holds the server state after shutdown; the data directory lock goes with it");
    }
    drop(state);
    served
}

/// Takes the data directory's lock file (`datapact.lock`), held while the returned file is
/// open; `None` when another process (a running server) holds it.
pub fn lock_data_dir(dir: &std::path::Path) -> std::io::Result<Option<std::fs::File>> {
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("datapact.lock"))?;
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Stops the background worker when the server stops.
struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl AbortOnDrop {
    async fn stop(mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
            let _ = h.await;
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(h) = &self.0 {
            h.abort();
        }
    }
}

/// Creates `dir` (and its parents) readable by this user only.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Makes every directory below `root` 0700 and every file 0600, saying which it had to fix
/// (a data directory created by an older datapact, copied, or restored from a backup).
/// Files created later are private by the process umask (0077), set in [`open`]: a WAL
/// or shared-memory file a background thread creates between a database's creation and this
/// walk would otherwise have the default mode (CI saw `audit-index.db-wal` at 0644 once).
pub fn make_private(root: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut stack = vec![root.to_path_buf()];
        while let Some(p) = stack.pop() {
            let meta = std::fs::symlink_metadata(&p)?;
            if meta.file_type().is_symlink() {
                continue;
            }
            let want = if meta.is_dir() { 0o700 } else { 0o600 };
            let mode = meta.permissions().mode() & 0o777;
            if mode != want {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(want))?;
                tracing::warn!(path = %p.display(), from = format!("{mode:o}"), to = format!("{want:o}"), "made a data file private to the server's user");
            }
            if meta.is_dir() {
                for e in std::fs::read_dir(&p)? {
                    stack.push(e?.path());
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = root;
    Ok(())
}
