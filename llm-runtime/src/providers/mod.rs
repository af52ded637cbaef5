//! The built-in providers, each declared with `#[derive(Provider)]`.
//!
//! The table below is the one list of built-ins: the re-exports, the
//! registrations of [`Client::from_env`](crate::Client::from_env) and
//! [`specs`] all come from it.

use std::sync::Arc;

use crate::error::Result;
use crate::provider::Provider;
use crate::provider_client::LlmProvider;
use crate::spec::ProviderSpec;

mod anthropic;
mod azure_openai;
mod cohere;
mod gemini;
mod ollama;
mod openai_compatible;

/// A built-in provider [`Client::from_env`](crate::Client::from_env) knows how to build.
pub(crate) struct Builtin {
    pub(crate) spec: &'static ProviderSpec,
    pub(crate) connect: fn() -> Result<Arc<dyn LlmProvider>>,
}

macro_rules! builtin_providers {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        $(pub use $module::$ty;)*

        /// Every built-in, in registration order.
        pub(crate) static BUILTINS: &[Builtin] = &[$(
            Builtin {
                spec: &<$ty as Provider>::SPEC,
                connect: || Ok(Arc::new($ty::from_env()?) as Arc<dyn LlmProvider>),
            }
        ),*];
    };
}

builtin_providers! {
    openai_compatible::OpenAi,
    anthropic::Anthropic,
    gemini::Gemini,
    openai_compatible::Mistral,
    azure_openai::AzureOpenAi,
    openai_compatible::Groq,
    openai_compatible::DeepSeek,
    openai_compatible::Together,
    openai_compatible::Fireworks,
    openai_compatible::OpenRouter,
    openai_compatible::Xai,
    openai_compatible::Perplexity,
    openai_compatible::Cerebras,
    ollama::Ollama,
    cohere::Cohere,
    openai_compatible::OpenAiCompatible,
}

/// The declaration of every built-in provider, in registration order: name,
/// base URL, auth, key and base-URL variables, capabilities, models.
///
/// ```
/// let names: Vec<&str> = llm_runtime::providers::specs().map(|s| s.name).collect();
/// assert!(names.contains(&"openai") && names.contains(&"anthropic"));
/// ```
pub fn specs() -> impl Iterator<Item = &'static ProviderSpec> {
    BUILTINS.iter().map(|b| b.spec)
}
