//! Server configuration: a TOML file given with `--config`; keys it leaves out keep their defaults.

use std::path::Path;

use serde::Deserialize;

/// Settings read from the configuration file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Regions where tenants can live and data can be processed.
    pub regions: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            regions: vec!["eu".into(), "us".into()],
            max_body_bytes: 64 * 1024,
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
        for (i, r) in cfg.regions.iter().enumerate() {
            if !valid_region(r) {
                return Err(invalid(
                    regions_line,
                    "regions",
                    format!(
                        "invalid region `{r}`: use lowercase letters, digits and `-`, starting with a letter"
                    ),
                ));
            }
            if cfg.regions[..i].contains(r) {
                return Err(invalid(
                    regions_line,
                    "regions",
                    format!("region `{r}` is listed twice"),
                ));
            }
        }
        if cfg.max_body_bytes < 1024 {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("max_body_bytes"))
                .map_or(1, |i| i + 1);
            return Err(invalid(
                line,
                "max_body_bytes",
                "must be at least 1024".into(),
            ));
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
        let e = Config::parse("regions = []\n", "c.toml")
            .unwrap_err()
            .to_string();
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
}
