//! The Anthropic Messages API (`POST /messages`).
//!
//! Request: `anthropic-version` is sent as [`ANTHROPIC_VERSION`] unless the
//! declaration sends its own; system messages become the top-level `system` prompt (a string,
//! or one text block each when one carries a cache breakpoint); the other
//! messages become `user`/`assistant` turns of content blocks (`text`,
//! `image`, `tool_use`, and `tool_result` inside a user turn), consecutive
//! turns of one role merged, empty turns left out; an assistant turn starts
//! with the `thinking` (text and `signature` unchanged) and
//! `redacted_thinking` blocks this API signed, as it requires for tool use.
//! [`CacheBreakpoint`](crate::types::CacheBreakpoint)s become `cache_control` (with
//! its `ttl`) on the marked system block, tool, or the last block of the
//! marked message. A JSON-schema response format is structured output,
//! `output_config: {"format": {"type": "json_schema", "schema": ...}}` (a JSON
//! object without a schema has no field and is an unsupported parameter).
//! `max_tokens` is required by the API, so it defaults to
//! [`DEFAULT_MAX_TOKENS`] (raised above the thinking budget when one is set).
//!
//! A request that carries the caller's own body in this format
//! ([`NativeBody`](crate::types::NativeBody), a gateway's same-dialect passthrough)
//! is sent as written instead: its fields byte for byte, with the route's
//! `model`, the call's `stream` and the request's `extra` fields.
//!
//! Response: `text` blocks are joined into the answer text, `thinking` blocks
//! into [`ChatResponse::reasoning`](crate::ChatResponse::reasoning) and, with
//! their signatures, into the message's [`ReasoningBlock`](crate::types::ReasoningBlock)s
//! (`redacted_thinking` too), `tool_use` blocks become tool calls whose
//! arguments are the `input` object's text as the API sent it (numbers, key
//! order and escapes kept; only whitespace between tokens taken out), and go
//! back in a later turn's `tool_use.input` as that text.
//! Usage: the prompt counts `input_tokens` plus both cache counts (Anthropic
//! reports them apart), `cached_tokens` is `cache_read_input_tokens`,
//! `cache_write_tokens` is `cache_creation_input_tokens` (when not zero).
//!
//! Stream: the full event sequence (`message_start`, `content_block_start`,
//! `content_block_delta`, `content_block_stop`, `message_delta`,
//! `message_stop`, `ping`, `error`). A `signature_delta` becomes a
//! [`StreamEvent::ReasoningSignature`](crate::types::StreamEvent::ReasoningSignature), a `redacted_thinking` block a
//! [`StreamEvent::RedactedReasoning`](crate::types::StreamEvent::RedactedReasoning). A tool call's `input_json_delta` pieces
//! are handed on as [`StreamEvent::ToolCallDelta`](crate::types::StreamEvent::ToolCallDelta)s as they arrive; when the
//! block stops, the arguments as the non-streamed `input` gives them (the
//! pieces without the whitespace between tokens) follow as a
//! [`StreamEvent::ToolCallEnd`](crate::types::StreamEvent::ToolCallEnd) if they differ from the pieces, so
//! [`ChatStream::collect_response`](crate::ChatStream::collect_response)
//! gives exactly what [`Transform::parse_response`] gives.
mod batch;
mod request;
mod response;
mod stream;
#[cfg(test)]
pub(super) mod tests;

use crate::dialects::raw_json::RawBody;
use crate::error::Result;
use crate::provider::{HttpParts, RequestContext, Transform};
use crate::types::{ChatRequest, Param, Params, ResponseFormat};

pub use stream::AnthropicStreamState;

/// The API version every request names in the `anthropic-version` header,
/// which the dialect sends itself; a declaration's
/// `headers("anthropic-version" = ...)` (or `env_headers`) replaces it.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

const VERSION_HEADER: &str = "anthropic-version";

/// `parts` with the `anthropic-version` header, unless the declaration sends its own.
fn versioned(mut parts: HttpParts, ctx: &RequestContext<'_>) -> HttpParts {
    let declared = ctx
        .spec
        .headers
        .iter()
        .chain(ctx.spec.env_headers)
        .any(|(name, _)| name.eq_ignore_ascii_case(VERSION_HEADER));
    if !declared {
        parts.headers.push((
            http::HeaderName::from_static(VERSION_HEADER),
            http::HeaderValue::from_static(ANTHROPIC_VERSION),
        ));
    }
    parts
}

/// `max_tokens` when the request sets none (the API requires one).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The Anthropic Messages dialect: `dialect = anthropic` delegates to it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnthropicDialect;

impl Transform for AnthropicDialect {
    type StreamState = AnthropicStreamState;

    /// The Messages API has no embeddings and no JSON mode; it has Message
    /// Batches (`batch.rs`).
    const SERVES: crate::spec::Capabilities =
        super::CONVERSATION.with(&[crate::spec::Capability::Batch]);

    fn build_request(&self, request: &ChatRequest, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        let model = ctx.model_or(&request.model);
        let body = request::body(request, model, ctx.stream)?;
        Ok(versioned(
            HttpParts::post_json("/messages", &RawBody(&body))?,
            ctx,
        ))
    }

    parse_via_modules!();

    fn unsupported_params(&self, request: &ChatRequest) -> Params {
        let mut params = Params::of(&[
            Param::Seed,
            Param::CacheKey,
            Param::CachedContent,
            Param::ReasoningSummary,
        ])
        .set_in(request);
        // A JSON schema is `output_config.format`; "any JSON object" has no field.
        if matches!(request.response_format, Some(ResponseFormat::JsonObject)) {
            params.insert(Param::ResponseFormat);
        }
        params
    }

    fn models_request(&self, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        // The default page holds 20 models; 1000 is the API's largest page.
        Ok(versioned(
            HttpParts::get("/models").query("limit", "1000"),
            ctx,
        ))
    }

    fn operations(&self) -> &dyn crate::provider::Operations {
        self
    }
}
