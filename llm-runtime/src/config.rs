//! [`ProviderConfig`]: how to reach a provider (key, base URL, timeouts, retries).

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};
use crate::http::{HttpClient, is_loopback_host};
use crate::provider::Provider;
use crate::provider_client::ProviderClient;
use crate::retry::RetryPolicy;
use crate::spec::AuthScheme;
use crate::types::UnsupportedParamPolicy;

/// The default whole-request bound when the declaration gives no `timeout_secs`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// The default longest gap between two chunks of a stream.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// The default cap on a non-streamed response body.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;

/// The configuration builder of provider `P` (each declared provider has an alias, e.g. `OpenAiConfig`).
///
/// The API key is a [`SecretString`]: it never appears in `Debug` output.
///
/// ```
/// use std::time::Duration;
/// use llm_runtime::providers::OpenAi;
/// let client = OpenAi::config()
///     .api_key("sk-test")
///     .base_url("http://127.0.0.1:8080/v1")
///     .max_retries(0)
///     .timeout(Duration::from_secs(5))
///     .connect()
///     .unwrap();
/// assert!(!format!("{client:?}").contains("sk-test"));
/// ```
pub struct ProviderConfig<P> {
    pub(crate) settings: P,
    pub(crate) api_key: Option<SecretString>,
    pub(crate) base_url: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) first_byte_timeout: Option<Duration>,
    pub(crate) idle_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) http: Option<HttpClient>,
    pub(crate) allow_http: bool,
    pub(crate) max_line: usize,
    pub(crate) max_body: usize,
    pub(crate) unsupported_params: UnsupportedParamPolicy,
}

impl<P: Provider> ProviderConfig<P> {
    /// A configuration with the declaration's defaults and these provider settings.
    pub fn new(settings: P) -> Self {
        ProviderConfig {
            settings,
            api_key: None,
            base_url: None,
            headers: Vec::new(),
            timeout: None,
            first_byte_timeout: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            retry: RetryPolicy::default(),
            http: None,
            allow_http: false,
            max_line: crate::stream::DEFAULT_MAX_LINE,
            max_body: DEFAULT_MAX_BODY,
            unsupported_params: UnsupportedParamPolicy::Reject,
        }
    }

    /// Read the declared environment variables: the key (`env = ...`), which must
    /// be set unless one was given already, and the base URL override (`base_url_env = ...`).
    pub fn with_env(mut self) -> Result<Self> {
        let spec = &P::SPEC;
        if let Some(var) = spec.base_url_env
            && let Some(url) = read_env(var)
        {
            self.base_url = Some(url);
        }
        if spec.auth.needs_key() && self.api_key.is_none() {
            match spec.api_key_env {
                Some(var) => match read_env(var) {
                    Some(key) => self.api_key = Some(SecretString::from(key)),
                    None => {
                        return Err(Error::config(format!(
                            "{var} is not set: export {var}=... to use the {} provider, or pass the key with `.api_key(...)`",
                            spec.name
                        ))
                        .with_provider(spec.name));
                    }
                },
                None => {
                    return Err(Error::config(format!(
                        "the {} provider declares no key variable: pass the key with `.api_key(...)`",
                        spec.name
                    ))
                    .with_provider(spec.name));
                }
            }
        }
        Ok(self)
    }

    /// Set the API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// Override the base URL (e.g. a proxy or a local server).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Replace the provider settings (for providers declared with fields).
    pub fn settings(mut self, settings: P) -> Self {
        self.settings = settings;
        self
    }

    /// Add a header sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Bound a non-streamed call, and a stream's time to its response headers.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Bound the time to the response headers (default: the whole timeout).
    pub fn first_byte_timeout(mut self, d: Duration) -> Self {
        self.first_byte_timeout = Some(d);
        self
    }

    /// Bound the gap between two chunks of a stream (default 120 s).
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = d;
        self
    }

    /// Set the number of retries (default 2).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.retry.max_retries = n;
        self
    }

    /// Replace the whole retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Use this HTTP client instead of the shared one.
    pub fn http_client(mut self, http: HttpClient) -> Self {
        self.http = Some(http);
        self
    }

    /// Allow plain `http://` to a host that is not loopback.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Cap the length of one stream line (default 8 MiB).
    pub fn max_line_bytes(mut self, n: usize) -> Self {
        self.max_line = n;
        self
    }

    /// Cap the size of a non-streamed response body (default 64 MiB).
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body = n;
        self
    }

    /// What to do with request parameters the provider cannot send (default: reject).
    pub fn unsupported_params(mut self, policy: UnsupportedParamPolicy) -> Self {
        self.unsupported_params = policy;
        self
    }

    /// Check the configuration without any network call.
    pub fn validate(&self) -> Result<()> {
        self.resolve().map(|_| ())
    }

    /// Validate and build the client, on the shared pool unless one was given.
    pub fn connect(self) -> Result<ProviderClient<P>> {
        let resolved = self.resolve()?;
        Ok(ProviderClient::from_parts(self.settings, resolved))
    }

    fn resolve(&self) -> Result<ResolvedConfig> {
        let spec = &P::SPEC;
        let err = |msg: String| Error::config(msg).with_provider(spec.name);
        let raw = self.base_url.as_deref().unwrap_or(spec.base_url);
        let url = url::Url::parse(raw)
            .map_err(|e| err(format!("base URL `{raw}` is not a valid URL: {e}")))?;
        let host = url.host_str().unwrap_or("");
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_host(host) || self.allow_http || spec.allow_http => {}
            "http" => {
                return Err(err(format!(
                    "base URL `{raw}` is plain http to a non-loopback host; the key would cross the network in clear text. Use https, or `.allow_http(true)` if you mean it"
                )));
            }
            other => {
                return Err(err(format!(
                    "base URL `{raw}` has scheme `{other}`; use https"
                )));
            }
        }
        // A declaration whose base URL is on the reserved `.invalid` TLD has no
        // usable default (Azure: one endpoint per resource): the URL must be given.
        if host.ends_with(".invalid") {
            let var = spec
                .base_url_env
                .map(|v| format!("set {v} or "))
                .unwrap_or_default();
            return Err(err(format!(
                "the {} provider has no default endpoint: {var}pass one with `.base_url(...)`",
                spec.name
            )));
        }
        if host.is_empty() {
            return Err(err(format!("base URL `{raw}` has no host")));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(err(format!(
                "base URL `{raw}` must not have a query or fragment"
            )));
        }
        let api_key = match (&self.api_key, spec.auth) {
            (_, AuthScheme::None) => None,
            (Some(k), _) if !k.expose_secret().trim().is_empty() => Some(k.clone()),
            _ => {
                let hint = spec
                    .api_key_env
                    .map(|v| format!("set {v} and use `from_env()`, or "))
                    .unwrap_or_default();
                return Err(err(format!(
                    "no API key for the {} provider: {hint}pass one with `.api_key(...)`",
                    spec.name
                )));
            }
        };
        let mut headers = HeaderMap::new();
        for (name, value) in spec
            .headers
            .iter()
            .map(|(n, v)| (*n, *v))
            .chain(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        {
            let name = HeaderName::try_from(name)
                .map_err(|_| err(format!("`{name}` is not a valid header name")))?;
            let value = HeaderValue::try_from(value).map_err(|_| {
                err(format!(
                    "the value of header `{name}` is not a valid header value"
                ))
            })?;
            headers.insert(name, value);
        }
        if let Some(key) = &api_key {
            match spec.auth {
                AuthScheme::Bearer => {
                    let mut v = HeaderValue::try_from(format!("Bearer {}", key.expose_secret()))
                        .map_err(|_| {
                            err("the API key has characters a header cannot carry".into())
                        })?;
                    v.set_sensitive(true);
                    headers.insert(http::header::AUTHORIZATION, v);
                }
                AuthScheme::Header(name) => {
                    let name = HeaderName::try_from(name)
                        .map_err(|_| err(format!("`{name}` is not a valid header name")))?;
                    let mut v = HeaderValue::try_from(key.expose_secret()).map_err(|_| {
                        err("the API key has characters a header cannot carry".into())
                    })?;
                    v.set_sensitive(true);
                    headers.insert(name, v);
                }
                AuthScheme::Query(_) | AuthScheme::None => {}
            }
        }
        let timeout = self
            .timeout
            .or(spec.timeout_secs.map(Duration::from_secs))
            .unwrap_or(DEFAULT_TIMEOUT);
        if timeout.is_zero() || self.idle_timeout.is_zero() {
            return Err(err("timeouts must be longer than zero".into()));
        }
        Ok(ResolvedConfig {
            base_url: raw.trim_end_matches('/').to_owned(),
            headers,
            query_auth: match spec.auth {
                AuthScheme::Query(param) => api_key.clone().map(|k| (param, k)),
                _ => None,
            },
            api_key,
            timeout,
            first_byte_timeout: self.first_byte_timeout.unwrap_or(timeout).min(timeout),
            idle_timeout: self.idle_timeout,
            retry: self.retry,
            http: self.http.clone().unwrap_or_else(HttpClient::shared),
            max_line: self.max_line,
            max_body: self.max_body,
            unsupported_params: self.unsupported_params,
        })
    }
}

fn read_env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

impl<P: fmt::Debug> fmt::Debug for ProviderConfig<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("settings", &self.settings)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// A validated configuration, ready to send requests.
#[derive(Clone)]
pub(crate) struct ResolvedConfig {
    pub(crate) base_url: String,
    /// Static, configured and auth headers (auth marked sensitive).
    pub(crate) headers: HeaderMap,
    pub(crate) query_auth: Option<(&'static str, SecretString)>,
    pub(crate) api_key: Option<SecretString>,
    pub(crate) timeout: Duration,
    pub(crate) first_byte_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) http: HttpClient,
    pub(crate) max_line: usize,
    pub(crate) max_body: usize,
    pub(crate) unsupported_params: UnsupportedParamPolicy,
}

impl fmt::Debug for ResolvedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}
