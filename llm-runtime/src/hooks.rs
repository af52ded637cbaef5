//! Hooks: a caller's code that sees every attempt of every call, with the
//! secrets already taken out.
//!
//! A hook is registered on a configuration
//! ([`ProviderConfig::hook`](crate::ProviderConfig::hook)), on a
//! [`ClientBuilder`](crate::ClientBuilder::hook) or on one call
//! ([`ChatOptions::hook`](crate::ChatOptions::hook)); several run in the order
//! they were registered (configuration, then client, then call).
//!
//! A small trait rather than a tower `Layer`: a layer wraps the request future
//! and would see the raw request, key included, and cannot observe what
//! happens between attempts (the retry decision) or when a stream ends.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use llm_runtime::hooks::{AttemptFailure, AttemptRequest, Completion, Hook};
//!
//! #[derive(Default)]
//! struct CountAttempts(AtomicU32);
//!
//! impl Hook for CountAttempts {
//!     fn before_send(&self, request: &mut AttemptRequest<'_>) {
//!         self.0.fetch_add(1, Ordering::Relaxed);
//!         request.add_header("x-trace", "abc").expect("a valid header");
//!     }
//!     fn on_complete(&self, done: &Completion<'_>) {
//!         println!("{} in {:?}, cost {:?}", done.provider, done.latency, done.cost);
//!     }
//! }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::error::{Error, Redactor, Result};
use crate::types::{FinishReason, Usage};

/// Sees every attempt of a call. Every method has an empty default.
pub trait Hook: Send + Sync + 'static {
    /// Before an attempt is sent: read the final method, URL, headers (secrets
    /// redacted) and body; add headers.
    fn before_send(&self, request: &mut AttemptRequest<'_>) {
        let _ = request;
    }

    /// After an attempt's response head arrived (any status).
    fn on_response(&self, head: &ResponseHead<'_>) {
        let _ = head;
    }

    /// After a call completed (for a stream: after its last event, or when
    /// the caller dropped it, with [`Completion::dropped`] set).
    fn on_complete(&self, done: &Completion<'_>) {
        let _ = done;
    }

    /// After an attempt failed, with whether it will be retried.
    fn on_error(&self, failure: &AttemptFailure<'_>) {
        let _ = failure;
    }
}

/// The hooks of one call, in order.
#[derive(Clone, Default)]
pub(crate) struct Hooks(pub(crate) Vec<Arc<dyn Hook>>);

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} hook(s)", self.0.len())
    }
}

impl Hooks {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// These hooks, then `more`.
    pub(crate) fn then(&self, more: &[Arc<dyn Hook>]) -> Hooks {
        let mut all = self.0.clone();
        all.extend(more.iter().cloned());
        Hooks(all)
    }

    pub(crate) fn each(&self, mut f: impl FnMut(&dyn Hook)) {
        for hook in &self.0 {
            f(hook.as_ref());
        }
    }
}

/// An attempt about to be sent, as a hook sees it.
pub struct AttemptRequest<'a> {
    /// The provider's name.
    pub provider: &'static str,
    /// The model.
    pub model: &'a str,
    /// The attempt number, from 1.
    pub attempt: u32,
    method: &'a Method,
    url: String,
    headers: HeaderMap,
    body: Option<&'a Bytes>,
    added: Vec<(HeaderName, HeaderValue)>,
}

impl fmt::Debug for AttemptRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttemptRequest")
            .field("provider", &self.provider)
            .field("model", &self.model)
            .field("attempt", &self.attempt)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field("body_len", &self.body.map(Bytes::len))
            .finish()
    }
}

impl<'a> AttemptRequest<'a> {
    /// The view of `request` with every secret redacted: sensitive header
    /// values (the auth header, and every header that carries a credential:
    /// configured, per-call or added by an earlier hook) are replaced, the URL
    /// and the other headers go through the redactor.
    pub(crate) fn new(
        provider: &'static str,
        model: &'a str,
        attempt: u32,
        request: &'a reqwest::Request,
        body: Option<&'a Bytes>,
        redactor: &Redactor,
    ) -> Self {
        let mut headers = HeaderMap::with_capacity(request.headers().len());
        for (name, value) in request.headers() {
            // The name is checked too: a value built by hand elsewhere may
            // carry a credential without the mark.
            let shown = if value.is_sensitive() || crate::error::sensitive::is_sensitive_name(name)
            {
                HeaderValue::from_static("[redacted]")
            } else {
                let text = String::from_utf8_lossy(value.as_bytes());
                HeaderValue::from_str(&redactor.str(&text))
                    .unwrap_or_else(|_| HeaderValue::from_static("[unprintable]"))
            };
            headers.append(name.clone(), shown);
        }
        AttemptRequest {
            provider,
            model,
            attempt,
            method: request.method(),
            url: redactor.str(request.url().as_str()).into_owned(),
            headers,
            body,
            added: Vec::new(),
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        self.method
    }

    /// The final URL (a key sent as a query parameter is redacted).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The headers, with the value of each one that carries a credential
    /// replaced by `[redacted]`.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body as sent (JSON), if any.
    pub fn body(&self) -> Option<&[u8]> {
        self.body.map(|b| b.as_ref())
    }

    /// Add a header to this attempt (one that carries a credential, by the
    /// rule of [`is_sensitive_header`](crate::http::is_sensitive_header), is
    /// marked sensitive so it never reaches `Debug` or logs).
    pub fn add_header(&mut self, name: &str, value: &str) -> Result<()> {
        let name = HeaderName::try_from(name)
            .map_err(|_| Error::config(format!("`{name}` is not a valid header name")))?;
        let value = HeaderValue::try_from(value)
            .map_err(|_| Error::config(format!("the value of header `{name}` is not valid")))?;
        let value = crate::error::sensitive::mark(&name, value);
        self.added.push((name, value));
        Ok(())
    }

    /// The headers hooks added.
    pub(crate) fn into_added(self) -> Vec<(HeaderName, HeaderValue)> {
        self.added
    }
}

/// An attempt's response head.
#[derive(Debug)]
pub struct ResponseHead<'a> {
    /// The provider's name.
    pub provider: &'static str,
    /// The model.
    pub model: &'a str,
    /// The attempt number, from 1.
    pub attempt: u32,
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: &'a HeaderMap,
    /// From sending this attempt to its headers.
    pub latency: Duration,
}

/// A completed call.
#[derive(Debug)]
#[non_exhaustive]
pub struct Completion<'a> {
    /// The provider's name.
    pub provider: &'static str,
    /// What was called: `chat` (streamed or not), or the method of an
    /// operation beyond chat (`images`, `speech`, `transcribe`, `rerank`,
    /// `moderate`, `batch_create`...).
    pub operation: &'static str,
    /// The model asked for.
    pub model: &'a str,
    /// Whether it was streamed.
    pub stream: bool,
    /// Token usage, where reported.
    pub usage: Option<&'a Usage>,
    /// Why the model stopped, where reported.
    pub finish_reason: Option<&'a FinishReason>,
    /// The cost in US dollars, where the catalog knows the model's prices
    /// (`Some(0.0)` for a free operation such as moderation; `None` unpriced).
    pub cost: Option<f64>,
    /// How many attempts the call took.
    pub attempts: u32,
    /// From the call to its end.
    pub latency: Duration,
    /// The caller dropped the stream before its end: `usage`, `cost` and
    /// `finish_reason` are what it had reported by then (a provider that
    /// reports usage only at the end leaves them `None`).
    pub dropped: bool,
}

/// A failed attempt.
#[derive(Debug)]
pub struct AttemptFailure<'a> {
    /// The provider's name.
    pub provider: &'static str,
    /// The model.
    pub model: &'a str,
    /// The attempt number, from 1.
    pub attempt: u32,
    /// The error (secrets redacted).
    pub error: &'a Error,
    /// Whether the call will try again, and after how long.
    pub retry_in: Option<Duration>,
}
