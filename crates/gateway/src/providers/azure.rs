//! Azure OpenAI: OpenAI's request shape sent to a deployment, with an `api-version` and an
//! `api-key` header.

use serde_json::Value;

use super::api::{Api, Wire, openai_body};
use crate::config::{ProviderConfig, Secret};
use crate::error::GatewayError;
use crate::request::Endpoint;

/// Azure OpenAI's deployments API.
pub struct AzureOpenAi;

impl Api for AzureOpenAi {
    fn request(
        &self,
        provider: &ProviderConfig,
        secret: Option<&Secret>,
        endpoint: Endpoint,
        model: &str,
        req: &Value,
        stream: bool,
    ) -> Result<Wire, GatewayError> {
        let body = openai_body(req, endpoint, stream);
        let base = provider.base_url.trim_end_matches('/');
        Ok(Wire {
            url: format!(
                "{base}/openai/deployments/{}/{}?api-version={}",
                provider.deployment(model),
                endpoint.path(),
                provider.api_version.as_deref().unwrap_or_default()
            ),
            headers: secret
                .map(|s| ("api-key", s.expose().to_string()))
                .into_iter()
                .collect(),
            body,
        })
    }
}
