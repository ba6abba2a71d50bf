//! Cedar evaluation of one AI trust-layer call against the largest policy set an organization
//! may save (`MAX_POLICY_BYTES`, 64 KiB): a permit and as many forbids, each on a model and a
//! data category, as fit. The gateway evaluates the set once per candidate provider; this says
//! what that costs on the thread that runs it.
//!
//! `cargo bench -p datapact-governance --bench cedar`

use std::hint::black_box;

use criterion::Criterion;
use datapact_governance::policy::{CallAttrs, MAX_POLICY_BYTES, compile};

fn largest_set() -> (String, usize) {
    let mut text = String::from("@id(\"all\") permit(principal, action, resource);\n");
    let mut n = 0;
    loop {
        let p = format!(
            "@id(\"f{n}\") forbid(principal, action, resource == Model::\"m-{n}\") when {{ context.data_categories.contains(\"EMAIL_ADDRESS\") && context.product == \"p-{n}\" }};\n"
        );
        if text.len() + p.len() > MAX_POLICY_BYTES {
            return (text, n);
        }
        text.push_str(&p);
        n += 1;
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    for (label, (text, n)) in [
        (
            "readme example",
            (include_str!("../../../bench/gateway/policies.cedar").to_string(), 3),
        ),
        ("largest allowed", largest_set()),
    ] {
        let set = compile(&text).unwrap_or_else(|e| panic!("{label}: {e}"));
        let categories = vec!["PERSON".to_string(), "EMAIL_ADDRESS".to_string()];
        let call = CallAttrs {
            tenant: "ten_01a2420b18a1768f8ee5eeeae112812a",
            model: "gpt-4o-mini",
            product: "ixp",
            provider: "openai-eu",
            provider_kind: "third_party",
            region: "eu",
            tenant_region: "eu",
            endpoint: "chat/completions",
            data_categories: &categories,
            user_group: None,
            feature: None,
        };
        c.bench_function(&format!("cedar: {label} ({n} policies, {} bytes)", text.len()), |b| {
            b.iter(|| black_box(set.evaluate(black_box(&call))))
        });
    }
    c.final_summary();
}
