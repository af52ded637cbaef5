//! One `litellm_params` to a connected runtime provider: LiteLLM's provider
//! names and `api_base` meanings mapped to the runtime's.

use std::sync::Arc;

use llm_runtime::LlmProvider;
use llm_runtime::auth::GoogleCredentials;
use llm_runtime::auth::aws::{Credentials, SigV4Signer};
use llm_runtime::providers::{AzureOpenAi, NamedConfig, connect_named};

use crate::config::{ConfigError, LitellmParams, seconds};

/// LiteLLM's provider prefixes that the runtime names otherwise; every other
/// prefix is the runtime's own name (`openai`, `anthropic`, `gemini`, `groq`...).
const LITELLM_NAMES: &[(&str, &str)] = &[
    ("azure", "azure_openai"),
    ("vertex_ai", "vertex_gemini"),
    ("vertex_ai_beta", "vertex_gemini"),
    ("together_ai", "together"),
    ("fireworks_ai", "fireworks"),
    ("ollama_chat", "ollama"),
    ("cohere_chat", "cohere"),
    ("hosted_vllm", "vllm"),
    ("jina_ai", "jina"),
    ("lm_studio", "lmstudio"),
    ("text-completion-openai", "openai"),
    ("openai_like", "openai_compatible"),
    ("custom_openai", "openai_compatible"),
];

/// `provider/model` as LiteLLM writes it, split into the runtime's provider
/// name and the model (a bare model is OpenAI's, as in LiteLLM).
pub fn split_model(model: &str) -> (String, String) {
    let Some((prefix, rest)) = model.split_once('/') else {
        return ("openai".to_owned(), model.to_owned());
    };
    let name = LITELLM_NAMES
        .iter()
        .find(|(litellm, _)| *litellm == prefix)
        .map_or(prefix, |(_, ours)| *ours);
    // Claude on Vertex AI speaks Anthropic's dialect.
    let name = if name == "vertex_gemini" && rest.starts_with("claude") {
        "vertex_anthropic"
    } else {
        name
    };
    (name.to_owned(), rest.to_owned())
}

/// LiteLLM's `api_base` as the runtime's `base_url` of provider `name`.
pub fn base_url(name: &str, api_base: &str) -> String {
    let base = api_base.trim_end_matches('/');
    match name {
        // LiteLLM adds `/v1/messages` to Anthropic's host.
        "anthropic" => {
            let base = base.strip_suffix("/messages").unwrap_or(base);
            if base.ends_with("/v1") {
                base.to_owned()
            } else {
                format!("{base}/v1")
            }
        }
        // LiteLLM's Azure `api_base` is the resource; the runtime's ends in `/openai`.
        "azure_openai" if !base.ends_with("/openai") => format!("{base}/openai"),
        _ => base.to_owned(),
    }
}

/// How every deployment of the config is connected, beside its own params.
#[derive(Debug, Clone, Copy, Default)]
pub struct Defaults {
    /// Retries when the entry sets none.
    pub max_retries: Option<u32>,
    /// The call's bound in seconds when the entry sets none.
    pub timeout: Option<f64>,
}

/// Connect `params` (whose model is `provider/model`) as runtime provider `name`.
pub fn connect(
    name: &str,
    params: &LitellmParams,
    defaults: Defaults,
) -> Result<Arc<dyn LlmProvider>, ConfigError> {
    let config = named_config(name, params, defaults)?;
    let invalid = |e: llm_runtime::Error| {
        ConfigError::Invalid(format!("model `{}`: {}", params.model, e.message()))
    };
    if name == "azure_openai" {
        let mut settings = AzureOpenAi::default();
        if let Some(v) = &params.api_version {
            settings.api_version.clone_from(v);
        }
        let built = config
            .apply(AzureOpenAi::config().settings(settings))
            .map_err(invalid)?;
        return Ok(Arc::new(built.connect().map_err(invalid)?));
    }
    match connect_named(name, &config) {
        Some(result) => result.map_err(invalid),
        None => Err(ConfigError::Invalid(format!(
            "model `{}`: the runtime has no provider `{name}`",
            params.model
        ))),
    }
}

fn named_config(
    name: &str,
    params: &LitellmParams,
    defaults: Defaults,
) -> Result<NamedConfig, ConfigError> {
    let mut config = NamedConfig::default();
    config.read_env = true;
    config.api_key = params.api_key.as_ref().map(|k| k.expose().to_owned());
    config.base_url = params.api_base.as_deref().map(|b| base_url(name, b));
    config.headers = params
        .extra_headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    config.timeout = seconds(params.timeout.or(defaults.timeout));
    config.stream_timeout = seconds(params.stream_timeout);
    config.max_retries = params.max_retries.or(defaults.max_retries);
    if let Some(region) = &params.aws_region_name {
        config.url_vars.push(("region".into(), region.clone()));
    }
    if let (Some(id), Some(secret)) = (&params.aws_access_key_id, &params.aws_secret_access_key) {
        let region = params
            .aws_region_name
            .clone()
            .unwrap_or_else(|| "us-east-1".into());
        let credentials = Credentials::new(
            id.expose(),
            secret.expose(),
            params
                .aws_session_token
                .as_ref()
                .map(|t| t.expose().to_owned()),
            None,
            "llm-gateway config",
        );
        config.signer = Some(Arc::new(SigV4Signer::new(credentials, region, "bedrock")));
    }
    if let Some(project) = &params.vertex_project {
        config.url_vars.push(("project".into(), project.clone()));
    }
    if let Some(location) = &params.vertex_location {
        config.url_vars.push(("location".into(), location.clone()));
    }
    if let Some(credentials) = &params.vertex_credentials {
        let text = credentials.expose().trim();
        let creds = if text.starts_with('{') {
            GoogleCredentials::from_json(text)
        } else {
            GoogleCredentials::from_file(text)
        }
        .map_err(|e| ConfigError::Invalid(format!("model `{}`: {}", params.model, e.message())))?;
        config.token_source = Some(Arc::new(creds));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn litellm_provider_names() {
        assert_eq!(split_model("gpt-4o"), ("openai".into(), "gpt-4o".into()));
        assert_eq!(
            split_model("azure/my-gpt"),
            ("azure_openai".into(), "my-gpt".into())
        );
        assert_eq!(
            split_model("vertex_ai/claude-sonnet-4-5"),
            ("vertex_anthropic".into(), "claude-sonnet-4-5".into())
        );
        assert_eq!(
            split_model("openrouter/anthropic/claude"),
            ("openrouter".into(), "anthropic/claude".into())
        );
    }

    #[test]
    fn api_base_per_provider() {
        assert_eq!(base_url("anthropic", "http://h:1"), "http://h:1/v1");
        assert_eq!(
            base_url("anthropic", "http://h:1/v1/messages"),
            "http://h:1/v1"
        );
        assert_eq!(base_url("openai", "http://h:1/v1/"), "http://h:1/v1");
        assert_eq!(base_url("gemini", "http://h:1/v1beta"), "http://h:1/v1beta");
        assert_eq!(
            base_url("azure_openai", "https://r.openai.azure.com"),
            "https://r.openai.azure.com/openai"
        );
    }
}
