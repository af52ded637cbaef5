//! [`NamedConfig`] and [`connect_named`]: a built-in provider chosen by its
//! name at run time (a gateway's `config.yaml` says `anthropic/claude-...`),
//! with the settings a config file gives it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{RequestSigner, TokenSource};
use crate::config::ProviderConfig;
use crate::error::Result;
use crate::provider::Provider;
use crate::provider_client::LlmProvider;

/// The settings a config file gives a built-in provider it names by string;
/// every field left `None` (or empty) keeps the provider's default.
///
/// ```
/// use llm_runtime::providers::{NamedConfig, connect_named};
/// let mut config = NamedConfig::default();
/// config.api_key = Some("sk-test".into());
/// config.base_url = Some("http://127.0.0.1:9/v1".into());
/// let openai = connect_named("openai", &config).expect("a built-in").expect("valid");
/// assert_eq!(openai.info().base_url, "http://127.0.0.1:9/v1");
/// assert!(!format!("{config:?}").contains("sk-test"));
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct NamedConfig {
    /// The API key (a token-auth provider gets it as a static access token).
    pub api_key: Option<String>,
    /// The base URL, as the provider's `base_url` takes it.
    pub base_url: Option<String>,
    /// Headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// Values of the base URL's `{placeholders}` (`region`, `project`, `location`).
    pub url_vars: Vec<(String, String)>,
    /// The whole call's bound ([`ProviderConfig::timeout`]).
    pub timeout: Option<Duration>,
    /// A whole stream's bound ([`ProviderConfig::stream_timeout`]).
    pub stream_timeout: Option<Duration>,
    /// Retries of each call ([`ProviderConfig::max_retries`]).
    pub max_retries: Option<u32>,
    /// Signs every attempt (AWS SigV4 with explicit keys).
    pub signer: Option<Arc<dyn RequestSigner>>,
    /// Access tokens (Vertex AI credentials from a file).
    pub token_source: Option<Arc<dyn TokenSource>>,
    /// Fill what is not set here from the provider's variables (`with_env()`).
    pub read_env: bool,
}

impl fmt::Debug for NamedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key and header values may be secrets: names only.
        f.debug_struct("NamedConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("url_vars", &self.url_vars)
            .field("timeout", &self.timeout)
            .field("stream_timeout", &self.stream_timeout)
            .field("max_retries", &self.max_retries)
            .field("signer", &self.signer.is_some())
            .field("token_source", &self.token_source.is_some())
            .field("read_env", &self.read_env)
            .finish()
    }
}

impl NamedConfig {
    /// `config` with these settings applied (builder calls, so they beat the
    /// environment when [`read_env`](Self::read_env) is set).
    ///
    /// # Errors
    ///
    /// A `Config` error when the environment is read and a variable is set but unusable.
    pub fn apply<P: Provider>(&self, mut config: ProviderConfig<P>) -> Result<ProviderConfig<P>> {
        if let Some(key) = &self.api_key {
            config = config.api_key(key.clone());
            // A token-auth provider gets the key as its (static) access token.
            if P::SPEC.auth == crate::AuthScheme::Token && self.token_source.is_none() {
                config = config.token_source(Arc::new(crate::auth::StaticToken::new(key)));
            }
        }
        if let Some(url) = &self.base_url {
            config = config.base_url(url.clone());
        }
        for (name, value) in &self.headers {
            config = config.header(name.clone(), value.clone());
        }
        for (name, value) in &self.url_vars {
            config = config.url_var(name.clone(), value.clone());
        }
        if let Some(d) = self.timeout {
            config = config.timeout(d);
        }
        if let Some(d) = self.stream_timeout {
            config = config.stream_timeout(d);
        }
        if let Some(n) = self.max_retries {
            config = config.max_retries(n);
        }
        if let Some(signer) = &self.signer {
            config = config.signer(Arc::clone(signer));
        }
        if let Some(source) = &self.token_source {
            config = config.token_source(Arc::clone(source));
        }
        if self.read_env {
            config = config.with_env()?;
        }
        Ok(config)
    }
}

/// `P` with `config` applied, connected.
pub(super) fn connect_named_provider<P: Provider + Default + fmt::Debug>(
    config: &NamedConfig,
) -> Result<Arc<dyn LlmProvider>> {
    let built = config.apply(ProviderConfig::new(P::default()))?;
    Ok(Arc::new(built.connect()?))
}

/// Connect the built-in provider named `name` (`openai`, `anthropic`,
/// `gemini`...) with `config`; `None` when no built-in has that name.
///
/// # Errors
///
/// The inner `Result` is a `Config` error when the settings are invalid
/// (a bad URL, a missing key with `read_env` and no variable set).
pub fn connect_named(name: &str, config: &NamedConfig) -> Option<Result<Arc<dyn LlmProvider>>> {
    super::BUILTINS
        .iter()
        .find(|b| b.spec.name == name)
        .map(|b| (b.connect_named)(config))
}
