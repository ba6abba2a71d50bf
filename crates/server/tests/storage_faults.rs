//! A change that cannot be stored durably is not made: the caller gets 503 and memory,
//! decisions and later reads are as if the request never came.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use datapact_governance::{AiSettings, ApiKey, Catalog, OptOut, Org, Snapshot, SupportGrant, Tenant};
use datapact_server::{AppState, Config};
use datapact_store::{SettingsScope, SqliteStore, Store, StoreError};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A real SQLite store whose writes fail while `broken` is set, as a full disk would.
struct Flaky {
    inner: SqliteStore,
    broken: AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        if self.broken.load(Ordering::SeqCst) {
            Err(StoreError::Io {
                path: "datapact.db".into(),
                source: std::io::Error::other("No space left on device"),
            })
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Store for Flaky {
    fn backend(&self) -> &'static str {
        "flaky-sqlite"
    }
    async fn load(&self) -> Result<Snapshot, StoreError> {
        self.inner.load().await
    }
    async fn key_hashes_keyed(&self, keyed: &(dyn Fn([u8; 32]) -> [u8; 32] + Send + Sync)) -> Result<u64, StoreError> {
        self.inner.key_hashes_keyed(keyed).await
    }
    async fn insert_org(&self, org: &Org) -> Result<(), StoreError> {
        self.check()?;
        self.inner.insert_org(org).await
    }
    async fn update_org(&self, org: &Org) -> Result<(), StoreError> {
        self.check()?;
        self.inner.update_org(org).await
    }
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.check()?;
        self.inner.insert_tenant(tenant).await
    }
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.check()?;
        self.inner.update_tenant(tenant).await
    }
    async fn put_opt_out(&self, o: &OptOut) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_opt_out(o).await
    }
    async fn put_ai_settings(&self, scope: SettingsScope, s: &AiSettings) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_ai_settings(scope, s).await
    }
    async fn put_grant(&self, g: &SupportGrant) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_grant(g).await
    }
    async fn put_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_key(k).await
    }
    async fn add_usage(&self, rows: &[datapact_store::UsageRow]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.add_usage(rows).await
    }
    async fn usage(
        &self,
        t: datapact_governance::TenantId,
        from: time::Date,
        to: time::Date,
    ) -> Result<Vec<datapact_store::UsageRow>, StoreError> {
        self.inner.usage(t, from, to).await
    }
    async fn put_training_doc(&self, kind: &str, id: &str, status: &str, doc: &str) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_training_doc(kind, id, status, doc).await
    }
    async fn training_doc(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError> {
        self.inner.training_doc(kind, id).await
    }
    async fn training_docs(&self, kind: &str, status: Option<&str>) -> Result<Vec<String>, StoreError> {
        self.inner.training_docs(kind, status).await
    }
    async fn training_docs_page(&self, kind: &str, after: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        self.inner.training_docs_page(kind, after, limit).await
    }
    async fn add_training_events(&self, events: &[datapact_store::TrainingEvent]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.add_training_events(events).await
    }
    async fn drop_training_events(
        &self,
        dataset: &str,
        tenant: datapact_governance::TenantId,
        before: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.drop_training_events(dataset, tenant, before).await
    }
    async fn training_event_counts(&self) -> Result<Vec<datapact_store::TrainingEventCount>, StoreError> {
        self.inner.training_event_counts().await
    }
    async fn put_retention(
        &self,
        t: datapact_governance::TenantId,
        r: &[datapact_governance::RetentionRule],
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_retention(t, r).await
    }
    async fn insert_certificate(&self, c: &datapact_store::StoredCertificate) -> Result<(), StoreError> {
        self.check()?;
        self.inner.insert_certificate(c).await
    }
    async fn certificates(
        &self,
        t: datapact_governance::TenantId,
    ) -> Result<Vec<datapact_store::StoredCertificate>, StoreError> {
        self.inner.certificates(t).await
    }
    async fn put_job(&self, j: &datapact_governance::Job) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_job(j).await
    }
    async fn jobs(&self) -> Result<Vec<datapact_governance::Job>, StoreError> {
        self.inner.jobs().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.check()?;
        self.inner.ping().await
    }
    async fn lease(&self, name: &str, holder: &str, ttl: std::time::Duration) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.lease(name, holder, ttl).await
    }
    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.check()?;
        self.inner.release(name, holder).await
    }
    async fn live_leases(&self, prefix: &str) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.live_leases(prefix).await
    }
    async fn take_quota(&self, scope: &str, period: &str, want: u64, limit: u64) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.take_quota(scope, period, want, limit).await
    }
    async fn return_quota(&self, scope: &str, period: &str, taken: u64, used: u64) -> Result<(), StoreError> {
        self.check()?;
        self.inner.return_quota(scope, period, taken, used).await
    }
    async fn quota(&self, scope: &str, period: &str) -> Result<datapact_store::QuotaState, StoreError> {
        self.check()?;
        self.inner.quota(scope, period).await
    }
}

async fn call(url: &str, method: reqwest::Method, path: &str, key: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{url}{path}"))
        .bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_writes_are_not_acknowledged_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Flaky {
        inner: SqliteStore::open(dir.path()).unwrap(),
        broken: AtomicBool::new(false),
    });
    let (vault, _) = datapact_vault::Vault::open(datapact_vault::VaultOptions {
        data_dir: dir.path().to_path_buf(),
        regions: vec![("eu".into(), None), ("us".into(), None)],
        master: datapact_vault::MasterSecret::KeyFile(dir.path().join("master.key")),
        max_content_bytes: 1 << 20,
        storage: Default::default(),
    })
    .unwrap();
    let vault = Arc::new(vault);
    let audit = datapact_audit::AuditLog::sqlite(
        &dir.path().join("audit.db"),
        "test",
        Arc::new(datapact_server::audit::VaultSigner(Arc::clone(&vault))),
    )
    .unwrap();
    let state = AppState::open(
        store.clone(),
        vault,
        Arc::new(audit),
        Catalog::builtin().unwrap(),
        Config::default(),
    )
    .await
    .unwrap();
    let admin = "fault-test-admin-key-0123456789";
    state.bootstrap(Some(admin)).await.unwrap();
    let state = datapact_server::Server::new(Arc::new(state)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(datapact_server::serve(listener, state, std::future::pending()));

    let (_, org) = call(
        &url,
        reqwest::Method::POST,
        "/v1/orgs",
        admin,
        Some(json!({"name": "A", "plan": "enterprise", "region": "eu"})),
    )
    .await;
    let org_id = org["id"].as_str().unwrap().to_string();
    let (_, k) = call(
        &url,
        reqwest::Method::POST,
        "/v1/keys",
        admin,
        Some(json!({"role": "org_admin", "org": org_id})),
    )
    .await;
    let oa = k["key"].as_str().unwrap().to_string();
    let (_, t) = call(
        &url,
        reqwest::Method::POST,
        &format!("/v1/orgs/{org_id}/tenants"),
        &oa,
        Some(json!({"name": "t"})),
    )
    .await;
    let tenant = t["id"].as_str().unwrap().to_string();

    store.broken.store(true, Ordering::SeqCst);
    let attempts: Vec<(reqwest::Method, String, &str, Value)> = vec![
        (
            reqwest::Method::POST,
            "/v1/orgs".into(),
            admin,
            json!({"name": "B", "plan": "free", "region": "eu"}),
        ),
        (
            reqwest::Method::PATCH,
            format!("/v1/orgs/{org_id}"),
            admin,
            json!({"baa": true}),
        ),
        (
            reqwest::Method::POST,
            format!("/v1/orgs/{org_id}/tenants"),
            &oa,
            json!({"name": "t2"}),
        ),
        (
            reqwest::Method::POST,
            format!("/v1/orgs/{org_id}/opt-outs"),
            admin,
            json!({"ticket": "T", "requested_by": "x"}),
        ),
        (
            reqwest::Method::PUT,
            format!("/v1/orgs/{org_id}/ai-settings"),
            &oa,
            json!({"genai_enabled": false}),
        ),
        (
            reqwest::Method::PUT,
            format!("/v1/tenants/{tenant}/ai-settings"),
            &oa,
            json!({"genai_enabled": false}),
        ),
        (
            reqwest::Method::POST,
            "/v1/keys".into(),
            admin,
            json!({"role": "support"}),
        ),
    ];
    for (method, path, key, body) in attempts {
        let (st, v) = call(&url, method.clone(), &path, key, Some(body)).await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{method} {path}: {v}");
        assert_eq!(v["code"], "storage_unavailable");
        assert!(
            !v["detail"].as_str().unwrap().contains("No space"),
            "internal detail must not leak: {v}"
        );
    }
    let (st, _) = call(&url, reqwest::Method::GET, "/readyz", admin, None).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);

    // Nothing changed in memory: decisions and reads are as before.
    let decide = |purpose: &'static str| {
        let (url, oa, tenant) = (url.clone(), oa.clone(), tenant.clone());
        async move {
            let (_, d) = call(
                &url,
                reqwest::Method::POST,
                "/v1/decisions",
                &oa,
                Some(json!({"tenant": tenant, "product": "ixp", "purpose": purpose})),
            )
            .await;
            d["allowed"].as_bool().unwrap()
        }
    };
    assert!(decide("vendor_training").await, "no BAA and no opt-out took effect");
    assert!(decide("genai").await, "no AI setting took effect");
    let (_, orgs) = call(&url, reqwest::Method::GET, "/v1/orgs", admin, None).await;
    assert_eq!(orgs["items"].as_array().unwrap().len(), 1);
    let (_, tenants) = call(
        &url,
        reqwest::Method::GET,
        &format!("/v1/orgs/{org_id}/tenants"),
        &oa,
        None,
    )
    .await;
    assert_eq!(tenants.as_array().unwrap().len(), 1);

    // And nothing half-written reached the database.
    store.broken.store(false, Ordering::SeqCst);
    let snap = store.inner.load().await.unwrap();
    assert_eq!((snap.orgs.len(), snap.tenants.len(), snap.keys.len()), (1, 1, 2));
    assert!(!snap.orgs[0].baa && snap.orgs[0].opt_outs.is_empty() && snap.orgs[0].ai == AiSettings::default());
}
