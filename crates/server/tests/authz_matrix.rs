//! Each role against each endpoint, and every cross-organization access.
//!
//! Expected answers follow the seeds: the vendor runs organizations and their contractual
//! terms, the customer runs its tenants, AI settings and support grants, and a caller never
//! learns that another organization's resources exist (404, never 403).

mod common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ROLES: [&str; 7] = [
    "platform_admin",
    "support",
    "auditor",
    "auditor_a",
    "org_admin_a",
    "service",
    "service_a1",
];

struct Fixture {
    s: TestServer,
    keys: Vec<(&'static str, String)>,
    org_a: String,
    tenant_a: String,
    org_b: String,
    tenant_b: String,
}

async fn fixture() -> Fixture {
    let s = TestServer::start().await;
    let org_a = s.org("enterprise", "eu").await;
    let org_b = s.org("enterprise", "us").await;
    let oa = s.key(json!({"role": "org_admin", "org": org_a})).await;
    let ob = s.key(json!({"role": "org_admin", "org": org_b})).await;
    let tenant_a = s.tenant(&oa, &org_a, None).await;
    let tenant_b = s.tenant(&ob, &org_b, None).await;
    let mut keys = vec![("platform_admin", s.admin.clone())];
    keys.push(("support", s.key(json!({"role": "support"})).await));
    keys.push(("auditor", s.key(json!({"role": "auditor"})).await));
    keys.push(("auditor_a", s.key(json!({"role": "auditor", "org": org_a})).await));
    keys.push(("org_admin_a", oa));
    keys.push(("service", s.key(json!({"role": "service", "product": "ixp"})).await));
    keys.push((
        "service_a1",
        s.key(json!({"role": "service", "product": "ixp", "tenant": tenant_a}))
            .await,
    ));
    Fixture {
        s,
        keys,
        org_a,
        tenant_a,
        org_b,
        tenant_b,
    }
}

fn expires() -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// (method, path, body, the expected status for each role in `ROLES` order).
fn endpoints(org: &str, tenant: &str) -> Vec<(Method, String, Option<Value>, [u16; 7])> {
    let o = |p: &str| format!("/v1/orgs/{org}{p}");
    let t = |p: &str| format!("/v1/tenants/{tenant}{p}");
    //                                                                            PA   SU   AU   AUa  OAa  SV   SVa1
    vec![
        (
            Method::GET,
            "/v1/catalog/products".into(),
            None,
            [200, 200, 200, 200, 200, 200, 200],
        ),
        (Method::GET, "/v1/me".into(), None, [200, 200, 200, 200, 200, 200, 200]),
        (
            Method::POST,
            "/v1/orgs".into(),
            Some(json!({"name": "n", "plan": "free", "region": "eu"})),
            [201, 201, 403, 403, 403, 403, 403],
        ),
        (
            Method::GET,
            "/v1/orgs".into(),
            None,
            [200, 200, 200, 200, 200, 403, 403],
        ),
        (Method::GET, o(""), None, [200, 200, 200, 200, 200, 403, 404]),
        (
            Method::PATCH,
            o(""),
            Some(json!({"name": "renamed"})),
            [200, 200, 403, 403, 200, 403, 404],
        ),
        (
            Method::PATCH,
            o(""),
            Some(json!({"plan": "enterprise"})),
            [200, 200, 403, 403, 403, 403, 404],
        ),
        (
            Method::POST,
            o("/tenants"),
            Some(json!({"name": "t"})),
            [403, 403, 403, 403, 201, 403, 404],
        ),
        (Method::GET, o("/tenants"), None, [200, 200, 200, 200, 200, 403, 404]),
        (
            Method::POST,
            o("/opt-outs"),
            Some(json!({"ticket": "T", "requested_by": "r", "products": ["ixp"]})),
            [201, 201, 403, 403, 403, 403, 404],
        ),
        (Method::GET, o("/opt-outs"), None, [200, 200, 200, 200, 200, 403, 404]),
        (
            Method::PUT,
            o("/ai-settings"),
            Some(json!({"genai_enabled": true})),
            [200, 403, 403, 403, 200, 403, 404],
        ),
        (
            Method::GET,
            o("/ai-settings"),
            None,
            [200, 200, 200, 200, 200, 403, 404],
        ),
        (Method::GET, t(""), None, [200, 200, 200, 200, 200, 200, 200]),
        (
            Method::PATCH,
            t(""),
            Some(json!({"name": "t2"})),
            [403, 403, 403, 403, 200, 403, 403],
        ),
        (
            Method::PUT,
            t("/ai-settings"),
            Some(json!({"genai_enabled": true})),
            [200, 403, 403, 403, 200, 403, 403],
        ),
        (
            Method::GET,
            t("/ai-settings"),
            None,
            [200, 200, 200, 200, 200, 403, 403],
        ),
        (
            Method::POST,
            t("/support-grants"),
            Some(json!({"ticket": "T", "expires_at": expires()})),
            [403, 403, 403, 403, 201, 403, 403],
        ),
        (
            Method::GET,
            t("/support-grants"),
            None,
            [200, 200, 200, 200, 200, 403, 403],
        ),
        (Method::GET, t("/products"), None, [200, 200, 200, 200, 200, 200, 200]),
        (
            Method::POST,
            "/v1/decisions".into(),
            Some(json!({"tenant": tenant, "product": "ixp", "purpose": "genai"})),
            [200, 200, 200, 200, 200, 200, 200],
        ),
        (
            Method::POST,
            "/v1/keys".into(),
            Some(json!({"role": "auditor", "org": org})),
            [201, 403, 403, 403, 201, 403, 403],
        ),
        (
            Method::GET,
            "/v1/keys".into(),
            None,
            [200, 403, 403, 403, 200, 403, 403],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_against_each_endpoint() {
    let f = fixture().await;
    assert_eq!(
        f.keys.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
        ROLES,
        "keys follow the matrix's column order"
    );
    let mut failures = Vec::new();
    for (method, path, body, expected) in endpoints(&f.org_a, &f.tenant_a) {
        for (i, (role, key)) in f.keys.iter().enumerate() {
            let (st, v) = f.s.call(method.clone(), &path, Some(key), body.clone()).await;
            if st.as_u16() != expected[i] {
                failures.push(format!(
                    "{role:>14} {method} {path}: got {st}, want {} ({v})",
                    expected[i]
                ));
            }
            if st == StatusCode::FORBIDDEN {
                assert_eq!(v["code"], "forbidden", "{role} {method} {path}: {v}");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization matrix mismatches:\n{}",
        failures.join("\n")
    );
    f.s.stop().await;
}

/// Keys bound to organization A see nothing of organization B, and cannot tell B's
/// resources from ones that do not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_a_cannot_see_organization_b() {
    let f = fixture().await;
    let ghost_org = "org_0193ffffffffffffffffffffffffffff";
    let ghost_tenant = "ten_0193ffffffffffffffffffffffffffff";
    let scoped = ["auditor_a", "org_admin_a", "service_a1"];
    let mut checked = 0;
    for (role, key) in f.keys.iter().filter(|(r, _)| scoped.contains(r)) {
        for ((method, real, body, _), (_, ghost, _, _)) in endpoints(&f.org_b, &f.tenant_b)
            .into_iter()
            .zip(endpoints(ghost_org, ghost_tenant))
        {
            if !(real.contains(&f.org_b)
                || real.contains(&f.tenant_b)
                || body
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains(&f.org_b) || b.to_string().contains(&f.tenant_b)))
            {
                continue;
            }
            let ghost_body = body.as_ref().map(|b| {
                serde_json::from_str::<Value>(
                    &b.to_string()
                        .replace(&f.org_b, ghost_org)
                        .replace(&f.tenant_b, ghost_tenant),
                )
                .unwrap()
            });
            let (st_real, v_real) = f.s.call(method.clone(), &real, Some(key), body.clone()).await;
            let (st_ghost, v_ghost) = f.s.call(method.clone(), &ghost, Some(key), ghost_body).await;
            assert!(
                st_real == StatusCode::NOT_FOUND
                    || (st_real == StatusCode::UNPROCESSABLE_ENTITY && v_real["code"] == "unknown_org")
                    || st_real == StatusCode::FORBIDDEN && real == "/v1/keys",
                "{role} {method} {real}: got {st_real} {v_real}"
            );
            assert_eq!(
                st_real, st_ghost,
                "{role} {method} {real}: B answers differently from a missing organization"
            );
            assert_eq!(v_real["code"], v_ghost["code"], "{role} {method} {real}");
            checked += 1;
        }
        // Listings do not count or show B.
        let (_, orgs) = f.s.get("/v1/orgs", key).await;
        if let Some(items) = orgs["items"].as_array() {
            assert!(
                items.iter().all(|o| o["id"] != f.org_b.as_str()),
                "{role} sees B in /v1/orgs"
            );
        }
    }
    assert_eq!(
        checked,
        3 * 18,
        "every B-bound endpoint is checked for every A-scoped key"
    );
    f.s.stop().await;
}

/// The revocations, each role against a fresh resource of organization A (so one role's
/// success does not change what the next one finds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_against_each_revocation() {
    let f = fixture().await;
    let oa = f.keys[4].1.clone();
    //                             PA   SU   AU   AUa  OAa  SV   SVa1
    let opt_out: [u16; 7] = [200, 200, 403, 403, 403, 403, 404];
    let grant: [u16; 7] = [403, 403, 403, 403, 200, 403, 403];
    let key: [u16; 7] = [200, 403, 403, 403, 200, 403, 403];
    let mut failures = Vec::new();
    for (i, (role, k)) in f.keys.iter().enumerate() {
        let (_, o) =
            f.s.post(
                &format!("/v1/orgs/{}/opt-outs", f.org_a),
                &f.s.admin,
                json!({"ticket": "T", "requested_by": "r"}),
            )
            .await;
        let (_, g) =
            f.s.post(
                &format!("/v1/tenants/{}/support-grants", f.tenant_a),
                &oa,
                json!({"ticket": "T", "expires_at": expires()}),
            )
            .await;
        let (_, kk) =
            f.s.post("/v1/keys", &f.s.admin, json!({"role": "auditor", "org": f.org_a}))
                .await;
        for (path, want) in [
            (
                format!("/v1/orgs/{}/opt-outs/{}", f.org_a, o["id"].as_str().unwrap()),
                opt_out[i],
            ),
            (
                format!(
                    "/v1/tenants/{}/support-grants/{}",
                    f.tenant_a,
                    g["id"].as_str().unwrap()
                ),
                grant[i],
            ),
            (format!("/v1/keys/{}", kk["id"].as_str().unwrap()), key[i]),
        ] {
            let (st, v) = f.s.call(Method::DELETE, &path, Some(k), None).await;
            if st.as_u16() != want {
                failures.push(format!("{role:>14} DELETE {path}: got {st}, want {want} ({v})"));
            }
        }
    }
    assert!(failures.is_empty(), "revocation mismatches:\n{}", failures.join("\n"));
    f.s.stop().await;
}
