//! In-process PII detection and masking for datapact: the gateway, the vault, training-data
//! governance and telemetry all call it. Entity types are named as Presidio names them.
#![forbid(unsafe_code)]

pub mod analyzer;
pub mod entity;
pub mod eval;
pub mod operators;
pub mod validate;

pub use analyzer::{Analyzer, Options, Span, to_char_offsets};
pub use entity::{EntityType, UnknownEntity};
pub use operators::{Operator, Pseudonymizer, Restorer, RevealError, anonymize, reveal};
