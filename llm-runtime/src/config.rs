//! [`ProviderConfig`]: how to reach a provider (key, base URL, timeouts, retries).

mod checks;
mod env;

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use std::sync::Arc;

use crate::auth::{DEFAULT_REFRESH_AHEAD, DynamicAuth, RequestSigner, TokenCache, TokenSource};
use crate::error::{Error, Redactor, Result};
use crate::hooks::{Hook, Hooks};
use crate::http::HttpClient;
use crate::http::endpoint_urls::EndpointUrls;
use crate::http::exchange::Timeouts;
use crate::provider::Provider;
use crate::retry::RetryPolicy;
use crate::spec::{AuthScheme, env_hint};
use crate::transport::Transport;
use crate::types::UnsupportedParamPolicy;

pub use crate::http::exchange::{DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT};

/// The configuration builder of provider `P` (each declared provider has an alias, e.g. `OpenAiConfig`).
///
/// The API key is a [`SecretString`]: it never appears in `Debug` output.
///
/// # Where each setting comes from
///
/// One rule: **a builder call beats the environment, which beats the
/// declaration**, whatever the order of the calls: [`with_env`](Self::with_env)
/// (which `from_env()` calls) fills only what no builder call set, before or
/// after it, so a test that points a client at a mock never reaches the real
/// API because a variable happens to be set.
///
/// | setting | builder call | environment (`with_env()`) | declaration | none anywhere |
/// |---|---|---|---|---|
/// | API key | [`api_key`](Self::api_key) | the `env = ...` variable | | `Config` error, unless the auth sends no key or the key is optional (a declared loopback endpoint, e.g. `openai_compatible`): then none is sent |
/// | base URL | [`base_url`](Self::base_url) | the `base_url_env = ...` variable (for Vertex AI's `global` location, the global host) | `base_url` | |
/// | a `{placeholder}` of the base URL | [`url_var`](Self::url_var) | its `url_vars(...)` variable (a service account's project) | | `Config` error naming the variable |
/// | a header read from a variable | [`header`](Self::header) | its `env_headers(...)` variable | | `Config` error naming the variable |
/// | access tokens | [`token_source`](Self::token_source) | the credentials the `env = ...` variable names | | `Config` error |
/// | AWS signing | [`signer`](Self::signer) or [`api_key`](Self::api_key) | `AWS_BEARER_TOKEN_BEDROCK`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE` | | `Config` error |
/// | timeout | [`timeout`](Self::timeout) | | `timeout_secs` | 600 s |
/// | headers | [`header`](Self::header) (replaces a declared one of the same name) | | `headers(...)` | |
///
/// A per-call [`ChatOptions`](crate::ChatOptions) value beats all of these for its call.
///
/// Contradictions are `Config` errors from [`connect`](Self::connect) and
/// [`validate`](Self::validate), before any network call: a base URL with
/// `user:password@` in it (credentials go in a header, where they are kept
/// secret), an AWS endpoint in another region than the signer's, a zero
/// timeout. A base URL given as a host only gets the declared path when that
/// path has placeholders (Vertex AI's `/v1/projects/{project}/locations/{location}`).
/// A variable that is set is never reported as missing: an error says when
/// it is set but was not read (no `with_env()`).
///
/// A header whose name says it carries a credential (`authorization`,
/// `x-api-key`, a gateway's virtual key: [`is_sensitive_header`](crate::http::is_sensitive_header))
/// is kept secret like the key: marked sensitive, `[redacted]` to hooks,
/// redacted from errors.
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
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) stream_timeout: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) http: Option<HttpClient>,
    pub(crate) allow_http: bool,
    pub(crate) max_line: usize,
    pub(crate) max_body: usize,
    pub(crate) unsupported_params: UnsupportedParamPolicy,
    pub(crate) hooks: Vec<Arc<dyn Hook>>,
    pub(crate) signer: Option<Arc<dyn RequestSigner>>,
    /// The signer was built from the environment (an explicit key beats it).
    pub(crate) signer_from_env: bool,
    pub(crate) token_source: Option<Arc<dyn TokenSource>>,
    pub(crate) token_refresh_ahead: Duration,
    pub(crate) url_vars: Vec<(String, String)>,
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
            idle_timeout: None,
            stream_timeout: None,
            retry: RetryPolicy::default(),
            http: None,
            allow_http: false,
            max_line: crate::stream::DEFAULT_MAX_LINE,
            max_body: DEFAULT_MAX_BODY,
            unsupported_params: UnsupportedParamPolicy::Reject,
            hooks: Vec::new(),
            signer: None,
            signer_from_env: false,
            token_source: None,
            token_refresh_ahead: DEFAULT_REFRESH_AHEAD,
            url_vars: Vec::new(),
        }
    }

    /// Set the API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(key.into()));
        self
    }

    /// Override the base URL (e.g. a proxy or a local server). It must not
    /// carry `user:password@` (a `Config` error); given as a host only, it
    /// gets the declared path when that path has placeholders.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Fill the `{name}` placeholder of the base URL (Cloudflare's
    /// `{account_id}`, Databricks' `{workspace}`); `with_env()` reads the
    /// declared variable of each one not given here.
    pub fn url_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.url_vars.push((name.into(), value.into()));
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

    /// The call's bound. Every wait of a call is bounded; this table is what bounds each:
    ///
    /// | wait | bound | default |
    /// |---|---|---|
    /// | TCP + TLS connect | the HTTP client's connect timeout ([`HttpClientBuilder::connect_timeout`](crate::http::HttpClientBuilder::connect_timeout)), within the bounds below | 10 s |
    /// | time to the response headers, per attempt | [`first_byte_timeout`](Self::first_byte_timeout), never more than what is left of `timeout` | `timeout` |
    /// | a whole non-streamed call: every attempt, its body and the waits between retries | `timeout` | the declaration's `timeout_secs`, else [`DEFAULT_TIMEOUT`] (600 s) |
    /// | a stream, up to its response headers (attempts and retry waits included) | `timeout` | as above |
    /// | the error body of a failed attempt (full or stream) | what is left of `timeout` | |
    /// | each gap between two chunks of a stream | [`idle_timeout`](Self::idle_timeout) when set (larger or smaller than `timeout`, on purpose); otherwise `timeout`, capped at [`DEFAULT_IDLE_TIMEOUT`] | min(`timeout`, 120 s) |
    /// | a whole stream, from the call to its last event | [`stream_timeout`](Self::stream_timeout) | none: a stream that keeps sending may run as long as it sends |
    /// | reading the rest of a stream's body after its terminator (so the connection is reused) | 1 s, then the connection is dropped | |
    ///
    /// A bound too large to represent (`Duration::MAX`) means unbounded, never a panic.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Bound the time to the response headers of each attempt (default: the whole timeout).
    pub fn first_byte_timeout(mut self, d: Duration) -> Self {
        self.first_byte_timeout = Some(d);
        self
    }

    /// Bound the gap between two chunks of a stream (default: `timeout`,
    /// capped at 120 s). Set it larger than `timeout` on purpose for a model
    /// that thinks in silence; see the table on [`timeout`](Self::timeout).
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = Some(d);
        self
    }

    /// Bound a whole stream, from the call to its last event (default: none).
    pub fn stream_timeout(mut self, d: Duration) -> Self {
        self.stream_timeout = Some(d);
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

    /// Run `hook` on every attempt of every call of this client (see [`crate::hooks`]).
    pub fn hook(mut self, hook: Arc<dyn Hook>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Sign every attempt with `signer` (providers declared with a signing
    /// auth scheme, such as AWS SigV4).
    pub fn signer(mut self, signer: Arc<dyn RequestSigner>) -> Self {
        self.signer = Some(signer);
        self.signer_from_env = false;
        self
    }

    /// Take access tokens from `source` (providers declared with token auth,
    /// such as Vertex AI or Entra ID), through one cache shared by every call
    /// and clone of the client. On a provider declared with a key, the token
    /// replaces the key: it goes in `Authorization: Bearer` and the key is not
    /// sent (Azure OpenAI with [`EntraId`](crate::auth::EntraId)).
    pub fn token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.token_source = Some(source);
        self
    }

    /// Refresh a token this long before it expires (default 60 s).
    pub fn token_refresh_ahead(mut self, d: Duration) -> Self {
        self.token_refresh_ahead = d;
        self
    }

    /// Check the configuration without any network call.
    pub fn validate(&self) -> Result<()> {
        self.resolve().map(|_| ())
    }

    /// Validate everything and build the transport (`connect()`, in the
    /// provider client's module, builds the client on it).
    pub(crate) fn resolve(&self) -> Result<Transport> {
        self.transport().map_err(|e| e.with_provider(P::SPEC.name))
    }

    fn transport(&self) -> Result<Transport> {
        let spec = &P::SPEC;
        let declared = self.declared_url();
        let given = self.base_url.as_deref().unwrap_or(&declared);
        // First: every later message may quote the URL.
        checks::check_no_userinfo(spec, given)?;
        let raw = spec.fill_url_vars(&checks::with_declared_path(spec, given), &self.url_vars)?;
        let raw = raw.as_str();
        let url = checks::check_base_url(spec, raw, self.allow_http || spec.allow_http)?;
        self.check_env_headers()?;
        let api_key = self.resolved_key()?;
        let (headers, header_secrets) = self.resolved_headers(api_key.as_ref())?;
        let timeouts = self.timeouts()?;
        let http = match &self.http {
            Some(http) => http.clone(),
            None => HttpClient::shared()?,
        };
        let auth = self.dynamic_auth(&http)?;
        let dynamic_secrets = match &auth {
            DynamicAuth::Static => Vec::new(),
            DynamicAuth::Signer(signer) => {
                checks::check_signing_region(spec, &url, signer.as_ref())?;
                signer.secrets()
            }
            DynamicAuth::Token(cache) => cache.source_secrets(),
        };
        Ok(Transport {
            http,
            base_url: raw.trim_end_matches('/').to_owned(),
            endpoints: EndpointUrls::default(),
            headers,
            query_auth: match spec.auth {
                AuthScheme::Query(param) => api_key.clone().map(|k| (param, k)),
                _ => None,
            },
            redactor: Arc::new(Redactor::new(
                api_key
                    .iter()
                    .chain(&dynamic_secrets)
                    .chain(&header_secrets)
                    .map(|k| k.expose_secret()),
            )),
            timeouts,
            retry: self.retry,
            max_body: self.max_body,
            hooks: Hooks(self.hooks.clone()),
            auth,
        })
    }

    /// The declared base URL for the placeholder values given: Vertex AI's
    /// `global` location has no regional host, so it is the global one.
    fn declared_url(&self) -> std::borrow::Cow<'static, str> {
        let spec = &P::SPEC;
        let location = self
            .url_vars
            .iter()
            .rev()
            .find(|(n, _)| n == "location")
            .map(|(_, v)| v.as_str());
        match location.and_then(|l| crate::auth::google::vertex_base_url(spec.base_url, l)) {
            Some(url) => url.into(),
            None => spec.base_url.into(),
        }
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Every header the declaration requires from a variable is set.
    fn check_env_headers(&self) -> Result<()> {
        match P::SPEC
            .env_headers
            .iter()
            .find(|(h, _)| !self.has_header(h))
        {
            Some((header, var)) => Err(Error::config(format!(
                "the {} provider needs the `{header}` header: {}, or pass `.header(\"{header}\", ...)`",
                P::SPEC.name,
                env_hint(var)
            ))),
            None => Ok(()),
        }
    }

    /// The signer or token cache a signing or token auth scheme needs.
    fn dynamic_auth(&self, http: &HttpClient) -> Result<DynamicAuth> {
        let name = P::SPEC.name;
        match P::SPEC.auth {
            AuthScheme::SigV4 { .. } => match (&self.signer, &self.api_key) {
                // The environment never gives both: with a signer from it, a
                // key is a builder call's, and wins.
                (Some(signer), key) if key.is_none() || !self.signer_from_env => {
                    Ok(DynamicAuth::Signer(Arc::clone(signer)))
                }
                // An API key (Bedrock's) is sent as a bearer token instead of a signature.
                (_, Some(key)) => Ok(DynamicAuth::Signer(crate::auth::aws::bearer(key))),
                (_, None) => Err(Error::config(format!(
                    "the {name} provider signs its requests: pass credentials with `.signer(...)` or an API key with `.api_key(...)`, or set {}AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, and call `.with_env()`",
                    P::SPEC
                        .api_key_env
                        .map(|v| format!("{v} (an API key), "))
                        .unwrap_or_default(),
                ))),
            },
            AuthScheme::Token => match &self.token_source {
                Some(source) => Ok(self.token_cache(source, http)),
                None => Err(Error::config(format!(
                    "the {name} provider authenticates with access tokens: pass a source with `.token_source(...)`"
                ))),
            },
            // A token source replaces the key of a key-auth provider (Azure
            // OpenAI with Entra ID instead of `api-key`).
            _ => Ok(match &self.token_source {
                Some(source) => self.token_cache(source, http),
                None => DynamicAuth::Static,
            }),
        }
    }

    fn token_cache(&self, source: &Arc<dyn TokenSource>, http: &HttpClient) -> DynamicAuth {
        DynamicAuth::Token(Arc::new(TokenCache::new(
            Arc::clone(source),
            http.clone(),
            self.token_refresh_ahead,
        )))
    }

    /// The key, unless the provider takes none or a token source replaces it.
    fn resolved_key(&self) -> Result<Option<SecretString>> {
        let spec = &P::SPEC;
        match (&self.api_key, spec.auth) {
            (_, scheme) if !scheme.needs_key() => Ok(None),
            _ if self.token_source.is_some() => Ok(None),
            (Some(k), _) if !k.expose_secret().trim().is_empty() => Ok(Some(k.clone())),
            (None, _) if env::key_optional(spec) => Ok(None),
            _ => {
                let hint = match spec.api_key_env {
                    Some(v) if env::read_env(v).is_some() => format!("{}, or ", env_hint(v)),
                    Some(v) => format!(
                        "{v} is not set: export {v}=... and call `.with_env()` (as `from_env()` does), or "
                    ),
                    None => String::new(),
                };
                Err(Error::config(format!(
                    "no API key for the {} provider: {hint}pass one with `.api_key(...)`",
                    spec.name
                )))
            }
        }
    }

    /// Static and configured headers, then the auth header; each one that
    /// carries a credential is marked sensitive, and its secrets returned.
    fn resolved_headers(
        &self,
        api_key: Option<&SecretString>,
    ) -> Result<(HeaderMap, Vec<SecretString>)> {
        let spec = &P::SPEC;
        let mut headers = HeaderMap::new();
        for (name, value) in spec
            .headers
            .iter()
            .map(|(n, v)| (*n, *v))
            .chain(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        {
            let name = HeaderName::try_from(name)
                .map_err(|_| Error::config(format!("`{name}` is not a valid header name")))?;
            let value = HeaderValue::try_from(value).map_err(|_| {
                Error::config(format!(
                    "the value of header `{name}` is not a valid header value"
                ))
            })?;
            headers.insert(name.clone(), crate::http::mark_sensitive(&name, value));
        }
        // After the loop: a configured header replaces a declared one, and
        // only the value sent is a secret.
        let secrets = headers
            .values()
            .filter(|v| v.is_sensitive())
            .flat_map(crate::http::value_secrets)
            .collect();
        let Some(key) = api_key else {
            return Ok((headers, secrets));
        };
        let (name, value) = match spec.auth {
            AuthScheme::Bearer => (
                http::header::AUTHORIZATION,
                format!("Bearer {}", key.expose_secret()),
            ),
            AuthScheme::Header(name) => (
                HeaderName::try_from(name)
                    .map_err(|_| Error::config(format!("`{name}` is not a valid header name")))?,
                key.expose_secret().to_owned(),
            ),
            _ => return Ok((headers, secrets)),
        };
        let mut value = HeaderValue::try_from(value)
            .map_err(|_| Error::config("the API key has characters a header cannot carry"))?;
        value.set_sensitive(true);
        headers.insert(name, value);
        Ok((headers, secrets))
    }

    /// The bounds of a call; the table is on [`timeout`](Self::timeout).
    fn timeouts(&self) -> Result<Timeouts> {
        let call = self
            .timeout
            .or(P::SPEC.timeout_secs.map(Duration::from_secs))
            .unwrap_or(DEFAULT_TIMEOUT);
        let all = [
            Some(call),
            self.idle_timeout,
            self.first_byte_timeout,
            self.stream_timeout,
        ];
        if all.iter().flatten().any(Duration::is_zero) {
            return Err(Error::config("timeouts must be longer than zero"));
        }
        Ok(Timeouts {
            call,
            first_byte: self.first_byte_timeout,
            idle: self.idle_timeout,
            stream: self.stream_timeout,
        })
    }
}

impl<P: fmt::Debug> fmt::Debug for ProviderConfig<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("settings", &self.settings)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url.as_deref().map(checks::shown_url))
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}
