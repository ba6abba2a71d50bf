//! The tamper-evident audit log of datapact.
#![forbid(unsafe_code)]

pub mod merkle;
