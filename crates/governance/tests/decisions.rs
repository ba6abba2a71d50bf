//! The decision rules, one by one and in combination, and a table over the whole default catalog.

use std::sync::Arc;

use datapact_governance::settings::AiToggles;
use datapact_governance::{
    AiSettings, Availability, Catalog, DataKind, DecisionRequest, GenAi, GrantId, KeyId, OptOut, OptOutId, Org, OrgId,
    OrgStatus, Plan, Purpose, ReasonCode, Registry, SettingKey, Snapshot, SupportGrant, Tenant, TenantId,
};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

fn org(plan: Plan) -> Org {
    Org {
        id: OrgId::generate(),
        name: "Acme".into(),
        plan,
        region: "eu".into(),
        baa: false,
        contract_forbids_training: false,
        allow_cross_region_llm: false,
        status: OrgStatus::Active,
        created_at: NOW,
        updated_at: NOW,
        termination_due_at: None,
        ai_limits: Default::default(),
        opt_outs: vec![],
        ai: AiSettings::default(),
        tenants: vec![],
    }
}

fn tenant(org: &Org) -> Tenant {
    Tenant {
        id: TenantId::generate(),
        org: org.id,
        name: "prod".into(),
        region: org.region.clone(),
        created_at: NOW,
        ai: AiSettings::default(),
        grants: vec![],
        retention: vec![],
    }
}

fn opt_out(org: &Org, products: Option<Vec<&str>>) -> OptOut {
    OptOut {
        id: OptOutId::generate(),
        org: org.id,
        ticket: "SUP-42".into(),
        requested_by: "dpo@acme.example".into(),
        products: products.map(|ps| ps.into_iter().map(String::from).collect()),
        effective_at: NOW - time::Duration::days(1),
        recorded_by: KeyId::generate(),
        recorded_at: NOW - time::Duration::days(1),
        revoked_at: None,
        revoked_by: None,
    }
}

/// A registry holding one organization and one tenant.
struct World {
    reg: Registry,
    tenant: TenantId,
}

impl World {
    fn new(o: Org, t: Tenant) -> Self {
        let tenant = t.id;
        let reg = Registry::load(
            Arc::new(Catalog::builtin().unwrap()),
            vec!["eu".into(), "us".into()],
            Snapshot {
                orgs: vec![o],
                tenants: vec![t],
                keys: vec![],
            },
        )
        .unwrap();
        Self { reg, tenant }
    }

    fn with(plan: Plan, edit: impl FnOnce(&mut Org, &mut Tenant)) -> Self {
        let mut o = org(plan);
        let mut t = tenant(&o);
        edit(&mut o, &mut t);
        Self::new(o, t)
    }

    fn ask(
        &self,
        product: &str,
        purpose: Purpose,
        kind: Option<DataKind>,
        region: Option<&str>,
    ) -> (bool, Vec<ReasonCode>) {
        let d = self
            .reg
            .decide(
                &DecisionRequest {
                    tenant: self.tenant,
                    product,
                    purpose,
                    data_kind: kind,
                    region,
                },
                NOW,
            )
            .unwrap();
        assert!(d.reasons.iter().all(|r| !r.message.is_empty()));
        (d.allowed, d.reasons.into_iter().map(|r| r.code).collect())
    }

    fn denied(&self, product: &str, purpose: Purpose, kind: Option<DataKind>, region: Option<&str>) -> Vec<ReasonCode> {
        let (allowed, codes) = self.ask(product, purpose, kind, region);
        assert!(!allowed, "{product} {purpose} should be denied, got grounds {codes:?}");
        codes
    }

    fn allowed(
        &self,
        product: &str,
        purpose: Purpose,
        kind: Option<DataKind>,
        region: Option<&str>,
    ) -> Vec<ReasonCode> {
        let (allowed, codes) = self.ask(product, purpose, kind, region);
        assert!(allowed, "{product} {purpose} should be allowed, got {codes:?}");
        codes
    }
}

use DataKind::*;
use Purpose::*;
use ReasonCode as R;

#[test]
fn region_mismatch_denies_every_purpose_but_telemetry() {
    let w = World::with(Plan::Enterprise, |_, _| {});
    for p in Purpose::ALL {
        let (allowed, codes) = w.ask("ixp", p, Some(DesignTime), Some("us"));
        if p == Telemetry {
            assert!(allowed);
        } else {
            assert!(!allowed, "{p}");
            assert!(codes.contains(&R::RegionMismatch), "{p}: {codes:?}");
        }
    }
}

#[test]
fn cross_region_consent_opens_genai_only() {
    let w = World::with(Plan::Enterprise, |o, _| o.allow_cross_region_llm = true);
    let codes = w.allowed("ixp", Genai, None, Some("us"));
    assert!(codes.contains(&R::CrossRegionLlmAllowed));
    assert!(
        w.denied("ixp", ThirdPartyFinetune, None, Some("us"))
            .contains(&R::RegionMismatch)
    );
    assert!(w.denied("ixp", Service, None, Some("us")).contains(&R::RegionMismatch));
    assert!(
        w.denied("ixp", VendorTraining, Some(DesignTime), Some("us"))
            .contains(&R::RegionMismatch)
    );
}

#[test]
fn unknown_region_product_and_tenant_are_errors_not_denials() {
    let w = World::with(Plan::Enterprise, |_, _| {});
    let req = |product, region, tenant| DecisionRequest {
        tenant,
        product,
        purpose: Service,
        data_kind: None,
        region,
    };
    assert!(w.reg.decide(&req("ixp", Some("mars"), w.tenant), NOW).is_err());
    assert!(w.reg.decide(&req("nope", None, w.tenant), NOW).is_err());
    assert!(w.reg.decide(&req("ixp", None, TenantId::generate()), NOW).is_err());
}

#[test]
fn service_needs_declaration_and_a_live_contract() {
    let w = World::with(Plan::Free, |_, _| {});
    assert_eq!(
        w.allowed("orchestrator", Service, None, None),
        [R::InRegion, R::ServiceDeclared]
    );
    let w = World::with(Plan::Free, |o, _| o.status = OrgStatus::Terminating);
    w.allowed("orchestrator", Service, None, None);
    let w = World::with(Plan::Free, |o, _| o.status = OrgStatus::Terminated);
    assert_eq!(w.denied("orchestrator", Service, None, None), [R::OrgTerminated]);
}

#[test]
fn vendor_training_rules() {
    let w = World::with(Plan::Free, |_, _| {});
    assert!(
        w.allowed("ixp", VendorTraining, Some(RunTime), None)
            .contains(&R::NoTrainingExclusion)
    );
    assert_eq!(
        w.denied("orchestrator", VendorTraining, None, None),
        [R::TrainingNotDeclared]
    );
    // Communications Mining trains on design-time data only.
    w.allowed("communications-mining", VendorTraining, Some(DesignTime), None);
    assert_eq!(
        w.denied("communications-mining", VendorTraining, Some(RunTime), None),
        [R::DataKindNotTrained]
    );
    assert_eq!(
        w.denied("communications-mining", VendorTraining, None, None),
        [R::DataKindNotTrained]
    );
    w.allowed("ixp", VendorTraining, None, None);
}

#[test]
fn baa_contract_and_opt_out_each_exclude_training_and_all_are_reported() {
    let w = World::with(Plan::Enterprise, |o, _| o.baa = true);
    assert_eq!(w.denied("ixp", VendorTraining, Some(DesignTime), None), [R::BaaInPlace]);
    let w = World::with(Plan::Enterprise, |o, _| o.contract_forbids_training = true);
    assert_eq!(
        w.denied("ixp", VendorTraining, Some(DesignTime), None),
        [R::ContractForbidsTraining]
    );
    // A BAA organization that also opted out, with a forbidding contract, on a product that does not train.
    let w = World::with(Plan::Enterprise, |o, _| {
        o.baa = true;
        o.contract_forbids_training = true;
        o.opt_outs.push(opt_out(o, None));
    });
    assert_eq!(
        w.denied("ixp", VendorTraining, Some(DesignTime), None),
        [R::BaaInPlace, R::ContractForbidsTraining, R::OptedOut]
    );
    assert_eq!(
        w.denied("orchestrator", VendorTraining, None, Some("us")),
        [
            R::RegionMismatch,
            R::TrainingNotDeclared,
            R::BaaInPlace,
            R::ContractForbidsTraining,
            R::OptedOut
        ]
    );
}

#[test]
fn opt_out_scope_timing_and_revocation() {
    let w = World::with(Plan::Free, |o, _| o.opt_outs.push(opt_out(o, Some(vec!["ixp"]))));
    assert_eq!(w.denied("ixp", VendorTraining, None, None), [R::OptedOut]);
    w.allowed("document-understanding", VendorTraining, None, None);
    let w = World::with(Plan::Free, |o, _| {
        let mut later = opt_out(o, None);
        later.effective_at = NOW + time::Duration::days(1);
        o.opt_outs.push(later);
    });
    w.allowed("ixp", VendorTraining, None, None);
    let w = World::with(Plan::Free, |o, _| {
        let mut revoked = opt_out(o, None);
        revoked.revoked_at = Some(NOW - time::Duration::hours(1));
        o.opt_outs.push(revoked);
    });
    w.allowed("ixp", VendorTraining, None, None);
    // An opt-out does not touch other purposes.
    let w = World::with(Plan::Enterprise, |o, _| o.opt_outs.push(opt_out(o, None)));
    w.allowed("ixp", Service, None, None);
    w.allowed("ixp", Genai, None, None);
}

#[test]
fn training_stops_while_terminating() {
    let w = World::with(Plan::Free, |o, _| o.status = OrgStatus::Terminating);
    assert_eq!(w.denied("ixp", VendorTraining, None, None), [R::OrgTerminating]);
    let w = World::with(Plan::Enterprise, |o, _| o.status = OrgStatus::Terminating);
    assert_eq!(w.denied("ixp", Genai, None, None), [R::OrgTerminating]);
}

#[test]
fn genai_needs_declaration_plan_setting_and_active_org() {
    let w = World::with(Plan::Advanced, |_, _| {});
    w.allowed("ixp", Genai, None, None);
    w.allowed("agent-builder", Genai, None, None);
    assert_eq!(w.denied("orchestrator", Genai, None, None), [R::GenaiNotDeclared]);
    for plan in [Plan::Free, Plan::Standard] {
        let w = World::with(plan, |_, _| {});
        assert_eq!(w.denied("ixp", Genai, None, None), [R::PlanExcludesGenai]);
    }
    // A free-plan organization asking genai for a product that requires it: denied, and the product is unavailable.
    let w = World::with(Plan::Free, |_, _| {});
    assert_eq!(
        w.denied("autopilot-for-everyone", Genai, None, None),
        [R::PlanExcludesGenai]
    );
    let av = w.reg.availability(w.tenant, NOW).unwrap();
    let status = |id: &str| av.iter().find(|a| a.product == id).unwrap().status;
    assert_eq!(status("autopilot-for-everyone"), Availability::Unavailable);
    assert_eq!(status("ixp"), Availability::Degraded);
    assert_eq!(status("orchestrator"), Availability::Available);
    let w = World::with(Plan::Enterprise, |o, _| o.ai.genai_enabled = Some(false));
    assert_eq!(w.denied("ixp", Genai, None, None), [R::GenaiDisabled]);
}

#[test]
fn locked_org_setting_beats_a_tenant_override() {
    let w = World::with(Plan::Enterprise, |o, t| {
        o.ai.genai_enabled = Some(false);
        o.ai.locked = Some([SettingKey::GenaiEnabled].into());
        t.ai.genai_enabled = Some(true);
        t.ai.products.insert(
            "ixp".into(),
            AiToggles {
                genai_enabled: Some(true),
                ..Default::default()
            },
        );
    });
    assert_eq!(w.denied("ixp", Genai, None, None), [R::GenaiDisabled]);
    // Without the lock, the tenant's own choice wins.
    let w = World::with(Plan::Enterprise, |o, t| {
        o.ai.genai_enabled = Some(false);
        t.ai.genai_enabled = Some(true);
    });
    w.allowed("ixp", Genai, None, None);
    // A tenant may disable what the organization allows.
    let w = World::with(Plan::Enterprise, |_, t| {
        t.ai.products.insert(
            "ixp".into(),
            AiToggles {
                genai_enabled: Some(false),
                ..Default::default()
            },
        );
    });
    assert_eq!(w.denied("ixp", Genai, None, None), [R::GenaiDisabled]);
    w.allowed("document-understanding", Genai, None, None);
}

#[test]
fn third_party_finetune_needs_everything_genai_needs_and_its_own_setting() {
    let w = World::with(Plan::Enterprise, |_, _| {});
    w.allowed("ixp", ThirdPartyFinetune, None, None);
    assert_eq!(
        w.denied("communications-mining", ThirdPartyFinetune, None, None),
        [R::ThirdPartyFinetuneNotDeclared]
    );
    assert_eq!(
        w.denied("orchestrator", ThirdPartyFinetune, None, None),
        [R::ThirdPartyFinetuneNotDeclared, R::GenaiNotDeclared]
    );
    let w = World::with(Plan::Standard, |_, _| {});
    assert_eq!(w.denied("ixp", ThirdPartyFinetune, None, None), [R::PlanExcludesGenai]);
    let w = World::with(Plan::Enterprise, |o, _| o.ai.genai_enabled = Some(false));
    assert_eq!(w.denied("ixp", ThirdPartyFinetune, None, None), [R::GenaiDisabled]);
    let w = World::with(Plan::Enterprise, |_, t| t.ai.third_party_finetune_enabled = Some(false));
    assert_eq!(
        w.denied("ixp", ThirdPartyFinetune, None, None),
        [R::ThirdPartyFinetuneDisabled]
    );
    w.allowed("ixp", Genai, None, None);
}

#[test]
fn support_access_needs_an_active_grant() {
    let grant = |t: &Tenant, expires: OffsetDateTime, revoked: Option<OffsetDateTime>| SupportGrant {
        id: GrantId::generate(),
        tenant: t.id,
        ticket: "SUP-7".into(),
        expires_at: expires,
        created_by: KeyId::generate(),
        created_at: NOW - time::Duration::hours(2),
        revoked_at: revoked,
        revoked_by: None,
    };
    let w = World::with(Plan::Free, |_, _| {});
    assert_eq!(w.denied("orchestrator", SupportAccess, None, None), [R::NoSupportGrant]);
    let w = World::with(Plan::Free, |_, t| {
        t.grants.push(grant(t, NOW + time::Duration::days(1), None))
    });
    assert!(
        w.allowed("orchestrator", SupportAccess, None, None)
            .contains(&R::SupportGrantActive)
    );
    let w = World::with(Plan::Free, |_, t| {
        t.grants.push(grant(t, NOW - time::Duration::minutes(1), None))
    });
    assert_eq!(w.denied("orchestrator", SupportAccess, None, None), [R::NoSupportGrant]);
    let w = World::with(Plan::Free, |_, t| {
        t.grants.push(grant(
            t,
            NOW + time::Duration::days(1),
            Some(NOW - time::Duration::minutes(1)),
        ))
    });
    assert_eq!(w.denied("orchestrator", SupportAccess, None, None), [R::NoSupportGrant]);
}

#[test]
fn telemetry_is_always_allowed() {
    let w = World::with(Plan::Free, |o, _| {
        o.status = OrgStatus::Terminated;
        o.baa = true;
    });
    assert_eq!(
        w.allowed("orchestrator", Telemetry, None, Some("us")),
        [R::TelemetryContentFree]
    );
}

#[test]
fn terminated_org_makes_every_product_unavailable() {
    let w = World::with(Plan::Enterprise, |o, _| o.status = OrgStatus::Terminated);
    for a in w.reg.availability(w.tenant, NOW).unwrap() {
        assert_eq!(a.status, Availability::Unavailable, "{}", a.product);
        assert!(a.reasons.iter().any(|r| r.code == R::OrgTerminated));
    }
}

/// Every product of the default catalog against every purpose, for an unrestricted enterprise
/// organization and for a restricted free one: the answer must follow the product's declaration.
#[test]
fn every_catalog_product_follows_its_declaration() {
    let catalog = Catalog::builtin().unwrap();
    assert_eq!(catalog.products().len(), 28);
    let open = World::with(Plan::Enterprise, |_, _| {});
    let free = World::with(Plan::Free, |_, _| {});
    let closed = World::with(Plan::Enterprise, |o, _| {
        o.baa = true;
        o.ai.genai_enabled = Some(false);
    });
    let open_av = open.reg.availability(open.tenant, NOW).unwrap();
    let free_av = free.reg.availability(free.tenant, NOW).unwrap();
    let closed_av = closed.reg.availability(closed.tenant, NOW).unwrap();
    for (i, p) in catalog.products().iter().enumerate() {
        let id = p.id.as_str();
        assert!(open.ask(id, Service, None, None).0, "{id}");
        assert_eq!(
            open.ask(id, VendorTraining, Some(DesignTime), None).0,
            p.train_vendor_models,
            "{id}"
        );
        assert_eq!(
            open.ask(id, VendorTraining, Some(RunTime), None).0,
            p.trains_on(RunTime),
            "{id}"
        );
        assert_eq!(open.ask(id, Genai, None, None).0, p.genai != GenAi::None, "{id}");
        assert_eq!(
            open.ask(id, ThirdPartyFinetune, None, None).0,
            p.finetune_third_party,
            "{id}"
        );
        assert!(!open.ask(id, SupportAccess, None, None).0, "{id}");
        assert!(open.ask(id, Telemetry, None, None).0, "{id}");
        assert!(!free.ask(id, Genai, None, None).0, "{id}");
        assert!(!closed.ask(id, VendorTraining, Some(DesignTime), None).0, "{id}");
        assert!(!closed.ask(id, ThirdPartyFinetune, None, None).0, "{id}");

        assert_eq!(open_av[i].status, Availability::Available, "{id}");
        let restricted = match p.genai {
            GenAi::None => Availability::Available,
            GenAi::Optional => Availability::Degraded,
            GenAi::Required => Availability::Unavailable,
        };
        assert_eq!(free_av[i].status, restricted, "{id}");
        assert_eq!(closed_av[i].status, restricted, "{id}");
    }
}

#[test]
fn seed_table_rows_map_to_the_catalog() {
    // Spot checks straight from the seed page's table.
    let c = Catalog::builtin().unwrap();
    let row = |id: &str| {
        let p = c.get(id).unwrap();
        (
            p.provide_services,
            p.train_vendor_models,
            p.finetune_third_party,
            p.genai,
        )
    };
    assert_eq!(row("ai-center"), (true, false, false, GenAi::None));
    assert_eq!(row("agent-builder"), (true, true, true, GenAi::Required));
    assert_eq!(row("apps"), (true, false, true, GenAi::Optional));
    assert_eq!(row("autopilot-for-everyone"), (true, false, true, GenAi::Required));
    assert_eq!(row("ai-computer-vision"), (true, true, false, GenAi::None));
    assert_eq!(row("context-grounding"), (true, false, true, GenAi::Required));
    assert_eq!(row("screenplay"), (true, false, true, GenAi::Required));
    assert_eq!(row("healing-agent"), (true, true, true, GenAi::Optional));
    assert_eq!(row("studio"), (true, false, true, GenAi::Optional));
    assert_eq!(row("communications-mining"), (true, true, false, GenAi::Optional));
    for id in [
        "elastic-robot-orchestration",
        "automation-cloud-robots-vm",
        "automation-cloud-robots-serverless",
    ] {
        assert_eq!(row(id), (true, false, false, GenAi::None));
    }
}
