//! The embedded backend: one SQLite database in the data directory.
//!
//! WAL with `synchronous = FULL`, so a write is on disk when it is acknowledged, and
//! `secure_delete`, so removed rows do not linger in free pages.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datapact_governance::{
    AiSettings, ApiKey, Job, OptOut, Org, OrgStatus, Plan, RetentionRule, Role, Snapshot, SupportGrant, Tenant,
    TenantId,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{
    count, enum_from_str, json, limits_json, parse, parse_opt, parse_opt_ts, parse_ts, stored, to_json, ts,
};
use crate::{QuotaState, SettingsScope, Store, StoreError, StoredCertificate};

/// Schema migrations, applied in order; the index + 1 is the `user_version` after each.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    plan TEXT NOT NULL,
    region TEXT NOT NULL,
    baa INTEGER NOT NULL,
    contract_forbids_training INTEGER NOT NULL,
    allow_cross_region_llm INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX tenants_by_org ON tenants(org_id);
CREATE TABLE opt_outs (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    ticket TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    products TEXT,
    effective_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
) STRICT;
CREATE TABLE ai_settings (
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('org', 'tenant')),
    scope_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    PRIMARY KEY (scope_kind, scope_id)
) STRICT;
CREATE TABLE support_grants (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    ticket TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
) STRICT;
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    role TEXT NOT NULL,
    org_id TEXT,
    tenant_id TEXT,
    product TEXT,
    label TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;
"#,
    r#"
ALTER TABLE orgs ADD COLUMN termination_due_at TEXT;
CREATE TABLE tenant_retention (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    rules TEXT NOT NULL
) STRICT;
CREATE TABLE certificates (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    certificate TEXT NOT NULL
) STRICT;
CREATE INDEX certificates_by_tenant ON certificates(tenant_id);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    state TEXT NOT NULL
) STRICT;
"#,
    r#"
CREATE TABLE llm_usage (
    tenant TEXT NOT NULL,
    product TEXT NOT NULL,
    model TEXT NOT NULL,
    day TEXT NOT NULL,
    requests INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    PRIMARY KEY (tenant, day, product, model)
) STRICT;
"#,
    r#"
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
"#,
    r#"
ALTER TABLE orgs ADD COLUMN ai_limits TEXT;
"#,
    r#"
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
"#,
    r#"
CREATE TABLE quotas (
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    spent INTEGER NOT NULL,
    taken INTEGER NOT NULL,
    PRIMARY KEY (scope, period)
) STRICT;
"#,
    r#"
CREATE TABLE training_docs (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;
CREATE INDEX training_docs_by_status ON training_docs(kind, status);
CREATE TABLE training_events (
    dataset TEXT NOT NULL,
    tenant TEXT NOT NULL,
    record TEXT NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (dataset, record, reason, tenant)
) STRICT;
"#,
];

/// `meta` row saying API key hashes are keyed (HMAC under the server's key).
const KEYED_HASHES: &str = "api_key_hash";
const KEYED_HASHES_V1: &str = "hmac-sha256/v1";

/// The embedded SQLite backend.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) the database `datapact.db` in `dir` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join("datapact.db");
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection in a blocking thread, so the async runtime never waits on disk.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Worker("connection lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if version > supported {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied database migration");
    }
    Ok(())
}

fn load_all(conn: &mut Connection) -> Result<Snapshot, StoreError> {
    let tx = conn.transaction()?;
    let mut settings_of = {
        let mut stmt = tx.prepare("SELECT scope_kind, scope_id, settings FROM ai_settings")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?;
        let mut map = std::collections::HashMap::new();
        for row in rows {
            let (kind, id, s) = row?;
            map.insert((kind, id), json::<AiSettings>(&s, "ai settings")?);
        }
        map
    };
    let mut orgs = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT id, name, plan, region, baa, contract_forbids_training, allow_cross_region_llm, status, created_at, updated_at, termination_due_at, ai_limits FROM orgs",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            orgs.push(Org {
                id: parse(&id, "organization id")?,
                name: r.get(1)?,
                plan: enum_from_str::<Plan>(&r.get::<_, String>(2)?, "plan")?,
                region: r.get(3)?,
                baa: r.get(4)?,
                contract_forbids_training: r.get(5)?,
                allow_cross_region_llm: r.get(6)?,
                status: enum_from_str::<OrgStatus>(&r.get::<_, String>(7)?, "status")?,
                created_at: parse_ts(&r.get::<_, String>(8)?)?,
                updated_at: parse_ts(&r.get::<_, String>(9)?)?,
                termination_due_at: parse_opt_ts(r.get(10)?)?,
                ai_limits: r
                    .get::<_, Option<String>>(11)?
                    .map(|l| json(&l, "organization AI limits"))
                    .transpose()?
                    .unwrap_or_default(),
                opt_outs: Vec::new(),
                ai: settings_of.remove(&("org".to_string(), id)).unwrap_or_default(),
                tenants: Vec::new(),
            });
        }
    }
    {
        let mut by_org: std::collections::HashMap<_, Vec<OptOut>> = std::collections::HashMap::new();
        let mut stmt = tx.prepare(
            "SELECT id, org_id, ticket, requested_by, products, effective_at, recorded_by, recorded_at, revoked_at, revoked_by FROM opt_outs ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let o = OptOut {
                id: parse(&r.get::<_, String>(0)?, "opt-out id")?,
                org: parse(&r.get::<_, String>(1)?, "organization id")?,
                ticket: r.get(2)?,
                requested_by: r.get(3)?,
                products: r
                    .get::<_, Option<String>>(4)?
                    .map(|p| json(&p, "opt-out products"))
                    .transpose()?,
                effective_at: parse_ts(&r.get::<_, String>(5)?)?,
                recorded_by: parse(&r.get::<_, String>(6)?, "key id")?,
                recorded_at: parse_ts(&r.get::<_, String>(7)?)?,
                revoked_at: parse_opt_ts(r.get(8)?)?,
                revoked_by: parse_opt(r.get(9)?, "key id")?,
            };
            by_org.entry(o.org).or_default().push(o);
        }
        for org in &mut orgs {
            org.opt_outs = by_org.remove(&org.id).unwrap_or_default();
        }
    }
    let mut tenants = Vec::new();
    {
        let mut by_tenant: std::collections::HashMap<_, Vec<SupportGrant>> = std::collections::HashMap::new();
        let mut stmt = tx.prepare(
            "SELECT id, tenant_id, ticket, expires_at, created_by, created_at, revoked_at, revoked_by FROM support_grants ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let g = SupportGrant {
                id: parse(&r.get::<_, String>(0)?, "grant id")?,
                tenant: parse(&r.get::<_, String>(1)?, "tenant id")?,
                ticket: r.get(2)?,
                expires_at: parse_ts(&r.get::<_, String>(3)?)?,
                created_by: parse(&r.get::<_, String>(4)?, "key id")?,
                created_at: parse_ts(&r.get::<_, String>(5)?)?,
                revoked_at: parse_opt_ts(r.get(6)?)?,
                revoked_by: parse_opt(r.get(7)?, "key id")?,
            };
            by_tenant.entry(g.tenant).or_default().push(g);
        }
        let mut retention: std::collections::HashMap<String, Vec<RetentionRule>> = std::collections::HashMap::new();
        {
            let mut stmt = tx.prepare("SELECT tenant_id, rules FROM tenant_retention")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                retention.insert(r.get(0)?, json(&r.get::<_, String>(1)?, "retention rules")?);
            }
        }
        let mut stmt = tx.prepare("SELECT id, org_id, name, region, created_at FROM tenants")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let tid = parse(&id, "tenant id")?;
            tenants.push(Tenant {
                id: tid,
                org: parse(&r.get::<_, String>(1)?, "organization id")?,
                name: r.get(2)?,
                region: r.get(3)?,
                created_at: parse_ts(&r.get::<_, String>(4)?)?,
                ai: settings_of
                    .remove(&("tenant".to_string(), id.clone()))
                    .unwrap_or_default(),
                grants: by_tenant.remove(&tid).unwrap_or_default(),
                retention: retention.remove(&id).unwrap_or_default(),
            });
        }
    }
    let mut keys = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT id, hash, role, org_id, tenant_id, product, label, created_by, created_at, revoked_at FROM api_keys",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let hash: Vec<u8> = r.get(1)?;
            keys.push(ApiKey {
                id: parse(&r.get::<_, String>(0)?, "key id")?,
                hash: hash
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("key hash is not 32 bytes".into()))?,
                role: enum_from_str::<Role>(&r.get::<_, String>(2)?, "role")?,
                org: parse_opt(r.get(3)?, "organization id")?,
                tenant: parse_opt(r.get(4)?, "tenant id")?,
                product: r.get(5)?,
                label: r.get(6)?,
                created_by: parse_opt(r.get(7)?, "key id")?,
                created_at: parse_ts(&r.get::<_, String>(8)?)?,
                revoked_at: parse_opt_ts(r.get(9)?)?,
            });
        }
    }
    tx.commit()?;
    Ok(Snapshot { orgs, tenants, keys })
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn load(&self) -> Result<Snapshot, StoreError> {
        self.run(load_all).await
    }

    async fn insert_org(&self, org: &Org) -> Result<(), StoreError> {
        let o = org.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO orgs (id, name, plan, region, baa, contract_forbids_training, allow_cross_region_llm, status, created_at, updated_at, termination_due_at, ai_limits)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    o.id.to_string(), o.name, o.plan.as_str(), o.region, o.baa, o.contract_forbids_training,
                    o.allow_cross_region_llm, o.status.as_str(), ts(o.created_at), ts(o.updated_at), o.termination_due_at.map(ts),
                    limits_json(&o.ai_limits)?
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn update_org(&self, org: &Org) -> Result<(), StoreError> {
        let o = org.clone();
        self.run(move |c| {
            let n = c.execute(
                "UPDATE orgs SET name = ?2, plan = ?3, baa = ?4, contract_forbids_training = ?5, allow_cross_region_llm = ?6,
                 status = ?7, updated_at = ?8, termination_due_at = ?9, ai_limits = ?10 WHERE id = ?1",
                params![
                    o.id.to_string(), o.name, o.plan.as_str(), o.baa, o.contract_forbids_training,
                    o.allow_cross_region_llm, o.status.as_str(), ts(o.updated_at), o.termination_due_at.map(ts),
                    limits_json(&o.ai_limits)?
                ],
            )?;
            if n != 1 {
                return Err(StoreError::Corrupt(format!("organization {} is not stored", o.id)));
            }
            Ok(())
        })
        .await
    }

    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let t = tenant.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO tenants (id, org_id, name, region, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![t.id.to_string(), t.org.to_string(), t.name, t.region, ts(t.created_at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let t = tenant.clone();
        self.run(move |c| {
            let n = c.execute(
                "UPDATE tenants SET name = ?2 WHERE id = ?1",
                params![t.id.to_string(), t.name],
            )?;
            if n != 1 {
                return Err(StoreError::Corrupt(format!("tenant {} is not stored", t.id)));
            }
            Ok(())
        })
        .await
    }

    async fn put_opt_out(&self, opt_out: &OptOut) -> Result<(), StoreError> {
        let o = opt_out.clone();
        let products = o.products.as_ref().map(to_json).transpose()?;
        self.run(move |c| {
            c.execute(
                "INSERT INTO opt_outs (id, org_id, ticket, requested_by, products, effective_at, recorded_by, recorded_at, revoked_at, revoked_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at, revoked_by = excluded.revoked_by",
                params![
                    o.id.to_string(), o.org.to_string(), o.ticket, o.requested_by, products, ts(o.effective_at),
                    o.recorded_by.to_string(), ts(o.recorded_at), o.revoked_at.map(ts), o.revoked_by.map(|k| k.to_string())
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn put_ai_settings(&self, scope: SettingsScope, settings: &AiSettings) -> Result<(), StoreError> {
        let doc = to_json(settings)?;
        let (kind, id) = match scope {
            SettingsScope::Org(o) => ("org", o.to_string()),
            SettingsScope::Tenant(t) => ("tenant", t.to_string()),
        };
        self.run(move |c| {
            c.execute(
                "INSERT INTO ai_settings (scope_kind, scope_id, settings) VALUES (?1, ?2, ?3)
                 ON CONFLICT (scope_kind, scope_id) DO UPDATE SET settings = excluded.settings",
                params![kind, id, doc],
            )?;
            Ok(())
        })
        .await
    }

    async fn put_grant(&self, grant: &SupportGrant) -> Result<(), StoreError> {
        let g = grant.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO support_grants (id, tenant_id, ticket, expires_at, created_by, created_at, revoked_at, revoked_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at, revoked_by = excluded.revoked_by",
                params![
                    g.id.to_string(), g.tenant.to_string(), g.ticket, ts(g.expires_at), g.created_by.to_string(),
                    ts(g.created_at), g.revoked_at.map(ts), g.revoked_by.map(|k| k.to_string())
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn put_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let k = key.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO api_keys (id, hash, role, org_id, tenant_id, product, label, created_by, created_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at",
                params![
                    k.id.to_string(), k.hash.as_slice(), k.role.as_str(), k.org.map(|o| o.to_string()),
                    k.tenant.map(|t| t.to_string()), k.product, k.label, k.created_by.map(|c| c.to_string()),
                    ts(k.created_at), k.revoked_at.map(ts)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn put_retention(&self, tenant: TenantId, rules: &[RetentionRule]) -> Result<(), StoreError> {
        let doc = to_json(&rules)?;
        self.run(move |c| {
            c.execute(
                "INSERT INTO tenant_retention (tenant_id, rules) VALUES (?1, ?2)
                 ON CONFLICT (tenant_id) DO UPDATE SET rules = excluded.rules",
                params![tenant.to_string(), doc],
            )?;
            Ok(())
        })
        .await
    }

    async fn insert_certificate(&self, cert: &StoredCertificate) -> Result<(), StoreError> {
        let c2 = cert.clone();
        self.run(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO certificates (id, tenant_id, org_id, reason, issued_at, certificate)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    c2.id,
                    c2.tenant.to_string(),
                    c2.org.to_string(),
                    c2.reason,
                    ts(c2.issued_at),
                    c2.json
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn certificates(&self, tenant: TenantId) -> Result<Vec<StoredCertificate>, StoreError> {
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, tenant_id, org_id, reason, issued_at, certificate FROM certificates
                 WHERE tenant_id = ?1 ORDER BY id",
            )?;
            let mut rows = stmt.query([tenant.to_string()])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(StoredCertificate {
                    id: r.get(0)?,
                    tenant: parse(&r.get::<_, String>(1)?, "tenant id")?,
                    org: parse(&r.get::<_, String>(2)?, "organization id")?,
                    reason: r.get(3)?,
                    issued_at: parse_ts(&r.get::<_, String>(4)?)?,
                    json: r.get(5)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn put_job(&self, job: &Job) -> Result<(), StoreError> {
        let doc = to_json(job)?;
        let state = to_json(&job.state)?;
        let id = job.id.to_string();
        self.run(move |c| {
            c.execute(
                "INSERT INTO jobs (id, job, state) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET job = excluded.job, state = excluded.state",
                params![id, doc, state],
            )?;
            Ok(())
        })
        .await
    }

    async fn add_usage(&self, rows: &[crate::UsageRow]) -> Result<(), StoreError> {
        let rows = rows.to_vec();
        self.run(move |c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO llm_usage (tenant, product, model, day, requests, prompt_tokens, completion_tokens, total_tokens)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (tenant, day, product, model) DO UPDATE SET
                       requests = requests + excluded.requests,
                       prompt_tokens = prompt_tokens + excluded.prompt_tokens,
                       completion_tokens = completion_tokens + excluded.completion_tokens,
                       total_tokens = total_tokens + excluded.total_tokens",
                )?;
                for r in &rows {
                    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                    stmt.execute(params![
                        r.tenant.to_string(),
                        r.product,
                        r.model,
                        r.day.to_string(),
                        n(r.requests),
                        n(r.prompt_tokens),
                        n(r.completion_tokens),
                        n(r.total_tokens)
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn usage(
        &self,
        tenant: TenantId,
        from: time::Date,
        to: time::Date,
    ) -> Result<Vec<crate::UsageRow>, StoreError> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT product, model, day, requests, prompt_tokens, completion_tokens, total_tokens
                 FROM llm_usage WHERE tenant = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day, product, model",
            )?;
            let mut rows = stmt.query(params![tenant.to_string(), from.to_string(), to.to_string()])?;
            let mut out = Vec::new();
            let day_format = time::macros::format_description!("[year]-[month]-[day]");
            while let Some(r) = rows.next()? {
                let day: String = r.get(2)?;
                let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                out.push(crate::UsageRow {
                    tenant,
                    product: r.get(0)?,
                    model: r.get(1)?,
                    day: time::Date::parse(&day, day_format)
                        .map_err(|e| StoreError::Corrupt(format!("usage day `{day}`: {e}")))?,
                    requests: n(3)?,
                    prompt_tokens: n(4)?,
                    completion_tokens: n(5)?,
                    total_tokens: n(6)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn put_training_doc(&self, kind: &str, id: &str, status: &str, doc: &str) -> Result<(), StoreError> {
        let (kind, id, status, doc) = (kind.to_string(), id.to_string(), status.to_string(), doc.to_string());
        self.run(move |c| {
            c.execute(
                "INSERT INTO training_docs (kind, id, status, doc) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, id) DO UPDATE SET status = excluded.status, doc = excluded.doc",
                params![kind, id, status, doc],
            )?;
            Ok(())
        })
        .await
    }

    async fn training_doc(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError> {
        let (kind, id) = (kind.to_string(), id.to_string());
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT doc FROM training_docs WHERE kind = ?1 AND id = ?2",
                params![kind, id],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    async fn training_docs(&self, kind: &str, status: Option<&str>) -> Result<Vec<String>, StoreError> {
        let (kind, status) = (kind.to_string(), status.map(str::to_string));
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT doc FROM training_docs WHERE kind = ?1 AND (?2 IS NULL OR status = ?2) ORDER BY id",
            )?;
            let rows = stmt.query_map(params![kind, status], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn training_docs_page(&self, kind: &str, after: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let (kind, after) = (kind.to_string(), after.to_string());
        self.run(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT doc FROM training_docs WHERE kind = ?1 AND id > ?2 ORDER BY id LIMIT ?3")?;
            let rows = stmt.query_map(params![kind, after, limit as i64], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn add_training_events(&self, events: &[crate::TrainingEvent]) -> Result<(), StoreError> {
        let events = events.to_vec();
        self.run(move |c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO training_events (dataset, tenant, record, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT DO NOTHING",
                )?;
                for e in &events {
                    stmt.execute(params![
                        e.dataset,
                        e.tenant.to_string(),
                        e.record,
                        e.reason,
                        crate::codec::micros(e.at)
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn drop_training_events(
        &self,
        dataset: &str,
        tenant: TenantId,
        before: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (dataset, tenant, before) = (dataset.to_string(), tenant.to_string(), crate::codec::micros(before));
        self.run(move |c| {
            c.execute(
                "DELETE FROM training_events WHERE dataset = ?1 AND tenant = ?2 AND at < ?3",
                params![dataset, tenant, before],
            )?;
            Ok(())
        })
        .await
    }

    async fn training_event_counts(&self) -> Result<Vec<crate::TrainingEventCount>, StoreError> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT dataset, tenant, reason, COUNT(*), MIN(at) FROM training_events
                 GROUP BY dataset, tenant, reason ORDER BY dataset, tenant, reason",
            )?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let tenant: String = r.get(1)?;
                out.push(crate::TrainingEventCount {
                    dataset: r.get(0)?,
                    tenant: tenant
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("training event tenant `{tenant}`")))?,
                    reason: r.get(2)?,
                    records: r.get::<_, i64>(3)?.max(0) as u64,
                    since: crate::codec::from_micros(r.get(4)?)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn jobs(&self) -> Result<Vec<Job>, StoreError> {
        self.run(|c| {
            let mut stmt = c.prepare("SELECT job FROM jobs ORDER BY id")?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(json::<Job>(&r.get::<_, String>(0)?, "job")?);
            }
            Ok(out)
        })
        .await
    }

    async fn key_hashes_keyed(&self, keyed: &(dyn Fn([u8; 32]) -> [u8; 32] + Send + Sync)) -> Result<u64, StoreError> {
        // Once, at start-up, before anything is served: done on this thread, in one
        // transaction, so a crash leaves either every hash keyed or none.
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| StoreError::Worker("connection lock poisoned".into()))?;
        let tx = conn.transaction()?;
        let done: Option<String> = tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [KEYED_HASHES], |r| r.get(0))
            .optional()?;
        if done.as_deref() == Some(KEYED_HASHES_V1) {
            return Ok(0);
        }
        let rows: Vec<(String, Vec<u8>)> = {
            let mut stmt = tx.prepare("SELECT id, hash FROM api_keys")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (id, hash) in &rows {
            let h: [u8; 32] = hash
                .as_slice()
                .try_into()
                .map_err(|_| StoreError::Corrupt("key hash is not 32 bytes".into()))?;
            tx.execute(
                "UPDATE api_keys SET hash = ?2 WHERE id = ?1",
                params![id, keyed(h).as_slice()],
            )?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            params![KEYED_HASHES, KEYED_HASHES_V1],
        )?;
        tx.commit()?;
        Ok(rows.len() as u64)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|c| {
            Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .optional()
                .map(|_| ())?)
        })
        .await
    }

    async fn lease(&self, name: &str, holder: &str, ttl: std::time::Duration) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_string(), holder.to_string());
        let ttl = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
        self.run(move |c| {
            let now = i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX);
            let held = c
                .query_row(
                    "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                     WHERE leases.holder = excluded.holder OR leases.expires_at < ?4
                     RETURNING holder",
                    params![name, holder, now.saturating_add(ttl), now],
                    |r| r.get::<_, String>(0),
                )
                .optional()?;
            Ok(held.is_some())
        })
        .await
    }

    async fn live_leases(&self, prefix: &str) -> Result<u64, StoreError> {
        let pattern = format!(
            "{}%",
            prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
        );
        self.run(move |c| {
            let now = i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX);
            c.execute(
                "DELETE FROM leases WHERE name LIKE ?1 ESCAPE '\\' AND expires_at < ?2",
                params![pattern, now.saturating_sub(3_600_000_000)],
            )?;
            let n: i64 = c.query_row(
                "SELECT count(*) FROM leases WHERE name LIKE ?1 ESCAPE '\\' AND expires_at >= ?2",
                params![pattern, now],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn take_quota(&self, scope: &str, period: &str, want: u64, limit: u64) -> Result<u64, StoreError> {
        let (scope, period) = (scope.to_string(), period.to_string());
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let (spent, taken): (i64, i64) = tx
                .query_row(
                    "SELECT spent, taken FROM quotas WHERE scope = ?1 AND period = ?2",
                    params![scope, period],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .unwrap_or((0, 0));
            let left = limit.saturating_sub(count(spent)).saturating_sub(count(taken));
            let granted = want.min(left);
            tx.execute(
                "INSERT INTO quotas (scope, period, spent, taken) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (scope, period) DO UPDATE SET taken = excluded.taken",
                params![scope, period, spent, stored(count(taken).saturating_add(granted))],
            )?;
            tx.commit()?;
            Ok(granted)
        })
        .await
    }

    async fn return_quota(&self, scope: &str, period: &str, taken: u64, used: u64) -> Result<(), StoreError> {
        let (scope, period) = (scope.to_string(), period.to_string());
        let (taken, used) = (stored(taken), stored(used.min(taken)));
        self.run(move |c| {
            c.execute(
                "UPDATE quotas SET taken = max(taken - ?3, 0), spent = spent + ?4 WHERE scope = ?1 AND period = ?2",
                params![scope, period, taken, used],
            )?;
            Ok(())
        })
        .await
    }

    async fn quota(&self, scope: &str, period: &str) -> Result<QuotaState, StoreError> {
        let (scope, period) = (scope.to_string(), period.to_string());
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT spent, taken FROM quotas WHERE scope = ?1 AND period = ?2",
                params![scope, period],
                |r| {
                    Ok(QuotaState {
                        spent: count(r.get(0)?),
                        taken: count(r.get(1)?),
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
        })
        .await
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.run(move |c| {
            c.execute(
                "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                params![name, holder],
            )?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    //! What the backend suite (`tests/backends.rs`, run on SQLite and PostgreSQL alike) cannot
    //! say: SQLite's own schema version.
    use super::*;

    #[tokio::test]
    async fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        drop(SqliteStore::open(dir.path()).unwrap());
        let c = Connection::open(dir.path().join("datapact.db")).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        drop(c);
        assert!(matches!(
            SqliteStore::open(dir.path()),
            Err(StoreError::SchemaTooNew { found: 99, .. })
        ));
    }
}
