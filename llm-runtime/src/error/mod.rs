//! One error type for every provider, with a [`ErrorKind`] to match on.

mod classify;
mod declared;
mod delay;
mod event_stream;
mod in_band;
mod pick;
mod redact;
pub(crate) mod sensitive;

pub use classify::{ErrorBody, classify_http_error, parse_error_body, retry_after_from_headers};
pub(crate) use classify::{classify_kind, request_id_from_headers};
pub use declared::{ErrorRule, ErrorTable};
pub use delay::MAX_DELAY;
pub(crate) use delay::{count, delay_from_go, delay_from_secs, delay_until_rfc3339, header_text};
pub(crate) use in_band::{error_value_error, in_band_error_status, stream_error};
pub(crate) use redact::Redactor;

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// The most bytes of an upstream body kept in an [`Error`].
pub const MAX_ERROR_BODY: usize = 2048;

/// The most bytes of an error body read from the wire (64 KiB, or the
/// configured body cap when that is smaller): enough for any provider's error
/// document, whose message and start are all an [`Error`] keeps
/// ([`MAX_ERROR_MESSAGE`], [`MAX_ERROR_BODY`]). What lies past it is never
/// read: the connection is closed rather than drained, so an upstream that
/// answers an error with 60 MiB costs 64 KiB, not 60 MiB (nor a JSON tree of
/// it). A document cut by this cap is classified by its status.
pub const MAX_ERROR_READ: usize = 64 * 1024;

/// The most bytes of a message kept in an [`Error`]: an upstream that sends a
/// 32 MiB message does not get it stored.
pub const MAX_ERROR_MESSAGE: usize = 8192;

/// The codes an [`Error`] records as an HTTP status (RFC 9110's three-digit
/// classes 1xx to 5xx).
const HTTP_STATUSES: std::ops::RangeInclusive<u16> = 100..=599;

/// The largest `i <= max` that is a char boundary of `s` (`s.len()` if shorter).
pub(crate) fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

/// `b` without a UTF-8 character that a cut left incomplete at its end, so the
/// kept body does not end in U+FFFD.
fn without_cut_char(b: &[u8]) -> &[u8] {
    for back in 1..=b.len().min(3) {
        let byte = b[b.len() - back];
        if byte & 0xC0 != 0x80 {
            let width = match byte {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            return if width > back {
                &b[..b.len() - back]
            } else {
                b
            };
        }
    }
    b
}

/// `s` cut to [`MAX_ERROR_MESSAGE`] bytes on a char boundary, without keeping
/// the capacity of a huge original.
fn capped_message(mut s: String) -> String {
    if s.len() > MAX_ERROR_MESSAGE {
        s.truncate(floor_char_boundary(&s, MAX_ERROR_MESSAGE));
        s.shrink_to_fit();
    }
    s
}

/// What went wrong, independent of the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The key is missing, wrong or revoked (HTTP 401).
    Authentication,
    /// The key may not do this (HTTP 403).
    PermissionDenied,
    /// Too many requests; retry later (HTTP 429).
    RateLimited,
    /// The account is out of credit or quota.
    QuotaExceeded,
    /// The request is malformed or has bad parameters (HTTP 400/422).
    InvalidRequest,
    /// The prompt is longer than the model's context window.
    ContextWindowExceeded,
    /// A safety filter refused the request.
    ContentFilter,
    /// The model or path does not exist (HTTP 404).
    NotFound,
    /// No answer within the configured bound.
    Timeout,
    /// The provider failed (HTTP 5xx).
    ServerError,
    /// The provider is overloaded (HTTP 529, Anthropic `overloaded_error`).
    Overloaded,
    /// The connection failed (refused, reset, DNS).
    Network,
    /// The provider's bytes could not be understood.
    Decode,
    /// A stream ended before its terminator.
    StreamTruncated,
    /// The provider does not support this (capability or parameter).
    Unsupported,
    /// The configuration is wrong (missing key, bad URL); found before any network call.
    Config,
}

impl ErrorKind {
    /// Whether a call that failed this way may succeed if tried again.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited
                | ErrorKind::Timeout
                | ErrorKind::ServerError
                | ErrorKind::Overloaded
                | ErrorKind::Network
        )
    }

    /// A short lowercase name, e.g. `rate_limited`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Authentication => "authentication",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::ContextWindowExceeded => "context_window_exceeded",
            ErrorKind::ContentFilter => "content_filter",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ServerError => "server_error",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Network => "network",
            ErrorKind::Decode => "decode",
            ErrorKind::StreamTruncated => "stream_truncated",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Config => "config",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of every fallible call in this crate.
///
/// ```
/// use llm_runtime::{Error, ErrorKind};
/// let e = Error::new(ErrorKind::RateLimited, "slow down");
/// assert!(e.is_retryable());
/// assert_eq!(e.kind(), ErrorKind::RateLimited);
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    provider: Option<Cow<'static, str>>,
    model: Option<String>,
    status: Option<u16>,
    code: Option<String>,
    retry_after: Option<Duration>,
    request_id: Option<String>,
    body: Option<String>,
    should_retry: Option<bool>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result<T, llm_runtime::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a message (kept up to [`MAX_ERROR_MESSAGE`] bytes).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: capped_message(message.into()),
                provider: None,
                model: None,
                status: None,
                code: None,
                retry_after: None,
                request_id: None,
                body: None,
                should_retry: None,
                source: None,
            }),
        }
    }

    /// A [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// A [`ErrorKind::Decode`] error.
    pub fn decode(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Decode, message)
    }

    /// A [`ErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// A [`ErrorKind::InvalidRequest`] error.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        self.inner.kind.is_retryable()
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The provider's name, where known.
    pub fn provider(&self) -> Option<&str> {
        self.inner.provider.as_deref()
    }

    /// The model, where known.
    pub fn model(&self) -> Option<&str> {
        self.inner.model.as_deref()
    }

    /// The HTTP status, where there was a response.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The provider's error code or type (`rate_limit_exceeded`, `overloaded_error`...).
    pub fn code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }

    /// How long the provider asked us to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The provider's request id, for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// The start of the upstream body (at most [`MAX_ERROR_BODY`] bytes).
    pub fn body(&self) -> Option<&str> {
        self.inner.body.as_deref()
    }

    /// The provider's own retry hint (`x-should-retry: true|false`), where sent.
    pub fn should_retry_hint(&self) -> Option<bool> {
        self.inner.should_retry
    }

    /// Set the provider's retry hint.
    pub fn with_should_retry(mut self, hint: Option<bool>) -> Self {
        self.inner.should_retry = hint;
        self
    }

    /// Set the provider name.
    pub fn with_provider(mut self, provider: impl Into<Cow<'static, str>>) -> Self {
        self.inner.provider = Some(provider.into());
        self
    }

    /// Set the model.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.inner.model = Some(model.into());
        self
    }

    /// Set the provider's model where none is set yet.
    pub(crate) fn or_context(mut self, provider: &'static str, model: &str) -> Self {
        if self.inner.provider.is_none() {
            self.inner.provider = Some(Cow::Borrowed(provider));
        }
        if self.inner.model.is_none() && !model.is_empty() {
            self.inner.model = Some(model.to_owned());
        }
        self
    }

    /// Set the HTTP status: `100..=599`. Anything else (`0`, a code past
    /// 599) is not an HTTP status, so [`status`](Self::status) stays
    /// `None` rather than report one no response had.
    ///
    /// ```
    /// use llm_runtime::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::ServerError, "boom");
    /// assert_eq!(e.with_status(503).status(), Some(503));
    /// let e = Error::new(ErrorKind::ServerError, "boom");
    /// assert_eq!(e.with_status(0).status(), None);
    /// ```
    pub fn with_status(mut self, status: u16) -> Self {
        self.inner.status = HTTP_STATUSES.contains(&status).then_some(status);
        self
    }

    /// Set the provider's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.inner.code = Some(code.into());
        self
    }

    /// Set the wait the provider asked for.
    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.inner.retry_after = after;
        self
    }

    /// Set the request id.
    pub fn with_request_id(mut self, id: Option<String>) -> Self {
        self.inner.request_id = id;
        self
    }

    /// Keep the start of the upstream body (cut at [`MAX_ERROR_BODY`] bytes on a char boundary).
    pub fn with_body(mut self, body: &[u8]) -> Self {
        let mut kept = &body[..body.len().min(MAX_ERROR_BODY)];
        if kept.len() < body.len() {
            kept = without_cut_char(kept);
        }
        self.inner.body = Some(String::from_utf8_lossy(kept).into_owned());
        self
    }

    /// Set the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Change the kind (e.g. a transform refining a classification).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.inner.kind = kind;
        self
    }

    /// Prefix the message with what was going on (`"{what}: {message}"`).
    pub(crate) fn context(mut self, what: &str) -> Self {
        self.inner.message = capped_message(format!("{what}: {}", self.inner.message));
        self
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &i.kind).field("message", &i.message);
        if let Some(p) = &i.provider {
            d.field("provider", p);
        }
        if let Some(m) = &i.model {
            d.field("model", m);
        }
        if let Some(s) = i.status {
            d.field("status", &s);
        }
        if let Some(c) = &i.code {
            d.field("code", c);
        }
        if let Some(r) = i.retry_after {
            d.field("retry_after", &r);
        }
        if let Some(r) = &i.request_id {
            d.field("request_id", r);
        }
        if let Some(s) = &i.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        if let Some(p) = &i.provider {
            write!(f, "{p}: ")?;
        }
        write!(f, "{}", i.kind)?;
        if let Some(s) = i.status {
            write!(f, " (HTTP {s})")?;
        }
        write!(f, ": {}", i.message)?;
        if let Some(m) = &i.model {
            write!(f, " [model {m}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::new(ErrorKind::Decode, format!("invalid JSON: {e}"))
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            ErrorKind::Timeout
        } else if e.is_decode() || e.is_body() && !e.is_connect() {
            // A body that fails mid-way is a broken connection, not bad bytes,
            // unless reqwest says it could not decode it.
            if e.is_decode() {
                ErrorKind::Decode
            } else {
                ErrorKind::Network
            }
        } else if e.is_builder() {
            ErrorKind::Config
        } else {
            ErrorKind::Network
        };
        // reqwest's Display includes the URL; our URLs never hold keys unless the
        // provider uses query auth, which the client strips before building errors.
        let message = without_url(&e).to_string();
        Error::new(kind, message).with_source(e.without_url())
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut msg = if e.is_timeout() {
        "request timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else if e.is_body() {
        "response body failed".to_owned()
    } else if e.is_decode() {
        "response body could not be decoded".to_owned()
    } else if e.is_request() {
        "request failed".to_owned()
    } else {
        "HTTP error".to_owned()
    };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod status_tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Only a real HTTP status is recorded, whoever sets it.
        #[test]
        fn only_http_statuses_are_recorded(status in any::<u16>(), body in ".{0,40}") {
            let valid = (100..=599).contains(&status);
            let set = Error::new(ErrorKind::ServerError, "x").with_status(status);
            prop_assert_eq!(set.status(), valid.then_some(status));
            let classified = classify_http_error(status, &http::HeaderMap::new(), body.as_bytes());
            let recorded = valid && !(200..=299).contains(&status);
            prop_assert_eq!(classified.status(), recorded.then_some(status));
        }
    }
}
