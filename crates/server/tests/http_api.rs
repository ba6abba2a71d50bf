//! The HTTP API against a real server on an ephemeral port.

mod common;

use common::TestServer;
use datapact_server::Config;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walkthrough_from_org_to_decisions() {
    let s = TestServer::start().await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let (st, t) = s.get(&format!("/v1/tenants/{tenant}"), &oa).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(t["region"], "eu");
    assert_eq!(t["org"], org.as_str());

    let ask = |product: &str, purpose: &str| json!({"tenant": tenant, "product": product, "purpose": purpose});
    assert!(s.decide(&oa, ask("ixp", "vendor_training")).await.0);
    assert!(s.decide(&oa, ask("ixp", "genai")).await.0);

    // The vendor records an opt-out from a ticket: training stops, with the reason.
    let (st, opt) = s
        .post(
            &format!("/v1/orgs/{org}/opt-outs"),
            &s.admin,
            json!({"ticket": "SUP-1", "requested_by": "dpo@acme.example"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{opt}");
    assert_eq!(opt["active"], true);
    let (allowed, reasons) = s.decide(&oa, ask("ixp", "vendor_training")).await;
    assert!(!allowed);
    assert_eq!(reasons, ["opted_out"]);
    // The customer sees it; revoking keeps the history.
    let (_, list) = s.get(&format!("/v1/orgs/{org}/opt-outs"), &oa).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let opt_id = opt["id"].as_str().unwrap();
    let (st, revoked) = s
        .call(
            Method::DELETE,
            &format!("/v1/orgs/{org}/opt-outs/{opt_id}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(revoked["active"], false);
    assert!(revoked["revoked_at"].is_string());
    let (st, again) = s
        .call(
            Method::DELETE,
            &format!("/v1/orgs/{org}/opt-outs/{opt_id}"),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!(
        (st, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_revoked"))
    );
    let (_, list) = s.get(&format!("/v1/orgs/{org}/opt-outs"), &oa).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(s.decide(&oa, ask("ixp", "vendor_training")).await.0);

    // Product-scoped opt-out.
    let (st, _) = s
        .post(
            &format!("/v1/orgs/{org}/opt-outs"),
            &s.admin,
            json!({"ticket": "SUP-2", "requested_by": "dpo", "products": ["ixp"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    assert!(!s.decide(&oa, ask("ixp", "vendor_training")).await.0);
    assert!(s.decide(&oa, ask("document-understanding", "vendor_training")).await.0);

    // The customer locks genai off at org level; a tenant override cannot undo it.
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/v1/orgs/{org}/ai-settings"),
            Some(&oa),
            Some(json!({"genai_enabled": false, "locked": ["genai_enabled"]})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/v1/tenants/{tenant}/ai-settings"),
            Some(&oa),
            Some(json!({"genai_enabled": true, "products": {"ixp": {"genai_enabled": true}}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        v["effective"]["ixp"]["genai_enabled"],
        json!({"value": false, "source": "org", "locked": true})
    );
    let (allowed, reasons) = s.decide(&oa, ask("ixp", "genai")).await;
    assert!(!allowed);
    assert_eq!(reasons, ["genai_disabled"]);
    let (_, av) = s.get(&format!("/v1/tenants/{tenant}/products"), &oa).await;
    let status = |id: &str| av.as_array().unwrap().iter().find(|a| a["product"] == id).unwrap()["status"].clone();
    assert_eq!(status("agent-builder"), "unavailable");
    assert_eq!(status("ixp"), "degraded");
    assert_eq!(status("orchestrator"), "available");
    assert_eq!(av.as_array().unwrap().len(), 28);

    // Unlocking lets the tenant's own choice win again, at once.
    let (st, _) = s
        .call(
            Method::PUT,
            &format!("/v1/orgs/{org}/ai-settings"),
            Some(&s.admin),
            Some(json!({"genai_enabled": false})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(s.decide(&oa, ask("ixp", "genai")).await.0);
    let (_, org_ai) = s.get(&format!("/v1/orgs/{org}/ai-settings"), &oa).await;
    assert_eq!(org_ai["genai_enabled"], false);
    assert!(org_ai.get("locked").is_none());

    // Support access: denied until the customer grants it; revocable.
    assert_eq!(
        s.decide(&oa, ask("orchestrator", "support_access")).await.1,
        ["no_support_grant"]
    );
    let expires = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (st, g) = s
        .post(
            &format!("/v1/tenants/{tenant}/support-grants"),
            &oa,
            json!({"ticket": "SUP-3", "expires_at": expires}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{g}");
    assert!(s.decide(&oa, ask("orchestrator", "support_access")).await.0);
    let gid = g["id"].as_str().unwrap();
    let (st, _) = s
        .call(
            Method::DELETE,
            &format!("/v1/tenants/{tenant}/support-grants/{gid}"),
            Some(&oa),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(!s.decide(&oa, ask("orchestrator", "support_access")).await.0);
    let (_, grants) = s.get(&format!("/v1/tenants/{tenant}/support-grants"), &oa).await;
    assert_eq!(grants[0]["active"], false);

    // Terms change takes effect at once: a BAA stops training.
    let (st, _) = s
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Some(&s.admin),
            Some(json!({"baa": true})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, reasons) = s.decide(&oa, ask("document-understanding", "vendor_training")).await;
    assert_eq!(reasons, ["baa_in_place"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_a_restart() {
    let s = TestServer::start().await;
    let org = s.org("advanced", "us").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, Some("eu")).await;
    s.post(
        &format!("/v1/orgs/{org}/opt-outs"),
        &s.admin,
        json!({"ticket": "T", "requested_by": "x"}),
    )
    .await;
    s.call(
        Method::PUT,
        &format!("/v1/tenants/{tenant}/ai-settings"),
        Some(&oa),
        Some(json!({"third_party_finetune_enabled": false})),
    )
    .await;
    let dir = s.dir.clone();
    let tmp = s.stop().await;

    let s = TestServer::start_in(&dir, Config::default()).await;
    let (st, t) = s.get(&format!("/v1/tenants/{tenant}"), &oa).await;
    assert_eq!(st, StatusCode::OK, "the org_admin key and tenant survive");
    assert_eq!(t["region"], "eu");
    let (allowed, reasons) = s
        .decide(
            &oa,
            json!({"tenant": tenant, "product": "ixp", "purpose": "vendor_training"}),
        )
        .await;
    assert!(!allowed);
    assert_eq!(reasons, ["opted_out"]);
    let (allowed, reasons) = s
        .decide(
            &oa,
            json!({"tenant": tenant, "product": "ixp", "purpose": "third_party_finetune"}),
        )
        .await;
    assert!(!allowed);
    assert_eq!(reasons, ["third_party_finetune_disabled"]);
    s.stop().await;
    drop(tmp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_cannot_change() {
    let s = TestServer::start().await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Some(&s.admin),
            Some(json!({"region": "us"})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (StatusCode::CONFLICT, Some("region_immutable"), Some("region"))
    );
    assert!(v["detail"].as_str().unwrap().contains("cannot change"));
    let (st, _) = s
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Some(&s.admin),
            Some(json!({"region": "eu", "name": "Same"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "restating the same region is not a change");
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/tenants/{tenant}"),
            Some(&oa),
            Some(json!({"region": "us"})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("region_immutable"))
    );
    let (st, v) = s
        .post(
            &format!("/v1/orgs/{org}/tenants"),
            &oa,
            json!({"name": "x", "region": "mars"}),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_region"), Some("region"))
    );
    let (st, v) = s
        .post(
            "/v1/orgs",
            &s.admin,
            json!({"name": "x", "plan": "free", "region": "mars"}),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_region"))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_without_genai_cannot_configure_ai_settings() {
    let s = TestServer::start().await;
    for plan in ["free", "standard"] {
        let org = s.org(plan, "eu").await;
        let oa = s.key(json!({"role": "org_admin", "org": org})).await;
        let tenant = s.tenant(&oa, &org, None).await;
        for path in [
            format!("/v1/orgs/{org}/ai-settings"),
            format!("/v1/tenants/{tenant}/ai-settings"),
        ] {
            let (st, v) = s
                .call(Method::PUT, &path, Some(&oa), Some(json!({"genai_enabled": false})))
                .await;
            assert_eq!(
                (st, v["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("plan_excludes_ai_settings")),
                "{plan} {path}"
            );
            let (st, v) = s.get(&path, &oa).await;
            assert_eq!((st, v["configurable"].as_bool()), (StatusCode::OK, Some(false)));
        }
        let (allowed, reasons) = s
            .decide(
                &oa,
                json!({"tenant": tenant, "product": "autopilot-for-everyone", "purpose": "genai"}),
            )
            .await;
        assert!(!allowed);
        assert_eq!(reasons, ["plan_excludes_genai"]);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_moves_and_terminated_orgs() {
    let s = TestServer::start().await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Some(&oa),
            Some(json!({"status": "terminated"})),
        )
        .await;
    assert_eq!((st, v["field"].as_str()), (StatusCode::FORBIDDEN, Some("status")));
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Some(&oa),
            Some(json!({"baa": true})),
        )
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("baa")),
        "contract terms are the vendor's"
    );
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Some(&oa),
            Some(json!({"allow_cross_region_llm": true})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "cross-region consent is the customer's: {v}");
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Some(&s.admin),
            Some(json!({"status": "terminated"})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("use_terminate_endpoint"))
    );
    // A termination with a grace period can be cancelled.
    let (st, v) = s
        .post(
            &format!("/v1/orgs/{org}/terminate"),
            &s.admin,
            json!({"grace_days": 30}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["org"]["status"], "terminating");
    let (allowed, reasons) = s
        .decide(&oa, json!({"tenant": tenant, "product": "ixp", "purpose": "genai"}))
        .await;
    assert!(!allowed);
    assert_eq!(reasons, ["org_terminating"]);
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Some(&s.admin),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("active")));
    let (st, v) = s
        .post(&format!("/v1/orgs/{org}/terminate"), &s.admin, json!({"grace_days": 0}))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["org"]["status"], "terminated");
    assert_eq!(
        v["certificates"].as_array().unwrap().len(),
        1,
        "one certificate per tenant"
    );
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Some(&s.admin),
            Some(json!({"status": "active"})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_status_transition"))
    );
    let (allowed, reasons) = s
        .decide(
            &oa,
            json!({"tenant": tenant, "product": "orchestrator", "purpose": "service"}),
        )
        .await;
    assert!(!allowed);
    assert_eq!(reasons, ["org_terminated"]);
    let (st, v) = s
        .post(&format!("/v1/orgs/{org}/tenants"), &oa, json!({"name": "late"}))
        .await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("org_not_active")));
    s.stop().await;
}

/// (case, body, expected status, expected code, expected field).
type BadInput = (&'static str, Vec<u8>, StatusCode, &'static str, Option<&'static str>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_problem_json_with_code_and_field() {
    let s = TestServer::start().await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let json_ct = Some("application/json");
    let cases: Vec<BadInput> = vec![
        (
            "malformed",
            b"{\"tenant\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            None,
        ),
        (
            "not json",
            b"hello".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            None,
        ),
        ("empty", b"".to_vec(), StatusCode::BAD_REQUEST, "malformed_json", None),
        (
            "trailing",
            format!("{{\"tenant\":\"{tenant}\",\"product\":\"ixp\",\"purpose\":\"genai\"}} x").into_bytes(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
            None,
        ),
        (
            "array",
            b"[]".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_type",
            None,
        ),
        (
            "unknown field",
            format!("{{\"tenant\":\"{tenant}\",\"product\":\"ixp\",\"purpose\":\"genai\",\"colour\":1}}").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_field",
            Some("colour"),
        ),
        (
            "unknown enum",
            format!("{{\"tenant\":\"{tenant}\",\"product\":\"ixp\",\"purpose\":\"gossip\"}}").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
            Some("purpose"),
        ),
        (
            "number for enum",
            format!("{{\"tenant\":\"{tenant}\",\"product\":\"ixp\",\"purpose\":3}}").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_type",
            Some("purpose"),
        ),
        (
            "wrong type",
            format!("{{\"tenant\":\"{tenant}\",\"product\":7,\"purpose\":\"genai\"}}").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_type",
            Some("product"),
        ),
        (
            "missing",
            format!("{{\"tenant\":\"{tenant}\",\"purpose\":\"genai\"}}").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_field",
            Some("product"),
        ),
        (
            "bad data kind",
            format!("{{\"tenant\":\"{tenant}\",\"product\":\"ixp\",\"purpose\":\"genai\",\"data_kind\":\"any\"}}")
                .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
            Some("data_kind"),
        ),
        (
            "unknown product",
            format!("{{\"tenant\":\"{tenant}\",\"product\":\"nope\",\"purpose\":\"genai\"}}").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_product",
            Some("product"),
        ),
        (
            "unknown region",
            format!("{{\"tenant\":\"{tenant}\",\"product\":\"ixp\",\"purpose\":\"genai\",\"region\":\"mars\"}}")
                .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_region",
            Some("region"),
        ),
        (
            "unknown tenant",
            b"{\"tenant\":\"ten_0193aaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"product\":\"ixp\",\"purpose\":\"genai\"}".to_vec(),
            StatusCode::NOT_FOUND,
            "not_found",
            Some("tenant"),
        ),
        (
            "garbage tenant",
            b"{\"tenant\":\"../../etc\",\"product\":\"ixp\",\"purpose\":\"genai\"}".to_vec(),
            StatusCode::NOT_FOUND,
            "not_found",
            Some("tenant"),
        ),
        (
            "oversized",
            vec![b' '; 70 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            None,
        ),
    ];
    for (name, body, status, code, field) in cases {
        let (st, v) = s.raw(Method::POST, "/v1/decisions", &oa, json_ct, body).await;
        assert_eq!(st, status, "{name}: {v}");
        assert_eq!(v["code"], code, "{name}: {v}");
        assert_eq!(v["field"].as_str(), field, "{name}: {v}");
        assert_eq!(v["status"], status.as_u16(), "{name}");
    }
    // Nested fields are named by their path.
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/v1/orgs/{org}/ai-settings"),
            Some(&oa),
            Some(json!({"products": {"ixp": {"genai": true}}})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unknown_field"),
            Some("products.ixp.genai")
        )
    );
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/v1/orgs/{org}/ai-settings"),
            Some(&oa),
            Some(json!({"locked": ["everything"]})),
        )
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("locked[0]"))
    );
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/v1/orgs/{org}/ai-settings"),
            Some(&oa),
            Some(json!({"products": {"nope": {}}})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unknown_product"),
            Some("products.nope")
        )
    );
    let (st, v) = s
        .call(
            Method::PUT,
            &format!("/v1/tenants/{tenant}/ai-settings"),
            Some(&oa),
            Some(json!({"locked": []})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("field_not_allowed"),
            Some("locked")
        )
    );
    // Wrong content type, empty names, bad expiry, unknown plan.
    let (st, v) = s
        .raw(Method::POST, "/v1/orgs", &s.admin, Some("text/plain"), b"{}".to_vec())
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type"))
    );
    let (st, v) = s
        .post(
            "/v1/orgs",
            &s.admin,
            json!({"name": "  ", "plan": "free", "region": "eu"}),
        )
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
    );
    let (st, v) = s
        .post(
            "/v1/orgs",
            &s.admin,
            json!({"name": "x", "plan": "platinum", "region": "eu"}),
        )
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("plan"))
    );
    let (st, v) = s
        .post(
            "/v1/orgs",
            &s.admin,
            json!({"name": "x", "plan": "free", "region": "eu", "baa": "yes"}),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_type"), Some("baa"))
    );
    let far = (time::OffsetDateTime::now_utc() + time::Duration::days(8))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (st, v) = s
        .post(
            &format!("/v1/tenants/{tenant}/support-grants"),
            &oa,
            json!({"ticket": "T", "expires_at": far}),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid_expiry"),
            Some("expires_at")
        )
    );
    let (st, v) = s
        .post(
            &format!("/v1/tenants/{tenant}/support-grants"),
            &oa,
            json!({"ticket": "T", "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_expiry"))
    );
    let (st, v) = s
        .post(
            &format!("/v1/tenants/{tenant}/support-grants"),
            &oa,
            json!({"ticket": "T", "expires_at": "tomorrow"}),
        )
        .await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("expires_at"))
    );
    let (st, v) = s
        .post(
            &format!("/v1/orgs/{org}/opt-outs"),
            &s.admin,
            json!({"ticket": "T", "requested_by": "x", "products": ["ixp", "nope"]}),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unknown_product"),
            Some("products[1]")
        )
    );
    // Query parameters, unknown routes and methods.
    let (st, v) = s.get("/v1/orgs?limit=0", &s.admin).await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    let (st, v) = s.get("/v1/orgs?limit=abc", &s.admin).await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_query"), Some("limit"))
    );
    let (st, v) = s.get("/v1/orgs?colour=red", &s.admin).await;
    assert_eq!(
        (st, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("colour"))
    );
    let (st, v) = s.get("/v1/nothing", &s.admin).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (st, v) = s.call(Method::DELETE, "/v1/decisions", Some(&s.admin), None).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_and_keys() {
    let s = TestServer::start().await;
    let (st, v) = s.call(Method::GET, "/v1/catalog/products", None, None).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let (st, v) = s
        .call(Method::GET, "/v1/catalog/products", Some("dpk_wrong"), None)
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_key"))
    );
    let (st, v) = s.get("/v1/catalog/products", &s.admin).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 28);
    for path in ["/healthz", "/readyz", "/openapi.json"] {
        let (st, _) = s.call(Method::GET, path, None, None).await;
        assert_eq!(st, StatusCode::OK, "{path}");
    }
    let (_, doc) = s.call(Method::GET, "/openapi.json", None, None).await;
    for p in [
        "/v1/decisions",
        "/v1/orgs/{org}",
        "/v1/tenants/{tenant}/products",
        "/v1/keys",
    ] {
        assert!(doc["paths"].get(p).is_some(), "openapi lacks {p}");
    }

    let org = s.org("enterprise", "eu").await;
    let (st, created) = s
        .post(
            "/v1/keys",
            &s.admin,
            json!({"role": "service", "product": "ixp", "label": "ixp"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let secret = created["key"].as_str().unwrap().to_string();
    assert!(secret.starts_with("dpk_"));
    let (_, me) = s.get("/v1/me", &secret).await;
    assert_eq!(
        (me["role"].as_str(), me["product"].as_str()),
        (Some("service"), Some("ixp"))
    );
    assert!(me.get("key").is_none(), "the secret is never shown again");
    let (_, keys) = s.get("/v1/keys", &s.admin).await;
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("key").is_none() && k.get("hash").is_none())
    );
    // Revocation takes effect at once.
    let kid = created["id"].as_str().unwrap();
    let (st, _) = s
        .call(Method::DELETE, &format!("/v1/keys/{kid}"), Some(&s.admin), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.get("/v1/me", &secret).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // The last platform_admin key cannot be revoked.
    let (_, me) = s.get("/v1/me", &s.admin).await;
    let (st, v) = s
        .call(
            Method::DELETE,
            &format!("/v1/keys/{}", me["id"].as_str().unwrap()),
            Some(&s.admin),
            None,
        )
        .await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("last_admin_key")));
    // Scope rules for new keys.
    for (body, code, field) in [
        (json!({"role": "service"}), "missing_field", "product"),
        (
            json!({"role": "service", "product": "nope"}),
            "unknown_product",
            "product",
        ),
        (json!({"role": "org_admin"}), "missing_field", "org"),
        (json!({"role": "support", "org": org}), "invalid_scope", "org"),
        (
            json!({"role": "org_admin", "org": org, "product": "ixp"}),
            "invalid_scope",
            "product",
        ),
        (
            json!({"role": "org_admin", "org": "org_0193aaaaaaaaaaaaaaaaaaaaaaaaaaaa"}),
            "unknown_org",
            "org",
        ),
    ] {
        let (st, v) = s.post("/v1/keys", &s.admin, body.clone()).await;
        assert_eq!(
            (st, v["code"].as_str(), v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code), Some(field)),
            "{body}"
        );
    }
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let (st, v) = s
        .post("/v1/keys", &oa, json!({"role": "service", "product": "ixp"}))
        .await;
    assert_eq!((st, v["field"].as_str()), (StatusCode::FORBIDDEN, Some("role")));
    let (st, v) = s.post("/v1/keys", &oa, json!({"role": "auditor"})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["org"], org.as_str(), "an org_admin's keys stay in its organization");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_keys_are_bound_to_their_product_and_scope() {
    let s = TestServer::start().await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let t1 = s.tenant(&oa, &org, None).await;
    let t2 = s.tenant(&oa, &org, None).await;
    let svc = s.key(json!({"role": "service", "product": "ixp", "tenant": t1})).await;
    assert!(
        s.decide(&svc, json!({"tenant": t1, "product": "ixp", "purpose": "service"}))
            .await
            .0
    );
    let (st, v) = s
        .post(
            "/v1/decisions",
            &svc,
            json!({"tenant": t1, "product": "apps", "purpose": "service"}),
        )
        .await;
    assert_eq!((st, v["field"].as_str()), (StatusCode::FORBIDDEN, Some("product")));
    let (st, _) = s
        .post(
            "/v1/decisions",
            &svc,
            json!({"tenant": t2, "product": "ixp", "purpose": "service"}),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::NOT_FOUND,
        "a tenant outside the key's scope does not exist for it"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_orgs_pages_and_respects_scope() {
    let s = TestServer::start().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(s.org("free", "eu").await);
    }
    let (_, p1) = s.get("/v1/orgs?limit=2", &s.admin).await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    let next = p1["next"].as_str().unwrap();
    let (_, p2) = s.get(&format!("/v1/orgs?limit=2&after={next}"), &s.admin).await;
    let (_, p3) = s
        .get(
            &format!("/v1/orgs?limit=2&after={}", p2["next"].as_str().unwrap()),
            &s.admin,
        )
        .await;
    assert!(p3.get("next").is_none());
    let seen: Vec<&str> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap())
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, ids.iter().map(String::as_str).collect::<Vec<_>>());
    let oa = s.key(json!({"role": "org_admin", "org": ids[2]})).await;
    let (_, mine) = s.get("/v1/orgs", &oa).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], ids[2].as_str());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_well_formed() {
    let s = TestServer::start().await;
    let (_, doc) = s.call(Method::GET, "/openapi.json", None, None).await;
    let mut ids = std::collections::HashSet::new();
    let mut ops = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops += 1;
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let placed = p["in"].as_str().unwrap();
                assert_eq!(
                    placed == "path",
                    path.contains(&format!("{{{name}}}")),
                    "{method} {path}: {name} is in {placed}"
                );
            }
            for (status, resp) in op["responses"].as_object().unwrap() {
                // The AI trust layer answers in OpenAI's error shape, which the SDKs read.
                let openai = ["/v1/chat/completions", "/v1/embeddings", "/v1/models"].contains(&path.as_str());
                if status.as_str() >= "400" && !resp["content"].is_null() {
                    let (ct, schema) = if openai {
                        ("application/json", "#/components/schemas/OpenAiError")
                    } else {
                        ("application/problem+json", "#/components/schemas/Problem")
                    };
                    assert_eq!(
                        resp["content"][ct]["schema"]["$ref"], schema,
                        "{method} {path} {status}"
                    );
                }
            }
            if op.get("security").is_some() {
                assert!(op["responses"].get("401").is_some(), "{method} {path} lacks 401");
            }
        }
    }
    assert!(ops >= 40, "{ops} operations documented");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nulls_duplicates_and_time_zones() {
    let s = TestServer::start().await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/orgs/{org}"),
            Some(&s.admin),
            Some(json!({"name": null})),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_type"), Some("name"))
    );
    let body = format!("{{\"tenant\":\"{tenant}\",\"tenant\":\"{tenant}\",\"product\":\"ixp\",\"purpose\":\"genai\"}}");
    let (st, v) = s
        .raw(
            Method::POST,
            "/v1/decisions",
            &oa,
            Some("application/json"),
            body.into_bytes(),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str(), v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("duplicate_field"),
            Some("tenant")
        )
    );
    let in_a_day = (time::OffsetDateTime::now_utc() + time::Duration::days(1)).to_offset(time::macros::offset!(+5:30));
    let stamp = in_a_day.format(&time::format_description::well_known::Rfc3339).unwrap();
    let (st, g) = s
        .post(
            &format!("/v1/tenants/{tenant}/support-grants"),
            &oa,
            json!({"ticket": "T", "expires_at": stamp}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{g}");
    assert!(g["expires_at"].as_str().unwrap().ends_with('Z'), "stored in UTC: {g}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_layer_settings_resolve_lock_and_are_checked() {
    let s = TestServer::start().await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let put = |path: String, body: serde_json::Value| {
        let oa = oa.clone();
        let s = &s;
        async move { s.call(Method::PUT, &path, Some(&oa), Some(body)).await }
    };
    let org_path = format!("/v1/orgs/{org}/ai-settings");
    let tenant_path = format!("/v1/tenants/{tenant}/ai-settings");

    // Defaults: every model, PII masked, prompts not kept.
    let (_, v) = s.get(&tenant_path, &oa).await;
    assert_eq!(
        v["effective"]["ixp"]["pii"],
        json!({"value": "mask", "source": "default", "locked": false})
    );
    assert_eq!(v["effective"]["ixp"]["save_prompts"]["value"], false);
    assert_eq!(v["effective"]["ixp"]["models"]["value"], json!({}));

    // The organization sets a policy; the tenant overrides what is not locked.
    let (st, v) = put(
        org_path.clone(),
        json!({"pii": "block", "models": {"allow": ["gpt-4o*", "local/*"], "deny": ["gpt-4o"]}, "locked": ["models"]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, v) = put(
        tenant_path.clone(),
        json!({"pii": "off", "save_prompts": true, "models": {}, "products": {"ixp": {"pii": "mask"}}}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ixp = &v["effective"]["ixp"];
    assert_eq!(
        ixp["pii"],
        json!({"value": "mask", "source": "tenant_product", "locked": false})
    );
    assert_eq!(v["effective"]["orchestrator"]["pii"]["value"], "off");
    assert_eq!(
        ixp["save_prompts"],
        json!({"value": true, "source": "tenant", "locked": false})
    );
    assert_eq!(
        ixp["models"],
        json!({"value": {"allow": ["gpt-4o*", "local/*"], "deny": ["gpt-4o"]}, "source": "org", "locked": true})
    );
    // What was written is what is read back (stored as one JSON document per level).
    let (_, stored) = s.get(&tenant_path, &oa).await;
    assert_eq!(stored["pii"], "off");
    assert_eq!(stored["products"]["ixp"]["pii"], "mask");

    // Mistakes are named by their path.
    for (body, code, field) in [
        (json!({"pii": "maybe"}), "invalid_value", "pii"),
        (
            json!({"models": {"allow": ["gpt 4"]}}),
            "invalid_model_entry",
            "models.allow[0]",
        ),
        (
            json!({"products": {"ixp": {"models": {"deny": ["ok", "g*pt"]}}}}),
            "invalid_model_entry",
            "products.ixp.models.deny[1]",
        ),
        (json!({"models": {"only": []}}), "unknown_field", "models.only"),
        (json!({"locked": ["pii", "colour"]}), "invalid_value", "locked[1]"),
    ] {
        let (st, v) = put(org_path.clone(), body.clone()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["field"].as_str(), Some(field), "{body}: {v}");
        if code != "invalid_value" {
            assert_eq!(v["code"].as_str(), Some(code), "{body}: {v}");
        }
    }
}

/// Times at the edge of the calendar are the client's mistake, named by field: never a panic
/// (a 500) on converting them to UTC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_out_of_range_are_refused_by_field() {
    let s = TestServer::start().await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    for t in ["9999-12-31T23:59:59-23:00", "9999-12-31T23:59:59-00:01"] {
        let (st, v) = s
            .post(
                &format!("/v1/tenants/{tenant}/support-grants"),
                &oa,
                json!({"ticket": "SUP-9", "expires_at": t}),
            )
            .await;
        assert_eq!(
            (st, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("expires_at")),
            "{t}: {v}"
        );
        let (st, v) = s
            .post(
                &format!("/v1/orgs/{org}/opt-outs"),
                &s.admin,
                json!({"ticket": "SUP-1", "requested_by": "dpo@acme.example", "effective_at": t}),
            )
            .await;
        assert_eq!(
            (st, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("effective_at")),
            "{t}: {v}"
        );
    }
    s.stop().await;
}

/// Every directory and file of the data directory is the server's alone (0700 and 0600),
/// those it finds too open included, and those SQLite creates as it runs (WAL, shared memory).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("notes.txt"), "left by an operator").unwrap();
    std::fs::set_permissions(dir.join("notes.txt"), std::fs::Permissions::from_mode(0o644)).unwrap();
    // The files of the embedded backend (on PostgreSQL the data directory holds none).
    let s = TestServer::start_exactly(&dir, datapact_server::Config::default()).await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let svc = s.key(json!({"role": "service", "product": "ixp", "org": org})).await;
    let (st, _) = s
        .post(
            &format!("/v1/tenants/{tenant}/records"),
            &svc,
            json!({"product": "ixp", "data_kind": "run_time", "content": "private"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let mut open = Vec::new();
    let mut seen = 0;
    let mut stack = vec![dir.clone()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        if mode != want {
            open.push(format!("{} is {mode:o}", p.display()));
        }
        seen += 1;
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    assert!(seen > 8, "the walk saw the databases and their WAL files: {seen}");
    assert!(open.is_empty(), "readable by others:\n{}", open.join("\n"));
    s.stop().await;
}

/// The database keeps keyed hashes of API keys: its copy alone does not let anyone test
/// guesses of a key (the bootstrap key from the environment is human-chosen) against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_key_hashes_are_keyed() {
    use sha2::Digest;
    // Read behind the server's back in the embedded database's file.
    let s = TestServer::start_sqlite().await;
    assert_eq!(s.get("/v1/me", &s.admin).await.0, StatusCode::OK);
    let db = rusqlite::Connection::open(s.dir.join("datapact.db")).unwrap();
    let hashes: Vec<Vec<u8>> = db
        .prepare("SELECT hash FROM api_keys")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let plain = sha2::Sha256::digest(common::ADMIN_KEY.as_bytes()).to_vec();
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], plain, "a plain SHA-256 of the key is stored");
    let marker: String = db
        .query_row("SELECT value FROM meta WHERE key = 'api_key_hash'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(marker, "hmac-sha256/v1");
    s.stop().await;
}

/// A path that does not decode is a client mistake in problem+json, like every other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_paths_are_problem_json() {
    let s = TestServer::start().await;
    for path in [
        "/v1/tenants/%ff%fe",
        "/v1/orgs/%ff%fe/tenants",
        "/v1/tenants/x/records/%c3%28",
    ] {
        let resp = reqwest::Client::new()
            .get(format!("{}{path}", s.url))
            .bearer_auth(&s.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json", "{path}");
        let v: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(v["code"], "invalid_path", "{path}: {v}");
    }
    s.stop().await;
}

/// A settings document has a version: every answer carries its `ETag`, and a write that says
/// which version it changed (`If-Match`) is refused with 412 when someone else saved meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_writes_can_say_which_version_they_change() {
    let s = TestServer::start().await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let http = reqwest::Client::new();
    for path in [
        format!("/v1/orgs/{org}/ai-settings"),
        format!("/v1/tenants/{tenant}/ai-settings"),
    ] {
        let url = format!("{}{path}", s.url);
        let read = http.get(&url).bearer_auth(&oa).send().await.unwrap();
        let first = read.headers()["etag"].to_str().unwrap().to_string();
        assert!(first.starts_with('"') && first.len() > 10, "{first}");
        let put = |tag: Option<&str>, body: serde_json::Value| {
            let mut r = http.put(&url).bearer_auth(&oa).json(&body);
            if let Some(t) = tag {
                r = r.header("if-match", t);
            }
            r.send()
        };
        // Admin A saves, naming the version it read.
        let a = put(Some(&first), json!({"save_prompts": true})).await.unwrap();
        assert_eq!(a.status(), StatusCode::OK);
        let second = a.headers()["etag"].to_str().unwrap().to_string();
        assert_ne!(second, first);
        // Admin B read the first version too: its write is refused and changes nothing.
        let b = put(Some(&first), json!({"pii": "block"})).await.unwrap();
        assert_eq!(b.status(), StatusCode::PRECONDITION_FAILED);
        assert_eq!(b.headers()["content-type"], "application/problem+json");
        let v: serde_json::Value = b.json().await.unwrap();
        assert_eq!(
            (v["code"].as_str(), v["field"].as_str()),
            (Some("settings_changed"), Some("If-Match"))
        );
        let (_, now) = s.get(&path, &oa).await;
        assert_eq!(
            (now["save_prompts"].as_bool(), now.get("pii")),
            (Some(true), None),
            "{now}"
        );
        // `*` and no If-Match at all write whatever is stored (a PUT replaces the document).
        assert_eq!(put(Some("*"), json!({})).await.unwrap().status(), StatusCode::OK);
        assert_eq!(
            put(None, json!({"pii": "mask"})).await.unwrap().status(),
            StatusCode::OK
        );
    }
    s.stop().await;
}
