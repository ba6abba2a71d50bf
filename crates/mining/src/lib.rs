//! Communications Mining's domain, without storage or I/O: a dataset's label `taxonomy`, the
//! in-process multi-label `classifier` over hashed `features` (with an `embed` point for a
//! sentence-embedding model), `validation` (the stable held-out split, per-label metrics, the
//! model rating and what to do next) and the labeling `queues`. The server keeps datasets,
//! messages and models in the vault and decides every use; this crate only computes.
#![forbid(unsafe_code)]

pub mod classifier;
pub mod embed;
pub mod features;
pub mod queues;
pub mod taxonomy;
pub mod trainer;
pub mod validation;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum MiningError {
    /// The input cannot be used (the message says why).
    #[error("{0}")]
    Invalid(String),
    /// Training needs at least two labels in use (the message says what is missing).
    #[error("{0}")]
    TooFewLabels(String),
    /// The sentence-embedding model failed.
    #[error("{0}")]
    Embedder(String),
    /// A model needs another sentence-embedding model than the one given (the message says
    /// which it needs and which the deployment has): it must be trained again.
    #[error("{0}")]
    EmbedderMismatch(String),
    /// Stored bytes are not what was written.
    #[error("corrupt model: {0}")]
    Corrupt(String),
}
