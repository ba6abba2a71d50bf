//! Anthropic's Messages API behind the chat-completions shape: requests translated to it,
//! answers and event streams translated back, so clients speak OpenAI's API to every provider.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::api::{Api, Translate, Wire};
use crate::config::{ProviderConfig, Secret};
use crate::error::{GatewayError, bad_request};
use crate::request::Endpoint;
use crate::sse::Item;

/// Anthropic's Messages API (chat only).
pub struct Anthropic;

impl Api for Anthropic {
    fn request(
        &self,
        provider: &ProviderConfig,
        secret: Option<&Secret>,
        endpoint: Endpoint,
        model: &str,
        req: &Value,
        stream: bool,
    ) -> Result<Wire, GatewayError> {
        if endpoint != Endpoint::Chat {
            return Err(bad_request(
                "endpoint_unsupported_by_provider",
                Some("model"),
                format!(
                    "`{model}` is served by `{}`, whose Messages API has no {} endpoint",
                    provider.name,
                    endpoint.path()
                ),
            ));
        }
        let mut headers = vec![("anthropic-version", VERSION.to_string())];
        if let Some(s) = secret {
            headers.push(("x-api-key", s.expose().to_string()));
        }
        Ok(Wire {
            url: format!("{}/messages", provider.base_url.trim_end_matches('/')),
            headers,
            body: request(req, stream)?,
        })
    }

    fn answer(&self, v: Value) -> Option<Value> {
        response(&v)
    }

    fn stream(&self) -> Option<Box<dyn Translate>> {
        Some(Box::new(StreamTranslator::new()))
    }
}

/// The `anthropic-version` header sent with every call.
pub const VERSION: &str = "2023-06-01";

/// `max_tokens` is required by the Messages API; chat completions may leave it out.
const DEFAULT_MAX_TOKENS: u64 = 4096;

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// A chat-completions content (string or parts) as Messages content blocks.
fn blocks(content: &Value, at: &str) -> Result<Vec<Value>, GatewayError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![json!({"type": "text", "text": s})]),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p.get("type").and_then(Value::as_str) {
                Some("text") => {
                    Ok(json!({"type": "text", "text": p.get("text").and_then(Value::as_str).unwrap_or("")}))
                }
                Some("image_url") => {
                    let url = p
                        .get("image_url")
                        .and_then(|i| i.get("url"))
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let source = match url.strip_prefix("data:").and_then(|r| r.split_once(";base64,")) {
                        Some((media, data)) => json!({"type": "base64", "media_type": media, "data": data}),
                        None => json!({"type": "url", "url": url}),
                    };
                    Ok(json!({"type": "image", "source": source}))
                }
                other => Err(bad_request(
                    "unsupported_content",
                    None,
                    format!(
                        "{at}: content part type {} cannot be sent to Anthropic's Messages API",
                        other.unwrap_or("(none)")
                    ),
                )),
            })
            .collect(),
        _ => Err(bad_request(
            "invalid_messages",
            Some("messages"),
            format!("{at}: content must be a string or an array"),
        )),
    }
}

/// A chat-completions request as a Messages request.
pub fn request(req: &Value, stream: bool) -> Result<Value, GatewayError> {
    let messages = req
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut system: Vec<String> = Vec::new();
    let mut out: Vec<Value> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let at = format!("messages[{i}]");
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        let content = m.get("content").unwrap_or(&Value::Null);
        let (role, content) = match role {
            "system" | "developer" => {
                system.push(text_of(content));
                continue;
            }
            "user" => ("user", blocks(content, &at)?),
            "assistant" => {
                let mut b = blocks(content, &at)?;
                for (j, call) in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let f = call.get("function").unwrap_or(&Value::Null);
                    let args = f.get("arguments").and_then(Value::as_str).unwrap_or("{}");
                    let input: Value =
                        serde_json::from_str(if args.trim().is_empty() { "{}" } else { args }).map_err(|_| {
                            bad_request(
                                "invalid_tool_arguments",
                                Some("messages"),
                                format!("{at}.tool_calls[{j}].function.arguments is not JSON"),
                            )
                        })?;
                    b.push(json!({
                        "type": "tool_use",
                        "id": call.get("id").and_then(Value::as_str).unwrap_or(""),
                        "name": f.get("name").and_then(Value::as_str).unwrap_or(""),
                        "input": input,
                    }));
                }
                ("assistant", b)
            }
            "tool" => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": m.get("tool_call_id").and_then(Value::as_str).unwrap_or(""),
                    "content": text_of(content),
                })],
            ),
            other => {
                return Err(bad_request(
                    "invalid_messages",
                    Some("messages"),
                    format!("{at}: role `{other}` cannot be sent to Anthropic's Messages API"),
                ));
            }
        };
        // The Messages API alternates roles: consecutive messages of one role become one.
        match out.last_mut() {
            Some(last) if last["role"] == role => {
                if let Some(c) = last["content"].as_array_mut() {
                    c.extend(content);
                }
            }
            _ => out.push(json!({"role": role, "content": content})),
        }
    }
    let max_tokens = req
        .get("max_completion_tokens")
        .or_else(|| req.get("max_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let mut body = json!({
        "model": req.get("model").cloned().unwrap_or(Value::Null),
        "max_tokens": max_tokens,
        "messages": out,
    });
    if !system.is_empty() {
        body["system"] = Value::String(system.join("\n\n"));
    }
    for k in ["temperature", "top_p"] {
        if let Some(v) = req.get(k).filter(|v| v.is_number()) {
            body[k] = v.clone();
        }
    }
    match req.get("stop") {
        Some(Value::String(s)) => body["stop_sequences"] = json!([s]),
        Some(Value::Array(a)) => body["stop_sequences"] = Value::Array(a.clone()),
        _ => {}
    }
    if req.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        return Err(bad_request(
            "unsupported_parameter",
            Some("n"),
            "Anthropic's Messages API returns one choice: `n` must be 1",
        ));
    }
    if let Some(kind) = req
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        .filter(|t| *t != "text")
    {
        return Err(bad_request(
            "unsupported_parameter",
            Some("response_format"),
            format!("response_format `{kind}` has no equivalent in Anthropic's Messages API"),
        ));
    }
    if let Some(tools) = req.get("tools").and_then(Value::as_array) {
        let tools: Vec<Value> = tools
            .iter()
            .filter_map(|t| t.get("function"))
            .map(|f| {
                let mut t = json!({
                    "name": f.get("name").cloned().unwrap_or(Value::Null),
                    "input_schema": f.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object"})),
                });
                if let Some(d) = f.get("description") {
                    t["description"] = d.clone();
                }
                t
            })
            .collect();
        body["tools"] = Value::Array(tools);
    }
    let mut choice = match req.get("tool_choice") {
        Some(Value::String(s)) if s == "none" => Some(json!({"type": "none"})),
        Some(Value::String(s)) if s == "required" => Some(json!({"type": "any"})),
        Some(Value::String(s)) if s == "auto" => Some(json!({"type": "auto"})),
        Some(Value::Object(o)) => o
            .get("function")
            .and_then(|f| f.get("name"))
            .map(|n| json!({"type": "tool", "name": n})),
        _ => None,
    };
    if req.get("parallel_tool_calls") == Some(&Value::Bool(false)) && body.get("tools").is_some() {
        let c = choice.get_or_insert_with(|| json!({"type": "auto"}));
        c["disable_parallel_tool_use"] = Value::Bool(true);
    }
    if let Some(c) = choice {
        body["tool_choice"] = c;
    }
    if stream {
        body["stream"] = Value::Bool(true);
    }
    Ok(body)
}

fn finish_reason(stop: Option<&str>) -> Value {
    match stop {
        Some("end_turn" | "stop_sequence" | "pause_turn") => json!("stop"),
        Some("max_tokens") => json!("length"),
        Some("tool_use") => json!("tool_calls"),
        Some("refusal") => json!("content_filter"),
        Some(_) => json!("stop"),
        None => Value::Null,
    }
}

fn usage(input: u64, output: u64) -> Value {
    json!({"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output})
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A Messages answer as a chat completion; `None` when it is not a Messages answer.
pub fn response(v: &Value) -> Option<Value> {
    let content = v.get("content")?.as_array()?;
    let mut text = String::new();
    let mut calls = Vec::new();
    for b in content {
        match b.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(b.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => calls.push(json!({
                "id": b.get("id").cloned().unwrap_or(Value::Null),
                "type": "function",
                "function": {
                    "name": b.get("name").cloned().unwrap_or(Value::Null),
                    "arguments": b.get("input").map(Value::to_string).unwrap_or_else(|| "{}".into()),
                },
            })),
            _ => {}
        }
    }
    let mut message = json!({"role": "assistant", "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { Value::String(text) }});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    let u = v.get("usage");
    let tokens = |k: &str| u.and_then(|u| u.get(k)).and_then(Value::as_u64).unwrap_or(0);
    Some(json!({
        "id": v.get("id").cloned().unwrap_or(Value::Null),
        "object": "chat.completion",
        "created": now(),
        "model": v.get("model").cloned().unwrap_or(Value::Null),
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": finish_reason(v.get("stop_reason").and_then(Value::as_str)),
        }],
        "usage": usage(tokens("input_tokens"), tokens("output_tokens")),
    }))
}

impl Translate for StreamTranslator {
    fn event(&mut self, kind: &str, data: &str) -> Vec<Item> {
        self.translate(kind, data)
    }
}

/// Translates a Messages event stream into chat-completion chunks as events arrive.
#[derive(Debug, Default)]
pub struct StreamTranslator {
    id: Value,
    model: Value,
    created: i64,
    input_tokens: u64,
    output_tokens: u64,
    /// Content block index → tool call index.
    tools: HashMap<u64, usize>,
}

impl StreamTranslator {
    /// A translator at the start of a stream.
    pub fn new() -> Self {
        Self {
            created: now(),
            ..Self::default()
        }
    }

    fn chunk(&self, delta: Value, finish: Value) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    }

    /// The chat-completion items one Messages event stands for.
    pub fn event(&mut self, kind: &str, data: &str) -> Vec<Item> {
        self.translate(kind, data)
    }

    fn translate(&mut self, kind: &str, data: &str) -> Vec<Item> {
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return vec![Item::Failed {
                code: "upstream_invalid_response",
                message: "the provider sent an event that is not JSON".into(),
            }];
        };
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(kind);
        match kind {
            "message_start" => {
                let m = v.get("message").unwrap_or(&Value::Null);
                self.id = m.get("id").cloned().unwrap_or(Value::Null);
                self.model = m.get("model").cloned().unwrap_or(Value::Null);
                self.input_tokens = m
                    .get("usage")
                    .and_then(|u| u.get("input_tokens"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                vec![Item::Chunk(
                    self.chunk(json!({"role": "assistant", "content": ""}), Value::Null),
                )]
            }
            "content_block_start" => {
                let block = v.get("content_block").unwrap_or(&Value::Null);
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                match block.get("type").and_then(Value::as_str) {
                    Some("tool_use") => {
                        let n = self.tools.len();
                        self.tools.insert(index, n);
                        vec![Item::Chunk(self.chunk(
                            json!({"tool_calls": [{
                                "index": n,
                                "id": block.get("id").cloned().unwrap_or(Value::Null),
                                "type": "function",
                                "function": {"name": block.get("name").cloned().unwrap_or(Value::Null), "arguments": ""},
                            }]}),
                            Value::Null,
                        ))]
                    }
                    Some("text") => match block.get("text").and_then(Value::as_str) {
                        Some(t) if !t.is_empty() => {
                            vec![Item::Chunk(self.chunk(json!({"content": t}), Value::Null))]
                        }
                        _ => Vec::new(),
                    },
                    _ => Vec::new(),
                }
            }
            "content_block_delta" => {
                let d = v.get("delta").unwrap_or(&Value::Null);
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                match d.get("type").and_then(Value::as_str) {
                    Some("text_delta") => vec![Item::Chunk(self.chunk(
                        json!({"content": d.get("text").cloned().unwrap_or(Value::Null)}),
                        Value::Null,
                    ))],
                    Some("input_json_delta") => match self.tools.get(&index) {
                        Some(&n) => vec![Item::Chunk(self.chunk(
                            json!({"tool_calls": [{"index": n, "function": {"arguments": d.get("partial_json").cloned().unwrap_or(Value::Null)}}]}),
                            Value::Null,
                        ))],
                        None => Vec::new(),
                    },
                    _ => Vec::new(),
                }
            }
            "message_delta" => {
                if let Some(n) = v
                    .get("usage")
                    .and_then(|u| u.get("output_tokens"))
                    .and_then(Value::as_u64)
                {
                    self.output_tokens = n;
                }
                let stop = v
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .and_then(Value::as_str);
                vec![Item::Chunk(self.chunk(json!({}), finish_reason(stop)))]
            }
            "message_stop" => {
                let mut last = self.chunk(json!({}), Value::Null);
                last["choices"] = json!([]);
                last["usage"] = usage(self.input_tokens, self.output_tokens);
                vec![Item::Chunk(last), Item::Done]
            }
            "error" => vec![Item::Failed {
                code: "upstream_error",
                message: format!(
                    "the provider failed mid-stream: {}",
                    v.get("error")
                        .and_then(|e| e.get("type"))
                        .and_then(Value::as_str)
                        .unwrap_or("error")
                ),
            }],
            // `ping` and event types added later carry nothing a chat completion has.
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_translate_system_tools_and_tool_results() {
        let req = json!({
            "model": "claude-x",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {"role": "user", "content": [{"type": "text", "text": "Thanks"}]}
            ],
            "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
            "tool_choice": "required",
            "stop": "END",
            "temperature": 0.2
        });
        let b = request(&req, true).unwrap();
        assert_eq!(b["system"], "Be brief.");
        assert_eq!(b["max_tokens"], 4096);
        assert_eq!(b["stream"], true);
        assert_eq!(b["stop_sequences"], json!(["END"]));
        assert_eq!(b["tool_choice"], json!({"type": "any"}));
        assert_eq!(b["tools"][0]["input_schema"], json!({"type": "object"}));
        let m = b["messages"].as_array().unwrap();
        assert_eq!(m.len(), 3, "the tool result and the next user message merge: {m:?}");
        assert_eq!(m[1]["content"][0]["input"], json!({"city": "Paris"}));
        assert_eq!(m[2]["content"][0]["type"], "tool_result");
        assert_eq!(m[2]["content"][1]["text"], "Thanks");
    }

    #[test]
    fn unsupported_parameters_are_refused_by_name() {
        let e = request(&json!({"model": "c", "messages": [], "n": 2}), false).unwrap_err();
        assert_eq!(e.code, "unsupported_parameter");
        let e = request(
            &json!({"model": "c", "messages": [], "response_format": {"type": "json_object"}}),
            false,
        )
        .unwrap_err();
        assert_eq!(e.param, Some("response_format"));
    }

    #[test]
    fn answers_translate_text_tools_and_usage() {
        let v = json!({"id": "msg_1", "type": "message", "model": "claude-x", "stop_reason": "tool_use",
            "content": [{"type": "text", "text": "Let me check."},
                        {"type": "tool_use", "id": "tu_1", "name": "weather", "input": {"city": "Paris"}}],
            "usage": {"input_tokens": 10, "output_tokens": 4}});
        let c = response(&v).unwrap();
        assert_eq!(c["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(c["choices"][0]["message"]["content"], "Let me check.");
        assert_eq!(
            c["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            "{\"city\":\"Paris\"}"
        );
        assert_eq!(c["usage"]["total_tokens"], 14);
        assert!(response(&json!({"choices": []})).is_none());
    }

    #[test]
    fn streams_translate_to_chunks_with_usage_last() {
        let mut t = StreamTranslator::new();
        let mut items = Vec::new();
        for (k, d) in [
            (
                "message_start",
                r#"{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":7}}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            ("ping", r#"{"type":"ping"}"#),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"tu","name":"f","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ] {
            items.extend(t.event(k, d));
        }
        let chunks: Vec<&Value> = items
            .iter()
            .filter_map(|i| match i {
                Item::Chunk(c) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(chunks[1]["choices"][0]["delta"]["content"], "Hi");
        assert_eq!(chunks[2]["choices"][0]["delta"]["tool_calls"][0]["id"], "tu");
        assert_eq!(
            chunks[3]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
            "{\"a\""
        );
        assert_eq!(chunks[4]["choices"][0]["finish_reason"], "stop");
        assert_eq!(chunks[5]["usage"]["total_tokens"], 10);
        assert!(matches!(items.last(), Some(Item::Done)));
        assert!(matches!(t.event("x", "nope")[0], Item::Failed { .. }));
    }
}
