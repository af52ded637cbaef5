//! # llm-runtime
//!
//! One Rust runtime for every LLM provider. A provider is declared by annotating
//! a struct with [`#[derive(Provider)]`](derive@Provider); the runtime gives it a
//! pooled HTTP client, retries, SSE/NDJSON streaming, one error taxonomy and
//! config from the environment.
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llm_runtime::Result<()> {
//! # let mock = llm_runtime::testing::MockServer::start().await;
//! # mock.on("POST", "/v1/chat/completions", llm_runtime::testing::MockResponse::json(200, serde_json::json!({
//! #     "id": "c1", "model": "gpt-4o-mini",
//! #     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}]})));
//! # let base_url = format!("{}/v1", mock.url());
//! use llm_runtime::{ChatRequest, ErrorKind, providers::OpenAi};
//!
//! // `OpenAi::from_env()?` reads OPENAI_API_KEY; here the loopback mock stands in.
//! let openai = OpenAi::config().api_key("sk-test").base_url(base_url).connect()?;
//! let request = ChatRequest::new("gpt-4o-mini").system("Be brief.").user("Hello");
//! match openai.chat(request).await {
//!     Ok(reply) => assert_eq!(reply.text(), "Hello!"),
//!     Err(e) if e.kind() == ErrorKind::RateLimited => println!("retry after {:?}", e.retry_after()),
//!     Err(e) => return Err(e),
//! }
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "testing"))]
//! # fn main() {}
//! ```
//!
//! ## Where things are
//!
//! - Declaring a provider: [`#[derive(Provider)]`](derive@Provider) documents
//!   every `#[provider(...)]` key (form, default, rule); a native wire format
//!   implements [`Transform`]; OpenAI-compatible servers write `dialect = openai`.
//! - Calling one: [`ProviderClient`] (typed, from `Name::config()...connect()` or
//!   `Name::from_env()`), [`LlmProvider`] (object-safe), [`Client`] (routes
//!   `"provider/model"`, with fallbacks).
//! - Types: [`ChatRequest`], [`ChatResponse`], [`StreamEvent`], [`ChatStream`],
//!   [`Usage`], [`FinishReason`]; errors: [`Error`] with [`ErrorKind`].
//! - Built-in providers: [`providers`]; their wire formats: [`dialects`].
//! - Plumbing: [`http`] (the shared pool), [`retry`], [`stream`] (SSE/NDJSON framing).
//! - Writing a native wire format: [`Transform`], with the pieces every
//!   dialect uses in [`dialects::toolkit`] (numbers as written, the `extra`
//!   merge, error events inside a stream); a `rewrite` hook sees a
//!   [`provider::Operation`]; [`HttpParts`]' body is a [`bytes::Bytes`].
//! - Tests without network: the `testing` feature's loopback
// Only linked where the `testing` module exists (docs.rs builds every feature).
#![cfg_attr(feature = "testing", doc = "  [`testing::MockServer`].")]
#![cfg_attr(not(feature = "testing"), doc = "  `testing::MockServer`.")]
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `derive` | yes | the `#[derive(Provider)]` re-export (the built-in providers are there without it) |
//! | `tokens` | yes | exact offline token counts for OpenAI models (tiktoken-rs vocabularies) |
//! | `bedrock` | yes | AWS Signature V4 for Bedrock (`aws-sigv4`) |
//! | `google` | yes | Google service-account credentials for Vertex AI (RS256 JWT) |
//! | `redis` | no | router state shared across processes in Redis (`router::RedisState`) |
//! | `otel` | no | OpenTelemetry export of the per-call spans (the `otel` module) |
//! | `testing` | no | a loopback mock upstream for tests (the `testing` module) |
#![warn(missing_docs)]
#![allow(unused_extern_crates)] // `extern crate self` lets built-in providers use the derive like users do
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate self as llm_runtime;

pub mod auth;
pub mod dialects;
pub mod error;
pub mod http;
pub mod provider;
pub mod providers;
pub mod retry;
pub mod spec;
pub mod stream;
pub mod types;

pub mod catalog;
pub mod client;
pub mod router;
pub mod tokens;
pub mod validate;

pub mod config;
pub mod hooks;
pub mod meta;
mod options;
#[cfg(feature = "otel")]
pub mod otel;
mod provider_client;
mod telemetry;

#[cfg(feature = "testing")]
pub mod testing;

#[doc(hidden)]
pub mod __private;

pub use config::ProviderConfig;
pub use error::{Error, ErrorKind, Result};
pub use provider::{
    Control, Frame, HttpParts, Provider, RequestContext, StreamFormat, SupportsEmbeddings,
    SupportsReasoning, SupportsStreaming, SupportsTools, SupportsVision, Transform,
};
pub use provider::{
    Operations, SupportsBatch, SupportsImages, SupportsModeration, SupportsRerank, SupportsSpeech,
    SupportsTranscription,
};
pub use provider_client::{BatchWait, HealthStatus, LlmProvider, ProviderClient, ProviderInfo};
pub use retry::RetryPolicy;
pub use spec::{AuthScheme, Capabilities, Capability, HealthProbe, MaxTokensField, ProviderSpec};
pub use stream::ChatStream;
pub use types::*;

pub use client::{Client, ClientBuilder, Route};
pub use meta::{RateLimit, RateLimits, ResponseMeta};
pub use options::{ChatOptions, IDEMPOTENCY_HEADER};
pub use router::{Deployment, ModelGroup, Strategy};
pub use tokens::TokenCount;

/// The `bytes` crate, whose [`Bytes`](bytes::Bytes) is [`HttpParts`]' body.
pub use bytes;

/// Declares a provider; see the crate docs for the `#[provider(...)]` keys.
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
pub use llm_macros::Provider;
// The built-in providers are declared with the derive whatever the features:
// without `derive` it is imported for the crate's own use (macro namespace
// only, next to the `Provider` trait), so `default-features = false` still
// gives the runtime with every built-in provider.
#[cfg(not(feature = "derive"))]
pub(crate) use llm_macros::Provider;
