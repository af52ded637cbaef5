//! OpenAI chat completions, the wire format most providers speak
//! (Groq, Mistral, DeepSeek, Together, Fireworks, OpenRouter, xAI, vLLM...).
//!
//! A custom tool's call (`{"type": "custom", "custom": {"name", "input"}}`,
//! whole or streamed in pieces) is a [`ToolCall`](crate::ToolCall) of kind
//! [`ToolCallKind::Custom`](crate::types::ToolCallKind::Custom) whose arguments are
//! the raw input (streamed: a [`StreamEvent::CustomToolCall`](crate::types::StreamEvent::CustomToolCall) after its
//! start), and goes back in that shape next turn. A tool result that names
//! its function ([`Message::tool_name`](crate::Message::tool_name)) sends it
//! as the tool message's `name` (Mistral reads it; OpenAI accepts it).

mod batch;
mod operations;
mod request;
mod response;
mod stream;

use crate::error::Result;
use crate::provider::{HttpParts, RequestContext, Transform};
use crate::types::{ChatRequest, EmbeddingRequest, EmbeddingResponse, ModelInfo, Param, Params};

use crate::provider::parse_model_list;
pub use request::{chat_body, chat_body_for};
pub use stream::OpenAiStreamState;

/// The OpenAI chat-completions dialect (`dialect = openai`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiDialect;

impl Transform for OpenAiDialect {
    type StreamState = OpenAiStreamState;

    /// Every operation: chat, embeddings, and (in `operations.rs`, `batch.rs`)
    /// images, speech, transcription, rerank (the hosts' Cohere-shaped `/rerank`),
    /// moderation and batches.
    const SERVES: crate::spec::Capabilities =
        crate::spec::Capabilities::of(&crate::spec::Capability::ALL);

    fn build_request(&self, request: &ChatRequest, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        HttpParts::post_json(
            "/chat/completions",
            &request::ChatBody::for_ctx(request, ctx),
        )
    }

    parse_via_modules!();

    fn unsupported_params(&self, request: &ChatRequest) -> Params {
        Params::of(&[
            Param::ReasoningBudget,
            Param::CachedContent,
            Param::ReasoningSummary,
        ])
        .set_in(request)
    }

    fn build_embedding_request(
        &self,
        request: &EmbeddingRequest,
        _ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        HttpParts::post_json("/embeddings", &request::embedding_body(request))
    }

    fn parse_embedding_response(
        &self,
        body: &[u8],
        _ctx: &RequestContext<'_>,
    ) -> Result<EmbeddingResponse> {
        response::parse_embeddings(body)
    }

    fn parse_models(&self, body: &[u8]) -> Result<Vec<ModelInfo>> {
        parse_model_list(body)
    }

    fn operations(&self) -> &dyn crate::provider::Operations {
        self
    }
}
