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
pub fn parse(body: &[u8]) -> Result<(String, EmbeddingRequest, Encoding), GatewayError> {
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
    let mut request = EmbeddingRequest::new(model.clone(), input);
    request.dimensions = v
        .get("dimensions")
        .and_then(Value::as_u64)
        .and_then(|d| u32::try_from(d).ok());
    let encoding = match v.get("encoding_format").and_then(Value::as_str) {
        None | Some("float") => Encoding::Float,
        Some("base64") => Encoding::Base64,
        Some(other) => {
            return Err(GatewayError::bad_request(format!(
                "`encoding_format` must be float or base64, got `{other}`"
            ))
            .param("encoding_format"));
        }
    };
    Ok((model, request, encoding))
}

/// How vectors are written: numbers, or OpenAI's base64 of little-endian f32s
/// (what the official SDKs ask for by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// JSON numbers.
    Float,
    /// Base64 of the little-endian f32 bytes.
    Base64,
}

impl Encoding {
    fn render(self, vector: &[f32]) -> Value {
        match self {
            Encoding::Float => json!(vector),
            Encoding::Base64 => {
                let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
                Value::String(base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    bytes,
                ))
            }
        }
    }
}

async fn embeddings(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => return GatewayError::from_body_rejection(&rejection).into_response(),
    };
    let (model, request, encoding) = match parse(&body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let (result, record) = call::embed(&state, &model, request).await;
    let mut response = match result {
        Ok(r) => {
            let data: Vec<Value> = r
                .embeddings
                .iter()
                .map(|e| json!({"object": "embedding", "index": e.index, "embedding": encoding.render(&e.vector)}))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_little_endian_f32() {
        let v = Encoding::Base64.render(&[1.0, -2.5]);
        let bytes = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            v.as_str().expect("a string"),
        )
        .expect("base64");
        assert_eq!(
            bytes,
            [1.0f32.to_le_bytes(), (-2.5f32).to_le_bytes()].concat()
        );
        assert_eq!(Encoding::Float.render(&[0.5]), json!([0.5]));
    }
}
