//! The in-memory state every decision reads: catalog, organizations, tenants and keys.
//!
//! Reads are lock-free in practice (sharded maps, `Arc` snapshots of each entity), so a
//! decision is two hash lookups and a rule evaluation. Writers replace a whole entity
//! after it is durably stored, so a change to terms takes effect for the next decision.

use std::sync::Arc;

use dashmap::DashMap;
use time::OffsetDateTime;

use crate::access::ApiKey;
use crate::catalog::{Catalog, Product};
use crate::decision::{self, Decision, DecisionRequest, ProductAvailability};
use crate::ids::{KeyId, OrgId, TenantId};
use crate::model::{Org, Tenant};

/// Why a decision could not be made (as opposed to a denial).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// No such tenant (or not visible to the caller).
    #[error("tenant {0} not found")]
    TenantNotFound(TenantId),
    /// The product is not in the catalog.
    #[error("unknown product `{0}`")]
    UnknownProduct(String),
    /// The region is not configured.
    #[error("unknown region `{0}`")]
    UnknownRegion(String),
}

/// Why stored state could not be loaded into a registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Stored data uses a region the configuration no longer lists.
    #[error(
        "{what} {id} is in region `{region}`, which is not in the configured regions {configured:?}; add it back to `regions` in the configuration file"
    )]
    RegionNotConfigured {
        /// Kind of entity.
        what: &'static str,
        /// Its id.
        id: String,
        /// Its region.
        region: String,
        /// The configured regions.
        configured: Vec<String>,
    },
    /// Stored terms or keys name a product the catalog no longer has.
    #[error("{what} names product `{product}`, which is not in the catalog; add it back to the catalog file")]
    ProductNotInCatalog {
        /// What names it.
        what: String,
        /// The product.
        product: String,
    },
    /// A tenant refers to an organization that does not exist.
    #[error("tenant {tenant} belongs to organization {org}, which does not exist")]
    OrphanTenant {
        /// The tenant.
        tenant: TenantId,
        /// The missing organization.
        org: OrgId,
    },
}

/// Everything a registry holds, as loaded from storage.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Organizations with their opt-outs and AI settings (their `tenants` list is rebuilt).
    pub orgs: Vec<Org>,
    /// Tenants with their AI settings and grants.
    pub tenants: Vec<Tenant>,
    /// API keys, revoked ones included.
    pub keys: Vec<ApiKey>,
}

/// The in-memory state behind decisions and reads.
pub struct Registry {
    catalog: Arc<Catalog>,
    regions: Vec<String>,
    orgs: DashMap<OrgId, Arc<Org>>,
    tenants: DashMap<TenantId, Arc<Tenant>>,
    keys_by_hash: DashMap<[u8; 32], Arc<ApiKey>>,
    keys: DashMap<KeyId, Arc<ApiKey>>,
}

impl Registry {
    /// Builds a registry from stored state, refusing state that the configuration cannot serve.
    pub fn load(catalog: Arc<Catalog>, regions: Vec<String>, snapshot: Snapshot) -> Result<Self, LoadError> {
        let reg = Self {
            catalog,
            regions,
            orgs: DashMap::with_capacity(snapshot.orgs.len()),
            tenants: DashMap::with_capacity(snapshot.tenants.len()),
            keys_by_hash: DashMap::with_capacity(snapshot.keys.len()),
            keys: DashMap::with_capacity(snapshot.keys.len()),
        };
        let region_err = |what, id: String, region: &str, regions: &[String]| LoadError::RegionNotConfigured {
            what,
            id,
            region: region.to_string(),
            configured: regions.to_vec(),
        };
        let missing = |what: String, product: &str| LoadError::ProductNotInCatalog {
            what,
            product: product.to_string(),
        };
        for key in &snapshot.keys {
            if let Some(p) = &key.product
                && key.revoked_at.is_none()
                && !reg.catalog.contains(p)
            {
                return Err(missing(format!("API key {}", key.id), p));
            }
        }
        for org in &snapshot.orgs {
            for o in &org.opt_outs {
                if let Some(p) = o.products.iter().flatten().find(|p| !reg.catalog.contains(p)) {
                    return Err(missing(format!("opt-out {} of organization {}", o.id, org.id), p));
                }
            }
            if let Some(p) = org.ai.products.keys().find(|p| !reg.catalog.contains(p)) {
                return Err(missing(format!("the AI settings of organization {}", org.id), p));
            }
        }
        for t in &snapshot.tenants {
            if let Some(p) = t.ai.products.keys().find(|p| !reg.catalog.contains(p)) {
                return Err(missing(format!("the AI settings of tenant {}", t.id), p));
            }
            if let Some(p) = t
                .retention
                .iter()
                .filter_map(|r| r.product.as_ref())
                .find(|p| !reg.catalog.contains(p))
            {
                return Err(missing(format!("the retention rules of tenant {}", t.id), p));
            }
        }
        let mut orgs: std::collections::HashMap<OrgId, Org> = std::collections::HashMap::new();
        for mut org in snapshot.orgs {
            if !reg.has_region(&org.region) {
                return Err(region_err(
                    "organization",
                    org.id.to_string(),
                    &org.region,
                    &reg.regions,
                ));
            }
            org.tenants.clear();
            orgs.insert(org.id, org);
        }
        let mut tenants = snapshot.tenants;
        tenants.sort_by_key(|t| t.id);
        for tenant in tenants {
            if !reg.has_region(&tenant.region) {
                return Err(region_err(
                    "tenant",
                    tenant.id.to_string(),
                    &tenant.region,
                    &reg.regions,
                ));
            }
            let org = orgs.get_mut(&tenant.org).ok_or(LoadError::OrphanTenant {
                tenant: tenant.id,
                org: tenant.org,
            })?;
            org.tenants.push(tenant.id);
            reg.tenants.insert(tenant.id, Arc::new(tenant));
        }
        for (id, org) in orgs {
            reg.orgs.insert(id, Arc::new(org));
        }
        for key in snapshot.keys {
            reg.put_key(key);
        }
        Ok(reg)
    }

    /// The product catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The configured regions.
    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    /// Whether `region` is configured.
    pub fn has_region(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r == region)
    }

    /// An organization by id.
    pub fn org(&self, id: OrgId) -> Option<Arc<Org>> {
        self.orgs.get(&id).map(|o| Arc::clone(o.value()))
    }

    /// A tenant by id.
    pub fn tenant(&self, id: TenantId) -> Option<Arc<Tenant>> {
        self.tenants.get(&id).map(|t| Arc::clone(t.value()))
    }

    /// A tenant with its organization.
    pub fn tenant_with_org(&self, id: TenantId) -> Option<(Arc<Tenant>, Arc<Org>)> {
        let tenant = self.tenant(id)?;
        let org = self.org(tenant.org)?;
        Some((tenant, org))
    }

    /// All organizations, ordered by id (creation order).
    pub fn orgs(&self) -> Vec<Arc<Org>> {
        let mut all: Vec<Arc<Org>> = self.orgs.iter().map(|o| Arc::clone(o.value())).collect();
        all.sort_by_key(|o| o.id);
        all
    }

    /// Number of organizations and tenants.
    pub fn counts(&self) -> (usize, usize) {
        (self.orgs.len(), self.tenants.len())
    }

    /// Stores or replaces an organization; its tenant list is kept from the current version.
    pub fn put_org(&self, mut org: Org) {
        if let Some(current) = self.orgs.get(&org.id) {
            org.tenants = current.tenants.clone();
        }
        self.orgs.insert(org.id, Arc::new(org));
    }

    /// Stores or replaces a tenant, adding it to its organization's list when new.
    pub fn put_tenant(&self, tenant: Tenant) {
        let (id, org_id) = (tenant.id, tenant.org);
        let is_new = self.tenants.insert(id, Arc::new(tenant)).is_none();
        if is_new && let Some(mut org) = self.orgs.get_mut(&org_id) {
            let mut updated = (**org).clone();
            updated.tenants.push(id);
            *org = Arc::new(updated);
        }
    }

    /// Stores or replaces an API key.
    pub fn put_key(&self, key: ApiKey) {
        let key = Arc::new(key);
        self.keys_by_hash.insert(key.hash, Arc::clone(&key));
        self.keys.insert(key.id, key);
    }

    /// A key by the SHA-256 of its secret.
    pub fn key_by_hash(&self, hash: &[u8; 32]) -> Option<Arc<ApiKey>> {
        self.keys_by_hash.get(hash).map(|k| Arc::clone(k.value()))
    }

    /// A key by id.
    pub fn key(&self, id: KeyId) -> Option<Arc<ApiKey>> {
        self.keys.get(&id).map(|k| Arc::clone(k.value()))
    }

    /// All keys, ordered by id.
    pub fn keys(&self) -> Vec<Arc<ApiKey>> {
        let mut all: Vec<Arc<ApiKey>> = self.keys.iter().map(|k| Arc::clone(k.value())).collect();
        all.sort_by_key(|k| k.id);
        all
    }

    /// Whether any key exists (a fresh deployment needs a bootstrap key).
    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    fn product(&self, id: &str) -> Result<&Product, DecideError> {
        self.catalog
            .get(id)
            .ok_or_else(|| DecideError::UnknownProduct(id.to_string()))
    }

    /// Decides one use of one tenant's data at `now`.
    pub fn decide(&self, req: &DecisionRequest<'_>, now: OffsetDateTime) -> Result<Decision, DecideError> {
        let product = self.product(req.product)?;
        let (tenant, org) = self
            .tenant_with_org(req.tenant)
            .ok_or(DecideError::TenantNotFound(req.tenant))?;
        let region = match req.region {
            Some(r) if !self.has_region(r) => {
                return Err(DecideError::UnknownRegion(r.to_string()));
            }
            Some(r) => r,
            None => tenant.region.as_str(),
        };
        let (allowed, reasons) = decision::evaluate(product, &org, &tenant, req.purpose, req.data_kind, region, now);
        Ok(Decision {
            allowed,
            reasons,
            tenant: tenant.id,
            org: org.id,
            product: product.id.clone(),
            purpose: req.purpose,
            data_kind: req.data_kind,
            region: region.to_string(),
            decided_at: now,
        })
    }

    /// Availability of every catalog product for a tenant.
    pub fn availability(&self, tenant: TenantId, now: OffsetDateTime) -> Result<Vec<ProductAvailability>, DecideError> {
        let (tenant, org) = self
            .tenant_with_org(tenant)
            .ok_or(DecideError::TenantNotFound(tenant))?;
        Ok(self
            .catalog
            .products()
            .iter()
            .map(|p| decision::availability(p, &org, &tenant, now))
            .collect())
    }
}
