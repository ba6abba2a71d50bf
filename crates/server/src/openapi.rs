//! The OpenAPI document served at `/openapi.json`.

use std::sync::OnceLock;

use datapact_audit::{Action, Outcome};
use serde_json::{Value, json};
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::routes::mining;
use crate::routes::mining_model;
use crate::routes::{audit, data, decisions, keys, meta, orgs, records, tenants, terms, training, usage};

struct BearerAuth;

/// Unique operation ids and problem+json error bodies.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let slug: String = path
                .trim_start_matches('/')
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
                .split('_')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("_");
            let ops = [
                ("get", item.get.as_mut()),
                ("put", item.put.as_mut()),
                ("post", item.post.as_mut()),
                ("delete", item.delete.as_mut()),
                ("patch", item.patch.as_mut()),
            ];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                op.operation_id = Some(format!("{method}_{slug}"));
                for (status, resp) in op.responses.responses.iter_mut() {
                    if status.as_str() >= "400"
                        && let RefOr::T(r) = resp
                        && let Some(c) = r.content.shift_remove("application/json")
                    {
                        r.content.insert("application/problem+json".to_string(), c);
                    }
                }
            }
        }
    }
}

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A datapact API key"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "datapact", description = "Customer-data promises as machinery: catalog, terms, purpose decisions."),
    paths(
        meta::healthz, meta::readyz, meta::me, meta::products,
        orgs::create, orgs::list, orgs::get, orgs::patch,
        tenants::create, tenants::list, tenants::get, tenants::patch,
        terms::create_opt_out, terms::list_opt_outs, terms::revoke_opt_out,
        terms::get_org_ai, terms::put_org_ai, terms::get_tenant_ai, terms::put_tenant_ai,
        terms::create_grant, terms::list_grants, terms::revoke_grant,
        decisions::decide, decisions::availability,
        keys::create, keys::list, keys::revoke,
        records::create, records::create_batch, records::list, records::read, records::patch, records::delete,
        records::export,
        data::purge, data::certificates, data::terminate, data::get_retention, data::put_retention,
        data::list_keys, data::rotate, data::job, data::public_key,
        audit::checkpoint, audit::checkpoints, audit::inclusion, audit::consistency, audit::entries, audit::export,
        usage::usage,
        training::create_dataset, training::list_datasets, training::get_dataset, training::export_dataset,
        training::register_model, training::get_model, training::debt, training::org_usage,
        mining::create_dataset, mining::list_datasets, mining::get_dataset, mining::put_labels,
        mining::upload, mining::list_messages, mining::get_message, mining::put_message_labels, mining::delete_message,
        mining_model::train, mining_model::train_job, mining_model::predict, mining_model::validation, mining_model::queue,
        mining_model::create_stream, mining_model::list_streams, mining_model::fetch, mining_model::advance,
        mining_model::review_queue, mining_model::review, mining_model::summarize, mining_model::describe_label,
        mining_model::train_prelabeler,
    ),
    components(schemas(crate::problem::Problem)),
    modifiers(&BearerAuth, &Conventions)
)]
struct ApiDoc;

/// The OpenAPI document, built once: what the handlers declare, finished by [`finish`].
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
        finish(&mut doc);
        doc
    })
}

/// The value at `keys`, if there is one (indexing a `Value` mutably would insert nulls).
fn at<'a>(v: &'a mut Value, keys: &[&str]) -> Option<&'a mut Value> {
    keys.iter().try_fold(v, |v, k| v.get_mut(*k))
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

/// What every operation can answer besides what its handler declares, the AI trust layer's
/// OpenAI-compatible endpoints and `/metrics` (routed outside the handlers' documentation),
/// and the few facts the derive macros cannot say.
fn finish(doc: &mut Value) {
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for (method, op) in item.iter_mut() {
                common_answers(op, method == "get");
            }
        }
    }
    // A record's content is read for a purpose; without one the answer is 422 (list records
    // for metadata only). Optional in the handler so that the refusal can say so.
    if let Some(params) = at(
        doc,
        &["paths", "/v1/tenants/{tenant}/records/{id}", "get", "parameters"],
    )
    .and_then(Value::as_array_mut)
    {
        for p in params.iter_mut().filter(|p| p["name"] == "purpose") {
            p["required"] = json!(true);
        }
    }
    // Audit filters take the wire names of the log's actions and outcomes.
    let actions: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    let outcomes: Vec<&str> = [Outcome::Allowed, Outcome::Denied, Outcome::Error]
        .iter()
        .map(|o| o.as_str())
        .collect();
    for path in ["/v1/audit/entries", "/v1/audit/export"] {
        if let Some(params) = at(doc, &["paths", path, "get", "parameters"]).and_then(Value::as_array_mut) {
            for p in params.iter_mut() {
                match p["name"].as_str() {
                    Some("action") => p["schema"] = json!({"type": "string", "enum": actions}),
                    Some("outcome") => p["schema"] = json!({"type": "string", "enum": outcomes}),
                    _ => {}
                }
            }
        }
    }
    // Page cursors are ids of what is listed.
    for (path, prefix) in [("/v1/orgs", "org_"), ("/v1/tenants/{tenant}/records", "rec_")] {
        if let Some(params) = at(doc, &["paths", path, "get", "parameters"]).and_then(Value::as_array_mut) {
            for p in params.iter_mut().filter(|p| p["name"] == "after") {
                p["schema"] = json!({"type": "string", "pattern": format!("^{prefix}[0-9a-fA-F]{{32}}$")});
            }
        }
    }
    // One set of filters serves both; each documents only the parameters it takes.
    for (path, only_other) in [("/v1/audit/entries", "format"), ("/v1/audit/export", "limit")] {
        if let Some(params) = at(doc, &["paths", path, "get", "parameters"]).and_then(Value::as_array_mut) {
            params.retain(|p| p["name"] != only_other);
        }
    }
    // A filter naming an organization or tenant outside the caller's scope is answered 404.
    for path in ["/v1/audit/entries", "/v1/audit/export"] {
        doc["paths"][path]["get"]["responses"]["404"] = problem("`org` or `tenant` names one the caller cannot see");
    }
    // Settings carry a version: `ETag` on every answer, `If-Match` on a write (412 if stale).
    for path in ["/v1/orgs/{org}/ai-settings", "/v1/tenants/{tenant}/ai-settings"] {
        for method in ["get", "put"] {
            if let Some(ok) = at(doc, &["paths", path, method, "responses", "200"]) {
                ok["headers"] = json!({"ETag": {
                    "description": "The version of the settings stored at this level",
                    "schema": {"type": "string"}
                }});
            }
        }
        if let Some(put) = at(doc, &["paths", path, "put"]) {
            if let Some(params) = put.get_mut("parameters").and_then(Value::as_array_mut) {
                params.push(json!({
                    "name": "If-Match", "in": "header", "required": false,
                    "description": "Write only if the stored settings are still this version (an `ETag` read before); `*` for any",
                    "schema": {"type": "string"}
                }));
            }
            put["responses"]["412"] =
                problem("`settings_changed`: the settings changed since the `ETag` given in `If-Match`");
        }
    }
    flatten_all_of(doc, "AiSettingsView");
    // A PATCH changes the fields it is given; `null` is not a value of any of them.
    for name in ["PatchOrg", "PatchTenant"] {
        if let Some(props) = at(doc, &["components", "schemas", name, "properties"]).and_then(Value::as_object_mut) {
            props.values_mut().for_each(not_null);
        }
    }
    // Free text: trimmed, then 1 to `max` characters with no control characters.
    for (name, field, max) in [
        ("CreateOrg", "name", 200),
        ("PatchOrg", "name", 200),
        ("CreateTenant", "name", 200),
        ("PatchTenant", "name", 200),
        ("CreateKey", "label", 200),
        ("CreateGrant", "ticket", 200),
        ("CreateOptOut", "ticket", 200),
        ("CreateOptOut", "requested_by", 320),
    ] {
        if let Some(prop) = at(doc, &["components", "schemas", name, "properties", field]) {
            prop["maxLength"] = json!(max);
            prop["pattern"] = json!(TEXT_PATTERN);
        }
    }
    // The locked settings are a set: a repeated key is the same key.
    if let Some(locked) =
        at(doc, &["components", "schemas", "AiSettings", "properties", "locked"]).and_then(Value::as_object_mut)
    {
        locked.remove("uniqueItems");
    }
    gateway_paths(doc);
}

/// Free text as the server takes it: something besides spaces, no control characters.
const TEXT_PATTERN: &str =
    "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// Takes `null` out of what a property's schema admits.
fn not_null(prop: &mut Value) {
    if let Some(types) = prop.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            prop["type"] = types[0].clone();
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = prop.get_mut(key).and_then(Value::as_array_mut) {
            alts.retain(|a| a["type"] != "null");
            if alts.len() == 1 {
                let only = alts[0].clone();
                if let Some(obj) = prop.as_object_mut() {
                    obj.remove(key);
                    if let Some(o) = only.as_object() {
                        obj.extend(o.clone());
                    }
                }
            }
        }
    }
}

/// `GET /openapi.json`: the document as this server serves it.
pub async fn serve(
    axum::extract::State(st): axum::extract::State<std::sync::Arc<crate::state::AppState>>,
) -> axum::Json<Value> {
    let products: Vec<String> = st
        .registry
        .catalog()
        .products()
        .iter()
        .map(|p| p.id.to_string())
        .collect();
    let mut models: Vec<String> = st
        .config
        .providers
        .iter()
        .flat_map(|p| p.models.iter().cloned())
        .collect();
    models.sort();
    models.dedup();
    axum::Json(for_server(&products, st.registry.regions(), &models))
}

/// The document as this server serves it: the catalog's products, the configured regions and
/// the models the configured providers serve are the values `product`, `region` and `model`
/// fields take.
pub fn for_server(products: &[String], regions: &[String], models: &[String]) -> Value {
    let mut doc = document().clone();
    for path in ["/v1/chat/completions", "/v1/embeddings"] {
        if let Some(model) = at(
            &mut doc,
            &[
                "paths",
                path,
                "post",
                "requestBody",
                "content",
                "application/json",
                "schema",
                "properties",
                "model",
            ],
        ) {
            model["enum"] = json!(models);
        }
    }
    let products: Vec<Value> = products.iter().map(|p| json!(p)).collect();
    let regions: Vec<Value> = regions.iter().map(|r| json!(r)).collect();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in item.values_mut() {
                if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                    for p in params.iter_mut().filter(|p| p["in"] == "query") {
                        match p["name"].as_str() {
                            Some("product") => p["schema"] = json!({"type": "string", "enum": products}),
                            Some("region") => p["schema"] = json!({"type": "string", "enum": regions}),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        for schema in schemas.values_mut() {
            let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
                continue;
            };
            for (name, prop) in props.iter_mut() {
                match name.as_str() {
                    "product" => one_of_values(prop, &products),
                    "region" => one_of_values(prop, &regions),
                    "products"
                        if prop["type"] == "array"
                            || prop["type"].as_array().is_some_and(|t| t.contains(&json!("array"))) =>
                    {
                        if let Some(items) = prop.get_mut("items") {
                            one_of_values(items, &products)
                        }
                    }
                    "products" if prop.get("additionalProperties").is_some() => {
                        prop["propertyNames"] = json!({"enum": products});
                    }
                    _ => {}
                }
            }
        }
    }
    doc
}

/// Restricts a string property (nullable or not) to `values`.
fn one_of_values(prop: &mut Value, values: &[Value]) {
    let nullable = prop["type"].as_array().is_some_and(|t| t.contains(&json!("null")));
    let mut values = values.to_vec();
    if nullable {
        values.push(Value::Null);
    }
    if prop["type"] == "string" || nullable {
        prop["enum"] = Value::Array(values);
    }
}

/// The answers every operation can give: 400 for a path, query or body that does not parse,
/// 401 and 403 for a key that is missing or not allowed, 404 for an id not in the caller's
/// scope, 413 for a body over the limit, 422 for a value the operation does not accept.
fn common_answers(op: &mut Value, is_get: bool) {
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let has = |place: &str| params.iter().any(|p| p["in"] == place);
    let (path, query, body) = (has("path"), has("query"), op.get("requestBody").is_some());
    let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
    let write = !is_get;
    let path_names = |name: &str| {
        params
            .iter()
            .any(|p| p["in"] == "path" && p["name"].as_str().is_some_and(|n| format!("{{{n}}}") == name))
    };
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    let mut add = |status: &str, when: bool, description: &str| {
        if when && !responses.contains_key(status) {
            responses.insert(status.to_string(), problem(description));
        }
    };
    add(
        "400",
        path || query || body,
        "a path, query or body that does not parse (`invalid_path`, `invalid_query`, `malformed_json`, ...)",
    );
    add("401", secured, "missing, unknown or revoked API key");
    add("403", secured, "the key's role or scope does not allow this");
    add("404", path, "nothing with that id in the caller's scope");
    add(
        "409",
        write && (path_names("{org}") || path_names("{tenant}")),
        "the organization or tenant does not take this now (terminated, closed, or a purge under way)",
    );
    add("413", body, "the body is larger than `[server] max_body_bytes`");
    add("415", body, "the body is not `application/json`");
    add(
        "422",
        query || body,
        "a value the operation does not accept; `field` names it",
    );
}

/// Replaces an `allOf` of a closed schema (`deny_unknown_fields`) and the fields around it
/// (`#[serde(flatten)]`) with one object holding both, which is what the view serializes.
fn flatten_all_of(doc: &mut Value, name: &str) {
    let schemas = &doc["components"]["schemas"];
    let Some(parts) = schemas[name]["allOf"].as_array() else {
        return;
    };
    let mut properties = serde_json::Map::new();
    let mut required: Vec<Value> = Vec::new();
    for part in parts {
        let part = match part["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
            Some(target) => &schemas[target],
            None => part,
        };
        if let Some(props) = part["properties"].as_object() {
            properties.extend(props.clone());
        }
        if let Some(req) = part["required"].as_array() {
            required.extend(req.iter().cloned());
        }
    }
    let description = schemas[name]["description"].clone();
    doc["components"]["schemas"][name] = json!({
        "type": "object",
        "description": description,
        "properties": properties,
        "required": required,
    });
}

/// The AI trust layer: OpenAI's wire format, OpenAI's error shape (`{"error": {...}}` as
/// `application/json`, so the official SDKs read it), and Prometheus metrics.
fn gateway_paths(doc: &mut Value) {
    let error = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAiError"}}}
        })
    };
    let tenant = json!({
        "name": "x-datapact-tenant", "in": "header", "required": false,
        "description": "The tenant whose data the call carries, for a service key not bound to one.",
        "schema": {"type": "string"}
    });
    let forwarded = |what: &str| json!({"description": format!("{what}; forwarded to the provider, which checks it")});
    let mut chat_fields = serde_json::Map::new();
    // Every parameter forwarded unchecked (the four checked ones are spelled out below).
    let checked = ["model", "messages", "stream", "stream_options"];
    for f in datapact_gateway::chat_fields().iter().filter(|f| !checked.contains(f)) {
        chat_fields.insert((*f).to_string(), forwarded("OpenAI's parameter of that name"));
    }
    chat_fields.insert(
        "model".into(),
        json!({"type": "string", "minLength": 1, "description": "A model one of the configured providers serves."}),
    );
    chat_fields.insert("messages".into(), json!({"type": "array", "description": "OpenAI's messages; every string in them is scanned for personal data.", "items": {}}));
    chat_fields.insert(
        "stream".into(),
        json!({"type": ["boolean", "null"], "description": "Answer as server-sent events."}),
    );
    chat_fields.insert(
        "stream_options".into(),
        json!({"type": ["object", "null"], "description": "OpenAI's stream options (`include_usage`)."}),
    );
    let mut embedding_fields = serde_json::Map::new();
    for f in ["encoding_format", "dimensions", "user"] {
        embedding_fields.insert(f.to_string(), forwarded("OpenAI's parameter of that name"));
    }
    embedding_fields.insert("model".into(), json!({"type": "string", "minLength": 1}));
    embedding_fields.insert(
        "input".into(),
        json!({"type": ["string", "array"], "description": "Text or texts to embed; scanned for personal data."}),
    );
    let answers = |ok: Value| {
        json!({
            "200": ok,
            "400": error("malformed body, unsupported parameter (`unsupported_parameter`), or personal data refused (`pii_blocked`)"),
            "401": error("missing or unknown key"),
            "403": error("refused by a decision, the model policy, residency or a Cedar policy; `code` says which"),
            "404": error("no configured provider serves the model (`model_not_found`)"),
            "408": error("the body did not arrive in time"),
            "413": error("the body is larger than the gateway's limit"),
            "429": error("over the tenant's rate limit or token budget; `Retry-After` says when to try again"),
            "502": error("the provider failed or answered something that is not OpenAI's format"),
            "503": error("the audit log cannot record the call, the provider is unavailable, or too many calls are under way"),
            "504": error("the provider did not answer in time"),
        })
    };
    let post = |summary: &str, id: &str, fields: serde_json::Map<String, Value>, required: Value, ok: Value| {
        json!({"post": {
            "tags": ["ai"], "summary": summary, "operationId": id,
            "security": [{"bearer": []}],
            "parameters": [tenant],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": false, "required": required, "properties": fields,
            }}}},
            "responses": answers(ok),
        }})
    };
    let chat_ok = json!({
        "description": "The provider's answer with placeholders restored; server-sent events when `stream` is true.",
        "content": {
            "application/json": {"schema": {"type": "object", "required": ["choices"], "properties": {"choices": {"type": "array"}}}},
            "text/event-stream": {"schema": {"description": "`chat.completion.chunk` objects as server-sent events, then `[DONE]`"}}
        }
    });
    let embeddings_ok = json!({
        "description": "The provider's embeddings.",
        "content": {"application/json": {"schema": {"type": "object", "required": ["data"], "properties": {"data": {"type": "array"}}}}}
    });
    let receipt = json!({"x-datapact-audit-entry": {
        "description": "The index of the call's audit entry (the `llm_forward` entry stored before the prompt left, or a refusal's `llm_call` entry); fetch its inclusion proof at /v1/audit/proofs/inclusion. Absent with `[gateway] audit = \"async\"`.",
        "schema": {"type": "integer", "minimum": 0}
    }});
    let paths = &mut doc["paths"];
    paths["/v1/chat/completions"] = post(
        "A chat completion through the AI trust layer: decided, policy-checked, masked, audited",
        "post_v1_chat_completions",
        chat_fields,
        json!(["model", "messages"]),
        chat_ok,
    );
    paths["/v1/embeddings"] = post(
        "Embeddings through the AI trust layer",
        "post_v1_embeddings",
        embedding_fields,
        json!(["model", "input"]),
        embeddings_ok,
    );
    for path in ["/v1/chat/completions", "/v1/embeddings"] {
        if let Some(responses) = at(doc, &["paths", path, "post", "responses"]).and_then(Value::as_object_mut) {
            for (status, r) in responses.iter_mut() {
                if ["200", "400", "403", "404", "429"].contains(&status.as_str()) {
                    r["headers"] = receipt.clone();
                }
            }
        }
    }
    let paths = &mut doc["paths"];
    paths["/v1/models"] = json!({"get": {
        "tags": ["ai"], "summary": "The models this caller may use", "operationId": "get_v1_models",
        "security": [{"bearer": []}],
        "parameters": [tenant],
        "responses": {
            "200": {"description": "OpenAI's model list", "content": {"application/json": {"schema": {
                "type": "object", "required": ["object", "data"],
                "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": {
                    "type": "object", "required": ["id", "object", "created", "owned_by"],
                    "properties": {"id": {"type": "string"}, "object": {"const": "model"}, "created": {"type": "integer"}, "owned_by": {"type": "string"}}
                }}}
            }}}},
            "401": error("missing or unknown key"),
            "403": error("the key may not use the AI trust layer"),
        }
    }});
    paths["/metrics"] = json!({"get": {
        "tags": ["meta"], "summary": "Prometheus metrics of this process: counts and timings, no tenant, no content",
        "operationId": "get_metrics",
        "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}
    }});
    doc["components"]["schemas"]["OpenAiError"] = json!({
        "type": "object", "required": ["error"],
        "description": "OpenAI's error shape, as the official SDKs read it.",
        "properties": {"error": {"type": "object", "required": ["message", "type", "code"], "properties": {
            "message": {"type": "string"},
            "type": {"type": "string"},
            "code": {"type": "string", "description": "A stable code, as in problem+json answers."},
            "param": {"type": ["string", "null"]},
            "reasons": {"description": "A decision's reasons, when one refused the call."}
        }}}
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_every_forwarded_chat_parameter_and_only_those() {
        let doc = document();
        let props = doc["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["properties"]
            .as_object()
            .unwrap();
        let mut documented: Vec<&str> = props.keys().map(String::as_str).collect();
        documented.sort_unstable();
        let mut forwarded = datapact_gateway::chat_fields().to_vec();
        forwarded.sort_unstable();
        assert_eq!(documented, forwarded);
        let emb = doc["paths"]["/v1/embeddings"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
            .as_object()
            .unwrap();
        let mut documented: Vec<&str> = emb.keys().map(String::as_str).collect();
        documented.sort_unstable();
        let mut forwarded = datapact_gateway::embedding_fields().to_vec();
        forwarded.sort_unstable();
        assert_eq!(documented, forwarded);
    }

    #[test]
    fn every_operation_documents_its_client_errors() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
                if secured {
                    for s in ["401", "403"] {
                        assert!(op["responses"].get(s).is_some(), "{method} {path} lacks {s}");
                    }
                }
                if path.contains('{') {
                    assert!(op["responses"].get("404").is_some(), "{method} {path} lacks 404");
                }
            }
        }
        assert!(doc["components"]["schemas"]["AiSettingsView"].get("allOf").is_none());
    }
}
