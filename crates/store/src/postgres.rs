//! The PostgreSQL backend, for deployments of several server nodes on one database.
//!
//! The same tables and encodings as the SQLite backend (see [`crate::codec`]). A write is
//! durable when its future resolves (PostgreSQL's default `synchronous_commit = on`). Schema
//! migrations are versioned in `datapact_schema` and applied at connection under a
//! transaction-scoped advisory lock, so when several nodes start at once one migrates and the
//! others wait for it; a database migrated by a newer datapact is refused.

use async_trait::async_trait;
use datapact_governance::{
    AiSettings, ApiKey, Job, OptOut, Org, OrgStatus, Plan, RetentionRule, Role, Snapshot, SupportGrant, Tenant,
    TenantId,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::{NoTls, Transaction};

use crate::codec::{
    count, enum_from_str, json, limits_json, parse, parse_opt, parse_opt_ts, parse_ts, stored, to_json, ts,
};
use crate::{Change, Entity, QuotaState, SettingsScope, Store, StoreError, StoredCertificate, UsageRow};

/// The channel change notifications are sent on.
const CHANNEL: &str = "datapact_changes";

/// How often a node reads the change feed even without a notification: the bound on how late
/// it learns of a change whose notification it missed.
pub const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Schema migrations, applied in order; the index + 1 is the version after each.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    plan TEXT NOT NULL,
    region TEXT NOT NULL,
    baa BOOLEAN NOT NULL,
    contract_forbids_training BOOLEAN NOT NULL,
    allow_cross_region_llm BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    termination_due_at TEXT,
    ai_limits TEXT
);
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    created_at TEXT NOT NULL
);
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
);
CREATE TABLE ai_settings (
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('org', 'tenant')),
    scope_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    PRIMARY KEY (scope_kind, scope_id)
);
CREATE TABLE support_grants (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    ticket TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT
);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    hash BYTEA NOT NULL UNIQUE,
    role TEXT NOT NULL,
    org_id TEXT,
    tenant_id TEXT,
    product TEXT,
    label TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE tenant_retention (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    rules TEXT NOT NULL
);
CREATE TABLE certificates (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    certificate TEXT NOT NULL
);
CREATE INDEX certificates_by_tenant ON certificates(tenant_id);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE llm_usage (
    tenant TEXT NOT NULL,
    product TEXT NOT NULL,
    model TEXT NOT NULL,
    day TEXT NOT NULL,
    requests BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    total_tokens BIGINT NOT NULL,
    PRIMARY KEY (tenant, day, product, model)
);
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE changes (
    seq BIGSERIAL PRIMARY KEY,
    entity TEXT NOT NULL CHECK (entity IN ('org', 'tenant', 'key')),
    id TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"#,
    r#"
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
"#,
    r#"
CREATE TABLE quotas (
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    spent BIGINT NOT NULL,
    taken BIGINT NOT NULL,
    PRIMARY KEY (scope, period)
);
"#,
    r#"
CREATE TABLE training_docs (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX training_docs_by_status ON training_docs(kind, status);
CREATE TABLE training_events (
    dataset TEXT NOT NULL,
    tenant TEXT NOT NULL,
    record TEXT NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (dataset, record, reason, tenant)
);
"#,
];

/// The advisory lock migrations run under (any constant unlikely to collide: "datapact" in ASCII).
const MIGRATION_LOCK: i64 = 0x6461_7461_7061_6374;

/// `meta` row saying API key hashes are keyed (HMAC under the server's key).
const KEYED_HASHES: &str = "api_key_hash";
const KEYED_HASHES_V1: &str = "hmac-sha256/v1";

/// Connections the pool keeps at most.
const POOL_SIZE: usize = 16;

/// The PostgreSQL backend.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    config: tokio_postgres::Config,
}

fn pool_error(e: impl std::fmt::Display + PoolDetail) -> StoreError {
    StoreError::Unavailable(e.detail().unwrap_or_else(|| e.to_string()))
}

/// The server's own words inside a pool or connection error, where there are some (a refused
/// login says why; the error's Display alone says only "db error").
trait PoolDetail {
    fn detail(&self) -> Option<String>;
}

impl PoolDetail for deadpool_postgres::PoolError {
    fn detail(&self) -> Option<String> {
        match self {
            deadpool_postgres::PoolError::Backend(e) => e.as_db_error().map(|_| crate::postgres_detail(e)),
            _ => None,
        }
    }
}

impl PoolDetail for tokio_postgres::Error {
    fn detail(&self) -> Option<String> {
        self.as_db_error().map(|_| crate::postgres_detail(self))
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgres://` URL or a `key=value` string) and
    /// brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Config(format!("the database URL does not parse: {e}")))?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Config(e.to_string()))?;
        let store = Self { pool, config };
        store.migrate().await?;
        Ok(store)
    }

    /// Everything, and the sequence number of the newest change it includes: apply the change
    /// feed after that number ([`PostgresStore::watch`]) and nothing is missed or seen twice.
    pub async fn load_at(&self) -> Result<(Snapshot, i64), StoreError> {
        let mut c = self.client().await?;
        // One consistent snapshot of every table and of the change feed.
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let seq: i64 = tx
            .query_one("SELECT COALESCE(max(seq), 0) FROM changes", &[])
            .await?
            .get(0);
        let orgs = read_orgs(&tx, None).await?;
        let tenants = read_tenants(&tx, None).await?;
        let keys = read_keys(&tx, None).await?;
        tx.commit().await?;
        Ok((Snapshot { orgs, tenants, keys }, seq))
    }

    /// One organization as stored now, with its opt-outs and AI settings.
    pub async fn org(&self, id: &str) -> Result<Option<Org>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let found = read_orgs(&tx, Some(id)).await?.pop();
        tx.commit().await?;
        Ok(found)
    }

    /// One tenant as stored now, with its AI settings, grants and retention rules.
    pub async fn tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let found = read_tenants(&tx, Some(id)).await?.pop();
        tx.commit().await?;
        Ok(found)
    }

    /// One API key as stored now.
    pub async fn key(&self, id: &str) -> Result<Option<ApiKey>, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let found = read_keys(&tx, Some(id)).await?.pop();
        tx.commit().await?;
        Ok(found)
    }

    /// The sequence number of the newest change committed (0 before any): a node's lag is this
    /// minus what its follower applied.
    /// The database's clock now (`clock_timestamp()`), the deployment's one clock.
    pub async fn clock(&self) -> Result<time::OffsetDateTime, StoreError> {
        let c = self.client().await?;
        let us: i64 = c
            .query_one("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint", &[])
            .await?
            .get(0);
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
            .map_err(|e| StoreError::Corrupt(format!("the database's clock: {e}")))
    }

    pub async fn latest_change(&self) -> Result<i64, StoreError> {
        let c = self.client().await?;
        Ok(c.query_one("SELECT COALESCE(max(seq), 0) FROM changes", &[])
            .await?
            .get(0))
    }

    /// Changes after sequence number `after`, oldest first, at most `limit`.
    pub async fn changes_after(&self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT seq, entity, id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let entity = match r.get::<_, &str>(1) {
                    "org" => Entity::Org,
                    "tenant" => Entity::Tenant,
                    "key" => Entity::Key,
                    other => return Err(StoreError::Corrupt(format!("change of an unknown entity `{other}`"))),
                };
                Ok(Change {
                    seq: r.get(0),
                    entity,
                    id: r.get(2),
                })
            })
            .collect()
    }

    /// The changes other nodes (and this one) make after sequence number `from`, in order, as
    /// they commit: read on each notification and at least every [`RECONCILE_EVERY`], so a
    /// lost notification or a dropped listening connection delays a change by at most that.
    /// Ends when the receiver is dropped.
    pub fn watch(&self, from: i64) -> tokio::sync::mpsc::Receiver<Change> {
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let store = self.clone();
        tokio::spawn(async move {
            let mut last = from;
            let (wake_tx, mut wake) = tokio::sync::mpsc::channel::<()>(1);
            let mut listener: Option<tokio::task::JoinHandle<()>> = None;
            let mut tick = tokio::time::interval(RECONCILE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                if listener.as_ref().is_none_or(|l| l.is_finished()) {
                    listener = store.listen(wake_tx.clone()).await.ok();
                }
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = wake.recv() => {}
                    () = tx.closed() => break,
                }
                loop {
                    match store.changes_after(last, 1000).await {
                        Ok(changes) => {
                            let full = changes.len() == 1000;
                            for c in changes {
                                last = c.seq;
                                if tx.send(c).await.is_err() {
                                    return;
                                }
                            }
                            if !full {
                                break;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot read the change feed; retried");
                            break;
                        }
                    }
                }
            }
            if let Some(l) = listener {
                l.abort();
            }
        });
        rx
    }

    /// A connection that `LISTEN`s on the change channel and pokes `wake` on each notification.
    async fn listen(&self, wake: tokio::sync::mpsc::Sender<()>) -> Result<tokio::task::JoinHandle<()>, StoreError> {
        let (client, mut conn) = self.config.connect(NoTls).await.map_err(pool_error)?;
        let task = tokio::spawn(async move {
            let messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
            futures_util::pin_mut!(messages);
            while let Some(m) = futures_util::StreamExt::next(&mut messages).await {
                match m {
                    Ok(tokio_postgres::AsyncMessage::Notification(_)) => {
                        let _ = wake.try_send(());
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        // The client must live as long as the connection listens: it is moved into a task that
        // waits for the connection's end.
        Ok(tokio::spawn(async move {
            let _client = client;
            let _ = task.await;
        }))
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Applies the migrations this database lacks, in one transaction under the migration
    /// lock: a node that starts while another migrates waits, then finds the schema current.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        // SET LOCAL: no NOTICE in the log when the table exists (every start but the first).
        tx.batch_execute("SET LOCAL client_min_messages = warning; CREATE TABLE IF NOT EXISTS datapact_schema (version INTEGER NOT NULL)")
            .await?;
        let version: i64 = match tx.query_opt("SELECT version FROM datapact_schema", &[]).await? {
            Some(row) => i64::from(row.get::<_, i32>(0)),
            None => {
                tx.execute("INSERT INTO datapact_schema (version) VALUES (0)", &[])
                    .await?;
                0
            }
        };
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::SchemaTooNew {
                found: version,
                supported,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.batch_execute(sql).await?;
            let v = i32::try_from(i + 1).unwrap_or(i32::MAX);
            tx.execute("UPDATE datapact_schema SET version = $1", &[&v]).await?;
            tracing::info!(version = i + 1, "applied database migration");
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn load(&self) -> Result<Snapshot, StoreError> {
        Ok(self.load_at().await?.0)
    }

    async fn insert_org(&self, o: &Org) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO orgs (id, name, plan, region, baa, contract_forbids_training, allow_cross_region_llm, status,
                                   created_at, updated_at, termination_due_at, ai_limits)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &o.id.to_string(),
                &o.name,
                &o.plan.as_str(),
                &o.region,
                &o.baa,
                &o.contract_forbids_training,
                &o.allow_cross_region_llm,
                &o.status.as_str(),
                &ts(o.created_at),
                &ts(o.updated_at),
                &o.termination_due_at.map(ts),
                &limits_json(&o.ai_limits)?,
            ],
        )
        .await?;
        record_change(&tx, "org", &o.id.to_string()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_org(&self, o: &Org) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = tx
            .execute(
                "UPDATE orgs SET name = $2, plan = $3, baa = $4, contract_forbids_training = $5, allow_cross_region_llm = $6,
                 status = $7, updated_at = $8, termination_due_at = $9, ai_limits = $10 WHERE id = $1",
                &[
                    &o.id.to_string(),
                    &o.name,
                    &o.plan.as_str(),
                    &o.baa,
                    &o.contract_forbids_training,
                    &o.allow_cross_region_llm,
                    &o.status.as_str(),
                    &ts(o.updated_at),
                    &o.termination_due_at.map(ts),
                    &limits_json(&o.ai_limits)?,
                ],
            )
            .await?;
        if n != 1 {
            return Err(StoreError::Corrupt(format!("organization {} is not stored", o.id)));
        }
        record_change(&tx, "org", &o.id.to_string()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO tenants (id, org_id, name, region, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[
                &t.id.to_string(),
                &t.org.to_string(),
                &t.name,
                &t.region,
                &ts(t.created_at),
            ],
        )
        .await?;
        record_change(&tx, "tenant", &t.id.to_string()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = tx
            .execute(
                "UPDATE tenants SET name = $2 WHERE id = $1",
                &[&t.id.to_string(), &t.name],
            )
            .await?;
        if n != 1 {
            return Err(StoreError::Corrupt(format!("tenant {} is not stored", t.id)));
        }
        record_change(&tx, "tenant", &t.id.to_string()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn put_opt_out(&self, o: &OptOut) -> Result<(), StoreError> {
        let products = o.products.as_ref().map(to_json).transpose()?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO opt_outs (id, org_id, ticket, requested_by, products, effective_at, recorded_by, recorded_at,
                                       revoked_at, revoked_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at, revoked_by = excluded.revoked_by",
            &[
                &o.id.to_string(),
                &o.org.to_string(),
                &o.ticket,
                &o.requested_by,
                &products,
                &ts(o.effective_at),
                &o.recorded_by.to_string(),
                &ts(o.recorded_at),
                &o.revoked_at.map(ts),
                &o.revoked_by.map(|k| k.to_string()),
            ],
        )
        .await?;
        record_change(&tx, "org", &o.org.to_string()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn put_ai_settings(&self, scope: SettingsScope, settings: &AiSettings) -> Result<(), StoreError> {
        let doc = to_json(settings)?;
        let (kind, id) = match scope {
            SettingsScope::Org(o) => ("org", o.to_string()),
            SettingsScope::Tenant(t) => ("tenant", t.to_string()),
        };
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO ai_settings (scope_kind, scope_id, settings) VALUES ($1, $2, $3)
                 ON CONFLICT (scope_kind, scope_id) DO UPDATE SET settings = excluded.settings",
            &[&kind, &id, &doc],
        )
        .await?;
        record_change(&tx, kind, &id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn put_grant(&self, g: &SupportGrant) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
                "INSERT INTO support_grants (id, tenant_id, ticket, expires_at, created_by, created_at, revoked_at, revoked_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at, revoked_by = excluded.revoked_by",
                &[
                    &g.id.to_string(),
                    &g.tenant.to_string(),
                    &g.ticket,
                    &ts(g.expires_at),
                    &g.created_by.to_string(),
                    &ts(g.created_at),
                    &g.revoked_at.map(ts),
                    &g.revoked_by.map(|k| k.to_string()),
                ],
            )
            .await?;
        record_change(&tx, "tenant", &g.tenant.to_string()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn put_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
                "INSERT INTO api_keys (id, hash, role, org_id, tenant_id, product, label, created_by, created_at, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at",
                &[
                    &k.id.to_string(),
                    &k.hash.as_slice(),
                    &k.role.as_str(),
                    &k.org.map(|o| o.to_string()),
                    &k.tenant.map(|t| t.to_string()),
                    &k.product,
                    &k.label,
                    &k.created_by.map(|c| c.to_string()),
                    &ts(k.created_at),
                    &k.revoked_at.map(ts),
                ],
            )
            .await?;
        record_change(&tx, "key", &k.id.to_string()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn put_retention(&self, tenant: TenantId, rules: &[RetentionRule]) -> Result<(), StoreError> {
        let doc = to_json(&rules)?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO tenant_retention (tenant_id, rules) VALUES ($1, $2)
                 ON CONFLICT (tenant_id) DO UPDATE SET rules = excluded.rules",
            &[&tenant.to_string(), &doc],
        )
        .await?;
        record_change(&tx, "tenant", &tenant.to_string()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_certificate(&self, c: &StoredCertificate) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO certificates (id, tenant_id, org_id, reason, issued_at, certificate)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                &[
                    &c.id,
                    &c.tenant.to_string(),
                    &c.org.to_string(),
                    &c.reason,
                    &ts(c.issued_at),
                    &c.json,
                ],
            )
            .await?;
        Ok(())
    }

    async fn certificates(&self, tenant: TenantId) -> Result<Vec<StoredCertificate>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, tenant_id, org_id, reason, issued_at, certificate FROM certificates
                 WHERE tenant_id = $1 ORDER BY id",
                &[&tenant.to_string()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredCertificate {
                    id: r.get(0),
                    tenant: parse(r.get(1), "tenant id")?,
                    org: parse(r.get(2), "organization id")?,
                    reason: r.get(3),
                    issued_at: parse_ts(r.get(4))?,
                    json: r.get(5),
                })
            })
            .collect()
    }

    async fn put_job(&self, job: &Job) -> Result<(), StoreError> {
        let doc = to_json(job)?;
        let state = to_json(&job.state)?;
        self.client()
            .await?
            .execute(
                "INSERT INTO jobs (id, job, state) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET job = excluded.job, state = excluded.state",
                &[&job.id.to_string(), &doc, &state],
            )
            .await?;
        Ok(())
    }

    async fn put_training_doc(&self, kind: &str, id: &str, status: &str, doc: &str) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO training_docs (kind, id, status, doc) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (kind, id) DO UPDATE SET status = excluded.status, doc = excluded.doc",
                &[&kind, &id, &status, &doc],
            )
            .await?;
        Ok(())
    }

    async fn training_doc(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT doc FROM training_docs WHERE kind = $1 AND id = $2",
                &[&kind, &id],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn training_docs(&self, kind: &str, status: Option<&str>) -> Result<Vec<String>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT doc FROM training_docs WHERE kind = $1 AND ($2::TEXT IS NULL OR status = $2) ORDER BY id COLLATE \"C\"",
                &[&kind, &status],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn training_docs_page(&self, kind: &str, after: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT doc FROM training_docs WHERE kind = $1 AND id COLLATE \"C\" > $2 ORDER BY id COLLATE \"C\" LIMIT $3",
                &[&kind, &after, &(limit as i64)],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn add_training_events(&self, events: &[crate::TrainingEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let col = |f: fn(&crate::TrainingEvent) -> String| events.iter().map(f).collect::<Vec<String>>();
        let datasets = col(|e| e.dataset.clone());
        let tenants = col(|e| e.tenant.to_string());
        let records = col(|e| e.record.clone());
        let reasons = col(|e| e.reason.clone());
        let at: Vec<i64> = events.iter().map(|e| crate::codec::micros(e.at)).collect();
        self.client()
            .await?
            .execute(
                "INSERT INTO training_events (dataset, tenant, record, reason, at)
                 SELECT * FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[])
                 ON CONFLICT DO NOTHING",
                &[&datasets, &tenants, &records, &reasons, &at],
            )
            .await?;
        Ok(())
    }

    async fn drop_training_events(
        &self,
        dataset: &str,
        tenant: TenantId,
        before: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "DELETE FROM training_events WHERE dataset = $1 AND tenant = $2 AND at < $3",
                &[&dataset, &tenant.to_string(), &crate::codec::micros(before)],
            )
            .await?;
        Ok(())
    }

    async fn training_event_counts(&self) -> Result<Vec<crate::TrainingEventCount>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT dataset, tenant, reason, COUNT(*), MIN(at) FROM training_events
                 GROUP BY dataset, tenant, reason ORDER BY dataset, tenant, reason",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let tenant: &str = r.get(1);
                Ok(crate::TrainingEventCount {
                    dataset: r.get(0),
                    tenant: tenant
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("training event tenant `{tenant}`")))?,
                    reason: r.get(2),
                    records: r.get::<_, i64>(3).max(0) as u64,
                    since: crate::codec::from_micros(r.get(4))?,
                })
            })
            .collect()
    }

    async fn jobs(&self) -> Result<Vec<Job>, StoreError> {
        let rows = self
            .client()
            .await?
            .query("SELECT job FROM jobs ORDER BY id", &[])
            .await?;
        rows.iter().map(|r| json::<Job>(r.get(0), "job")).collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client().await?.query_one("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn lease(&self, name: &str, holder: &str, ttl: std::time::Duration) -> Result<bool, StoreError> {
        let ttl_us = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
        let held = self
            .client()
            .await?
            .query_opt(
                "INSERT INTO leases (name, holder, expires_at)
                 VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3::float8 / 1000000))
                 ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                 WHERE leases.holder = EXCLUDED.holder OR leases.expires_at < clock_timestamp()
                 RETURNING holder",
                &[&name, &holder, &(ttl_us as f64)],
            )
            .await?;
        Ok(held.is_some())
    }

    async fn live_leases(&self, prefix: &str) -> Result<u64, StoreError> {
        let pattern = format!(
            "{}%",
            prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
        );
        // One round trip: the long-expired go, the live are counted.
        let n: i64 = self
            .client()
            .await?
            .query_one(
                "WITH gone AS (
                     DELETE FROM leases WHERE name LIKE $1 AND expires_at < clock_timestamp() - interval '1 hour'
                 )
                 SELECT count(*) FROM leases WHERE name LIKE $1 AND expires_at >= clock_timestamp()",
                &[&pattern],
            )
            .await?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn take_quota(&self, scope: &str, period: &str, want: u64, limit: u64) -> Result<u64, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // The row exists before it is locked, so two first takers cannot both read zero.
        tx.execute(
            "INSERT INTO quotas (scope, period, spent, taken) VALUES ($1, $2, 0, 0) ON CONFLICT DO NOTHING",
            &[&scope, &period],
        )
        .await?;
        let row = tx
            .query_one(
                "SELECT spent, taken FROM quotas WHERE scope = $1 AND period = $2 FOR UPDATE",
                &[&scope, &period],
            )
            .await?;
        let (spent, taken) = (count(row.get(0)), count(row.get(1)));
        let granted = want.min(limit.saturating_sub(spent).saturating_sub(taken));
        if granted > 0 {
            tx.execute(
                "UPDATE quotas SET taken = taken + $3 WHERE scope = $1 AND period = $2",
                &[&scope, &period, &stored(granted)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(granted)
    }

    async fn return_quota(&self, scope: &str, period: &str, taken: u64, used: u64) -> Result<(), StoreError> {
        let (taken, used) = (stored(taken), stored(used.min(taken)));
        self.client()
            .await?
            .execute(
                "UPDATE quotas SET taken = GREATEST(taken - $3, 0), spent = spent + $4 WHERE scope = $1 AND period = $2",
                &[&scope, &period, &taken, &used],
            )
            .await?;
        Ok(())
    }

    async fn quota(&self, scope: &str, period: &str) -> Result<QuotaState, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT spent, taken FROM quotas WHERE scope = $1 AND period = $2",
                &[&scope, &period],
            )
            .await?;
        Ok(row
            .map(|r| QuotaState {
                spent: count(r.get(0)),
                taken: count(r.get(1)),
            })
            .unwrap_or_default())
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute("DELETE FROM leases WHERE name = $1 AND holder = $2", &[&name, &holder])
            .await?;
        Ok(())
    }

    async fn key_hashes_keyed(&self, keyed: &(dyn Fn([u8; 32]) -> [u8; 32] + Send + Sync)) -> Result<u64, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Several nodes may start at once: one rewrites, the others find it done.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let done = tx
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&KEYED_HASHES])
            .await?
            .map(|r| r.get::<_, String>(0));
        if done.as_deref() == Some(KEYED_HASHES_V1) {
            return Ok(0);
        }
        let rows = tx.query("SELECT id, hash FROM api_keys", &[]).await?;
        for r in &rows {
            let (id, hash): (String, Vec<u8>) = (r.get(0), r.get(1));
            let h: [u8; 32] = hash
                .as_slice()
                .try_into()
                .map_err(|_| StoreError::Corrupt("key hash is not 32 bytes".into()))?;
            tx.execute(
                "UPDATE api_keys SET hash = $2 WHERE id = $1",
                &[&id, &keyed(h).as_slice()],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&KEYED_HASHES, &KEYED_HASHES_V1],
        )
        .await?;
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    async fn add_usage(&self, rows: &[UsageRow]) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let stmt = tx
            .prepare(
                "INSERT INTO llm_usage (tenant, product, model, day, requests, prompt_tokens, completion_tokens, total_tokens)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (tenant, day, product, model) DO UPDATE SET
                   requests = llm_usage.requests + excluded.requests,
                   prompt_tokens = llm_usage.prompt_tokens + excluded.prompt_tokens,
                   completion_tokens = llm_usage.completion_tokens + excluded.completion_tokens,
                   total_tokens = llm_usage.total_tokens + excluded.total_tokens",
            )
            .await?;
        for r in rows {
            tx.execute(
                &stmt,
                &[
                    &r.tenant.to_string(),
                    &r.product,
                    &r.model,
                    &r.day.to_string(),
                    &stored(r.requests),
                    &stored(r.prompt_tokens),
                    &stored(r.completion_tokens),
                    &stored(r.total_tokens),
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn usage(&self, tenant: TenantId, from: time::Date, to: time::Date) -> Result<Vec<UsageRow>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT product, model, day, requests, prompt_tokens, completion_tokens, total_tokens
                 FROM llm_usage WHERE tenant = $1 AND day >= $2 AND day <= $3 ORDER BY day, product, model",
                &[&tenant.to_string(), &from.to_string(), &to.to_string()],
            )
            .await?;
        let day_format = time::macros::format_description!("[year]-[month]-[day]");
        rows.iter()
            .map(|r| {
                let day: String = r.get(2);
                Ok(UsageRow {
                    tenant,
                    product: r.get(0),
                    model: r.get(1),
                    day: time::Date::parse(&day, day_format)
                        .map_err(|e| StoreError::Corrupt(format!("usage day `{day}`: {e}")))?,
                    requests: count(r.get(3)),
                    prompt_tokens: count(r.get(4)),
                    completion_tokens: count(r.get(5)),
                    total_tokens: count(r.get(6)),
                })
            })
            .collect()
    }
}

/// Rows of `orgs` (all, or the one with id `only`), with their opt-outs and AI settings.
async fn read_orgs(tx: &Transaction<'_>, only: Option<&str>) -> Result<Vec<Org>, StoreError> {
    let mut settings = std::collections::HashMap::new();
    for r in tx
        .query(
            "SELECT scope_id, settings FROM ai_settings WHERE scope_kind = 'org' AND ($1::text IS NULL OR scope_id = $1)",
            &[&only],
        )
        .await?
    {
        settings.insert(r.get::<_, String>(0), json::<AiSettings>(r.get(1), "ai settings")?);
    }
    let mut by_org: std::collections::HashMap<_, Vec<OptOut>> = std::collections::HashMap::new();
    for r in tx
        .query(
            "SELECT id, org_id, ticket, requested_by, products, effective_at, recorded_by, recorded_at,
                    revoked_at, revoked_by FROM opt_outs WHERE ($1::text IS NULL OR org_id = $1) ORDER BY id",
            &[&only],
        )
        .await?
    {
        let o = OptOut {
            id: parse(r.get(0), "opt-out id")?,
            org: parse(r.get(1), "organization id")?,
            ticket: r.get(2),
            requested_by: r.get(3),
            products: r
                .get::<_, Option<String>>(4)
                .map(|p| json(&p, "opt-out products"))
                .transpose()?,
            effective_at: parse_ts(r.get(5))?,
            recorded_by: parse(r.get(6), "key id")?,
            recorded_at: parse_ts(r.get(7))?,
            revoked_at: parse_opt_ts(r.get(8))?,
            revoked_by: parse_opt(r.get(9), "key id")?,
        };
        by_org.entry(o.org).or_default().push(o);
    }
    let mut orgs = Vec::new();
    for r in tx
        .query(
            "SELECT id, name, plan, region, baa, contract_forbids_training, allow_cross_region_llm, status,
                    created_at, updated_at, termination_due_at, ai_limits FROM orgs WHERE ($1::text IS NULL OR id = $1)",
            &[&only],
        )
        .await?
    {
        let id: String = r.get(0);
        let org_id = parse(&id, "organization id")?;
        orgs.push(Org {
            id: org_id,
            name: r.get(1),
            plan: enum_from_str::<Plan>(r.get(2), "plan")?,
            region: r.get(3),
            baa: r.get(4),
            contract_forbids_training: r.get(5),
            allow_cross_region_llm: r.get(6),
            status: enum_from_str::<OrgStatus>(r.get(7), "status")?,
            created_at: parse_ts(r.get(8))?,
            updated_at: parse_ts(r.get(9))?,
            termination_due_at: parse_opt_ts(r.get(10))?,
            ai_limits: r
                .get::<_, Option<String>>(11)
                .map(|l| json(&l, "organization AI limits"))
                .transpose()?
                .unwrap_or_default(),
            opt_outs: by_org.remove(&org_id).unwrap_or_default(),
            ai: settings.remove(&id).unwrap_or_default(),
            tenants: Vec::new(),
        });
    }
    Ok(orgs)
}

/// Rows of `tenants` (all, or the one with id `only`), with their AI settings, support grants
/// and retention rules.
async fn read_tenants(tx: &Transaction<'_>, only: Option<&str>) -> Result<Vec<Tenant>, StoreError> {
    let mut settings = std::collections::HashMap::new();
    for r in tx
        .query(
            "SELECT scope_id, settings FROM ai_settings WHERE scope_kind = 'tenant' AND ($1::text IS NULL OR scope_id = $1)",
            &[&only],
        )
        .await?
    {
        settings.insert(r.get::<_, String>(0), json::<AiSettings>(r.get(1), "ai settings")?);
    }
    let mut by_tenant: std::collections::HashMap<_, Vec<SupportGrant>> = std::collections::HashMap::new();
    for r in tx
        .query(
            "SELECT id, tenant_id, ticket, expires_at, created_by, created_at, revoked_at, revoked_by
             FROM support_grants WHERE ($1::text IS NULL OR tenant_id = $1) ORDER BY id",
            &[&only],
        )
        .await?
    {
        let g = SupportGrant {
            id: parse(r.get(0), "grant id")?,
            tenant: parse(r.get(1), "tenant id")?,
            ticket: r.get(2),
            expires_at: parse_ts(r.get(3))?,
            created_by: parse(r.get(4), "key id")?,
            created_at: parse_ts(r.get(5))?,
            revoked_at: parse_opt_ts(r.get(6))?,
            revoked_by: parse_opt(r.get(7), "key id")?,
        };
        by_tenant.entry(g.tenant).or_default().push(g);
    }
    let mut retention: std::collections::HashMap<String, Vec<RetentionRule>> = std::collections::HashMap::new();
    for r in tx
        .query(
            "SELECT tenant_id, rules FROM tenant_retention WHERE ($1::text IS NULL OR tenant_id = $1)",
            &[&only],
        )
        .await?
    {
        retention.insert(r.get(0), json(r.get(1), "retention rules")?);
    }
    let mut tenants = Vec::new();
    for r in tx
        .query(
            "SELECT id, org_id, name, region, created_at FROM tenants WHERE ($1::text IS NULL OR id = $1)",
            &[&only],
        )
        .await?
    {
        let id: String = r.get(0);
        let tid = parse(&id, "tenant id")?;
        tenants.push(Tenant {
            id: tid,
            org: parse(r.get(1), "organization id")?,
            name: r.get(2),
            region: r.get(3),
            created_at: parse_ts(r.get(4))?,
            ai: settings.remove(&id).unwrap_or_default(),
            grants: by_tenant.remove(&tid).unwrap_or_default(),
            retention: retention.remove(&id).unwrap_or_default(),
        });
    }
    Ok(tenants)
}

/// Rows of `api_keys` (all, or the one with id `only`).
async fn read_keys(tx: &Transaction<'_>, only: Option<&str>) -> Result<Vec<ApiKey>, StoreError> {
    let mut keys = Vec::new();
    for r in tx
        .query(
            "SELECT id, hash, role, org_id, tenant_id, product, label, created_by, created_at, revoked_at
             FROM api_keys WHERE ($1::text IS NULL OR id = $1)",
            &[&only],
        )
        .await?
    {
        let hash: Vec<u8> = r.get(1);
        keys.push(ApiKey {
            id: parse(r.get(0), "key id")?,
            hash: hash
                .try_into()
                .map_err(|_| StoreError::Corrupt("key hash is not 32 bytes".into()))?,
            role: enum_from_str::<Role>(r.get(2), "role")?,
            org: parse_opt(r.get(3), "organization id")?,
            tenant: parse_opt(r.get(4), "tenant id")?,
            product: r.get(5),
            label: r.get(6),
            created_by: parse_opt(r.get(7), "key id")?,
            created_at: parse_ts(r.get(8))?,
            revoked_at: parse_opt_ts(r.get(9))?,
        });
    }
    Ok(keys)
}

/// Records, in the writing transaction, that `entity` `id` changed, and tells listening nodes.
/// Change writers take the table's lock first, so sequence numbers commit in order: a node that
/// has applied every change up to `n` can never later meet one below `n`.
async fn record_change(tx: &Transaction<'_>, entity: &str, id: &str) -> Result<(), StoreError> {
    tx.batch_execute("LOCK TABLE changes IN SHARE ROW EXCLUSIVE MODE")
        .await?;
    let row = tx
        .query_one(
            "INSERT INTO changes (entity, id) VALUES ($1, $2) RETURNING seq",
            &[&entity, &id],
        )
        .await?;
    let seq: i64 = row.get(0);
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &seq.to_string()])
        .await?;
    Ok(())
}
