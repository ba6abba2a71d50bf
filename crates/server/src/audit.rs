//! Audit on the request path. Every access and every change appends a content-free entry
//! before it takes effect or before its data leaves the server (fail closed), tagged with the
//! caller, the request id and where processing happened.

use std::sync::{Arc, Weak};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use datapact_audit::{Action, Actor, AuditLog, CheckpointSigner, Event, Label, Outcome, Resource};
use datapact_governance::{ApiKey, OrgId, Purpose, Reason, Registry, Tenant, TenantId};
use datapact_vault::{KeyObserver, Vault};

tokio::task_local! {
    static REQUEST_ID: Option<uuid::Uuid>;
}

/// The server gives every request its own id: a client's `x-request-id` is kept as
/// `x-client-request-id` (for its logs), never written into audit entries, where a caller
/// could otherwise plant the id of someone else's request.
pub async fn own_request_id(mut req: Request, next: Next) -> Response {
    if let Some(theirs) = req.headers_mut().remove("x-request-id") {
        req.headers_mut().insert("x-client-request-id", theirs);
    }
    next.run(req).await
}

/// Makes the request id (set by `SetRequestIdLayer`) known to every audit entry the request
/// appends, without threading it through each handler.
pub async fn request_scope(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse().ok());
    REQUEST_ID.scope(id, next.run(req)).await
}

fn request_id() -> Option<uuid::Uuid> {
    REQUEST_ID.try_with(|r| *r).ok().flatten()
}

/// Wraps blocking work so entries it appends (a data key created mid-write) carry the request
/// id of the request that caused it.
pub fn carry_request_id<T>(f: impl FnOnce() -> T) -> impl FnOnce() -> T {
    let id = request_id();
    move || REQUEST_ID.sync_scope(id, f)
}

/// The server's Ed25519 key (the one that signs deletion certificates) signs checkpoints too,
/// so a customer pins one public key for everything the server attests.
pub struct VaultSigner(pub Arc<Vault>);

impl CheckpointSigner for VaultSigner {
    fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.signer().sign(msg)
    }
    fn public_key(&self) -> [u8; 32] {
        self.0.signer().public_key()
    }
    fn key_id(&self) -> String {
        self.0.signer().key_id().to_string()
    }
}

/// An audit event under construction.
#[derive(Debug, Clone)]
pub struct Ev(pub Event);

impl Ev {
    /// `action` by the caller, allowed unless said otherwise.
    pub fn by(c: &ApiKey, action: Action) -> Self {
        let mut e = Event::new(
            Actor {
                key: Some(c.id),
                role: Some(c.role),
            },
            action,
            Outcome::Allowed,
        );
        e.request_id = request_id();
        e.org = c.org;
        e.tenant = c.tenant;
        Self(e)
    }

    /// `action` by datapact's own background work.
    pub fn system(action: Action) -> Self {
        let mut e = Event::new(Actor::system(), action, Outcome::Allowed);
        e.request_id = request_id();
        Self(e)
    }

    /// The same event for another action.
    pub fn retag(mut self, action: Action) -> Self {
        self.0.action = action;
        self
    }

    /// The organization concerned.
    pub fn org(mut self, org: OrgId) -> Self {
        self.0.org = Some(org);
        self
    }

    /// The tenant concerned (its organization and region too).
    pub fn tenant(mut self, t: &Tenant) -> Self {
        self.0.tenant = Some(t.id);
        self.0.org = Some(t.org);
        self.0.region = Label::new(&t.region).ok();
        self
    }

    /// The tenant concerned, by id.
    pub fn tenant_id(mut self, t: TenantId) -> Self {
        self.0.tenant = Some(t);
        self
    }

    /// The product concerned.
    pub fn product(mut self, p: &str) -> Self {
        self.0.product = Label::new(p).ok();
        self
    }

    /// The purpose.
    pub fn purpose(mut self, p: Purpose) -> Self {
        self.0.purpose = Some(p);
        self
    }

    /// Where processing happened.
    pub fn region(mut self, r: &str) -> Self {
        self.0.region = Label::new(r).ok();
        self
    }

    /// A resource, by id.
    pub fn resource(mut self, r: Resource) -> Self {
        self.0.resources.push(r);
        self
    }

    /// Resources, by id.
    pub fn resources(mut self, rs: impl IntoIterator<Item = Resource>) -> Self {
        self.0.resources.extend(rs);
        self
    }

    /// How it ended.
    pub fn outcome(mut self, o: Outcome) -> Self {
        self.0.outcome = o;
        self
    }

    /// A decision's reason codes (the messages are derived from the codes, so not kept).
    pub fn reasons(mut self, rs: &[Reason]) -> Self {
        self.0.reasons = rs.iter().map(|r| r.code).collect();
        self
    }

    /// A keyed hash correlating a sensitive value (see [`datapact_vault::Vault::correlate`]).
    pub fn correlation(mut self, c: String) -> Self {
        self.0.correlation = Some(c);
        self
    }
}

/// Logs every data key creation before the key exists; a failed append refuses the key, and
/// with it the write that needed it.
pub struct KeyAudit {
    /// The log (weak: the vault outlives nothing it observes).
    pub log: Weak<AuditLog>,
    /// Where a tenant's organization is looked up.
    pub registry: Weak<Registry>,
}

impl KeyObserver for KeyAudit {
    fn creating(&self, tenant: TenantId, region: &str, version: u32) -> Result<(), String> {
        let log = self.log.upgrade().ok_or("the audit log is closed")?;
        let mut ev = Ev::system(Action::KeyCreate)
            .tenant_id(tenant)
            .region(region)
            .resource(Resource::DataKey(version));
        if let Some(t) = self.registry.upgrade().and_then(|r| r.tenant(tenant)) {
            ev = ev.org(t.org);
        }
        log.append_blocking(ev.0).map(|_| ()).map_err(|e| e.to_string())
    }
}
