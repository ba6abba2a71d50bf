//! The OpenAPI document served at `/openapi.json`.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::routes::{audit, data, decisions, keys, meta, orgs, records, tenants, terms, usage};

struct BearerAuth;

/// Unique operation ids, problem+json error bodies, and the 401 every authenticated call can answer.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::response::ResponseBuilder;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let slug: String = path
                .trim_start_matches('/')
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
                .split('_')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("_");
            let ops = [
                ("get", item.get.as_mut()),
                ("put", item.put.as_mut()),
                ("post", item.post.as_mut()),
                ("delete", item.delete.as_mut()),
                ("patch", item.patch.as_mut()),
            ];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                op.operation_id = Some(format!("{method}_{slug}"));
                for (status, resp) in op.responses.responses.iter_mut() {
                    if status.as_str() >= "400"
                        && let RefOr::T(r) = resp
                        && let Some(c) = r.content.shift_remove("application/json")
                    {
                        r.content.insert("application/problem+json".to_string(), c);
                    }
                }
                if op.security.is_some() && !op.responses.responses.contains_key("401") {
                    let problem = utoipa::openapi::content::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                        .build();
                    op.responses.responses.insert(
                        "401".to_string(),
                        RefOr::T(
                            ResponseBuilder::new()
                                .description("missing, unknown or revoked API key")
                                .content("application/problem+json", problem)
                                .build(),
                        ),
                    );
                }
            }
        }
    }
}

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
        records::create, records::create_batch, records::list, records::read, records::patch, records::delete,
        records::export,
        data::purge, data::certificates, data::terminate, data::get_retention, data::put_retention,
        data::list_keys, data::rotate, data::job, data::public_key,
        audit::checkpoint, audit::checkpoints, audit::inclusion, audit::consistency, audit::entries, audit::export,
        usage::usage,
    ),
    components(schemas(crate::problem::Problem)),
    modifiers(&BearerAuth, &Conventions)
)]
struct ApiDoc;

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}
