//! OpenAI Embeddings: `POST /v1/embeddings` and `/embeddings`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use llm_runtime::EmbeddingRequest;
use serde_json::{Value, json};

use crate::call;
use crate::error::GatewayError;
use crate::state::SharedState;

/// The embeddings routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/embeddings", post(embeddings))
        .route("/embeddings", post(embeddings))
}

/// `(model, request)` from an Embeddings body: `input` a string or strings
/// (token arrays are refused: the runtime embeds text).
pub fn parse(body: &[u8]) -> Result<(String, EmbeddingRequest), GatewayError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        GatewayError::bad_request(format!("The request body is not valid JSON: {e}"))
    })?;
    let model = v
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| GatewayError::bad_request("`model` is required").param("model"))?
        .to_owned();
    let input: Vec<String> = match v.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                GatewayError::bad_request("`input` items must be strings").param("input")
            })?,
        _ => {
            return Err(GatewayError::bad_request(
                "`input` must be a string or a non-empty array of strings",
            )
            .param("input"));
        }
    };
    if v.get("encoding_format")
        .and_then(Value::as_str)
        .is_some_and(|f| f != "float")
    {
        return Err(
            GatewayError::bad_request("Only `encoding_format: float` is supported")
                .param("encoding_format"),
        );
    }
    let mut request = EmbeddingRequest::new(model.clone(), input);
    request.dimensions = v
        .get("dimensions")
        .and_then(Value::as_u64)
        .and_then(|d| u32::try_from(d).ok());
    Ok((model, request))
}

async fn embeddings(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => return GatewayError::from_body_rejection(&rejection).into_response(),
    };
    let (model, request) = match parse(&body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let (result, record) = call::embed(&state, &model, request).await;
    let mut response = match result {
        Ok(r) => {
            let data: Vec<Value> = r
                .embeddings
                .iter()
                .map(|e| json!({"object": "embedding", "index": e.index, "embedding": e.vector}))
                .collect();
            let usage = r.usage.map_or(
                json!({"prompt_tokens": 0, "total_tokens": 0}),
                |u| json!({"prompt_tokens": u.prompt_tokens, "total_tokens": u.total_tokens}),
            );
            let upstream = if r.model.is_empty() {
                model.as_str()
            } else {
                r.model.as_str()
            };
            axum::Json(json!({"object": "list", "data": data, "model": upstream, "usage": usage}))
                .into_response()
        }
        Err(e) => e.into_response(),
    };
    response.headers_mut().extend(record.headers());
    response
}
