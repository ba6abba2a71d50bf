//! `datapact`: runs the server (`serve`) and talks to a running one (everything else).
#![forbid(unsafe_code)]

mod audit_cmds;
mod client;
mod dev;
mod gov_cmds;
mod migrate_cmd;
mod mining_cmds;
mod output;
mod pii_cmds;
mod training_cmds;
mod vault_cmds;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// The gateway's calls allocate and free many short-lived buffers across threads; glibc's
/// allocator spent about a sixth of the server's CPU on them (consolidating freed chunks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use datapact_governance::catalog::DEFAULT_CATALOG_NAME;
use datapact_governance::{Catalog, Product};
use datapact_server::{Bootstrap, Config, ServerOptions};
use datapact_vault::{MasterOutcome, MasterSecret};
use serde_json::Value;

use crate::client::Client;
use crate::gov_cmds::{
    AiSettingsCmd, DecideArgs, GrantCmd, KeyCmd, OptOutCmd, OrgCmd, TenantCmd, ai_settings, grant, key, opt_out, org,
    tenant, usage,
};
pub(crate) use crate::gov_cmds::{DataKindArg, PurposeArg};
pub(crate) use crate::output::enum_name;

#[derive(Parser)]
#[command(
    name = "datapact",
    version,
    about = "Customer-data promises as machinery: catalog, terms, purpose decisions."
)]
struct Cli {
    #[command(flatten)]
    remote: Remote,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
pub(crate) struct Remote {
    /// Server URL.
    #[arg(long, env = "DATAPACT_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub(crate) url: String,
    /// API key.
    #[arg(long, env = "DATAPACT_KEY", hide_env_values = true, global = true)]
    pub(crate) key: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Print only this field of the answer (`id`, `key`, or a dotted path such as
    /// `certificate.statement.certificate_id`), one line per item of a list: for shells,
    /// `ORG=$(datapact org create ... -o id)`.
    #[arg(
        long = "only",
        short = 'o',
        value_name = "FIELD",
        global = true,
        conflicts_with = "json"
    )]
    pub(crate) only: Option<String>,
    /// Print only the id of what the answer describes (`-o id`).
    #[arg(long, short = 'q', global = true, conflicts_with_all = ["json", "only"])]
    pub(crate) quiet: bool,
}

impl Remote {
    /// The one field to print, if only one is asked for.
    pub(crate) fn field(&self) -> Option<&str> {
        if self.quiet { Some("id") } else { self.only.as_deref() }
    }
}

/// The value at a dotted `path` of `v`, as a line of text.
fn field_text(v: &Value, path: &str) -> Result<String> {
    let found = path.split('.').try_fold(v, |v, k| v.get(k));
    match found {
        None | Some(Value::Null) => bail!("the answer has no field `{path}`"),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// The product catalog.
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Organizations and their terms.
    #[command(subcommand)]
    Org(OrgCmd),
    /// Tenants.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Training opt-outs.
    #[command(subcommand, name = "opt-out")]
    OptOut(OptOutCmd),
    /// AI trust-layer settings.
    #[command(subcommand, name = "ai-settings")]
    AiSettings(AiSettingsCmd),
    /// Support access grants.
    #[command(subcommand, name = "support-grant")]
    SupportGrant(GrantCmd),
    /// Ask the decision point. Exits 0 when allowed, 3 when denied.
    Decide(DecideArgs),
    /// API keys.
    #[command(subcommand, name = "api-key")]
    Key(KeyCmd),
    /// Customer records in the vault.
    #[command(subcommand)]
    Record(vault_cmds::RecordCmd),
    /// Export a tenant's records as NDJSON (with a progress bar).
    Export(vault_cmds::ExportArgs),
    /// Purge a tenant: destroy its data keys and get a signed deletion certificate.
    Purge(vault_cmds::PurgeArgs),
    /// Verify a deletion certificate offline.
    #[command(name = "verify-certificate")]
    VerifyCertificate(vault_cmds::VerifyArgs),
    /// A tenant's data keys: list versions, rotate.
    #[command(subcommand)]
    Keys(vault_cmds::DataKeyCmd),
    /// A tenant's retention rules.
    #[command(subcommand)]
    Retention(vault_cmds::RetentionCmd),
    /// Find and mask personal data in text or JSON lines, in process (no server needed).
    #[command(subcommand)]
    Pii(pii_cmds::PiiCmd),
    /// Communications Mining: datasets of messages, labels, models, queues, streams.
    #[command(subcommand)]
    Mining(mining_cmds::MiningCmd),
    /// Training datasets, models and their unlearning debt.
    #[command(subcommand)]
    Training(training_cmds::TrainingCmd),
    /// The tamper-evident audit log: verify, query, export, proofs.
    #[command(subcommand)]
    Audit(audit_cmds::AuditCmd),
    /// LLM usage through the AI trust layer: tokens by day, product and model, and budgets.
    Usage(UsageArgs),
    /// Show the key in use.
    Whoami,
    /// Move an embedded deployment (SQLite) to PostgreSQL, audit log included, and verify it.
    Migrate(migrate_cmd::MigrateArgs),
}

#[derive(Args)]
struct UsageArgs {
    /// Tenant id (ten_…).
    #[arg(long)]
    tenant: String,
    /// First day, YYYY-MM-DD (default: the first of this month).
    #[arg(long)]
    from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today).
    #[arg(long)]
    to: Option<String>,
    /// Only this product.
    #[arg(long)]
    product: Option<String>,
}

#[derive(Copy, Clone, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "DATAPACT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Data directory (embedded SQLite lives here).
    #[arg(long, env = "DATAPACT_DATA_DIR", default_value = "./datapact-data")]
    data_dir: PathBuf,
    /// Configuration file (TOML); keys it leaves out keep their defaults.
    #[arg(long, env = "DATAPACT_CONFIG")]
    config: Option<PathBuf>,
    /// Product catalog (TOML); the built-in catalog when absent.
    #[arg(long, env = "DATAPACT_CATALOG")]
    catalog: Option<PathBuf>,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Development mode: a throwaway data directory, a demo organization, tenant and keys, and
    /// a mock LLM provider in this process; prints `export` lines to paste. Loopback only.
    #[arg(long, conflicts_with_all = ["data_dir", "config"])]
    dev: bool,
}

#[derive(Subcommand)]
enum CatalogCmd {
    /// Print the catalog as the vendor's page shows it (✅ / ❌ / N/A).
    Show {
        /// Read a local catalog file instead of asking the server.
        #[arg(long, conflicts_with = "builtin")]
        file: Option<PathBuf>,
        /// Show the catalog built into this binary.
        #[arg(long)]
        builtin: bool,
    },
    /// Validate a catalog file.
    Check {
        /// The file.
        file: PathBuf,
    },
}

/// Exit code of `decide` when the answer is "denied".
const EXIT_DENIED: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", render_error(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each once: libraries often repeat their cause in their message.
fn render_error(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if !text.contains(&c) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&c);
        }
    }
    text
}

fn load_catalog(path: Option<&PathBuf>) -> Result<Catalog> {
    match path {
        None => Catalog::builtin().map_err(|e| anyhow!("{e}")),
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read catalog {}", p.display()))?;
            Catalog::parse(&text, &p.display().to_string()).map_err(|e| anyhow!("invalid catalog: {e}"))
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DATAPACT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

async fn serve(args: ServeArgs) -> Result<ExitCode> {
    init_logging(args.log_format);
    if args.dev {
        return dev::serve(args.listen, load_catalog(args.catalog.as_ref())?).await;
    }
    let config = match &args.config {
        Some(p) => Config::from_file(p).map_err(|e| anyhow!("invalid configuration: {e}"))?,
        None => Config::default(),
    };
    let catalog = load_catalog(args.catalog.as_ref())?;
    let admin_key = std::env::var("DATAPACT_ADMIN_KEY").ok();
    let master = match std::env::var("DATAPACT_MASTER_PASSPHRASE") {
        Ok(p) if !p.is_empty() => MasterSecret::Passphrase(zeroize::Zeroizing::new(p)),
        _ => MasterSecret::KeyFile(
            std::env::var_os("DATAPACT_MASTER_KEY_FILE")
                .map(PathBuf::from)
                .unwrap_or_else(|| args.data_dir.join("master.key")),
        ),
    };
    let opts = ServerOptions {
        data_dir: args.data_dir.clone(),
        config,
        catalog,
        admin_key,
        master,
    };
    // Bind first: a busy port must fail before a one-time admin key is printed.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let started = datapact_server::open(opts).await?;
    let (state, bootstrap) = (started.state, started.bootstrap);
    if let MasterOutcome::GeneratedKeyFile(path) = &started.master {
        let banner = "!".repeat(78);
        eprintln!(
            "{banner}\nWARNING: generated a new master key file: {}\n\
             Every data key in this deployment is sealed under it. Back it up NOW, separately from the data \
             directory:\nwithout it the data cannot be decrypted, and with the data it defeats the encryption.\n\
             For production, set DATAPACT_MASTER_PASSPHRASE instead, or keep the key file on a separate volume \
             (DATAPACT_MASTER_KEY_FILE).\n{banner}",
            path.display()
        );
        tracing::warn!(path = %path.display(), "generated a new master key file; back it up separately");
    }
    match bootstrap {
        Bootstrap::Existing { env_key_ignored: false } => {}
        Bootstrap::Existing { env_key_ignored: true } => eprintln!(
            "note: DATAPACT_ADMIN_KEY is set but API keys already exist (in the data directory, or the deployment's \
             database), so it was not registered; it only bootstraps an empty deployment"
        ),
        Bootstrap::FromEnv { id } => {
            tracing::info!(key = %id, "registered DATAPACT_ADMIN_KEY as the first platform_admin key")
        }
        Bootstrap::Generated { id, secret } => {
            println!(
                "Created the first platform_admin key ({id}). It is shown only this once; store it now:\n\n    {secret}\n"
            );
        }
    }
    let addr = listener.local_addr()?;
    let (orgs, tenants) = state.registry.counts();
    tracing::info!(%addr, data_dir = %args.data_dir.display(), orgs, tenants, products = state.registry.catalog().products().len(), "datapact is serving");
    println!("datapact listening on http://{addr}");
    datapact_server::serve(listener, state, shutdown_signal())
        .await
        .context("server failed")?;
    Ok(ExitCode::SUCCESS)
}

/// Writes a line to stdout; a reader that went away (`| head`) is not an error worth a panic.
pub(crate) fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.write_all(b"\n"))
        .and_then(|_| stdout.flush());
}

pub(crate) fn print(remote: &Remote, v: &Value, render: impl FnOnce(&Value) -> String) -> Result<ExitCode> {
    if let Some(field) = remote.field() {
        // A list (bare, or a page's `items`) prints one line per item.
        let items = v.as_array().or_else(|| v.get("items").and_then(Value::as_array));
        let lines = match items {
            Some(items) => items.iter().map(|i| field_text(i, field)).collect::<Result<Vec<_>>>()?,
            None => vec![field_text(v, field)?],
        };
        out(&lines.join("\n"));
    } else if remote.json {
        out(&serde_json::to_string_pretty(v)?);
    } else {
        out(&render(v));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn client(r: &Remote) -> Result<Client> {
    Client::new(&r.url, r.key.clone())
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let remote = &cli.remote;
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(args) => migrate_cmd::run(args).await,
        Command::Catalog(CatalogCmd::Check { file }) => {
            let c = load_catalog(Some(&file))?;
            let n = c.products().len();
            out(&format!(
                "{}: {n} product{}, valid",
                file.display(),
                if n == 1 { "" } else { "s" }
            ));
            Ok(ExitCode::SUCCESS)
        }
        Command::Catalog(CatalogCmd::Show { file, builtin }) => {
            let products: Vec<Product> = if builtin || file.is_some() {
                let c = load_catalog(file.as_ref())?;
                if builtin {
                    eprintln!("{DEFAULT_CATALOG_NAME}");
                }
                c.products().to_vec()
            } else {
                let v = client(remote)?.get("/v1/catalog/products").await?;
                if remote.json {
                    return print(remote, &v, |_| String::new());
                }
                serde_json::from_value(v).context("unexpected catalog answer")?
            };
            if remote.json {
                out(&serde_json::to_string_pretty(&products)?);
            } else {
                out(&output::catalog(&products));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Org(cmd) => org(cmd, remote).await,
        Command::Tenant(cmd) => tenant(cmd, remote).await,
        Command::OptOut(cmd) => opt_out(cmd, remote).await,
        Command::AiSettings(cmd) => ai_settings(cmd, remote).await,
        Command::SupportGrant(cmd) => grant(cmd, remote).await,
        Command::Decide(a) => gov_cmds::decide(a, remote).await,
        Command::Key(cmd) => key(cmd, remote).await,
        Command::Record(cmd) => vault_cmds::record(cmd, remote).await,
        Command::Export(a) => vault_cmds::export(a, remote).await,
        Command::Purge(a) => vault_cmds::purge(a, remote).await,
        Command::VerifyCertificate(a) => vault_cmds::verify(a),
        Command::Keys(cmd) => vault_cmds::data_keys(cmd, remote).await,
        Command::Retention(cmd) => vault_cmds::retention(cmd, remote).await,
        Command::Audit(cmd) => audit_cmds::run(cmd, remote).await,
        Command::Pii(cmd) => pii_cmds::run(cmd),
        Command::Training(cmd) => training_cmds::run(cmd, remote).await,
        Command::Mining(cmd) => mining_cmds::run(cmd, remote).await,
        Command::Usage(a) => usage(a, remote).await,
        Command::Whoami => {
            let v = client(remote)?.get("/v1/me").await?;
            print(remote, &v, |v| output::object(v).to_string())
        }
    }
}
