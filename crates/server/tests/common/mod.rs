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

    /// A server over an existing data directory.
    pub async fn start_in(dir: &Path, config: Config) -> Self {
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

/// Makes every append to the server's audit log fail (a real storage failure at the log's own
/// database, injected from outside the server), until [`clear_audit_fault`].
#[allow(dead_code)]
pub fn inject_audit_fault(data_dir: &Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(data_dir.join("audit.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER injected_fault BEFORE INSERT ON entries BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
    )
    .unwrap();
    db
}

/// Lets appends to the audit log succeed again.
#[allow(dead_code)]
pub fn clear_audit_fault(db: &rusqlite::Connection) {
    db.execute_batch("DROP TRIGGER injected_fault;").unwrap();
}
