//! Cohere's v2 API: `POST /v2/chat` (typed SSE stream events), `POST /v2/embed`,
//! `POST /v2/rerank` and `GET /v1/models`.
//!
//! The base URL is the API root (`https://api.cohere.com`), as in Cohere's own
//! SDKs, because the model list is only served under `/v1` while chat and
//! embeddings are under `/v2`.
//!
//! How the unified types map onto it:
//! - `top_p` is `p`, `stop` is `stop_sequences`, `reasoning_budget` is
//!   `thinking: {"type": "enabled", "token_budget": n}`; `tool_choice` `none` and
//!   `required` are `NONE` and `REQUIRED` (a named tool cannot be forced);
//!   `response_format` JSON schema is `{"type": "json_object", "json_schema": ...}`;
//! - images (URLs or base64 as `data:` URLs) go in user messages only;
//! - the text of an assistant message that made tool calls is sent as its `tool_plan`;
//!   a response's `tool_plan` and `thinking` content are [`ChatResponse::reasoning`](crate::types::ChatResponse::reasoning);
//! - usage is the billed units (what prices are per), else the raw token counts;
//! - `COMPLETE`/`STOP_SEQUENCE` are Stop, `MAX_TOKENS` Length, `TOOL_CALL`
//!   ToolCalls, `CONTENT_BLOCKED` ContentFilter, anything else `Other`;
//! - a `message-end` event that carries an `error` fails the stream;
//! - Cohere does not echo the model: [`ChatResponse::model`](crate::types::ChatResponse::model) is empty.

mod request;
mod rerank;
mod response;
mod stream;

use http::HeaderMap;

use crate::error::{Error, ErrorKind, Result, classify_http_error};
use crate::provider::{HttpParts, RequestContext, Transform};
use crate::types::{ChatRequest, ModelInfo, Param, Params, ToolChoice};

pub use stream::CohereStreamState;

/// The Cohere v2 dialect (`dialect = cohere`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CohereDialect;

impl Transform for CohereDialect {
    type StreamState = CohereStreamState;

    /// Chat, embeddings and rerank (`rerank.rs`).
    const SERVES: crate::spec::Capabilities =
        super::CHAT_AND_EMBEDDINGS.with(&[crate::spec::Capability::Rerank]);

    fn build_request(&self, request: &ChatRequest, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        HttpParts::post_json("/v2/chat", &request::chat_body(request, ctx.stream)?)
    }

    parse_via_modules!();

    fn classify_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        let error = classify_http_error(status, headers, body);
        // Cohere answers a revoked or malformed key with 498 "invalid token".
        if status == 498 {
            error.with_kind(ErrorKind::Authentication)
        } else {
            error
        }
    }

    fn unsupported_params(&self, request: &ChatRequest) -> Params {
        let mut params =
            Params::of(&[Param::ReasoningEffort, Param::User, Param::ReasoningSummary])
                .set_in(request);
        if matches!(request.tool_choice, Some(ToolChoice::Tool(_))) {
            params.insert(Param::ToolChoice);
        }
        params
    }

    embed_via_modules!("/v2/embed");

    fn models_request(&self, _ctx: &RequestContext<'_>) -> Result<HttpParts> {
        Ok(HttpParts::get("/v1/models").query("page_size", "1000"))
    }

    fn parse_models(&self, body: &[u8]) -> Result<Vec<ModelInfo>> {
        response::parse_models(body)
    }

    fn operations(&self) -> &dyn crate::provider::Operations {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ProviderSpec;
    use crate::types::EmbeddingRequest;

    static SPEC: ProviderSpec = ProviderSpec::new("cohere", "https://api.cohere.com");

    fn ctx(stream: bool) -> RequestContext<'static> {
        RequestContext::new(&SPEC, "command-a-03-2025", stream)
    }

    #[test]
    fn request_parts() {
        let parts = CohereDialect
            .build_request(&ChatRequest::new("c").user("hi"), &ctx(true))
            .unwrap();
        assert_eq!(
            (parts.method, parts.path.as_str()),
            (http::Method::POST, "/v2/chat")
        );
        let parts = CohereDialect
            .build_embedding_request(&EmbeddingRequest::new("embed-v4.0", ["x"]), &ctx(false))
            .unwrap();
        assert_eq!(parts.path, "/v2/embed");
        let parts = CohereDialect.models_request(&ctx(false)).unwrap();
        assert_eq!(parts.path, "/v1/models");
        assert_eq!(parts.query, [("page_size".to_owned(), "1000".to_owned())]);
    }

    #[test]
    fn errors() {
        let h = HeaderMap::new();
        let e =
            CohereDialect.classify_error(498, &h, br#"{"id":"x","message":"invalid api token"}"#);
        assert_eq!(e.kind(), ErrorKind::Authentication);
        let e = CohereDialect.classify_error(400, &h, br#"{"id":"x","message":"too many tokens: total number of tokens in the prompt cannot exceed 128000"}"#);
        assert_eq!(e.kind(), ErrorKind::ContextWindowExceeded);
        assert!(e.message().contains("too many tokens"));
        let e = CohereDialect.classify_error(429, &h, br#"{"id":"x","message":"You are using a Trial key, which is limited to 10 API calls / minute."}"#);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
    }

    #[test]
    fn unsupported_params_are_named() {
        let req = ChatRequest::new("c").tool_choice(ToolChoice::Required);
        assert!(CohereDialect.unsupported_params(&req).is_empty());
        let req = ChatRequest::new("c")
            .tool_choice(ToolChoice::Tool("f".into()))
            .reasoning_effort(crate::types::ReasoningEffort::Low)
            .end_user("u");
        assert_eq!(
            CohereDialect.unsupported_params(&req),
            ["tool_choice", "reasoning_effort", "user"]
        );
    }
}
