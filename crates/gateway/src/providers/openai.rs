//! OpenAI's API, and every server that speaks it (vLLM, Ollama, …): the request as the client
//! sent it, with OpenAI's stored completions turned off.

use serde_json::Value;

use super::api::{Api, Wire, openai_body};
use crate::config::{ProviderConfig, Secret};
use crate::error::GatewayError;
use crate::request::Endpoint;

/// OpenAI's chat-completions and embeddings API.
pub struct OpenAi;

impl Api for OpenAi {
    fn request(
        &self,
        provider: &ProviderConfig,
        secret: Option<&Secret>,
        endpoint: Endpoint,
        _model: &str,
        req: &Value,
        stream: bool,
    ) -> Result<Wire, GatewayError> {
        let body = openai_body(req, endpoint, stream);
        let base = provider.base_url.trim_end_matches('/');
        Ok(Wire {
            url: format!("{base}/{}", endpoint.path()),
            headers: secret
                .map(|s| ("authorization", format!("Bearer {}", s.expose())))
                .into_iter()
                .collect(),
            body,
        })
    }
}
