//! [`LlmProvider`], the object-safe interface every provider shares, and
//! its implementation for [`ProviderClient`]. The operations beyond chat
//! come from the one table (`types/operation_table.rs`): `async_trait` must
//! see every method, so the trait and its implementation are generated
//! whole, their fixed part passed through the table.

use std::fmt;

use async_trait::async_trait;

use super::{ChatStream, ProviderClient, hand_written};
use crate::error::{Error, Result};
use crate::http::ByteStream;
use crate::options::{BatchWait, ChatOptions};
use crate::provider::{HealthStatus, Provider, ProviderInfo};
use crate::spec::Capability;
use crate::types::{
    BatchJob, BatchOutcome, BatchRequest, BatchResults, ChatRequest, ChatResponse,
    EmbeddingRequest, EmbeddingResponse, ImageEditRequest, ImageRequest, ImageResponse, ModelInfo,
    ModerationRequest, ModerationResponse, RerankRequest, RerankResponse, SpeechRequest,
    Transcription, TranscriptionRequest, operation_table,
};

/// [`LlmProvider`] and its implementation for [`ProviderClient`]: the fixed
/// methods as written, then two per operation of the table (the plain call
/// and its `_with` twin). A hand-written provider's defaults answer
/// `Unsupported`; a `ProviderClient` checks the declaration at run time.
macro_rules! object_safe {
    ([{ $($fixed:tt)* } { $($fixed_impl:tt)* }] $($cap:ident $marker:ident $key:literal {
        $($(#[doc = $doc:literal])* fn $name:ident / $with:ident / $run:ident ($($arg:ident: $ty:ty),*) -> $ret:ty, route $route:ident, wire $wire:tt;)*
    } $hooks:tt)*) => {
        /// The object-safe interface of every provider, built-in or third-party:
        /// `Arc<dyn LlmProvider>` is how [`Client`](crate::Client) holds them.
        #[async_trait]
        pub trait LlmProvider: Send + Sync + fmt::Debug {
            $($fixed)*
            $($(
                $(#[doc = $doc])*
                #[doc = "\n\n`Unsupported` where the provider does not serve it (the default)."]
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                    let _ = ($($arg,)*);
                    Err(not_declared(self, Capability::$cap))
                }

                #[doc = concat!("[`", stringify!($name), "`](Self::", stringify!($name), ") with per-call options.")]
                #[doc = "[`ProviderClient`] applies them all; the default (for hand-written providers) applies the `timeout` and refuses the rest with a `Config` error (see [`chat_with`](Self::chat_with))."]
                async fn $with(&self, $($arg: $ty,)* options: &ChatOptions) -> Result<$ret> {
                    let name = self.info().name;
                    let sends = if stringify!($route) == "items" {
                        hand_written::Sends::ChatItems
                    } else {
                        hand_written::Sends::Other
                    };
                    hand_written::refuse_unapplied(options, name, stringify!($with), sends)?;
                    hand_written::within(options, name, stringify!($with), self.$name($($arg),*)).await
                }
            )*)*
        }

        #[async_trait]
        impl<P: Provider + fmt::Debug> LlmProvider for ProviderClient<P> {
            $($fixed_impl)*
            $($(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                    LlmProvider::$with(self, $($arg,)* &ChatOptions::default()).await
                }

                async fn $with(&self, $($arg: $ty,)* options: &ChatOptions) -> Result<$ret> {
                    self.declared(Capability::$cap)?;
                    let chat_items = stringify!($route) == "items";
                    self.operate(stringify!($name), chat_items, options, self.$run($($arg,)* options)).await
                }
            )*)*
        }
    };
}

operation_table!(object_safe {
    /// What the provider is.
    fn info(&self) -> ProviderInfo;
    /// A complete answer.
    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse>;
    /// A streamed answer.
    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream>;
    /// A complete answer with per-call options. [`ProviderClient`] applies
    /// them all. The default, for a hand-written provider, calls
    /// [`chat`](Self::chat) bounded by the `timeout`, with the
    /// unsupported-parameter policy on the request; the options that act on
    /// the runtime's HTTP attempts (headers, retries, hooks, the client's
    /// hooks included) fail the call with a `Config` error that names them,
    /// never dropped in silence. A provider that can apply them implements
    /// this method.
    async fn chat_with(&self, request: ChatRequest, options: &ChatOptions) -> Result<ChatResponse> {
        let name = self.info().name;
        hand_written::refuse_unapplied(options, name, "chat_with", hand_written::Sends::Chat)?;
        let request = hand_written::with_policy(request, options);
        hand_written::within(options, name, "chat_with", self.chat(request)).await
    }
    /// A streamed answer with per-call options. The default applies them as
    /// [`chat_with`](Self::chat_with)'s does, the `timeout` bounding the
    /// stream's opening and the `idle_timeout` each gap between two events.
    async fn chat_stream_with(
        &self,
        request: ChatRequest,
        options: &ChatOptions,
    ) -> Result<ChatStream> {
        let name = self.info().name;
        hand_written::refuse_unapplied(options, name, "chat_stream_with", hand_written::Sends::Chat)?;
        let request = hand_written::with_policy(request, options);
        let stream = hand_written::within(options, name, "chat_stream_with", self.chat_stream(request)).await?;
        Ok(hand_written::idle_bounded(stream, options, name))
    }
    /// Embeddings; [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) where the provider has none.
    async fn embed(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse>;
    /// The models the provider lists.
    async fn list_models(&self) -> Result<Vec<ModelInfo>>;
    /// A free probe of the key and the upstream.
    async fn health_check(&self) -> HealthStatus;
} {
    fn info(&self) -> ProviderInfo {
        ProviderClient::info(self)
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        ProviderClient::chat(self, request).await
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        ProviderClient::chat_stream(self, request).await
    }

    async fn chat_with(&self, request: ChatRequest, options: &ChatOptions) -> Result<ChatResponse> {
        ProviderClient::chat_with(self, request, options).await
    }

    async fn chat_stream_with(
        &self,
        request: ChatRequest,
        options: &ChatOptions,
    ) -> Result<ChatStream> {
        ProviderClient::chat_stream_with(self, request, options).await
    }

    async fn embed(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse> {
        if !P::SPEC.supports(Capability::Embeddings) {
            return Err(Error::unsupported(format!(
                "the {} provider has no embeddings",
                P::SPEC.name
            ))
            .with_provider(P::SPEC.name));
        }
        self.embed_unchecked(request).await
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        ProviderClient::list_models(self).await
    }

    async fn health_check(&self) -> HealthStatus {
        ProviderClient::health_check(self).await
    }

});

/// The `Unsupported` error of an operation `provider` does not serve.
fn not_declared<P: LlmProvider + ?Sized>(provider: &P, cap: Capability) -> Error {
    let name = provider.info().name;
    Error::unsupported(format!(
        "the {name} provider does not declare {}",
        cap.name()
    ))
    .with_provider(name)
}
