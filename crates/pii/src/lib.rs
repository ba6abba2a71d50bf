//! In-process PII detection and masking for datapact: the gateway, the vault, training-data
//! governance and telemetry all call it. Entity types are named as Presidio names them.
#![forbid(unsafe_code)]

pub mod analyzer;
pub mod custom;
pub mod entity;
#[cfg(feature = "eval")]
pub mod eval;
mod names;
pub mod operators;
pub mod phone;
pub mod recognizer;
mod secrets;
mod tables;
pub mod validate;
mod wordmap;
mod wordset;

pub use analyzer::{Analyzer, Options, Span, to_char_offsets};
pub use custom::{ConfigError, CustomConfig, CustomRecognizer};
pub use entity::{EntityNameError, EntityType, UnknownEntity};
pub use operators::{Operator, Pseudonymizer, Restorer, RevealError, anonymize, reveal};

/// Loads the lexicons and compiles the phone metadata now, so that the first scan of a
/// server is as fast as the others.
pub fn warm_up() {
    names::warm_up();
    secrets::warm_up();
    phone::warm_up();
}
