//! Ollama's native API: `POST /api/chat` with NDJSON streaming, `POST /api/embed`
//! and `GET /api/tags`.
//!
//! How the unified types map onto it:
//! - sampling parameters go to `options` (`max_tokens` is `num_predict`);
//!   `extra` keys are merged into the body, `extra.options` into `options`;
//! - images travel as bare base64 (`Part::image_base64`, or a `data:` URL); a web
//!   URL is [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported): Ollama does not fetch;
//! - tool-call arguments are sent and received as JSON objects; in the unified
//!   types they are JSON text: the object's text as the server sent it (only
//!   whitespace between tokens taken out, the same streamed or not), and sent
//!   back as that text;
//!   Ollama gives no call ids, so calls are named `call_0`, `call_1`... in order,
//!   and a tool result names its call by the tool's name (`tool_name`: the
//!   result's own [`Message::tool_name`](crate::Message::tool_name), else the
//!   name of the earlier call it answers);
//! - `reasoning_effort` is `think` (`false` for `none`, else the level's word:
//!   `"low"`, `"medium"`, `"high"`), the
//!   `thinking` text is [`ChatResponse::reasoning`](crate::types::ChatResponse::reasoning);
//! - `done_reason` `stop` is [`FinishReason::ToolCalls`](crate::FinishReason::ToolCalls)
//!   when the answer made tool calls; Ollama has no content-filter reason;
//! - Ollama sends no response id: [`ChatResponse::id`](crate::types::ChatResponse::id) is empty.

mod request;
mod response;
mod stream;

use crate::dialects::raw_json::RawBody;
use crate::error::Result;
use crate::types::{ChatRequest, ModelInfo, Param, Params, ToolChoice};
use crate::{
    provider::{HttpParts, RequestContext, Transform},
    stream::StreamFormat,
};

pub use stream::OllamaStreamState;

/// The Ollama dialect (`dialect = ollama`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OllamaDialect;

impl Transform for OllamaDialect {
    type StreamState = OllamaStreamState;

    /// Chat and embeddings; the operations beyond them are listed where served.
    const SERVES: crate::spec::Capabilities = super::CHAT_AND_EMBEDDINGS;

    fn build_request(&self, request: &ChatRequest, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        let body = request::chat_body(request, ctx.stream)?;
        HttpParts::post_json("/api/chat", &RawBody(&body))
    }

    parse_via_modules!();

    fn stream_format(&self) -> StreamFormat {
        StreamFormat::Ndjson
    }

    fn unsupported_params(&self, request: &ChatRequest) -> Params {
        let mut params =
            Params::of(&[Param::ReasoningBudget, Param::User, Param::ReasoningSummary])
                .set_in(request);
        if matches!(&request.tool_choice, Some(choice) if *choice != ToolChoice::Auto) {
            params.insert(Param::ToolChoice);
        }
        params
    }

    embed_via_modules!("/api/embed");

    fn models_request(&self, _ctx: &RequestContext<'_>) -> Result<HttpParts> {
        Ok(HttpParts::get("/api/tags"))
    }

    fn parse_models(&self, body: &[u8]) -> Result<Vec<ModelInfo>> {
        response::parse_models(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ProviderSpec;
    use crate::types::EmbeddingRequest;

    static SPEC: ProviderSpec = ProviderSpec::new("ollama", "http://localhost:11434");

    fn ctx(stream: bool) -> RequestContext<'static> {
        RequestContext::new(&SPEC, "llama3.2", stream)
    }

    #[test]
    fn request_parts() {
        let parts = OllamaDialect
            .build_request(&ChatRequest::new("llama3.2").user("hi"), &ctx(true))
            .unwrap();
        assert_eq!(parts.method, http::Method::POST);
        assert_eq!(parts.path, "/api/chat");
        let body: serde_json::Value =
            serde_json::from_slice(parts.body.as_deref().unwrap_or_default()).unwrap();
        assert_eq!(body["stream"], true);
        let parts = OllamaDialect.models_request(&ctx(false)).unwrap();
        assert_eq!(
            (parts.method, parts.path.as_str()),
            (http::Method::GET, "/api/tags")
        );
        let parts = OllamaDialect
            .build_embedding_request(&EmbeddingRequest::new("all-minilm", ["x"]), &ctx(false))
            .unwrap();
        assert_eq!(parts.path, "/api/embed");
        assert_eq!(OllamaDialect.stream_format(), StreamFormat::Ndjson);
    }

    #[test]
    fn unsupported_params_are_named() {
        let req = ChatRequest::new("m").tool_choice(ToolChoice::Auto);
        assert!(OllamaDialect.unsupported_params(&req).is_empty());
        let req = ChatRequest::new("m")
            .tool_choice(ToolChoice::Required)
            .reasoning_budget(100)
            .end_user("u1");
        assert_eq!(
            OllamaDialect.unsupported_params(&req),
            ["tool_choice", "reasoning_budget", "user"]
        );
    }

    #[test]
    fn a_stream_without_its_done_line_is_truncated() {
        let mut state = OllamaStreamState::default();
        let mut out = Vec::new();
        let e = OllamaDialect
            .finish_stream(&mut state, &mut out)
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::StreamTruncated);
    }
}
