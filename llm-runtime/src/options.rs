//! [`ChatOptions`]: what one call may change about how it is sent, for a
//! [`ProviderClient`](crate::ProviderClient) and a [`Client`](crate::Client) alike.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};

use crate::error::{Error, Result};
use crate::hooks::Hook;
use crate::http::PollPolicy;
use crate::retry::RetryPolicy;
use crate::types::UnsupportedParamPolicy;

/// Options for one call, overriding the configured ones. The plain calls
/// (`chat`, `chat_stream`) use none.
///
/// ```
/// use std::time::Duration;
/// use llm_runtime::{ChatOptions, types::UnsupportedParamPolicy};
/// let opts = ChatOptions::new()
///     .header("x-tenant", "acme")
///     .timeout(Duration::from_secs(20))
///     .max_retries(0)
///     .idempotency_key("order-1234")
///     .fallback("groq/llama-3.3-70b-versatile")
///     .unsupported_params(UnsupportedParamPolicy::Drop);
/// let none = ChatOptions::new().no_fallbacks();
/// # let _ = (opts, none);
/// ```
#[derive(Clone, Default)]
pub struct ChatOptions {
    pub(crate) fallbacks: Option<Vec<String>>,
    pub(crate) unsupported_params: Option<UnsupportedParamPolicy>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) max_retries: Option<u32>,
    pub(crate) hooks: Vec<Arc<dyn Hook>>,
    /// A header that could not be built, reported when the call is made.
    pub(crate) invalid: Option<String>,
    /// Keep the answer's wire bytes when the provider speaks this format.
    pub(crate) keep_wire: Option<&'static str>,
}

impl std::fmt::Debug for ChatOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatOptions")
            .field("fallbacks", &self.fallbacks)
            .field("unsupported_params", &self.unsupported_params)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("retry", &self.retry)
            .field("max_retries", &self.max_retries)
            .field("hooks", &self.hooks.len())
            .field("keep_wire", &self.keep_wire)
            .finish()
    }
}

/// The header an idempotency key is sent in (Stripe's convention, which
/// OpenAI-style APIs that dedupe retried requests follow); providers that do
/// not dedupe ignore it.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

impl ChatOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Use this fallback route (`provider/model`) for this call, a call to a
    /// model group included ([`Client`](crate::Client) only: a single
    /// provider has no other route); the first call replaces the client's
    /// list, later ones append to it.
    pub fn fallback(mut self, route: impl Into<String>) -> Self {
        self.fallbacks
            .get_or_insert_with(Vec::new)
            .push(route.into());
        self
    }

    /// Keep the answer as the upstream sent it when the provider that serves
    /// the call speaks the wire format `format` (its dialect: `"openai"`,
    /// `"anthropic"`, `"openai_responses"`): a whole answer's body in
    /// [`ResponseMeta::wire`](crate::types::ResponseMeta::wire), a stream's
    /// frames through [`ChatStream::take_frames`](crate::ChatStream::take_frames).
    /// The answer is parsed as always (usage, tool calls, errors); this only
    /// keeps the bytes, for a gateway whose caller speaks the same format.
    pub fn keep_wire(mut self, format: &'static str) -> Self {
        self.keep_wire = Some(format);
        self
    }

    /// Try no fallback for this call.
    pub fn no_fallbacks(mut self) -> Self {
        self.fallbacks = Some(Vec::new());
        self
    }

    /// The unsupported-parameter policy for this call (a policy set on the
    /// request itself still wins).
    pub fn unsupported_params(mut self, policy: UnsupportedParamPolicy) -> Self {
        self.unsupported_params = Some(policy);
        self
    }

    /// Send this header on this call's attempts (after the configured ones,
    /// replacing one of the same name). An invalid name or value fails the
    /// call with a [`Config`](crate::ErrorKind::Config) error. A header that
    /// carries a credential (`authorization`, `x-api-key`, a gateway's
    /// virtual key: the rule is [`is_sensitive_header`](crate::http::is_sensitive_header))
    /// is shown to hooks as `[redacted]`, never in `Debug` or logs, and its
    /// value is redacted from the call's errors.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let (name, value) = (name.as_ref(), value.as_ref());
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => {
                let v = crate::http::mark_sensitive(&n, v);
                self.headers.push((n, v));
            }
            _ => {
                self.invalid
                    .get_or_insert_with(|| format!("the per-call header `{name}` is not valid"));
            }
        }
        self
    }

    /// Bound this call instead of the configured `timeout` (larger or
    /// smaller); the table on [`ProviderConfig::timeout`](crate::ProviderConfig::timeout)
    /// applies with this value. Zero fails the call with a
    /// [`Config`](crate::ErrorKind::Config) error before anything is sent.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Bound each gap between two chunks of this call's stream (zero is a
    /// [`Config`](crate::ErrorKind::Config) error, as for [`timeout`](Self::timeout)).
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = Some(d);
        self
    }

    /// Retry this call with this policy instead of the configured one.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Retry this call at most `n` times (on top of the policy in use).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// Send `key` in the `Idempotency-Key` header of every attempt of this
    /// call, so an upstream that dedupes can tell a retry from a new request.
    pub fn idempotency_key(self, key: impl AsRef<str>) -> Self {
        self.header(IDEMPOTENCY_HEADER, key)
    }

    /// Run this hook on this call's attempts, after the configured ones.
    pub fn hook(mut self, hook: Arc<dyn Hook>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// The retry policy for this call, given the configured one.
    pub(crate) fn retry_over(&self, configured: &RetryPolicy) -> RetryPolicy {
        let mut policy = self.retry.unwrap_or(*configured);
        if let Some(n) = self.max_retries {
            policy.max_retries = n;
        }
        policy
    }

    /// The error of a setting an operation beyond chat cannot honour: a
    /// fallback (an image, a voice or a score from another model is not the
    /// same answer), or an unsupported-parameter policy where the operation
    /// sends no chat requests (`chat_items`: a batch does). Never silently
    /// ignored.
    pub(crate) fn check_operation(&self, operation: &str, chat_items: bool) -> Result<()> {
        if self.fallbacks.as_ref().is_some_and(|f| !f.is_empty()) {
            return Err(Error::config(format!(
                "`{operation}` takes no fallbacks: its answer from another model is not the same answer"
            )));
        }
        if !chat_items && self.unsupported_params.is_some() {
            return Err(Error::config(format!(
                "`{operation}` sends no chat request: the unsupported-parameter policy does not apply to it"
            )));
        }
        self.check()
    }

    /// The error of an invalid per-call header or a zero bound, if any.
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(message) = &self.invalid {
            return Err(Error::config(message.clone()));
        }
        for (name, bound) in [
            ("timeout", self.timeout),
            ("idle_timeout", self.idle_timeout),
        ] {
            if bound.is_some_and(|d| d.is_zero()) {
                return Err(Error::config(format!(
                    "the per-call `{name}` is zero: a call bounded by zero could never be sent"
                )));
            }
        }
        Ok(())
    }
}

/// How long [`ProviderClient::batch`](crate::ProviderClient::batch) waits for a batch, and how often it looks.
#[derive(Debug, Clone, Copy)]
pub struct BatchWait {
    /// The longest wait for the batch to finish (the caller's deadline).
    pub timeout: Duration,
    /// How often the batch is checked.
    pub poll: PollPolicy,
}

impl BatchWait {
    /// Wait up to `timeout`, checking as [`PollPolicy::default`] says.
    pub fn up_to(timeout: Duration) -> Self {
        BatchWait {
            timeout,
            poll: PollPolicy::default(),
        }
    }

    /// Check as `policy` says.
    pub fn poll(mut self, policy: PollPolicy) -> Self {
        self.poll = policy;
        self
    }
}
