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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            regions: vec!["eu".into(), "us".into()],
            max_body_bytes: 64 * 1024,
            vault: VaultConfig::default(),
            lifecycle: LifecycleConfig::default(),
            audit: AuditConfig::default(),
        }
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
    /// How far back `GET /v1/audit/entries` looks when the query names no time, in days.
    pub default_window_days: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            origin: "datapact.local/audit".into(),
            checkpoint_interval_seconds: 10,
            default_window_days: 60,
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
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            max_content_bytes: 1024 * 1024,
            max_batch_records: 1000,
            max_batch_bytes: 32 * 1024 * 1024,
            region_paths: BTreeMap::new(),
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
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            termination_grace_days: 30,
            tick_millis: 1000,
            sweep_interval_seconds: 3600,
            job_batch: 2000,
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

#[cfg(test)]
mod tests {
    use super::*;

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
