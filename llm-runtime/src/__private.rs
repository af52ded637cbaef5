//! Paths the `#[derive(Provider)]` expansion uses. Not public API.

pub use ::core;
pub use ::http::HeaderMap;

pub use crate::config::ProviderConfig;
pub use crate::error::{Error, Result};
pub use crate::provider::{
    Control, Frame, HttpParts, Provider, RequestContext, StreamFormat, SupportsEmbeddings,
    SupportsReasoning, SupportsStreaming, SupportsTools, SupportsVision, Transform,
};
pub use crate::provider_client::ProviderClient;
pub use crate::spec::{AuthScheme, Capabilities, Capability, HealthProbe, ProviderSpec};
pub use crate::types::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ModelInfo, StreamEvent,
};

/// The dialects `dialect = name` can delegate to, by the name used in the attribute.
#[allow(non_camel_case_types)]
pub mod dialect {
    /// `dialect = openai`.
    pub type openai = crate::dialects::OpenAiDialect;
    /// `dialect = ollama`.
    pub type ollama = crate::dialects::OllamaDialect;
    /// `dialect = cohere`.
    pub type cohere = crate::dialects::CohereDialect;
    /// `dialect = anthropic`.
    pub type anthropic = crate::dialects::AnthropicDialect;
    /// `dialect = gemini`.
    pub type gemini = crate::dialects::GeminiDialect;
}

/// Implement [`Transform`] for `$ty` by delegating every method to the dialect `$dialect`.
#[macro_export]
#[doc(hidden)]
macro_rules! __delegate_transform {
    ($ty:ty, $dialect:ty) => {
        impl $crate::__private::Transform for $ty {
            type StreamState = <$dialect as $crate::__private::Transform>::StreamState;

            fn build_request(
                &self,
                request: &$crate::__private::ChatRequest,
                ctx: &$crate::__private::RequestContext<'_>,
            ) -> $crate::__private::Result<$crate::__private::HttpParts> {
                <$dialect as $crate::__private::Transform>::build_request(
                    &<$dialect as $crate::__private::core::default::Default>::default(),
                    request,
                    ctx,
                )
            }

            fn parse_response(
                &self,
                body: &[u8],
                ctx: &$crate::__private::RequestContext<'_>,
            ) -> $crate::__private::Result<$crate::__private::ChatResponse> {
                <$dialect as $crate::__private::Transform>::parse_response(
                    &<$dialect as $crate::__private::core::default::Default>::default(),
                    body,
                    ctx,
                )
            }

            fn parse_stream_event(
                &self,
                frame: &$crate::__private::Frame,
                state: &mut Self::StreamState,
                out: &mut ::std::vec::Vec<$crate::__private::StreamEvent>,
            ) -> $crate::__private::Result<$crate::__private::Control> {
                <$dialect as $crate::__private::Transform>::parse_stream_event(
                    &<$dialect as $crate::__private::core::default::Default>::default(),
                    frame,
                    state,
                    out,
                )
            }

            fn finish_stream(
                &self,
                state: &mut Self::StreamState,
                out: &mut ::std::vec::Vec<$crate::__private::StreamEvent>,
            ) -> $crate::__private::Result<()> {
                <$dialect as $crate::__private::Transform>::finish_stream(
                    &<$dialect as $crate::__private::core::default::Default>::default(),
                    state,
                    out,
                )
            }

            fn stream_format(&self) -> $crate::__private::StreamFormat {
                <$dialect as $crate::__private::Transform>::stream_format(
                    &<$dialect as $crate::__private::core::default::Default>::default(),
                )
            }

            fn classify_error(
                &self,
                status: u16,
                headers: &$crate::__private::HeaderMap,
                body: &[u8],
            ) -> $crate::__private::Error {
                <$dialect as $crate::__private::Transform>::classify_error(
                    &<$dialect as $crate::__private::core::default::Default>::default(),
                    status,
                    headers,
                    body,
                )
            }

            fn unsupported_params(
                &self,
                request: &$crate::__private::ChatRequest,
            ) -> ::std::vec::Vec<&'static str> {
                <$dialect as $crate::__private::Transform>::unsupported_params(
                    &<$dialect as $crate::__private::core::default::Default>::default(),
                    request,
                )
            }

            fn build_embedding_request(
                &self,
                request: &$crate::__private::EmbeddingRequest,
                ctx: &$crate::__private::RequestContext<'_>,
            ) -> $crate::__private::Result<$crate::__private::HttpParts> {
                <$dialect as $crate::__private::Transform>::build_embedding_request(
                    &<$dialect as $crate::__private::core::default::Default>::default(),
                    request,
                    ctx,
                )
            }

            fn parse_embedding_response(
                &self,
                body: &[u8],
                ctx: &$crate::__private::RequestContext<'_>,
            ) -> $crate::__private::Result<$crate::__private::EmbeddingResponse> {
                <$dialect as $crate::__private::Transform>::parse_embedding_response(
                    &<$dialect as $crate::__private::core::default::Default>::default(),
                    body,
                    ctx,
                )
            }

            fn models_request(
                &self,
                ctx: &$crate::__private::RequestContext<'_>,
            ) -> $crate::__private::Result<$crate::__private::HttpParts> {
                <$dialect as $crate::__private::Transform>::models_request(
                    &<$dialect as $crate::__private::core::default::Default>::default(),
                    ctx,
                )
            }

            fn parse_models(
                &self,
                body: &[u8],
            ) -> $crate::__private::Result<::std::vec::Vec<$crate::__private::ModelInfo>> {
                <$dialect as $crate::__private::Transform>::parse_models(
                    &<$dialect as $crate::__private::core::default::Default>::default(),
                    body,
                )
            }
        }
    };
}

pub use crate::__delegate_transform as delegate_transform;
