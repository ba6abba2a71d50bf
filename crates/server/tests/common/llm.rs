//! A provider speaking OpenAI's API, for the AI trust layer's tests.

use std::path::Path;

use serde_json::{Value, json};

/// One `[[providers]]` entry of the server configuration, speaking OpenAI's API.
pub fn provider_toml(
    name: &str,
    kind: &str,
    base_url: &str,
    region: &str,
    models: &[&str],
    key_file: Option<&Path>,
) -> String {
    let models: Vec<String> = models.iter().map(|m| format!("\"{m}\"")).collect();
    let key = key_file.map_or(String::new(), |k| format!("api_key_file = \"{}\"\n", k.display()));
    format!(
        "[[providers]]\nname = \"{name}\"\nkind = \"{kind}\"\napi = \"openai\"\nbase_url = \"{base_url}\"\n\
         region = \"{region}\"\nmodels = [{}]\n{key}\n",
        models.join(", ")
    )
}

/// What the mock provider saw.
#[derive(Default)]
pub struct Seen {
    pub bodies: Vec<Value>,
    pub auth: Vec<String>,
}

/// A provider speaking OpenAI's chat API on an ephemeral loopback port: it echoes the last
/// message back (placeholders included), `broken` answers garbage, `fail` answers 500.
pub async fn mock_provider() -> (String, std::sync::Arc<std::sync::Mutex<Seen>>) {
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::routing::post;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Seen::default()));
    let app = axum::Router::new()
        .route(
            "/v1/chat/completions",
            post(
                |State(seen): State<std::sync::Arc<std::sync::Mutex<Seen>>>, headers: HeaderMap, body: axum::Json<Value>| async move {
                    let body = body.0;
                    {
                        let mut s = seen.lock().unwrap();
                        s.bodies.push(body.clone());
                        s.auth.push(
                            headers
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string(),
                        );
                    }
                    let last = body["messages"].as_array().unwrap().last().unwrap()["content"].clone();
                    match body["model"].as_str() {
                        Some("broken") => (axum::http::StatusCode::OK, "{\"not\": \"a completion\"".to_string()),
                        Some("fail") => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "{}".to_string()),
                        _ => (
                            axum::http::StatusCode::OK,
                            json!({
                                "id": "chatcmpl-1",
                                "object": "chat.completion",
                                "created": 1,
                                "model": body["model"],
                                "choices": [{"index": 0, "finish_reason": "stop",
                                             "message": {"role": "assistant", "content": format!("You said: {}", last.as_str().unwrap_or(""))}}],
                                "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
                            })
                            .to_string(),
                        ),
                    }
                },
            ),
        )
        .route(
            "/v1/embeddings",
            post(
                |State(seen): State<std::sync::Arc<std::sync::Mutex<Seen>>>, body: axum::Json<Value>| async move {
                    seen.lock().unwrap().bodies.push(body.0.clone());
                    axum::Json(json!({
                        "object": "list",
                        "model": body.0["model"],
                        "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5]}],
                        "usage": {"prompt_tokens": 3, "total_tokens": 3}
                    }))
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen)
}
