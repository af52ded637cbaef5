//! Paths the `#[derive(Provider)]` expansion uses. Not public API.

pub use ::core;
pub use ::http::HeaderMap;

pub use crate::config::ProviderConfig;
pub use crate::error::{Error, ErrorKind, ErrorRule, ErrorTable, Result};
pub use crate::provider_client::ProviderClient;
pub use crate::spec::{
    AuthScheme, Capabilities, Capability, HealthProbe, MaxTokensField, ProviderSpec,
};
pub use crate::types::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ModelInfo, Param, Params,
    StreamEvent,
};
pub use crate::{
    provider::{
        HttpParts, MapErrorFn, Operation, Provider, RequestContext, RewriteFn, RewriteJsonFn,
        SupportsBatch, SupportsEmbeddings, SupportsImages, SupportsModeration, SupportsReasoning,
        SupportsRerank, SupportsSpeech, SupportsStreaming, SupportsTools, SupportsTranscription,
        SupportsVision, Transform,
    },
    stream::{Control, Frame, StreamFormat},
};

/// The dialects `dialect = name` can delegate to, by the name used in the
/// attribute: each name is a type (`type Wire = dialect::openai`) and a
/// constant of it (`fn wire(&self) -> &Self::Wire { &dialect::openai }`).
#[allow(non_camel_case_types, non_upper_case_globals)]
pub mod dialect {
    macro_rules! dialects {
        ($($name:ident => $ty:ident),* $(,)?) => {$(
            #[doc = concat!("`dialect = ", stringify!($name), "`.")]
            pub type $name = crate::dialects::$name::$ty;
            #[doc = concat!("`dialect = ", stringify!($name), "`.")]
            pub const $name: crate::dialects::$name::$ty = crate::dialects::$name::$ty;
        )*};
    }
    dialects! {
        openai => OpenAiDialect,
        openai_responses => OpenAiResponsesDialect,
        ollama => OllamaDialect,
        cohere => CohereDialect,
        anthropic => AnthropicDialect,
        gemini => GeminiDialect,
        converse => ConverseDialect,
    }
}
