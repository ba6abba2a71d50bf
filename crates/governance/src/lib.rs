//! The governance core of datapact: what each product declares it does with customer data,
//! the terms of each organization and tenant, and the decision point that answers
//! "may this tenant's data be used by this product for this purpose, and why (or why not)".
//!
//! Everything here is in memory and free of I/O so that a decision costs a few hash lookups;
//! persistence lives in `datapact-store`, HTTP in `datapact-server`.
#![forbid(unsafe_code)]

pub mod access;
pub mod catalog;
pub mod decision;
pub mod ids;
pub mod model;
pub mod objects;
pub mod policy;
pub mod registry;
pub mod settings;

pub use access::{ApiKey, Role};
pub use catalog::{Catalog, CatalogError, DataKind, GenAi, Product};
pub use decision::{Availability, Decision, DecisionRequest, ProductAvailability, Purpose, Reason, ReasonCode};
pub use ids::{GrantId, JobId, KeyId, OptOutId, OrgId, RecordId, TenantId};
pub use model::{Job, JobKind, JobState, OptOut, Org, OrgStatus, Plan, PurgePlan, RetentionRule, SupportGrant, Tenant};
pub use registry::{DecideError, Registry, Snapshot};
pub use settings::{
    AiLimits, AiSettings, AiToggles, Effective, LimitTerms, ModelPolicy, PiiMode, Resolved, SettingKey, SettingSource,
};
