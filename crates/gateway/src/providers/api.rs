//! The interface every provider API implements, and what it produces.

use serde_json::Value;

use crate::config::{ProviderConfig, Secret};
use crate::error::GatewayError;
use crate::request::Endpoint;
use crate::sse::Item;

/// A request in one provider API's shape: where it goes, its headers, its JSON body.
pub struct Wire {
    /// The endpoint's URL.
    pub url: String,
    /// The headers the API needs (its key among them), and nothing else of the client's.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Value,
}

/// One provider API (OpenAI's, Azure OpenAI's, Anthropic's Messages…) behind the
/// chat-completions shape the gateway speaks: the request translated to it with
/// zero-retention settings where it has them, its answers and events translated back.
pub trait Api: Sync {
    /// `req` (chat-completions or embeddings shape, already checked and masked) for `provider`.
    fn request(
        &self,
        provider: &ProviderConfig,
        secret: Option<&Secret>,
        endpoint: Endpoint,
        model: &str,
        req: &Value,
        stream: bool,
    ) -> Result<Wire, GatewayError>;

    /// A whole answer in the endpoint's OpenAI shape; `None` when it is not this API's answer.
    fn answer(&self, v: Value) -> Option<Value> {
        Some(v)
    }

    /// A translator of this API's stream events into chat-completion chunks, when its events
    /// are not already those.
    fn stream(&self) -> Option<Box<dyn Translate>> {
        None
    }
}

/// Translates one API's server-sent events into chat-completion items as they arrive.
pub trait Translate: Send {
    /// The chat-completion items the event `kind` with `data` stands for.
    fn event(&mut self, kind: &str, data: &str) -> Vec<Item>;
}

/// The body of an OpenAI-shaped request (OpenAI and Azure OpenAI): the client's, with stored
/// completions turned off (both keep them only when asked: never) and, when streaming, usage
/// asked for.
pub fn openai_body(req: &Value, endpoint: Endpoint, stream: bool) -> Value {
    let mut body = req.clone();
    if endpoint == Endpoint::Chat {
        body["store"] = Value::Bool(false);
        if stream {
            ask_for_usage(&mut body);
        }
    }
    body
}

/// Sets `stream_options.include_usage`, whatever `stream_options` held (the pipeline has
/// already refused one that is not an object): usage is needed for accounting even when the
/// client did not ask for it; the extra chunk is dropped on the way back.
pub fn ask_for_usage(body: &mut Value) {
    if let Some(o) = body.as_object_mut() {
        let opts = o
            .entry("stream_options")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        match opts.as_object_mut() {
            Some(m) => {
                m.insert("include_usage".into(), Value::Bool(true));
            }
            None => *opts = serde_json::json!({"include_usage": true}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_asked_for_whatever_stream_options_held() {
        for held in [
            serde_json::json!(null),
            serde_json::json!("x"),
            serde_json::json!({"a": 1}),
        ] {
            let mut body = serde_json::json!({"stream_options": held});
            ask_for_usage(&mut body);
            assert_eq!(body["stream_options"]["include_usage"], true);
        }
        let mut body = serde_json::json!({});
        ask_for_usage(&mut body);
        assert_eq!(body["stream_options"]["include_usage"], true);
    }
}
