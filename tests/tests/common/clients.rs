//! Providers declared in the `tests` package, the way a third-party crate would,
//! and fixtures for the client, fallback, validation and health tests.
// The derive expands to `pub` items; these providers are `pub` like a user's.
#![allow(unreachable_pub)]

use std::time::Duration;

use llm_runtime::dialects::openai::OpenAiDialect;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ProviderClient, ProviderConfig,
    Result, StreamEvent,
    provider::{HttpParts, RequestContext, Transform},
    stream::{Control, Frame},
    types::{ModelInfo, Param, Params},
};
use serde_json::{Value, json};

use super::conformance::loopback_config;

pub(crate) use super::{CHAT_PATH, KEY};

/// A provider declared outside the runtime: OpenAI-compatible, every capability.
#[derive(Debug, Clone, Copy, Default, llm_runtime::Provider)]
#[provider(name = "acme", base_url = "https://api.acme.example/v1", auth = "bearer",
           env = "ACME_TEST_API_KEY", default_model = "acme-large",
           capabilities(chat, stream, tools, vision, embeddings, json_mode), dialect = openai)]
pub struct Acme;

/// A second OpenAI-compatible provider with chat and streaming only (no tools, no vision).
#[derive(Debug, Clone, Copy, Default, llm_runtime::Provider)]
#[provider(name = "backup", base_url = "https://api.backup.example/v1", auth = "bearer",
           capabilities(chat, stream), dialect = openai)]
pub struct Backup;

/// A provider with a declared health probe.
#[derive(Debug, Clone, Copy, Default, llm_runtime::Provider)]
#[provider(name = "probed", base_url = "https://api.probed.example/v1", auth = "bearer",
           health = "GET /ping", dialect = openai)]
pub struct Probed;

/// An OpenAI-shaped provider whose API has no `seed`: its transform reports the
/// parameter as unsupported, but (like the OpenAI transform it wraps) still
/// writes it when asked to send it anyway.
#[derive(Debug, Clone, Copy, Default, llm_runtime::Provider)]
#[provider(
    name = "noseed",
    base_url = "https://api.noseed.example/v1",
    auth = "bearer",
    capabilities(chat, stream)
)]
pub struct NoSeed;

impl Transform for NoSeed {
    type StreamState = <OpenAiDialect as Transform>::StreamState;

    fn build_request(&self, request: &ChatRequest, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        OpenAiDialect.build_request(request, ctx)
    }

    fn parse_response(&self, body: &[u8], ctx: &RequestContext<'_>) -> Result<ChatResponse> {
        OpenAiDialect.parse_response(body, ctx)
    }

    fn parse_stream_event(
        &self,
        frame: &Frame,
        state: &mut Self::StreamState,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Control> {
        OpenAiDialect.parse_stream_event(frame, state, out)
    }

    fn unsupported_params(&self, request: &ChatRequest) -> Params {
        Params::of(&[Param::Seed]).set_in(request)
    }

    fn build_embedding_request(
        &self,
        request: &EmbeddingRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        OpenAiDialect.build_embedding_request(request, ctx)
    }

    fn parse_embedding_response(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
    ) -> Result<EmbeddingResponse> {
        OpenAiDialect.parse_embedding_response(body, ctx)
    }

    fn parse_models(&self, body: &[u8]) -> Result<Vec<ModelInfo>> {
        OpenAiDialect.parse_models(body)
    }
}

/// `P`'s config pointed at `server`'s `/v1`, with no retries and a 5 s bound.
pub fn config_for<P: llm_runtime::Provider + Default>(server: &MockServer) -> ProviderConfig<P> {
    loopback_config::<P>(server, "/v1")
        .api_key(KEY)
        .timeout(Duration::from_secs(5))
}

/// `P` connected to `server`.
pub fn connect<P: llm_runtime::Provider + Default>(server: &MockServer) -> ProviderClient<P> {
    config_for::<P>(server)
        .connect()
        .expect("a loopback config is valid")
}

/// A chat-completions body from `model` answering `text`.
pub fn completion(model: &str, text: &str) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    })
}

/// `200` with [`completion`].
pub fn chat_ok(model: &str, text: &str) -> MockResponse {
    MockResponse::json(200, completion(model, text))
}

/// A streamed answer `text` from `model`, ending with `[DONE]`.
pub fn stream_ok(model: &str, text: &str) -> MockResponse {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    MockResponse::sse_data([
        chunk(json!({"role": "assistant", "content": text}), Value::Null),
        chunk(json!({}), json!("stop")),
        "[DONE]".to_owned(),
    ])
}

/// An OpenAI-shaped error body.
pub fn error_body(status: u16, message: &str, kind: &str, code: &str) -> MockResponse {
    MockResponse::json(
        status,
        json!({"error": {"message": message, "type": kind, "code": code}}),
    )
}

/// `500` with OpenAI's server-error body.
pub fn server_error() -> MockResponse {
    error_body(
        500,
        "The server had an error while processing your request",
        "server_error",
        "server_error",
    )
}

/// `401` with OpenAI's invalid-key body.
pub fn bad_key() -> MockResponse {
    error_body(
        401,
        "Incorrect API key provided",
        "invalid_request_error",
        "invalid_api_key",
    )
}

/// `400` with OpenAI's context-length body.
pub fn too_long() -> MockResponse {
    error_body(
        400,
        "This model's maximum context length is 128000 tokens.",
        "invalid_request_error",
        "context_length_exceeded",
    )
}

/// A small request with no model (the route names it).
pub fn hello() -> ChatRequest {
    ChatRequest::new("").user("Say hello")
}

/// The `model` field of every chat request `server` received.
pub fn models_sent(server: &MockServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.path == CHAT_PATH)
        .map(|r| {
            r.body_json()["model"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// A [`Client`](llm_runtime::Client) with [`Acme`] alone, on `server`.
pub fn acme_client(server: &MockServer) -> llm_runtime::Client {
    llm_runtime::Client::builder()
        .register(connect::<Acme>(server))
        .expect("new")
        .build()
        .expect("valid")
}
