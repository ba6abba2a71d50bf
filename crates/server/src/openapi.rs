//! The OpenAPI document served at `/openapi.json`.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::routes::{decisions, keys, meta, orgs, tenants, terms};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A datapact API key"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "datapact", description = "Customer-data promises as machinery: catalog, terms, purpose decisions."),
    paths(
        meta::healthz, meta::readyz, meta::me, meta::products,
        orgs::create, orgs::list, orgs::get, orgs::patch,
        tenants::create, tenants::list, tenants::get, tenants::patch,
        terms::create_opt_out, terms::list_opt_outs, terms::revoke_opt_out,
        terms::get_org_ai, terms::put_org_ai, terms::get_tenant_ai, terms::put_tenant_ai,
        terms::create_grant, terms::list_grants, terms::revoke_grant,
        decisions::decide, decisions::availability,
        keys::create, keys::list, keys::revoke,
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}
