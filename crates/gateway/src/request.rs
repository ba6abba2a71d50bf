//! The request as the trust layer reads it: the two endpoints, the OpenAI parameters each
//! forwards (everything else is refused), a typed view of a request ([`Request`]), and every
//! string a request would send, for the PII scan.

use super::error::{GatewayError, bad_request};

/// Largest chat request accepted, in bytes.
pub const MAX_CHAT_BYTES: usize = 4 * 1024 * 1024;

/// The request fields forwarded to a provider, per endpoint: OpenAI's parameters. A field
/// not listed is refused (`unsupported_parameter`) rather than passed on unexamined, so a
/// field an API adds later cannot carry personal data past the scan.
pub(crate) const CHAT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "n",
    "stop",
    "max_tokens",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "user",
    "response_format",
    "seed",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "functions",
    "function_call",
    "metadata",
    "store",
    "prediction",
    "reasoning_effort",
    "modalities",
    "service_tier",
    "verbosity",
];

pub(crate) const EMBEDDING_FIELDS: &[&str] = &["model", "input", "encoding_format", "dimensions", "user"];

/// The chat parameters forwarded (the rest are refused), for the API description.
pub fn chat_fields() -> &'static [&'static str] {
    CHAT_FIELDS
}

/// The embedding parameters forwarded, for the API description.
pub fn embedding_fields() -> &'static [&'static str] {
    EMBEDDING_FIELDS
}

/// Keys whose string values are identifiers or enumerations, never free text: not scanned
/// (masking one would break the call). `name` is one only under `function`: a message's
/// `name` is a participant's and is scanned.
pub(crate) const NOT_TEXT: &[&str] = &[
    "model",
    "role",
    "type",
    "id",
    "tool_call_id",
    "tool_choice",
    "reasoning_effort",
    "service_tier",
    "encoding_format",
    "finish_reason",
    "detail",
    "format",
    "verbosity",
];

/// Every string a request sends to the provider, except identifiers and enumerations: each
/// message part, participant names, tool and function descriptions and schemas, arguments
/// of earlier calls (legacy `function_call` too), `user`, `metadata`, `prediction`, stops.
pub(crate) fn outgoing_texts(req: &mut serde_json::Value) -> Vec<&mut String> {
    pub(crate) fn walk<'a>(v: &'a mut serde_json::Value, key: &str, parent: &str, out: &mut Vec<&'a mut String>) {
        match v {
            serde_json::Value::String(s) => {
                let id = NOT_TEXT.contains(&key) || (key == "name" && parent == "function");
                if !id {
                    out.push(s);
                }
            }
            serde_json::Value::Array(items) => {
                for i in items {
                    walk(i, key, parent, out);
                }
            }
            serde_json::Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    walk(child, k, key, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(req, "", "", &mut out);
    out
}

/// The model a request body names (`model` is required by both endpoints), read before
/// anything else so that a refusal of the rest can be recorded with it.
pub(crate) fn model_of(body: &serde_json::Value) -> Result<String, GatewayError> {
    body.get("model")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad_request("missing_model", Some("model"), "`model` is required"))
}

/// A request parsed once: the parameters the pipeline decides on, typed, and the body itself,
/// every field of which is one of OpenAI's parameters for the endpoint (checked), kept whole
/// to be masked and passed through.
#[derive(Debug, Clone)]
pub struct Request {
    /// Which endpoint it is for.
    pub endpoint: Endpoint,
    /// The model asked for.
    pub model: String,
    /// A streamed answer (chat only).
    pub stream: bool,
    /// The client asked for the usage chunk of a stream (`stream_options.include_usage`).
    pub include_usage: bool,
    body: serde_json::Value,
}

impl Request {
    /// The request `body` names `model` for `endpoint`, if it is one of that endpoint's.
    pub(crate) fn new(endpoint: Endpoint, model: String, body: serde_json::Value) -> Result<Self, GatewayError> {
        endpoint.check(&body)?;
        let stream =
            endpoint == Endpoint::Chat && body.get("stream").and_then(serde_json::Value::as_bool) == Some(true);
        let include_usage = body
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(serde_json::Value::as_bool)
            == Some(true);
        Ok(Self {
            endpoint,
            model,
            stream,
            include_usage,
            body,
        })
    }

    /// The body as it will be sent (masked, once the pipeline has masked it).
    pub fn body(&self) -> &serde_json::Value {
        &self.body
    }

    /// The texts the request sends to the provider, for scanning and masking.
    pub(crate) fn texts(&mut self) -> Vec<&mut String> {
        self.endpoint.texts(&mut self.body)
    }

    /// The completion cap the client set itself (the lower of `max_completion_tokens` and
    /// `max_tokens`), if any.
    pub fn completion_cap(&self) -> Option<u64> {
        ["max_completion_tokens", "max_tokens"]
            .iter()
            .filter_map(|k| self.body.get(*k).and_then(serde_json::Value::as_u64))
            .min()
    }

    /// Caps the completion at `cap` tokens: lowers the client's own caps, or adds
    /// `max_completion_tokens` when it set none (chat only).
    pub(crate) fn cap_completion(&mut self, cap: u64) {
        let (Endpoint::Chat, Some(obj)) = (self.endpoint, self.body.as_object_mut()) else {
            return;
        };
        let mut set = false;
        for k in ["max_completion_tokens", "max_tokens"] {
            if let Some(v) = obj.get_mut(k) {
                *v = serde_json::json!(v.as_u64().map_or(cap, |n| n.min(cap)));
                set = true;
            }
        }
        if !set {
            obj.insert("max_completion_tokens".into(), serde_json::json!(cap));
        }
    }
}

/// The OpenAI endpoints the trust layer serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/chat/completions`: `messages` in, `choices` out.
    Chat,
    /// `/embeddings`: `input` in, `data` out.
    Embeddings,
}

impl Endpoint {
    pub(crate) fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat/completions",
            Endpoint::Embeddings => "embeddings",
        }
    }

    /// The texts a request sends to the provider, for scanning and masking.
    pub(crate) fn texts(self, req: &mut serde_json::Value) -> Vec<&mut String> {
        outgoing_texts(req)
    }

    /// The fields this endpoint forwards.
    pub(crate) fn fields(self) -> &'static [&'static str] {
        match self {
            Endpoint::Chat => CHAT_FIELDS,
            Endpoint::Embeddings => EMBEDDING_FIELDS,
        }
    }

    /// Why a request's body is not one of this endpoint's, if it is not.
    pub(crate) fn check(self, req: &serde_json::Value) -> Result<(), GatewayError> {
        let Some(fields) = req.as_object() else {
            return Err(bad_request("invalid_body", None, "the body must be a JSON object"));
        };
        if let Some(unknown) = fields.keys().find(|k| !self.fields().contains(&k.as_str())) {
            return Err(bad_request(
                "unsupported_parameter",
                None,
                format!(
                    "`{}` is not a parameter datapact forwards to {}; the allowed ones are: {}",
                    unknown.chars().take(64).collect::<String>(),
                    self.path(),
                    self.fields().join(", ")
                ),
            ));
        }
        match self {
            Endpoint::Chat if !req.get("messages").is_some_and(serde_json::Value::is_array) => Err(bad_request(
                "invalid_messages",
                Some("messages"),
                "`messages` must be an array",
            )),
            Endpoint::Chat if req.get("stream").is_some_and(|s| !s.is_boolean() && !s.is_null()) => Err(bad_request(
                "invalid_stream",
                Some("stream"),
                "`stream` must be true or false",
            )),
            Endpoint::Chat
                if req
                    .get("stream_options")
                    .is_some_and(|s| !s.is_object() && !s.is_null()) =>
            {
                Err(bad_request(
                    "invalid_stream_options",
                    Some("stream_options"),
                    "`stream_options` must be an object",
                ))
            }
            Endpoint::Embeddings if !req.get("input").is_some_and(|i| i.is_string() || i.is_array()) => Err(
                bad_request("invalid_input", Some("input"), "`input` must be a string or an array"),
            ),
            _ => Ok(()),
        }
    }

    /// Whether an answer has this endpoint's shape.
    pub(crate) fn answered(self, v: &serde_json::Value) -> bool {
        let key = match self {
            Endpoint::Chat => "choices",
            Endpoint::Embeddings => "data",
        };
        v.get(key).is_some_and(serde_json::Value::is_array)
    }
}
