//! The tamper-evident audit log of datapact: content-free entries, hashed as an RFC 6962
//! Merkle tree, with signed checkpoints and inclusion and consistency proofs that any
//! standard verifier can check.
#![forbid(unsafe_code)]

pub mod archive;
pub mod backend;
pub mod codec;
pub mod draft;
pub mod entry;
pub mod log;
pub mod merkle;
pub mod postgres;
pub mod request;
pub mod tiles;
pub mod verify;

pub use backend::{Appending, AuditLog};
pub use draft::Ev;
pub use entry::{Action, Actor, CallStatus, Entry, Event, Label, LlmCall, Name, Outcome, Resource};
pub use log::{AuditError, Checkpoint, CheckpointSigner, Query, SqliteAuditLog, StoredEntry};
pub use postgres::PgAuditLog;
