//! Training-data governance (issue 16), the part that needs no storage: what a training
//! dataset may ask for ([`spec`]), and how each candidate record becomes a minimized training
//! item or is left out, with every reason counted ([`build`]). The server feeds it the vault's
//! records and the decision point's answers; nothing here reads or writes anything.
#![forbid(unsafe_code)]

pub mod build;
pub mod debt;
pub mod manifest;
pub mod spec;

pub use build::{Builder, Candidate, Considered, Item, Summary, TenantLine};
pub use debt::{Debt, DebtItem, Owed};
pub use manifest::{Counts, Dataset, DatasetStatus, ExportDigest, LineageDataset, Model, ShardLine, dataset_digest};
pub use spec::{CategoryFilter, DatasetSpec, Minimization, PiiMinimization, SpecError, TrainingPurpose, ValidSpec};
