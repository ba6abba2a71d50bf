//! Deletion certificates: a signed statement that a tenant's data keys were destroyed,
//! verifiable offline with the server's Ed25519 public key.
//!
//! The signature covers the exact bytes of `payload` (a JSON document), so verification never
//! depends on how a JSON library re-orders or re-spaces fields. `statement` repeats the payload
//! parsed, for people; verification checks that the two agree.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use datapact_governance::{OrgId, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::VaultError;
use crate::keys::{Signer, key_id};

/// The `kind` of a deletion certificate.
pub const KIND: &str = "datapact.deletion-certificate/v1";

/// What a deletion certificate attests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateStatement {
    /// Always [`KIND`].
    pub kind: String,
    /// Unique id of this certificate.
    pub certificate_id: String,
    /// The tenant whose data was destroyed.
    pub tenant: TenantId,
    /// Its organization.
    pub org: OrgId,
    /// The region that held the data.
    pub region: String,
    /// Why: `customer_request` or `contract_termination`.
    pub reason: String,
    /// Data key versions destroyed.
    pub key_versions_destroyed: Vec<u32>,
    /// Region KEKs those keys were wrapped under.
    pub kek_ids: Vec<String>,
    /// Records that existed when the keys were destroyed.
    pub record_count: u64,
    /// When the keys were destroyed: from then on nothing can decrypt the data.
    #[serde(with = "time::serde::rfc3339")]
    pub keys_destroyed_at: OffsetDateTime,
    /// When the certificate was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// Every training dataset that held the tenant's data (its shard shredded with the keys)
    /// and every model trained on one (it owes retraining). Absent when there are none, so
    /// certificates issued before this field existed read and verify as they were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub training: Vec<Downstream>,
}

/// What a purge did to a dataset or model downstream of the tenant's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Downstream {
    /// `dataset` or `model`.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// Its name (a model's with its version: `name@version`).
    pub name: String,
    /// `shredded` (a dataset's shard of the tenant) or `owes_retraining` (a model).
    pub state: String,
    /// How many of the tenant's records it held or was trained on.
    pub records: u64,
}

/// A signed deletion certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionCertificate {
    /// The statement, parsed (informative; the signature covers `payload`).
    pub statement: CertificateStatement,
    /// The exact JSON text that was signed.
    pub payload: String,
    /// Ed25519 signature over the UTF-8 bytes of `payload`, base64.
    pub signature: String,
    /// The signer's Ed25519 public key, base64.
    pub public_key: String,
    /// The signer's key id.
    pub key_id: String,
}

/// Why a certificate did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a certificate document.
    #[error("not a deletion certificate: {0}")]
    Malformed(String),
    /// The signature does not match.
    #[error("the signature does not verify: the certificate was altered or not signed by this key")]
    BadSignature,
    /// Signed by a key other than the pinned one.
    #[error("signed by {found}, not by the expected key {expected}")]
    WrongKey {
        /// Key id found in the certificate.
        found: String,
        /// Key id expected.
        expected: String,
    },
    /// The readable statement differs from what was signed.
    #[error("the readable statement does not match the signed payload")]
    StatementMismatch,
}

impl DeletionCertificate {
    /// Signs a statement.
    pub fn sign(statement: CertificateStatement, signer: &Signer) -> Result<Self, VaultError> {
        let payload = serde_json::to_string(&statement).map_err(|e| VaultError::Crypto(e.to_string()))?;
        let signature = signer.sign(payload.as_bytes());
        Ok(Self {
            statement,
            payload,
            signature: B64.encode(signature),
            public_key: B64.encode(signer.public_key()),
            key_id: signer.key_id().to_string(),
        })
    }
}

/// Verifies a certificate (as JSON text), optionally against a pinned public key (base64).
pub fn verify_certificate(json: &str, pinned_public_key: Option<&str>) -> Result<CertificateStatement, VerifyError> {
    let cert: DeletionCertificate = serde_json::from_str(json).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    let pk_bytes: [u8; 32] = B64
        .decode(pinned_public_key.unwrap_or(&cert.public_key))
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| VerifyError::Malformed("public key is not 32 bytes of base64".into()))?;
    if let Some(p) = pinned_public_key
        && p != cert.public_key
    {
        return Err(VerifyError::WrongKey {
            found: cert.key_id,
            expected: key_id(&pk_bytes),
        });
    }
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk_bytes)
        .map_err(|_| VerifyError::Malformed("invalid public key".into()))?;
    let sig: [u8; 64] = B64
        .decode(&cert.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| VerifyError::Malformed("signature is not 64 bytes of base64".into()))?;
    vk.verify_strict(cert.payload.as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig))
        .map_err(|_| VerifyError::BadSignature)?;
    let signed: CertificateStatement =
        serde_json::from_str(&cert.payload).map_err(|e| VerifyError::Malformed(format!("payload: {e}")))?;
    if signed.kind != KIND {
        return Err(VerifyError::Malformed(format!("unknown kind `{}`", signed.kind)));
    }
    if signed != cert.statement {
        return Err(VerifyError::StatementMismatch);
    }
    Ok(signed)
}
