//! # llm-runtime
//!
//! One Rust runtime for every LLM provider. A provider is declared by annotating
//! a struct with `#[derive(Provider)]`; the runtime gives it a pooled HTTP client,
//! retries, streaming, one error taxonomy and config from the environment.
#![warn(missing_docs)]
#![allow(unused_extern_crates)] // `extern crate self` lets built-in providers use the derive like users do
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate self as llm_runtime;

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
pub mod tokens;
pub mod validate;

pub mod config;
mod provider_client;

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
pub use provider_client::{HealthStatus, LlmProvider, ProviderClient, ProviderInfo};
pub use retry::RetryPolicy;
pub use spec::{AuthScheme, Capabilities, Capability, HealthProbe, ProviderSpec};
pub use stream::ChatStream;
pub use types::*;

pub use client::{ChatOptions, Client, ClientBuilder, Route};
pub use tokens::TokenCount;

/// Declares a provider; see the crate docs for the `#[provider(...)]` keys.
#[cfg(feature = "derive")]
pub use llm_macros::Provider;
