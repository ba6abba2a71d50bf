//! Starts the real server on an ephemeral loopback port and talks HTTP to it.
#![allow(dead_code)]

pub mod llm;
pub mod sdk;

use std::path::{Path, PathBuf};

use datapact_governance::Catalog;
use datapact_server::{Bootstrap, Config, ServerOptions};
use datapact_vault::MasterSecret;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The backend the suite runs on: SQLite, or PostgreSQL with `DATAPACT_TEST_BACKEND=postgres`
/// (CI runs the suite both ways).
pub fn postgres() -> bool {
    std::env::var("DATAPACT_TEST_BACKEND").as_deref() == Ok("postgres")
}

/// `config` on the suite's backend: on PostgreSQL, a database of the data directory's own in
/// the test process's cluster (created on first start, the same one after a restart), its
/// URL in a file as a deployment would mount it.
pub async fn on_backend(dir: &Path, mut config: Config) -> Config {
    if !postgres() || config.storage.backend != datapact_server::config::StorageBackend::Sqlite {
        return config;
    }
    let cluster =
        datapact_pgtest::Cluster::shared().expect("DATAPACT_TEST_BACKEND=postgres needs PostgreSQL's server binaries");
    let file = dir.join("database-url");
    if !file.exists() {
        std::fs::create_dir_all(dir).unwrap();
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        std::fs::write(&file, cluster.database(&name).await).unwrap();
    }
    config.storage = datapact_server::config::StorageConfig {
        backend: datapact_server::config::StorageBackend::Postgres,
        url_file: Some(file),
        ..Default::default()
    };
    config
}

/// A running server with its data directory.
pub struct TestServer {
    pub url: String,
    pub admin: String,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    http: reqwest::Client,
}

pub const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef";

impl TestServer {
    /// A fresh server with default configuration and the built-in catalog.
    pub async fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut s = Self::start_in(&dir, Config::default()).await;
        s._tmp = Some(tmp);
        s
    }

    /// A fresh server on SQLite whatever the suite's backend, for tests of its files.
    pub async fn start_sqlite() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut s = Self::start_exactly(&dir, Config::default()).await;
        s._tmp = Some(tmp);
        s
    }

    /// A server over an existing data directory, on the backend the suite runs on
    /// ([`on_backend`]).
    pub async fn start_in(dir: &Path, config: Config) -> Self {
        let config = on_backend(dir, config).await;
        Self::start_exactly(dir, config).await
    }

    /// A server with exactly this configuration (SQLite unless it says otherwise), for tests
    /// of what only one backend has (files on disk).
    pub async fn start_exactly(dir: &Path, config: Config) -> Self {
        let opts = ServerOptions {
            data_dir: dir.to_path_buf(),
            config,
            catalog: Catalog::builtin().unwrap(),
            admin_key: Some(ADMIN_KEY.to_string()),
            master: MasterSecret::KeyFile(dir.join("master.key")),
        };
        let started = datapact_server::open(opts).await.unwrap();
        assert!(matches!(
            started.bootstrap,
            Bootstrap::FromEnv { .. } | Bootstrap::Existing { .. }
        ));
        let state = started.state;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            datapact_server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Self {
            url,
            admin: ADMIN_KEY.to_string(),
            dir: dir.to_path_buf(),
            _tmp: None,
            stop: Some(tx),
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }

    /// Stops the server and waits until it has let go of the data directory.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
        self._tmp.take()
    }

    /// Sends a request with `key` (if any) and a JSON body (if any).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.url, path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if !status.is_success() {
            assert_eq!(ct.as_deref(), Some("application/problem+json"), "{status} {value}");
            assert!(value.get("code").and_then(Value::as_str).is_some(), "{value}");
        }
        (status, value)
    }

    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }

    /// Sends raw bytes with a content type, for malformed-input tests.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        key: &str,
        ct: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.url, path))
            .bearer_auth(key)
            .body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let value: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null);
        if !status.is_success() {
            assert_eq!(ct.as_deref(), Some("application/problem+json"), "{status} {value}");
        }
        (status, value)
    }

    /// Creates an organization as the platform admin and returns its id.
    pub async fn org(&self, plan: &str, region: &str) -> String {
        let (s, v) = self
            .post(
                "/v1/orgs",
                &self.admin,
                json!({"name": "Org", "plan": plan, "region": region}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_string()
    }

    /// Creates a key as the platform admin and returns its secret.
    pub async fn key(&self, body: Value) -> String {
        let (s, v) = self.post("/v1/keys", &self.admin, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["key"].as_str().unwrap().to_string()
    }

    /// Creates a tenant with the organization's admin key and returns its id.
    pub async fn tenant(&self, org_admin: &str, org: &str, region: Option<&str>) -> String {
        let mut body = json!({"name": "prod"});
        if let Some(r) = region {
            body["region"] = json!(r);
        }
        let (s, v) = self.post(&format!("/v1/orgs/{org}/tenants"), org_admin, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_string()
    }

    /// Gives vendor support access to `tenant` for `hours`, as the customer's `org_admin`.
    pub async fn grant(&self, org_admin: &str, tenant: &str, ticket: &str, hours: i64) -> (StatusCode, Value) {
        let expires = (time::OffsetDateTime::now_utc() + time::Duration::hours(hours))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        self.post(
            &format!("/v1/tenants/{tenant}/support-grants"),
            org_admin,
            json!({"ticket": ticket, "expires_at": expires}),
        )
        .await
    }

    /// Asks a decision and returns (allowed, reason codes).
    pub async fn decide(&self, key: &str, body: Value) -> (bool, Vec<String>) {
        let (s, v) = self.post("/v1/decisions", key, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let codes = v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_string())
            .collect();
        (v["allowed"].as_bool().unwrap(), codes)
    }
}

/// The PostgreSQL database of a server started by [`on_backend`], if it runs on one.
pub fn database_url(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join("database-url")).ok()
}

/// Runs SQL on the server's PostgreSQL database, behind its back.
pub async fn pg_sql(url: &str, sql: &str) {
    let cluster = datapact_pgtest::Cluster::shared().expect("PostgreSQL");
    cluster.sql(url, sql).await.unwrap();
}

/// Runs SQL on the server's governance state behind its back: `datapact.db` on SQLite, the
/// main database on PostgreSQL (the two share table and column names and encodings).
pub async fn state_sql(data_dir: &Path, sql: &str) {
    match database_url(data_dir) {
        Some(url) => pg_sql(&url, sql).await,
        None => {
            let db = rusqlite::Connection::open(data_dir.join("datapact.db")).unwrap();
            db.execute_batch(sql).unwrap();
        }
    }
}

/// A real storage failure injected from outside the server: every insert into one of its
/// tables fails until [`Fault::clear`].
pub struct Fault {
    data_dir: PathBuf,
    sqlite_file: &'static str,
    table: &'static str,
}

impl Fault {
    async fn inject(
        data_dir: &Path,
        sqlite_file: &'static str,
        sqlite_table: &'static str,
        pg_table: &'static str,
    ) -> Self {
        match database_url(data_dir) {
            Some(url) => {
                pg_sql(
                    &url,
                    &format!(
                        "CREATE OR REPLACE FUNCTION injected_fault() RETURNS trigger LANGUAGE plpgsql AS
                         $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$;
                         CREATE TRIGGER injected_fault BEFORE INSERT ON {pg_table} FOR EACH ROW EXECUTE FUNCTION injected_fault();"
                    ),
                )
                .await;
                Self {
                    data_dir: data_dir.to_path_buf(),
                    sqlite_file,
                    table: pg_table,
                }
            }
            None => {
                let db = rusqlite::Connection::open(data_dir.join(sqlite_file)).unwrap();
                db.execute_batch(&format!(
                    "CREATE TRIGGER injected_fault BEFORE INSERT ON {sqlite_table} BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
                ))
                .unwrap();
                Self {
                    data_dir: data_dir.to_path_buf(),
                    sqlite_file,
                    table: sqlite_table,
                }
            }
        }
    }

    /// Lets inserts succeed again.
    pub async fn clear(self) {
        match database_url(&self.data_dir) {
            Some(url) => pg_sql(&url, &format!("DROP TRIGGER injected_fault ON {}", self.table)).await,
            None => {
                let db = rusqlite::Connection::open(self.data_dir.join(self.sqlite_file)).unwrap();
                db.execute_batch("DROP TRIGGER injected_fault;").unwrap();
            }
        }
    }
}

/// Makes every append to the server's audit log fail (a real storage failure at the log's own
/// database, injected from outside the server), until [`Fault::clear`].
pub async fn inject_audit_fault(data_dir: &Path) -> Fault {
    Fault::inject(data_dir, "audit.db", "entries", "audit_entries").await
}

/// Makes every record write of region `eu` fail at the region's own database.
pub async fn inject_records_fault(data_dir: &Path) -> Fault {
    Fault::inject(data_dir, "regions/eu/vault.db", "records", "datapact_vault.records").await
}

/// Verifies the server's audit log offline, from its storage (the file, or the database).
pub async fn verify_log(data_dir: &Path) -> datapact_audit::verify::Report {
    match database_url(data_dir) {
        Some(url) => datapact_audit::postgres::verify(&url, None, None).await.unwrap(),
        None => datapact_audit::verify::verify_file(&data_dir.join("audit.db"), None, None).unwrap(),
    }
}

/// Makes every insert into governance table `table` fail.
pub async fn inject_state_fault(data_dir: &Path, table: &'static str) -> Fault {
    Fault::inject(data_dir, "datapact.db", table, table).await
}

/// Whether the audit log's storage holds `needle` anywhere (the SQLite file's bytes; on
/// PostgreSQL, the text of any stored entry).
pub async fn audit_storage_contains(data_dir: &Path, needle: &str) -> bool {
    match database_url(data_dir) {
        Some(url) => {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            let task = tokio::spawn(conn);
            let rows = client
                .query(
                    "SELECT COUNT(*) FROM audit_entries WHERE position(convert_to($1, 'UTF8') IN leaf) > 0",
                    &[&needle],
                )
                .await
                .unwrap();
            drop(client);
            let _ = task.await;
            rows[0].get::<_, i64>(0) > 0
        }
        None => {
            let db = std::fs::read(data_dir.join("audit.db")).unwrap();
            db.windows(needle.len()).any(|w| w == needle.as_bytes())
        }
    }
}
