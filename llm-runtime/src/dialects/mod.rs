//! Transforms for each wire format; `dialect = name` delegates to one.

/// What a conversation-only wire format serves: chat, streams, tools, images
/// and reasoning, without embeddings or a JSON mode (Anthropic Messages,
/// Bedrock Converse).
pub(crate) const CONVERSATION: crate::spec::Capabilities = crate::spec::Capabilities::of(&[
    crate::spec::Capability::Chat,
    crate::spec::Capability::Stream,
    crate::spec::Capability::Tools,
    crate::spec::Capability::Vision,
    crate::spec::Capability::Reasoning,
]);

/// A conversation with a JSON mode (OpenAI Responses).
pub(crate) const CONVERSATION_JSON: crate::spec::Capabilities =
    CONVERSATION.with(&[crate::spec::Capability::JsonMode]);

/// Chat with a JSON mode, and embeddings (OpenAI chat completions, Gemini,
/// Ollama, Cohere); each adds the operations beyond them it serves.
pub(crate) const CHAT_AND_EMBEDDINGS: crate::spec::Capabilities =
    CONVERSATION_JSON.with(&[crate::spec::Capability::Embeddings]);

/// The two parsing methods of a dialect's `Transform`, which every built-in
/// dialect forwards to its `response::parse` and `stream::parse_event`
/// (`finish`: and `finish_stream` to `stream::finish`): their signatures are
/// written once, here.
macro_rules! parse_via_modules {
    () => {
        fn parse_response(
            &self,
            body: &[u8],
            _ctx: &$crate::provider::RequestContext<'_>,
        ) -> $crate::error::Result<$crate::types::ChatResponse> {
            response::parse(body)
        }

        fn parse_stream_event(
            &self,
            frame: &$crate::stream::Frame,
            state: &mut Self::StreamState,
            out: &mut Vec<$crate::types::StreamEvent>,
        ) -> $crate::error::Result<$crate::stream::Control> {
            stream::parse_event(frame, state, out)
        }
    };
    // A wire whose stream may end without a terminator also forwards
    // `finish_stream` to `stream::finish`.
    (finish) => {
        parse_via_modules!();

        fn finish_stream(
            &self,
            state: &mut Self::StreamState,
            out: &mut Vec<$crate::types::StreamEvent>,
        ) -> $crate::error::Result<()> {
            stream::finish(state, out)
        }
    };
}

/// The embedding methods of a dialect whose embeddings body and answer are
/// its `request::embedding_body` and `response::parse_embeddings(body, model)`,
/// posted to `path`.
macro_rules! embed_via_modules {
    ($path:literal) => {
        fn build_embedding_request(
            &self,
            request: &$crate::types::EmbeddingRequest,
            _ctx: &$crate::provider::RequestContext<'_>,
        ) -> $crate::error::Result<$crate::provider::HttpParts> {
            $crate::provider::HttpParts::post_json($path, &request::embedding_body(request))
        }

        fn parse_embedding_response(
            &self,
            body: &[u8],
            ctx: &$crate::provider::RequestContext<'_>,
        ) -> $crate::error::Result<$crate::types::EmbeddingResponse> {
            response::parse_embeddings(body, ctx.model)
        }
    };
}

pub mod anthropic;
pub mod cohere;
pub mod converse;
pub mod gemini;
pub mod ollama;
pub mod openai;
pub mod openai_responses;
pub(crate) mod operation_wire;
pub(crate) mod raw_json;
pub mod toolkit;
pub(crate) mod wire;

#[cfg(test)]
mod null_fields;
#[cfg(test)]
mod serves;
#[cfg(test)]
pub(crate) mod test_support;
