//! The built-in providers, each declared with `#[derive(Provider)]`.
//!
//! The table below is the one list of built-ins: the re-exports, the
//! registrations of [`Client::from_env`](crate::Client::from_env),
//! [`specs`] (name, variables, capabilities, docs link of each), the README's
//! provider table (checked by `tests/tests/readme.rs`) and the smoke
//! conformance run over loopback (`tests/tests/smoke_all_providers.rs`) all
//! come from it.

use std::sync::Arc;

use crate::error::Result;
use crate::provider::Provider;
use crate::provider_client::LlmProvider;
use crate::spec::ProviderSpec;

mod anthropic;
mod azure_openai;
mod bedrock;
mod cohere;
mod gateways;
mod gemini;
mod inference_hosts;
mod local_servers;
mod model_labs;
mod named;
mod ollama;
mod openai_compatible;
mod openai_responses;
pub(crate) mod vertex;

pub use named::{NamedConfig, connect_named};

/// A built-in provider [`Client::from_env`](crate::Client::from_env) knows how to build.
pub(crate) struct Builtin {
    pub(crate) spec: &'static ProviderSpec,
    pub(crate) connect: fn() -> Result<Arc<dyn LlmProvider>>,
    /// Connect to `base_url` with `api_key` and no retries, filling URL
    /// placeholders and required headers from `settings` (name, value).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) connect_to: ConnectTo,
    /// Connect with a config file's settings ([`connect_named`]).
    pub(crate) connect_named: fn(&NamedConfig) -> Result<Arc<dyn LlmProvider>>,
}

/// `(base_url, api_key, settings)` to a connected provider; see [`connect_provider`].
type ConnectTo = fn(&str, &str, &[(&str, &str)]) -> Result<Arc<dyn LlmProvider>>;

/// `P` at `base_url` with `api_key` and no retries; each `(name, value)` of
/// `settings` fills the URL placeholder or the required header of that name.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
fn connect_provider<P: Provider + Default + std::fmt::Debug>(
    base_url: &str,
    api_key: &str,
    settings: &[(&str, &str)],
) -> Result<Arc<dyn LlmProvider>> {
    let mut config = crate::ProviderConfig::new(P::default())
        .api_key(api_key)
        .base_url(base_url)
        .max_retries(0);
    // A token-auth provider gets `api_key` as its (static) access token.
    if P::SPEC.auth == crate::AuthScheme::Token {
        config = config.token_source(Arc::new(crate::auth::StaticToken::new(api_key)));
    }
    for (name, value) in settings {
        if P::SPEC.url_vars.iter().any(|(n, _)| n == name) {
            config = config.url_var(*name, *value);
        } else if P::SPEC.env_headers.iter().any(|(h, _)| h == name) {
            config = config.header(*name, *value);
        }
    }
    Ok(Arc::new(config.connect()?))
}

macro_rules! builtin_providers {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        $(pub use $module::$ty;)*

        /// Every built-in, in registration order.
        pub(crate) static BUILTINS: &[Builtin] = &[$(
            Builtin {
                spec: &<$ty as Provider>::SPEC,
                connect: || Ok(Arc::new($ty::from_env()?) as Arc<dyn LlmProvider>),
                connect_to: connect_provider::<$ty>,
                connect_named: named::connect_named_provider::<$ty>,
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
    vertex::VertexGemini,
    vertex::VertexAnthropic,
    openai_responses::OpenAiResponses,
    openai_responses::AzureOpenAiResponses,
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
    bedrock::Bedrock,
    openai_compatible::OpenAiCompatible,
    inference_hosts::DeepInfra,
    inference_hosts::SambaNova,
    inference_hosts::NvidiaNim,
    inference_hosts::Baseten,
    inference_hosts::Novita,
    inference_hosts::Hyperbolic,
    inference_hosts::Nebius,
    inference_hosts::Featherless,
    inference_hosts::Scaleway,
    inference_hosts::OvhCloud,
    inference_hosts::Friendli,
    inference_hosts::SiliconFlow,
    inference_hosts::Nscale,
    inference_hosts::WandbInference,
    model_labs::Moonshot,
    model_labs::DashScope,
    model_labs::Zai,
    model_labs::Zhipu,
    model_labs::MiniMax,
    model_labs::Inception,
    model_labs::Upstage,
    model_labs::Ai21,
    model_labs::Venice,
    model_labs::LlamaApi,
    gateways::HuggingFace,
    gateways::VercelAiGateway,
    gateways::GitHubModels,
    gateways::CloudflareWorkersAi,
    gateways::Databricks,
    gateways::SnowflakeCortex,
    gateways::Voyage,
    gateways::Jina,
    local_servers::Vllm,
    local_servers::SgLang,
    local_servers::LlamaCpp,
    local_servers::Llamafile,
    local_servers::LmStudio,
    local_servers::LocalAi,
    local_servers::Tgi,
    local_servers::DockerModelRunner,
    local_servers::Xinference,
    local_servers::OllamaOpenAi,
    local_servers::Jan,
    local_servers::KoboldCpp,
    local_servers::TextGenWebUi,
    local_servers::MlxLm,
    local_servers::Gpt4All,
}

/// The declaration of every built-in provider, in registration order: name,
/// base URL, auth, key, base-URL and placeholder variables, capabilities,
/// models, dialect, quirks and the link to the provider's API docs.
///
/// ```
/// let names: Vec<&str> = llm_runtime::providers::specs().map(|s| s.name).collect();
/// assert!(names.contains(&"openai") && names.contains(&"anthropic"));
/// ```
pub fn specs() -> impl Iterator<Item = &'static ProviderSpec> {
    BUILTINS.iter().map(|b| b.spec)
}

/// Connect the built-in named `name` to `base_url` (a loopback mock) with
/// `api_key` and no retries; each `(name, value)` of `settings` fills the URL
/// placeholder (`account_id`) or required header of that name. `None` when no
/// built-in has that name. This is how the smoke conformance run reaches
/// every provider of the table without naming any.
///
/// ```
/// use llm_runtime::providers::connect_to;
/// let base = "http://127.0.0.1:9/client/v4/accounts/{account_id}/ai/v1";
/// let cloudflare = connect_to("cloudflare", base, "k", &[("account_id", "a1")]).unwrap().unwrap();
/// assert_eq!(cloudflare.info().base_url, "http://127.0.0.1:9/client/v4/accounts/a1/ai/v1");
/// assert!(connect_to("cloudflare", base, "k", &[]).unwrap().is_err()); // `{account_id}` unset
/// assert!(connect_to("nope", base, "k", &[]).is_none());
/// ```
#[cfg(feature = "testing")]
pub fn connect_to(
    name: &str,
    base_url: &str,
    api_key: &str,
    settings: &[(&str, &str)],
) -> Option<Result<Arc<dyn LlmProvider>>> {
    BUILTINS
        .iter()
        .find(|b| b.spec.name == name)
        .map(|b| (b.connect_to)(base_url, api_key, settings))
}
