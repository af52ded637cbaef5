//! The Amazon Bedrock Converse API (`POST /model/{modelId}/converse` and
//! `/converse-stream`), one wire format for every model Bedrock hosts.
//!
//! Request: system messages become the `system` text blocks; the other
//! messages become alternating `user`/`assistant` turns of content blocks
//! (`text`, `image` as bytes or an `s3Location`, `toolUse`, and `toolResult`
//! inside a user turn); an assistant turn starts with the `reasoningContent`
//! blocks Converse signed, text and signature (or `redactedContent`)
//! unchanged. Sampling goes in `inferenceConfig`, tools in `toolConfig`
//! (`toolChoice` `auto`, `any`, `tool`), a [`CacheBreakpoint`](crate::types::CacheBreakpoint)
//! becomes a `cachePoint` block after what it marks. A reasoning budget is
//! Anthropic's `thinking` in `additionalModelRequestFields` for Claude models;
//! each `extra` key goes there too (model-native parameters such as
//! `top_k`), except Converse's own top-level fields (`guardrailConfig`,
//! `performanceConfig`, `requestMetadata`...), which are set as given.
//! The model id is one path segment ([`crate::http::path_segment`]:
//! inference profiles and ARNs hold `:` and `/`).
//!
//! Response: `text` blocks joined, `toolUse` blocks as tool calls (the
//! `input` object's text as Bedrock sent it, only whitespace between tokens
//! taken out; sent back in a later turn as that text), `reasoningContent` as
//! [`ReasoningBlock`](crate::types::ReasoningBlock)s with their signatures;
//! `stopReason` and `usage` (cached prompt tokens counted in the prompt).
//! A Converse answer does not name its model or carry an id, so both stay
//! empty (the request id is in [`ResponseMeta`](crate::ResponseMeta)).
//!
//! Stream: AWS event stream messages `messageStart`, `contentBlockStart`
//! (`toolUse`), `contentBlockDelta` (`text`, `toolUse.input` pieces,
//! `reasoningContent` text, signature and redacted content),
//! `contentBlockStop`, `messageStop` (`stopReason`) and `metadata` (usage,
//! the last event); an exception message is the error its name says.
//!
//! Errors: the exception name from `x-amzn-errortype` (or the body's
//! `__type`) refines the status through the one code table, the request id is
//! `x-amzn-requestid`.
mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

use http::HeaderMap;

use crate::dialects::raw_json::RawBody;
use crate::error::{Error, Result, classify_http_error, classify_kind};
use crate::http::path_segment;
use crate::types::{ChatRequest, ModelInfo, Param, Params, ResponseFormat, ToolChoice};
use crate::{
    provider::{HttpParts, RequestContext, Transform},
    stream::StreamFormat,
};

pub use stream::ConverseStreamState;

/// The [`ReasoningBlock::source`](crate::types::ReasoningBlock::source) of the
/// reasoning Converse signs or redacts.
pub const SOURCE: &str = "converse";

/// The Bedrock Converse dialect: `dialect = converse` delegates to it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConverseDialect;

/// `throttlingException` (an event stream member) or
/// `ThrottlingException:http://internal.amazon.com/...` (a header) or
/// `com.amazon.coral#ThrottlingException` (a body's `__type`) ->
/// `ThrottlingException`.
pub(crate) fn exception_name(raw: &str) -> String {
    let raw = raw.split(':').next().unwrap_or(raw);
    let raw = raw.rsplit('#').next().unwrap_or(raw).trim();
    let mut chars = raw.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

impl Transform for ConverseDialect {
    type StreamState = ConverseStreamState;

    /// Converse has no embeddings and no JSON mode.
    const SERVES: crate::spec::Capabilities = super::CONVERSATION;

    fn build_request(&self, request: &ChatRequest, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        let model = ctx.model_or(&request.model);
        if model.is_empty() {
            return Err(Error::invalid_request(
                "a Bedrock request needs a model id (or an inference profile id or ARN)",
            ));
        }
        let body = request::body(request, model)?;
        let action = if ctx.stream {
            "converse-stream"
        } else {
            "converse"
        };
        let model = path_segment(model, "Bedrock model id")?;
        let mut parts = HttpParts::post_json(format!("/model/{model}/{action}"), &RawBody(&body))?;
        if ctx.stream {
            // ConverseStream answers in the AWS event stream format.
            parts.headers.push((
                http::header::ACCEPT,
                http::HeaderValue::from_static("application/vnd.amazon.eventstream"),
            ));
        }
        Ok(parts)
    }

    parse_via_modules!(finish);

    fn stream_format(&self) -> StreamFormat {
        StreamFormat::AwsEventStream
    }

    fn classify_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        let base = classify_http_error(status, headers, body);
        let body_type = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("__type").and_then(|t| t.as_str()).map(str::to_owned));
        let code = headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or(body_type)
            .map(|raw| exception_name(&raw))
            .filter(|c| !c.is_empty());
        let request_id = headers
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Some(code) = code else {
            return match request_id {
                Some(id) if base.request_id().is_none() => base.with_request_id(Some(id)),
                _ => base,
            };
        };
        let message = base.message().to_owned();
        let kind = classify_kind(status, &[Some(&code)], Some(&message));
        let mut error = Error::new(kind, message)
            .with_status(status)
            .with_code(code)
            .with_retry_after(base.retry_after())
            .with_should_retry(base.should_retry_hint())
            .with_request_id(request_id.or_else(|| base.request_id().map(str::to_owned)));
        if !body.is_empty() {
            error = error.with_body(body);
        }
        error
    }

    fn unsupported_params(&self, request: &ChatRequest) -> Params {
        let mut params = Params::of(&[
            Param::Seed,
            Param::User,
            Param::CacheKey,
            Param::CachedContent,
            Param::ReasoningSummary,
        ])
        .set_in(request);
        if matches!(
            request.response_format,
            Some(ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. })
        ) {
            params.insert(Param::ResponseFormat);
        }
        if matches!(request.tool_choice, Some(ToolChoice::None)) {
            params.insert(Param::ToolChoice);
        }
        // Only Claude's `thinking` is mapped; other models take their own
        // fields through `extra` (`additionalModelRequestFields`).
        if !request::is_anthropic(&request.model) {
            for param in Params::of(&[Param::ReasoningEffort, Param::ReasoningBudget])
                .set_in(request)
                .iter()
            {
                params.insert(param);
            }
        }
        params
    }

    fn models_request(&self, _ctx: &RequestContext<'_>) -> Result<HttpParts> {
        Err(Error::unsupported(
            "Bedrock lists its models on the control plane (bedrock, not bedrock-runtime): use the AWS SDK's ListFoundationModels",
        ))
    }

    fn parse_models(&self, _body: &[u8]) -> Result<Vec<ModelInfo>> {
        Ok(Vec::new())
    }
}
