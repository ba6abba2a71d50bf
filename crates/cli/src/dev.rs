//! `datapact serve --dev`: datapact to try out in a minute. A throwaway data directory, a demo
//! organization with a tenant and keys, and a mock LLM provider in this process, so that the
//! README's tour, the AI trust layer with the official `openai` SDK included, works as soon as
//! it starts. It prints the keys as lines a shell can paste, so it serves loopback only.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use datapact_server::devmock::{self, MockOptions};
use datapact_server::{Bootstrap, Config, ServerOptions};
use datapact_vault::MasterSecret;
use serde_json::{Value, json};

use crate::client::Client;

/// The demo's product: one that integrates with generative AI services.
const PRODUCT: &str = "ixp";

/// Runs the server in development mode until it is stopped; the data goes with it.
pub async fn serve(listen: SocketAddr, catalog: datapact_governance::Catalog) -> Result<ExitCode> {
    if !listen.ip().is_loopback() {
        bail!(
            "--dev serves on a loopback address only (it prints its keys and keeps no data); got {listen}. \
             Leave out --dev to serve on {listen}"
        );
    }
    let tmp = tempfile::Builder::new()
        .prefix("datapact-dev-")
        .tempdir()
        .context("cannot make a throwaway data directory")?;
    let data_dir = tmp.path().join("data");

    // The mock provider, on a loopback port of its own.
    let mock_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen for the mock LLM provider")?;
    let mock_url = format!("http://{}/v1", mock_listener.local_addr()?);
    let mock = devmock::spawn(
        mock_listener,
        &MockOptions {
            echo: true,
            keep_received: 20,
            ..MockOptions::default()
        },
    );
    let key_file = tmp.path().join("mock-provider.key");
    std::fs::write(&key_file, "sk-dev-mock-provider\n").context("cannot write the mock provider's key")?;
    // Checkpoints every second, so a proof of what was just done is there at once.
    let toml = format!(
        "[audit]\ncheckpoint_interval_seconds = 1\n\n[[providers]]\nname = \"mock\"\nkind = \"third_party\"\napi = \"openai\"\nbase_url = \"{mock_url}\"\n\
         region = \"eu\"\nmodels = [\"gpt-4o-mini\", \"text-embedding-3-small\"]\napi_key_file = \"{}\"\n",
        key_file.display()
    );
    let config = Config::parse(&toml, "--dev").map_err(|e| anyhow::anyhow!("{e}"))?;

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let started = datapact_server::open(ServerOptions {
        data_dir: data_dir.clone(),
        config,
        catalog,
        admin_key: None,
        master: MasterSecret::KeyFile(tmp.path().join("master.key")),
    })
    .await?;
    let Bootstrap::Generated { secret: admin, .. } = started.bootstrap else {
        bail!("a fresh data directory should have made the first key");
    };
    let server = tokio::spawn(datapact_server::serve(
        listener,
        started.state,
        crate::shutdown_signal(),
    ));

    let url = format!("http://{addr}");
    let demo = seed(&url, &admin).await.context("cannot make the demo organization")?;
    println!(
        "WARNING: development mode. The data lives in {} and is deleted when this process stops;\n\
         the keys below are printed for convenience; a mock LLM provider (`mock`, region eu) answers in\n\
         this process. Never use it for real data.\n",
        data_dir.display()
    );
    println!("export DATAPACT_URL={url}");
    println!(
        "export DATAPACT_KEY={}   # org_admin of the demo organization",
        demo.org_admin
    );
    println!("export DATAPACT_ORG={}", demo.org);
    println!("export DATAPACT_TENANT={}", demo.tenant);
    println!(
        "export DATAPACT_SERVICE_KEY={}   # the `{PRODUCT}` product's key for the demo tenant",
        demo.service
    );
    println!("export DATAPACT_ADMIN_KEY={admin}   # platform_admin (the vendor)");
    println!("export OPENAI_BASE_URL={url}/v1");
    println!("export OPENAI_API_KEY={}", demo.service);
    println!("export DATAPACT_MOCK_URL={mock_url}   # GET $DATAPACT_MOCK_URL/dev/received: what the provider saw");
    println!("\ndatapact (development mode) listening on {url}");

    let served = server.await.context("the server task failed")?;
    mock.abort();
    served.context("server failed")?;
    drop(tmp);
    Ok(ExitCode::SUCCESS)
}

/// The demo's ids and keys.
struct Demo {
    org: String,
    tenant: String,
    org_admin: String,
    service: String,
}

/// Makes the demo organization (enterprise plan, eu), its tenant and keys over the API, as a
/// vendor and a customer would.
async fn seed(url: &str, admin: &str) -> Result<Demo> {
    let vendor = Client::new(url, Some(admin.to_string()))?;
    let field = |v: &Value, k: &str| -> Result<String> {
        v[k].as_str()
            .map(str::to_string)
            .with_context(|| format!("the answer has no `{k}`: {v}"))
    };
    let org = field(
        &vendor
            .post(
                "/v1/orgs",
                &json!({"name": "Demo Co", "plan": "enterprise", "region": "eu"}),
            )
            .await?,
        "id",
    )?;
    let org_admin = field(
        &vendor
            .post(
                "/v1/keys",
                &json!({"role": "org_admin", "org": org, "label": "dev demo admin"}),
            )
            .await?,
        "key",
    )?;
    let customer = Client::new(url, Some(org_admin.clone()))?;
    let tenant = field(
        &customer
            .post(&format!("/v1/orgs/{org}/tenants"), &json!({"name": "demo"}))
            .await?,
        "id",
    )?;
    let service = field(
        &vendor
            .post(
                "/v1/keys",
                &json!({"role": "service", "product": PRODUCT, "org": org, "tenant": tenant, "label": "dev demo product"}),
            )
            .await?,
        "key",
    )?;
    Ok(Demo {
        org,
        tenant,
        org_admin,
        service,
    })
}
