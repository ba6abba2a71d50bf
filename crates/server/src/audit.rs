//! Audit on the request path. Every access and every change appends a content-free entry
//! before it takes effect or before its data leaves the server (fail closed), tagged with the
//! caller, the request id and where processing happened.

use std::sync::{Arc, Weak};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use datapact_audit::{Action, AuditLog, CheckpointSigner, Resource};
use datapact_governance::{Registry, TenantId};
use datapact_vault::{KeyObserver, Vault};

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
    datapact_audit::request::scope(id, next.run(req)).await
}

pub use datapact_audit::Ev;
pub use datapact_audit::request::carry as carry_request_id;

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
