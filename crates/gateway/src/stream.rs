//! Streamed chat completions: chunks go back to the client as they arrive, with placeholders
//! restored even when one is split across chunks; idle and total timeouts; a client that
//! leaves cancels the provider's request; the call's audit entry is appended before the
//! stream's final `[DONE]`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::call::{CallRecord, GatewayCaller, Keep, record_call};
use super::error::GatewayError;
use super::service::Gateway;
use super::sse::Item;
use super::upstream::Provider;
use super::{providers, sse};

/// An OpenAI-shaped stream event as an item.
fn openai_item(data: &str) -> Item {
    if data.trim() == "[DONE]" {
        return Item::Done;
    }
    match serde_json::from_str::<Value>(data) {
        Ok(v) if v.get("error").is_some_and(Value::is_object) => Item::Failed {
            code: "upstream_error",
            message: format!(
                "the provider failed mid-stream: {}",
                v["error"]
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message")
                    .chars()
                    .take(500)
                    .collect::<String>()
            ),
        },
        Ok(v) if v.get("choices").is_some_and(Value::is_array) => Item::Chunk(v),
        _ => Item::Failed {
            code: "upstream_invalid_response",
            message: "the provider sent a stream event that is not a chat-completion chunk".into(),
        },
    }
}

/// Everything a streamed call carries from the pipeline into the relay.
pub struct Relay {
    /// Shared state (audit log, limits).
    pub st: Arc<Gateway>,
    /// Who called.
    pub caller: GatewayCaller,
    /// The call's audit record so far.
    pub record: CallRecord,
    /// When the gateway received the call.
    pub started: Instant,
    /// Time spent waiting on providers so far.
    pub waited: Duration,
    /// The provider answering.
    pub provider: Provider,
    /// Its answer, headers read.
    pub response: reqwest::Response,
    /// The placeholders of this call, to restore.
    pub pseudonymizer: datapact_pii::Pseudonymizer,
    /// Whether the client asked for the usage chunk.
    pub include_usage: bool,
    /// The call's tokens held against its budgets, settled when the stream ends.
    pub reservation: Option<super::limits::Reservation>,
    /// The call to keep in the tenant's vault, if `save_prompts` is on.
    pub keep: Option<Keep>,
    /// The call's place among those under way, held until the stream ends.
    pub permit: tokio::sync::OwnedSemaphorePermit,
}

/// Starts relaying and returns the client's streaming response.
pub fn relay(r: Relay) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(run(r, tx));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    let mut resp = Response::new(Body::from_stream(body));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

fn event(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

/// An error event in the shape OpenAI's SDKs raise from.
fn error_event(e: &GatewayError) -> Bytes {
    Bytes::from(format!(
        "data: {}\n\n",
        serde_json::to_string(&e.body()).unwrap_or_default()
    ))
}

/// Restorers per (choice, tool call) of one stream: a placeholder may be split across chunks.
struct Restore<'a> {
    pseudo: &'a datapact_pii::Pseudonymizer,
    open: HashMap<(u64, Option<u64>), datapact_pii::Restorer<'a>>,
}

impl<'a> Restore<'a> {
    fn push(&mut self, key: (u64, Option<u64>), text: &str) -> String {
        let pseudo = self.pseudo;
        self.open
            .entry(key)
            .or_insert_with(|| match key.1 {
                // Tool-call arguments are JSON text: restored values are escaped.
                Some(_) => pseudo.json_restorer(),
                None => pseudo.restorer(),
            })
            .push(text)
    }

    /// Rewrites one chunk in place: restored text, and held-back text released when its
    /// choice finishes.
    fn chunk(&mut self, chunk: &mut Value) {
        let Some(choices) = chunk.get_mut("choices").and_then(Value::as_array_mut) else {
            return;
        };
        for c in choices {
            let i = c.get("index").and_then(Value::as_u64).unwrap_or(0);
            let finished = c.get("finish_reason").is_some_and(|f| !f.is_null());
            let Some(delta) = c.get_mut("delta").and_then(Value::as_object_mut) else {
                continue;
            };
            if let Some(Value::String(s)) = delta.get_mut("content") {
                *s = self.push((i, None), s);
            }
            if let Some(calls) = delta.get_mut("tool_calls").and_then(Value::as_array_mut) {
                for call in calls {
                    let k = call.get("index").and_then(Value::as_u64).unwrap_or(0);
                    if let Some(Value::String(a)) = call.get_mut("function").and_then(|f| f.get_mut("arguments")) {
                        *a = self.push((i, Some(k)), a);
                    }
                }
            }
            if finished {
                let mut held: Vec<((u64, Option<u64>), String)> = self
                    .open
                    .iter_mut()
                    .filter(|((c, _), _)| *c == i)
                    .map(|(k, r)| (*k, r.finish()))
                    .filter(|(_, s)| !s.is_empty())
                    .collect();
                held.sort_by_key(|(k, _)| *k);
                for ((_, tool), text) in held {
                    match tool {
                        None => {
                            let s = delta.entry("content").or_insert(Value::String(String::new()));
                            match s {
                                Value::String(s) => s.push_str(&text),
                                other => *other = Value::String(text),
                            }
                        }
                        Some(k) => {
                            let calls = delta.entry("tool_calls").or_insert(Value::Array(Vec::new()));
                            if let Value::Array(a) = calls {
                                a.push(json!({"index": k, "function": {"arguments": text}}));
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn run(r: Relay, tx: mpsc::Sender<Bytes>) {
    let Relay {
        st,
        caller,
        mut record,
        started,
        mut waited,
        provider,
        mut response,
        pseudonymizer,
        include_usage,
        keep,
        permit: _permit,
        reservation,
    } = r;
    // The answer as the client saw it, for the tenant's copy.
    let mut kept = keep.as_ref().map(|_| String::new());
    record.streamed = true;
    let masked = record.status == datapact_audit::CallStatus::Masked;
    let mut restore = Restore {
        pseudo: &pseudonymizer,
        open: HashMap::new(),
    };
    let idle = Duration::from_millis(provider.config.idle_timeout_ms);
    let deadline = tokio::time::Instant::from_std(started) + Duration::from_millis(provider.config.total_timeout_ms);
    let mut parser = sse::Parser::new();
    let mut translator = providers::api(provider.config.api).stream();
    let mut done = false;
    let mut failure: Option<(&'static str, String)> = None;
    'read: while !done {
        let t = Instant::now();
        let next = tokio::select! {
            biased;
            () = tx.closed() => {
                // Dropping the provider's response closes its connection: it stops generating.
                failure = Some(("client_disconnected", "the client closed the stream".into()));
                break 'read;
            }
            c = tokio::time::timeout_at(deadline.min(tokio::time::Instant::now() + idle), response.chunk()) => c,
        };
        waited += t.elapsed();
        let (events, end) = match next {
            Err(_) => {
                failure = Some((
                    "upstream_timeout",
                    format!("the provider `{}` stopped sending (timed out)", provider.config.name),
                ));
                break;
            }
            Ok(Err(_)) => {
                failure = Some((
                    "upstream_stream_broken",
                    format!("the provider `{}` broke the stream off", provider.config.name),
                ));
                break;
            }
            Ok(Ok(None)) => (parser.finish().map(|e| e.into_iter().collect::<Vec<_>>()), true),
            Ok(Ok(Some(bytes))) => (parser.push(&bytes), false),
        };
        let events = match events {
            Ok(e) => e,
            Err(e) => {
                failure = Some((
                    "upstream_invalid_response",
                    format!("the provider's stream is broken: {e}"),
                ));
                break;
            }
        };
        for ev in events {
            let items = match &mut translator {
                Some(t) => t.event(&ev.event, &ev.data),
                None => vec![openai_item(&ev.data)],
            };
            for item in items {
                match item {
                    Item::Chunk(mut v) => {
                        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                            let n = |k: &str| u.get(k).and_then(Value::as_u64).map(|n| n.min(u32::MAX as u64) as u32);
                            record.usage = [n("prompt_tokens"), n("completion_tokens"), n("total_tokens")];
                        }
                        let usage_only = v.get("choices").and_then(Value::as_array).is_some_and(Vec::is_empty);
                        if !include_usage {
                            if usage_only {
                                continue;
                            }
                            if let Some(o) = v.as_object_mut() {
                                o.remove("usage");
                            }
                        }
                        if masked {
                            restore.chunk(&mut v);
                        }
                        if let (Some(k), Some(t)) = (kept.as_mut(), v["choices"][0]["delta"]["content"].as_str()) {
                            k.push_str(t);
                        }
                        let t = Instant::now();
                        let sent = tx.send(event(&v)).await;
                        waited += t.elapsed();
                        if sent.is_err() {
                            failure = Some(("client_disconnected", "the client closed the stream".into()));
                            break 'read;
                        }
                    }
                    Item::Done => {
                        done = true;
                        break;
                    }
                    Item::Failed { code, message } => {
                        failure = Some((code, message));
                        break 'read;
                    }
                }
            }
            if done {
                break;
            }
        }
        if end && !done {
            failure = Some((
                "upstream_stream_incomplete",
                format!(
                    "the provider `{}` ended the stream before it was done",
                    provider.config.name
                ),
            ));
            break;
        }
    }
    drop(response);
    record.status = match (&failure, masked) {
        (Some(_), _) => datapact_audit::CallStatus::Error,
        (None, true) => datapact_audit::CallStatus::Masked,
        (None, false) => datapact_audit::CallStatus::Allowed,
    };
    record.error = failure.as_ref().map(|(c, _)| *c);
    let keep = keep.filter(|_| failure.is_none());
    record.saved = keep.as_ref().map(|k| k.id);
    let ev = record.event(&caller, started, waited);
    st.limits.account(&caller, &record, reservation);
    let last = match (record_call(&st.platform, st.config.audit, ev).await, failure) {
        (Err(e), _) => Some(error_event(&e)),
        (Ok(_), None) => Some(Bytes::from_static(b"data: [DONE]\n\n")),
        (Ok(_), Some(("client_disconnected", _))) => None,
        (Ok(_), Some((code, message))) => Some(error_event(&GatewayError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "api_error",
            code,
            message,
        ))),
    };
    if let (Some(k), Some(text)) = (keep, kept) {
        let response = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}], "usage": {
            "prompt_tokens": record.usage[0], "completion_tokens": record.usage[1], "total_tokens": record.usage[2]}});
        k.store(&st.platform, &caller, &record, response).await;
    }
    record.done(started, waited);
    if let Some(b) = last {
        let _ = tx.send(b).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_split_across_chunks_are_restored_and_held_text_released_at_the_end() {
        let mut p = datapact_pii::Pseudonymizer::new();
        let ph = p.placeholder(datapact_pii::EntityType::Person, "Ada Lovelace");
        assert_eq!(ph, "<PERSON_1>");
        let mut r = Restore {
            pseudo: &p,
            open: HashMap::new(),
        };
        let mut out = String::new();
        for piece in ["Dear <PER", "SON_1>, see <", "x"] {
            let mut c = json!({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
            r.chunk(&mut c);
            out.push_str(c["choices"][0]["delta"]["content"].as_str().unwrap());
        }
        let mut last = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        r.chunk(&mut last);
        assert_eq!(out, "Dear Ada Lovelace, see <x");
        assert!(last["choices"][0]["delta"].get("content").is_none());
        let mut c = json!({"choices": [{"index": 0, "delta": {"content": "bye <PERS"}, "finish_reason": null}]});
        r.chunk(&mut c);
        let mut last = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        r.chunk(&mut last);
        assert_eq!(
            last["choices"][0]["delta"]["content"], "<PERS",
            "held-back text is released"
        );
    }

    #[test]
    fn tool_call_arguments_stay_json_when_restored() {
        let mut p = datapact_pii::Pseudonymizer::new();
        p.placeholder(datapact_pii::EntityType::Person, "Ann \"Nan\" Lee");
        let mut r = Restore {
            pseudo: &p,
            open: HashMap::new(),
        };
        let mut args = String::new();
        for piece in ["{\"to\": \"<PERS", "ON_1>\"}"] {
            let mut c = json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, "finish_reason": null}]});
            r.chunk(&mut c);
            args.push_str(
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                    .as_str()
                    .unwrap(),
            );
        }
        let v: Value = serde_json::from_str(&args).unwrap();
        assert_eq!(v["to"], "Ann \"Nan\" Lee");
    }

    #[test]
    fn openai_events_are_chunks_done_or_failures() {
        assert!(matches!(openai_item("[DONE]"), Item::Done));
        assert!(matches!(openai_item(r#"{"choices": []}"#), Item::Chunk(_)));
        assert!(matches!(
            openai_item(r#"{"error": {"message": "overloaded"}}"#),
            Item::Failed {
                code: "upstream_error",
                ..
            }
        ));
        assert!(matches!(
            openai_item("{not json"),
            Item::Failed {
                code: "upstream_invalid_response",
                ..
            }
        ));
    }
}
