//! The Gemini API (`generateContent`, `streamGenerateContent?alt=sse`,
//! `batchEmbedContents`).
//!
//! Request: system messages become `systemInstruction`; the other messages
//! become `contents` with roles `user`/`model` (consecutive ones of one role
//! merged); images become `inlineData` (base64 and `data:` URLs) or `fileData`
//! (other URLs); a tool result becomes a `functionResponse` named after the
//! earlier call it answers (or, when a trimmed history no longer holds the
//! call, the result's own [`Message::tool_name`](crate::Message::tool_name)),
//! its `response` the result's JSON object (other
//! JSON, or plain text, wrapped as `{"result": ...}`). Tools are sent as
//! `parametersJsonSchema` and a JSON-schema response format as
//! `responseJsonSchema`: both take the JSON Schema a [`Tool`](crate::Tool)
//! holds, where `parameters`/`responseSchema` take only an OpenAPI subset;
//! a tool's schema is first rewritten into the subset Gemini reads
//! ([`function_schema`], which lists each change; a `tracing` warning names
//! the tool). A model turn sends back the `thoughtSignature`s this API issued
//! on the part each came with: a signed thought as a `thought: true` part, a
//! function call's on that `functionCall` part, a text's on the (last) text
//! part. `cachedContent` names a cache ([`ChatRequest::cached_content`](crate::ChatRequest::cached_content)).
//!
//! Response: the first candidate's `text` parts are the answer, `thought: true`
//! parts the reasoning, each `thoughtSignature` a [`ReasoningBlock`](crate::types::ReasoningBlock)
//! anchored on its part, `functionCall` parts the tool calls (arguments
//! the `args` text as Gemini sent it, only whitespace between tokens taken
//! out; id `call_<n>` when the API gives none). A `STOP` with tool calls is
//! [`FinishReason::ToolCalls`](crate::FinishReason::ToolCalls); every documented
//! `finishReason` maps through one table, every filter (text or image: `SAFETY`,
//! `IMAGE_PROHIBITED_CONTENT`, `IMAGE_RECITATION`...) to
//! [`FinishReason::ContentFilter`](crate::FinishReason::ContentFilter).
//! A prompt blocked before any candidate (`promptFeedback.blockReason`) is a
//! successful response with an empty message and
//! [`FinishReason::ContentFilter`](crate::FinishReason::ContentFilter), the
//! same as a candidate stopped for `SAFETY`, so callers check one place.
//!
//! Stream: every SSE event is a whole `GenerateContentResponse`; the stream has
//! no terminator, so the usage and finish reason are sent when the body ends
//! ([`Transform::finish_stream`]), and a body that ends before any
//! `finishReason` is [`ErrorKind::StreamTruncated`](crate::ErrorKind::StreamTruncated).

mod images;
mod request;
mod response;
mod schema;
mod stream;
#[cfg(test)]
pub(super) mod tests;

use std::time::Duration;

use http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::dialects::raw_json::RawBody;
use crate::dialects::toolkit::{embeddings_in_order, model_list};
use crate::dialects::wire::null_as_default;
use crate::error::{Error, Result, classify_http_error};
use crate::http::path_segment;
use crate::provider::{HttpParts, RequestContext, Transform};
use crate::types::{ChatRequest, EmbeddingRequest, EmbeddingResponse, ModelInfo, Param, Params};

pub use schema::{SchemaTransform, function_schema};
pub use stream::GeminiStreamState;

/// The Gemini dialect: `dialect = gemini` delegates to it.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeminiDialect;

/// The resource collections a model may name before its id
/// (`models/gemini-2.5-flash`, `tunedModels/mine`, and Vertex AI's
/// `endpoints/123`); anything else is all id.
const COLLECTIONS: [&str; 3] = ["models", "tunedModels", "endpoints"];

/// The model's collection and id: `gemini-2.5-flash` is `models` and
/// `gemini-2.5-flash`, `tunedModels/mine` is `tunedModels` and `mine`,
/// `x/../files` is `models` and `x/../files`.
fn model_resource(model: &str) -> (&'static str, &str) {
    model
        .split_once('/')
        .and_then(|(collection, id)| {
            let collection = COLLECTIONS.into_iter().find(|c| *c == collection)?;
            Some((collection, id))
        })
        .unwrap_or(("models", model))
}

/// The path of a model's method, `/{collection}/{id}:{method}`, the id one
/// path segment ([`path_segment`]: `x/../files` is `x%2F..%2Ffiles`).
fn model_path(model: &str, method: &str) -> Result<String> {
    let (collection, id) = model_resource(model);
    let id = path_segment(id, "Gemini model id")?;
    Ok(format!("/{collection}/{id}:{method}"))
}

impl Transform for GeminiDialect {
    type StreamState = GeminiStreamState;

    /// Chat, embeddings, and image output through `generateContent` (`images.rs`).
    const SERVES: crate::spec::Capabilities =
        super::CHAT_AND_EMBEDDINGS.with(&[crate::spec::Capability::Images]);

    fn build_request(&self, request: &ChatRequest, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        let model = ctx.model_or(&request.model);
        let body = request::body(request)?;
        if ctx.stream {
            Ok(
                HttpParts::post_json(model_path(model, "streamGenerateContent")?, &RawBody(&body))?
                    .query("alt", "sse"),
            )
        } else {
            HttpParts::post_json(model_path(model, "generateContent")?, &RawBody(&body))
        }
    }

    parse_via_modules!(finish);

    /// The shared classification, plus the wait Google puts in a
    /// `google.rpc.RetryInfo` detail (`"retryDelay": "37s"`) when no
    /// `Retry-After` header says it.
    fn classify_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        let error = classify_http_error(status, headers, body);
        if error.retry_after().is_some() {
            return error;
        }
        let delay = retry_delay(body);
        error.with_retry_after(delay)
    }

    fn unsupported_params(&self, request: &ChatRequest) -> Params {
        Params::of(&[Param::User, Param::CacheKey, Param::ReasoningSummary]).set_in(request)
    }

    fn build_embedding_request(
        &self,
        request: &EmbeddingRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let model = ctx.model_or(&request.model);
        if model.is_empty() {
            return Err(Error::invalid_request(
                "a Gemini embedding request needs a model, e.g. `gemini-embedding-001`",
            ));
        }
        let path = model_path(model, "batchEmbedContents")?;
        let (collection, id) = model_resource(model);
        let qualified = format!("{collection}/{id}");
        let requests: Vec<Value> = request
            .input
            .iter()
            .map(|text| {
                let mut one = json!({"model": qualified, "content": {"parts": [{"text": text}]}});
                if let (Some(n), Some(obj)) = (request.dimensions, one.as_object_mut()) {
                    obj.insert("outputDimensionality".into(), json!(n));
                }
                one
            })
            .collect();
        HttpParts::post_json(path, &json!({"requests": requests}))
    }

    fn parse_embedding_response(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
    ) -> Result<EmbeddingResponse> {
        #[derive(Deserialize)]
        struct Batch {
            #[serde(default, deserialize_with = "null_as_default")]
            embeddings: Vec<Values>,
        }
        #[derive(Deserialize)]
        struct Values {
            #[serde(default, deserialize_with = "null_as_default")]
            values: Vec<f32>,
        }
        let batch: Batch = serde_json::from_slice(body).map_err(|e| {
            Error::decode(format!(
                "the Gemini embeddings response could not be read: {e}"
            ))
        })?;
        Ok(EmbeddingResponse {
            model: ctx.model.to_owned(),
            provider: String::new(),
            embeddings: embeddings_in_order(batch.embeddings.into_iter().map(|e| e.values)),
            usage: None,
        })
    }

    fn models_request(&self, _ctx: &RequestContext<'_>) -> Result<HttpParts> {
        // The default page is 50 models; 1000 is the API's largest page.
        Ok(HttpParts::get("/models").query("pageSize", "1000"))
    }

    fn parse_models(&self, body: &[u8]) -> Result<Vec<ModelInfo>> {
        model_list(body, "Gemini", "models/")
    }

    fn operations(&self) -> &dyn crate::provider::Operations {
        self
    }
}

/// The `retryDelay` of a `google.rpc.RetryInfo` error detail (`"37s"`, `"1.5s"`).
fn retry_delay(body: &[u8]) -> Option<Duration> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let v = match v {
        Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
        other => other,
    };
    v.get("error")?
        .get("details")?
        .as_array()?
        .iter()
        .find_map(|d| d.get("retryDelay")?.as_str())
        .and_then(|s| crate::error::delay_from_secs(s.strip_suffix('s')?))
}
