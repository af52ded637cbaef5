//! Rerank in Cohere's v2 format (the de facto one): `POST /v1/rerank`,
//! `/v2/rerank` and `/rerank`, to any provider that ranks (Cohere, Jina,
//! Voyage, Together...). `documents` are strings (or `{"text": ...}`
//! objects, as v1 and Jina take them); the answer is
//! `{"id", "results": [{"index", "relevance_score", "document"?}], "meta"}`,
//! most relevant first.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use llm_runtime::types::{RerankRequest, RerankResponse};
use serde_json::{Value, json};

use super::{body, count, dispatch, json_object, respond, take_str};
use crate::call::CallRecord;
use crate::error::GatewayError;
use crate::state::SharedState;

/// The rerank routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/rerank", post(rerank))
        .route("/v2/rerank", post(rerank))
        .route("/rerank", post(rerank))
}

async fn rerank(State(state): State<SharedState>, raw: Result<Bytes, BytesRejection>) -> Response {
    let request = match body(raw).and_then(|b| parse(&state, &b)) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let model = request.model.clone();
    let mut record = CallRecord::start(&state, "rerank", &model);
    let texts =
        std::iter::once(request.query.as_str()).chain(request.documents.iter().map(String::as_str));
    let tokens = count(&model, texts);
    let result = dispatch(&state, &mut record, &model, tokens, |provider, upstream| {
        let mut request = request.clone();
        request.model = upstream;
        async move { provider.rerank(request).await }
    })
    .await;
    let call_id = record.call_id.clone();
    respond(
        result.map(|r| Json(render(&r, request.return_documents, &call_id))),
        &record,
    )
}

fn bad(param: &str, what: &str) -> GatewayError {
    GatewayError::bad_request(format!("`{param}` {what}")).param(param.to_owned())
}

/// A Cohere-format body as the runtime's request.
fn parse(state: &SharedState, body: &[u8]) -> Result<RerankRequest, GatewayError> {
    let mut obj = json_object(body)?;
    let model = take_str(&mut obj, "model")?;
    let query = take_str(&mut obj, "query")?;
    let documents = match obj.remove("documents") {
        Some(Value::Array(docs)) if !docs.is_empty() => docs
            .into_iter()
            .map(|d| match d {
                Value::String(s) => Ok(s),
                Value::Object(o) => o
                    .get("text")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| bad("documents", "objects need a `text` string")),
                _ => Err(bad(
                    "documents",
                    "must be strings or {\"text\": ...} objects",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(bad("documents", "is required: a non-empty array")),
    };
    let mut request = RerankRequest::new(model, query, documents);
    request.top_n = count_field(&mut obj, "top_n")?;
    request.max_tokens_per_doc = count_field(&mut obj, "max_tokens_per_doc")?;
    request.return_documents = match obj.remove("return_documents") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(bad("return_documents", "must be a boolean")),
    };
    if let Some(name) = obj.keys().next()
        && state.config.litellm_settings.drop_params != Some(true)
    {
        return Err(bad(
            name,
            "is not supported; leave it out or set litellm_settings.drop_params: true",
        ));
    }
    request
        .validate()
        .map_err(|e| GatewayError::bad_request(e.message().to_owned()))?;
    Ok(request)
}

fn count_field(
    obj: &mut serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<u32>, GatewayError> {
    match obj.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| bad(name, "must be a positive integer")),
    }
}

/// Cohere's v2 answer (the documents' texts when asked for, as v1 and
/// LiteLLM return them); `id` is the upstream's, else the gateway's call id.
pub fn render(r: &RerankResponse, return_documents: bool, call_id: &str) -> Value {
    let results: Vec<Value> = r
        .results
        .iter()
        .map(|x| {
            let mut item = json!({"index": x.index, "relevance_score": x.relevance_score});
            if return_documents && let Some(text) = &x.document {
                item["document"] = json!({"text": text});
            }
            item
        })
        .collect();
    let mut meta = json!({"api_version": {"version": "2"}});
    if let Some(units) = r.search_units {
        meta["billed_units"] = json!({"search_units": units});
    }
    if let Some(u) = r.usage {
        meta["tokens"] =
            json!({"input_tokens": u.prompt_tokens, "output_tokens": u.completion_tokens});
    }
    json!({"id": r.id.as_deref().unwrap_or(call_id), "results": results, "meta": meta})
}
