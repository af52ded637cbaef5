//! One exchange with an upstream: send a request, wait for its headers within
//! the time-to-headers bound, then read the whole body under the cap, hand a
//! stream back unread, or read and classify the error body. The [`Transport`]
//! (`crate::transport`) runs its attempts through here, as does the public
//! chain API ([`HttpRequest`](super::HttpRequest)).

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderValue, Method};

use crate::error::{Error, ErrorKind, MAX_ERROR_READ, Redactor, Result, in_band_error_status};
use crate::hooks::{Hooks, ResponseHead};

/// Maps a non-success status, its headers and its (redacted) body to an [`Error`].
pub(crate) type Classify<'a> = &'a (dyn Fn(u16, &HeaderMap, &[u8]) -> Error + Send + Sync);

/// The bounds of one call; the table is documented on
/// [`ProviderConfig::timeout`](crate::ProviderConfig::timeout).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// The whole non-streamed call, retries and their waits included; for a
    /// stream, everything up to its response headers.
    pub(crate) call: Duration,
    /// From sending an attempt to its response headers, when set (it is cut to
    /// what is left of `call` anyway).
    pub(crate) first_byte: Option<Duration>,
    /// The longest gap between two chunks of a stream, when set on purpose.
    pub(crate) idle: Option<Duration>,
    /// The whole stream, from the call to its last event (none by default).
    pub(crate) stream: Option<Duration>,
}

/// The default cap on a non-streamed response body.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;

/// The default whole-request bound when the declaration gives no `timeout_secs`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest default gap between two chunks of a stream (when no idle
/// timeout is set, the call's timeout bounds each gap, up to this).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

impl Timeouts {
    /// The gap bound: the one set on purpose, else the call's bound capped at
    /// [`DEFAULT_IDLE_TIMEOUT`].
    pub(crate) fn idle(&self) -> Duration {
        self.idle
            .unwrap_or_else(|| self.call.min(DEFAULT_IDLE_TIMEOUT))
    }

    /// The time-to-headers bound of an attempt (before the deadline cuts it).
    pub(crate) fn first_byte(&self) -> Duration {
        self.first_byte.unwrap_or(self.call)
    }

    /// These bounds with a call's own overrides.
    pub(crate) fn with(self, call: Option<Duration>, idle: Option<Duration>) -> Self {
        Timeouts {
            call: call.unwrap_or(self.call),
            idle: idle.or(self.idle),
            ..self
        }
    }
}

/// When a call must be over; `None` when the bound is too far to represent
/// (`timeout(Duration::MAX)`), which means unbounded rather than a panic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// `bound` from now.
    pub(crate) fn after(bound: Duration) -> Self {
        Deadline(Instant::now().checked_add(bound))
    }

    /// The instant, if representable.
    pub(crate) fn instant(self) -> Option<Instant> {
        self.0
    }

    /// The time left (`None`: unbounded).
    pub(crate) fn remaining(self) -> Option<Duration> {
        self.0.map(|d| d.saturating_duration_since(Instant::now()))
    }
}

/// What a successful attempt hands back.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The whole body, read under the cap (a full call, or a stream request
    /// that was answered with one JSON document).
    Body {
        /// The 2xx status.
        status: u16,
        /// The response headers.
        headers: HeaderMap,
        /// The body.
        body: Bytes,
    },
    /// A 2xx stream, unread.
    Stream(reqwest::Response),
}

impl Answer {
    /// The response headers.
    pub(crate) fn headers(&self) -> &HeaderMap {
        match self {
            Answer::Body { headers, .. } => headers,
            Answer::Stream(response) => response.headers(),
        }
    }
}

/// What kind of answer the caller waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// The whole body.
    Full,
    /// A stream (SSE, NDJSON), or a whole JSON body from a proxy that did not stream.
    Stream,
    /// The whole body as a file (a batch's JSONL results): not one JSON
    /// document, so not checked for an in-band error payload.
    File,
}

/// What one attempt needs besides the request (shared with the public chain API).
pub(crate) struct Exchange<'a> {
    pub(crate) http: &'a reqwest::Client,
    /// The time-to-headers bound (cut to what is left of the deadline).
    pub(crate) first_byte: Duration,
    pub(crate) max_body: usize,
    pub(crate) redactor: &'a Redactor,
    pub(crate) classify: Classify<'a>,
    pub(crate) observer: Observer<'a>,
}

/// Who an attempt is for, and the hooks that see its response head.
pub(crate) struct Observer<'a> {
    pub(crate) provider: &'static str,
    pub(crate) model: &'a str,
    pub(crate) attempt: u32,
    pub(crate) hooks: &'a Hooks,
}

impl Observer<'_> {
    /// No hooks (the public chain API).
    pub(crate) fn none() -> Observer<'static> {
        static NONE: Hooks = Hooks(Vec::new());
        Observer {
            provider: "",
            model: "",
            attempt: 1,
            hooks: &NONE,
        }
    }
}

impl Exchange<'_> {
    /// One attempt of `request`: headers, then the answer, and when the
    /// headers arrived.
    pub(crate) async fn run(
        &self,
        request: reqwest::Request,
        expect: Expect,
        deadline: Deadline,
    ) -> Result<(Answer, Instant)> {
        let sent = Instant::now();
        let response = self.headers(request, expect, deadline).await?;
        let o = &self.observer;
        o.hooks.each(|h| {
            h.on_response(&ResponseHead {
                provider: o.provider,
                model: o.model,
                attempt: o.attempt,
                status: response.status().as_u16(),
                headers: response.headers(),
                latency: sent.elapsed(),
            })
        });
        let headers_at = Instant::now();
        let answer = self.answer(response, expect, deadline).await?;
        Ok((answer, headers_at))
    }

    /// Send and wait for the response headers within the time-to-headers bound.
    async fn headers(
        &self,
        mut request: reqwest::Request,
        expect: Expect,
        deadline: Deadline,
    ) -> Result<reqwest::Response> {
        let remaining = deadline.remaining();
        if remaining.is_some_and(|r| r.is_zero()) {
            return Err(Error::new(
                ErrorKind::Timeout,
                "the deadline passed before the request was sent",
            ));
        }
        let first_byte = remaining.map_or(self.first_byte, |r| self.first_byte.min(r));
        if expect == Expect::Stream {
            // A wire format that names its own stream type (AWS event stream) keeps it.
            if !request.headers().contains_key(http::header::ACCEPT) {
                request.headers_mut().insert(
                    http::header::ACCEPT,
                    HeaderValue::from_static(
                        "text/event-stream, application/x-ndjson, application/json",
                    ),
                );
            }
        } else if let Some(r) = remaining {
            // reqwest's own timer bounds the whole full request, body included.
            *request.timeout_mut() = Some(r);
        }
        let send = self.http.execute(request);
        // A second timer is armed only when the time-to-headers bound is shorter
        // than what reqwest's own timer already enforces.
        let sent = if expect == Expect::Stream || remaining.is_none_or(|r| first_byte < r) {
            tokio::time::timeout(first_byte, send).await.map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!("no response headers within {first_byte:?}"),
                )
            })?
        } else {
            send.await
        };
        sent.map_err(super::send_error)
    }

    /// A stream handed back unread, a whole body, or the classified error.
    async fn answer(
        &self,
        mut response: reqwest::Response,
        expect: Expect,
        deadline: Deadline,
    ) -> Result<Answer> {
        let status = response.status().as_u16();
        let success = (200..300).contains(&status);
        if success && expect == Expect::Stream && !is_json(response.headers()) {
            return Ok(Answer::Stream(response));
        }
        // The body is read from here on: its headers can move out instead of being cloned.
        let headers = std::mem::take(response.headers_mut());
        if success {
            // A full request carries reqwest's own timer to the deadline (see
            // `headers`), body included: a second one would only cost a timer.
            let body = if expect != Expect::Stream && deadline.instant().is_some() {
                read_body(response, self.max_body).await?
            } else {
                read_within(response, self.max_body, deadline).await?
            };
            // An error payload inside a 2xx is that error, never an empty success.
            if expect != Expect::File
                && let Some(status) = in_band_error_status(&body)
            {
                return Err((self.classify)(
                    status,
                    &headers,
                    &self.redactor.bytes(&body),
                ));
            }
            return Ok(Answer::Body {
                status,
                headers,
                body,
            });
        }
        // The error body is read within what is left of the deadline and up to
        // the small error cap; a body that stalls or breaks still gives the
        // status's error, with what arrived.
        let body = read_error_body(response, self.max_body, deadline).await;
        Err((self.classify)(
            status,
            &headers,
            &self.redactor.bytes(&body),
        ))
    }
}

/// Whether a 2xx answer to a stream request is one JSON document rather than
/// a stream (some proxies answer so: an error, or the whole completion).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim();
            mime.eq_ignore_ascii_case("application/json")
                || mime.to_ascii_lowercase().ends_with("+json")
        })
}

/// [`read_body`] within what is left of `deadline`.
async fn read_within(response: reqwest::Response, max: usize, deadline: Deadline) -> Result<Bytes> {
    match deadline.remaining() {
        None => read_body(response, max).await,
        Some(left) => match tokio::time::timeout(left, read_body(response, max)).await {
            Ok(body) => body,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                "the response body did not arrive within the deadline",
            )),
        },
    }
}

/// The first [`MAX_ERROR_READ`] bytes of an error body (or `max`, the body
/// cap, when smaller), read within what is left of `deadline`: what arrived
/// when the body ends, breaks, stalls or reaches the cap. The rest is never
/// read; dropping the response closes the connection instead of draining it.
async fn read_error_body(response: reqwest::Response, max: usize, deadline: Deadline) -> Bytes {
    let cap = MAX_ERROR_READ.min(max);
    let expected = response
        .content_length()
        .map_or(cap, |n| usize::try_from(n).unwrap_or(usize::MAX).min(cap));
    let mut kept = Vec::with_capacity(expected);
    let read = read_prefix(response, cap, &mut kept);
    match deadline.remaining() {
        None => read.await,
        // Past the deadline, what arrived is the body.
        Some(left) => drop(tokio::time::timeout(left, read).await),
    }
    Bytes::from(kept)
}

/// Append the body to `kept` until it ends, fails, or `kept` holds `cap` bytes.
async fn read_prefix(response: reqwest::Response, cap: usize, kept: &mut Vec<u8>) {
    let mut stream = response.bytes_stream();
    while kept.len() < cap {
        let Some(Ok(chunk)) = stream.next().await else {
            return;
        };
        let room = cap - kept.len();
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
}

/// Read a whole body, failing once it grows past `max` bytes.
pub(crate) async fn read_body(response: reqwest::Response, max: usize) -> Result<Bytes> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large(max));
    }
    let mut stream = response.bytes_stream();
    let mut first: Option<Bytes> = None;
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(super::body_read_error)?;
        let len = first
            .as_ref()
            .map_or(0, Bytes::len)
            .saturating_add(buf.len())
            .saturating_add(chunk.len());
        if len > max {
            return Err(too_large(max));
        }
        // Most bodies arrive in one chunk: keep it without copying.
        match (&first, buf.is_empty()) {
            (None, true) => first = Some(chunk),
            _ => {
                if let Some(f) = first.take() {
                    buf.extend_from_slice(&f);
                }
                buf.extend_from_slice(&chunk);
            }
        }
    }
    Ok(match first {
        Some(f) => f,
        None => Bytes::from(buf),
    })
}

fn too_large(max: usize) -> Error {
    Error::decode(format!(
        "the response body is larger than the {max}-byte cap"
    ))
}

/// Milliseconds for a log field, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The method of a declared health probe (`"GET"`, `"POST"`...).
pub(crate) fn probe_method(method: &str) -> Method {
    Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET)
}
