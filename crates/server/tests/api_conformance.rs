//! The API description is the API: schemathesis generates requests from `/openapi.json` and
//! checks every answer against it (`--checks all`: no 5xx, documented status codes, content
//! types and headers, response schemas, schema-valid data accepted, invalid data rejected,
//! authentication not ignored, ...). It runs three times against one real server: as the
//! platform admin, as an organization's admin, and as a product's service key on the AI
//! trust layer, with the ids of a real organization and tenant.
//!
//! schemathesis is installed, pinned, into a virtual environment under the target directory on
//! first run, as the OpenAI SDK test installs its package. Without Python or the package
//! registry the test is skipped, except under `CI=true`, where it fails.
//!
//! `DATAPACT_SCHEMATHESIS_EXAMPLES` (default 40) sets the cases per operation and phase;
//! `DATAPACT_SCHEMATHESIS_SEED` a seed other than the fixed one CI uses.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestServer;
use common::llm::{mock_provider, provider_toml};
use datapact_server::Config;
use serde_json::json;

/// The pinned package and everything it pulls in (`pip freeze` of a working install;
/// 4.3.x fails on this document, 4.32.5 does not).
const REQUIREMENTS: &[&str] = &[
    "schemathesis==4.32.5",
    "anyio==4.16.0",
    "arrow==1.4.0",
    "attrs==26.1.0",
    "backoff==2.2.1",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "click==8.5.1",
    "colorama==0.4.6",
    "fqdn==1.6.0",
    "graphql-core==3.3.2",
    "h11==0.16.0",
    "harfile==0.6.0",
    "httpcore==1.0.9",
    "httpx==0.29.0",
    "hypothesis==6.170.27",
    "hypothesis-graphql==0.13.5",
    "hypothesis-jsonschema==0.23.1",
    "idna==3.20",
    "iniconfig==2.3.1",
    "isoduration==20.11.0",
    "jsonpointer==3.12",
    "jsonschema==4.26.0",
    "jsonschema-specifications==2025.9.1",
    "jsonschema_rs==0.60.3",
    "junit-xml==1.9",
    "markdown-it-py==4.3.0",
    "MarkupSafe==3.0.4",
    "mdurl==0.1.2",
    "packaging==26.4",
    "pluggy==1.7.0",
    "Pygments==2.21.0",
    "pyrate-limiter==4.6.0",
    "pytest==8.4.2",
    "pytest-subtests==0.14.2",
    "python-dateutil==4.0.0",
    "PyYAML==6.0.4",
    "referencing==0.37.0",
    "requests==2.34.2",
    "rfc3339-validator==0.1.4",
    "rfc3987==1.3.8",
    "rich==15.0.0",
    "rpds-py==2026.9.1",
    "six==1.17.0",
    "sortedcontainers==2.4.0",
    "starlette==1.10.0",
    "starlette-testclient==0.4.1",
    "typing_extensions==4.16.0",
    "tzdata==2026.6",
    "uri-template==1.3.0",
    "urllib3==2.8.0",
    "webcolors==25.10.0",
    "Werkzeug==3.1.9",
];

/// The venv's `st` with the pinned schemathesis, or why not.
fn schemathesis() -> Result<PathBuf, String> {
    let python = common::sdk::pinned_venv(
        "schemathesis-venv",
        REQUIREMENTS,
        "import importlib.metadata as m, sys; sys.exit(0 if m.version('schemathesis') == '4.32.5' else 1)",
    )?;
    let st = python.with_file_name("st");
    if st.exists() {
        Ok(st)
    } else {
        Err(format!("{} is missing", st.display()))
    }
}

/// One `st run` against the server, in `dir` (where its configuration is written), with the
/// given headers and operation filter; returns whether it passed and what it printed.
fn run(st: &Path, dir: &Path, url: &str, headers: &[String], filter: &[&str]) -> (bool, String) {
    let examples = std::env::var("DATAPACT_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "40".into());
    let seed = std::env::var("DATAPACT_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261204".into());
    let mut cmd = Command::new(st);
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "160")
        .args(["run", &format!("{url}/openapi.json")])
        .args(["--checks", "all", "--max-examples", &examples, "--seed", &seed])
        // One worker: CPython 3.11's `ast.parse`, which Hypothesis calls to describe its
        // strategies, is not safe on two threads at once ("AST constructor recursion depth
        // mismatch"), and that fails the run as a schemathesis runtime error.
        .args(["--workers", "1", "--request-timeout", "30", "--no-shrink"])
        .args(["--suppress-health-check", "all"])
        .args(filter);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = cmd.output().expect("st runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Operations where a request can satisfy the schema and still be refused with 422, because
/// the rule relates two fields or the server's state, which JSON Schema cannot say: for each,
/// the rule. Every other operation must accept every schema-valid request (or answer 401, 403,
/// 404 or 409, schemathesis's defaults).
const SEMANTIC: &str = r#"
# `since` before `until`; a scoped caller's `org`/`tenant` must be its own.
[[operations]]
include-path = ["/v1/audit/entries", "/v1/audit/export"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# An index or tree size within the log as it is now.
[[operations]]
include-path = ["/v1/audit/proofs/inclusion", "/v1/audit/proofs/consistency"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# `from` not after `to`, at most 366 days; a product of the catalog.
[[operations]]
include-path = "/v1/tenants/{tenant}/usage"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Cedar policies must parse; `locked`, `policies` and `pii_recognizers` are set at
# organization level only; recognizer sets must be configured; an `If-Match` must name the
# stored version (412 otherwise).
[[operations]]
include-path = ["/v1/orgs/{org}/ai-settings", "/v1/tenants/{tenant}/ai-settings"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "412", "422"]

# A support grant expires in the future.
[[operations]]
include-path = "/v1/tenants/{tenant}/support-grants"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# A dataset's product, purpose, region, data kinds, tenants and minimization must fit the
# catalog and the caller's scope; a model's datasets must be ready and of its product,
# purpose and region, with matching digests (409 while a dataset is building).
[[operations]]
include-path = ["/v1/training/datasets", "/v1/training/models"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# Each role names the scope it needs (an organization, a tenant, a product), and what it
# names must exist.
[[operations]]
include-path = "/v1/keys"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_the_description_does_not_say() {
    let Some(st) = common::sdk::required(schemathesis(), "the API conformance test needs Python and schemathesis")
    else {
        return;
    };
    let (upstream, _seen) = mock_provider().await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("k");
    std::fs::write(&key_file, "sk-upstream").unwrap();
    let toml = provider_toml(
        "openai-eu",
        "third_party",
        &upstream,
        "eu",
        &["gpt-4o-mini", "text-embedding-3-small"],
        Some(&key_file),
    );
    let s = TestServer::start_in(&dir.path().join("data"), Config::parse(&toml, "t.toml").unwrap()).await;
    let org = s.org("enterprise", "eu").await;
    let oa = s.key(json!({"role": "org_admin", "org": org})).await;
    let tenant = s.tenant(&oa, &org, None).await;
    let svc = s.key(json!({"role": "service", "product": "ixp", "org": org})).await;
    // Real ids for the path parameters that name the organization and the tenant; the other
    // ids (keys, grants, records, ...) are generated, and must be answered 404 as documented.
    let work = dir.path().join("st");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join("schemathesis.toml"),
        format!("[parameters]\n\"path.org\" = \"{org}\"\n\"path.tenant\" = \"{tenant}\"\n{SEMANTIC}"),
    )
    .unwrap();

    let url = s.url.clone();
    let report = tokio::task::spawn_blocking(move || {
        let gateway = ["--include-path-regex", "^/v1/(chat/completions|embeddings|models)$"];
        let rest = ["--exclude-path-regex", "^/v1/(chat/completions|embeddings|models)$"];
        // The platform admin goes last: it may terminate the organization the others use.
        let runs = [
            (
                "service key on the AI trust layer",
                vec![
                    format!("Authorization: Bearer {svc}"),
                    format!("x-datapact-tenant: {tenant}"),
                ],
                gateway,
            ),
            ("organization admin", vec![format!("Authorization: Bearer {oa}")], rest),
            (
                "platform admin",
                vec![format!("Authorization: Bearer {}", common::ADMIN_KEY)],
                rest,
            ),
        ];
        let mut failed = Vec::new();
        for (who, headers, filter) in runs {
            let (ok, text) = run(&st, &work, &url, &headers, &filter);
            eprintln!("==== schemathesis as {who}\n{text}");
            if !ok {
                failed.push(who);
            }
        }
        failed
    })
    .await
    .unwrap();
    assert!(
        report.is_empty(),
        "schemathesis found failures as: {report:?} (output above)"
    );
    s.stop().await;
}
