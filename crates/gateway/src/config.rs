//! The gateway's sections of the server's configuration file: `[[providers]]`, `[gateway]`
//! and `[pii]`. The server reads the whole file and checks these sections against the rest
//! (regions, products); the gateway takes them as they are.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// `[pii]`: named sets of custom recognizers (each a TOML file in `datapact pii`'s format:
/// `[[recognizers]]` with `entity` and `pattern` or `deny_list`), the sets every call uses,
/// and those an organization's AI settings may add (`pii_recognizers`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PiiConfig {
    /// Set name → recognizer file.
    pub recognizers: BTreeMap<String, PathBuf>,
    /// Sets applied to every call of every organization.
    pub default: Vec<String>,
}

/// Whose model a provider runs: a third party's (calls are `genai` processing) or the
/// customer's own (`service` processing).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// A third party's model: every call is sending data to a generative AI service.
    ThirdParty,
    /// The customer's own model: calls are part of providing the service.
    SelfHosted,
}

/// The API a provider speaks.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProviderApi {
    /// OpenAI's chat-completions API (OpenAI, vLLM, Ollama, any compatible server).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
    /// Azure OpenAI: deployments and an `api-version`.
    AzureOpenai,
}

/// `[[providers]]`: one LLM provider. This section is a contract: a deployment's file keeps
/// working across versions. The secret itself never sits in the file.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Unique name (`openai-eu`), used in model policies as `name/model`.
    pub name: String,
    /// `third_party` or `self_hosted`.
    pub kind: ProviderKind,
    /// `openai`, `anthropic` or `azure_openai`.
    pub api: ProviderApi,
    /// Where its API lives (`https://api.openai.com/v1`).
    pub base_url: String,
    /// The region where it processes data; one of `regions`.
    pub region: String,
    /// The models it serves.
    pub models: Vec<String>,
    /// The environment variable holding its API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// A file holding its API key (e.g. a mounted secret), instead of `api_key_env`.
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// Azure OpenAI: the `api-version` query parameter.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Azure OpenAI: the deployment serving each model (default: the model's name).
    #[serde(default)]
    pub deployments: BTreeMap<String, String>,
    /// Milliseconds to wait for a connection.
    #[serde(default = "defaults::connect_ms")]
    pub connect_timeout_ms: u64,
    /// Milliseconds to wait for the answer to begin (its headers; a non-streamed answer's
    /// headers come with the whole completion).
    #[serde(default = "defaults::first_byte_ms")]
    pub first_byte_timeout_ms: u64,
    /// Milliseconds a streamed answer may stay silent between chunks.
    #[serde(default = "defaults::idle_ms")]
    pub idle_timeout_ms: u64,
    /// Milliseconds a whole call may take, streamed or not.
    #[serde(default = "defaults::total_ms")]
    pub total_timeout_ms: u64,
    /// Retries after a connection error, a 429 or a 5xx, before the next provider is tried.
    #[serde(default = "defaults::max_retries")]
    pub max_retries: u32,
    /// Consecutive failed calls after which the provider is skipped for `breaker_cooldown_ms`.
    #[serde(default = "defaults::breaker_failures")]
    pub breaker_failures: u32,
    /// How long an open circuit skips the provider before one trial call.
    #[serde(default = "defaults::breaker_cooldown_ms")]
    pub breaker_cooldown_ms: u64,
}

/// Defaults of the provider settings the contract leaves optional.
mod defaults {
    pub fn connect_ms() -> u64 {
        5_000
    }
    pub fn first_byte_ms() -> u64 {
        120_000
    }
    pub fn idle_ms() -> u64 {
        60_000
    }
    pub fn total_ms() -> u64 {
        600_000
    }
    pub fn max_retries() -> u32 {
        2
    }
    pub fn breaker_failures() -> u32 {
        5
    }
    pub fn breaker_cooldown_ms() -> u64 {
        30_000
    }
}

/// `[gateway]`: limits of the AI trust layer that protect the service as a whole.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Requests per second each tenant may make (GCRA); none means unlimited.
    pub tenant_requests_per_second: Option<u32>,
    /// Requests a tenant may make at once above the steady rate (default: one second's worth).
    pub tenant_burst: Option<u32>,
    /// Token budgets, each for every tenant's use of a product (`[[gateway.budgets]]`).
    pub budgets: Vec<BudgetConfig>,
    /// `durable` (default): a call's audit entry is on disk before its answer is returned.
    /// `async`: the entry is appended while the answer goes out, which takes the log's fsync
    /// off the call's path; a crash can then lose the entries of the last moments.
    pub audit: GatewayAudit,
    /// Calls the gateway works on at once (default 256); one more is answered 503
    /// `server_overloaded` with `Retry-After`, so a burst cannot queue without bound.
    pub max_concurrent_calls: Option<u32>,
    /// Under a token budget, the completion tokens a chat call that sets no
    /// `max_completion_tokens`/`max_tokens` may produce (default 16384): the gateway puts this
    /// cap, or what the budget has left if less, in the request, so the call's worst case is
    /// known before it is sent.
    pub budget_completion_tokens: Option<u32>,
}

impl GatewayConfig {
    /// Calls at once when `max_concurrent_calls` is not set.
    pub const DEFAULT_MAX_CONCURRENT_CALLS: u32 = 256;
    /// Completion tokens a call under a budget may produce when it sets no cap itself.
    pub const DEFAULT_BUDGET_COMPLETION_TOKENS: u32 = 16_384;
}

/// When a gateway call's audit entry must be durable.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GatewayAudit {
    /// Before the answer is returned.
    #[default]
    Durable,
    /// Appended alongside the answer.
    Async,
}

/// `[[gateway.budgets]]`: at most `tokens` tokens per `period` for each tenant's use of
/// `product` (`*`: each product).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// A product id, or `*` for each product.
    pub product: String,
    /// Tokens (prompt and completion) per period.
    pub tokens: u64,
    /// `day` or `month` (UTC).
    pub period: BudgetPeriod,
}

/// The period a token budget covers, in UTC.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetPeriod {
    /// A calendar day.
    Day,
    /// A calendar month.
    Month,
}

/// An API key read at start-up; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The key, for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Why a provider's credential could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The environment variable is not set (or not UTF-8).
    #[error("provider `{provider}`: environment variable {var} is not set")]
    MissingEnv {
        /// The provider.
        provider: String,
        /// The variable's name.
        var: String,
    },
    /// The file could not be read.
    #[error("provider `{provider}`: cannot read api_key_file {path}: {source}")]
    File {
        /// The provider.
        provider: String,
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The source holds no key.
    #[error("provider `{provider}`: its API key is empty")]
    Empty {
        /// The provider.
        provider: String,
    },
}

impl ProviderConfig {
    /// Reads the provider's API key from its environment variable or file (`None` when it
    /// needs none, as a local self-hosted server may).
    pub fn credential(&self) -> Result<Option<Secret>, CredentialError> {
        let provider = || self.name.clone();
        let key = if let Some(var) = &self.api_key_env {
            std::env::var(var).map_err(|_| CredentialError::MissingEnv {
                provider: provider(),
                var: var.clone(),
            })?
        } else if let Some(path) = &self.api_key_file {
            std::fs::read_to_string(path).map_err(|source| CredentialError::File {
                provider: provider(),
                path: path.display().to_string(),
                source,
            })?
        } else {
            return Ok(None);
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(CredentialError::Empty { provider: provider() });
        }
        Ok(Some(Secret(key.to_string())))
    }

    /// The deployment that serves `model` (Azure OpenAI).
    pub fn deployment<'a>(&'a self, model: &'a str) -> &'a str {
        self.deployments.get(model).map_or(model, String::as_str)
    }
}
