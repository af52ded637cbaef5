//! Classification of an upstream error response: status first, then the
//! provider's error code/type, then a small table of message patterns.

use std::time::Duration;

use http::HeaderMap;
use serde_json::Value;

use super::delay::{delay_from_millis, delay_from_secs, delay_until, header_text};
use super::pick::{Pick, picked};
use super::{Error, ErrorKind, MAX_ERROR_MESSAGE, floor_char_boundary};

/// The fields of an upstream error body, whatever its dialect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// The human-readable message (at most [`MAX_ERROR_MESSAGE`] bytes).
    pub message: Option<String>,
    /// The provider's code or type (`rate_limit_exceeded`, `overloaded_error`, `RESOURCE_EXHAUSTED`...).
    pub code: Option<String>,
    /// A second code where the body has two (OpenAI `type` next to `code`).
    pub kind: Option<String>,
}

/// A symbolic code: a non-empty string that is not a number (a numeric `code`
/// is an HTTP status, read by [`super::in_band_error_status`], not a code) and
/// not the word `error` (Anthropic's and vLLM's envelope marker).
fn code_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s)
            if !s.is_empty() && s != "error" && !s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some(s.clone())
        }
        _ => None,
    }
}

/// The keys a message may hide under, most specific first.
const MESSAGE_KEYS: &[&str] = &[
    "message",
    "msg",
    "detail",
    "details",
    "error_description",
    "error",
    "errors",
    "description",
    "title",
];

/// The keys a code may hide under (Google `status`, OpenAI `code`, then `type`).
const CODE_KEYS: &[&str] = &["status", "code", "type"];

/// What [`parse_error_body`] reads of an error object: messages and codes.
static ERROR_OBJECT: Pick = Pick {
    keys: &[MESSAGE_KEYS, CODE_KEYS],
    nested: None,
};

/// What [`parse_error_body`] reads of a document: the same, with the `error`
/// envelope picked in turn; every other key is skipped unbuilt.
static ERROR_DOCUMENT: Pick = Pick {
    keys: &[MESSAGE_KEYS, CODE_KEYS],
    nested: Some(("error", &ERROR_OBJECT)),
};

/// Nesting deeper than this is not rendered (serde_json stops at 128 anyway).
const MAX_DEPTH: usize = 8;

/// Human text, capped at [`MAX_ERROR_MESSAGE`] bytes however large the input.
#[derive(Default)]
struct Text(String);

impl Text {
    fn full(&self) -> bool {
        self.0.len() >= MAX_ERROR_MESSAGE
    }

    fn push(&mut self, s: &str) {
        let room = MAX_ERROR_MESSAGE.saturating_sub(self.0.len());
        self.0.push_str(&s[..floor_char_boundary(s, room)]);
    }

    fn into_message(self) -> Option<String> {
        let t = self.0.trim();
        (!t.is_empty()).then(|| t.to_owned())
    }
}

/// Render the message held by an error object, under one of [`MESSAGE_KEYS`].
fn object_message(v: &Value, out: &mut Text, depth: usize) -> bool {
    let Some(obj) = v.as_object() else {
        return false;
    };
    MESSAGE_KEYS.iter().any(|key| match obj.get(*key) {
        Some(m) => render(m, out, depth + 1),
        None => false,
    })
}

/// Render any message value: a string, a list (FastAPI/pydantic `detail`,
/// `errors`), an object holding a message, or, failing that, the object's JSON.
fn render(v: &Value, out: &mut Text, depth: usize) -> bool {
    if depth > MAX_DEPTH || out.full() {
        return false;
    }
    match v {
        Value::String(s) if !s.trim().is_empty() => {
            out.push(s);
            true
        }
        Value::Array(items) => {
            let mut any = false;
            for item in items {
                if out.full() {
                    break;
                }
                let mark = out.0.len();
                if any {
                    out.push("; ");
                }
                if render_item(item, out, depth + 1) {
                    any = true;
                } else {
                    out.0.truncate(mark);
                }
            }
            any
        }
        Value::Object(_) => {
            object_message(v, out, depth) || {
                out.push(&v.to_string());
                true
            }
        }
        Value::Number(n) => {
            out.push(&n.to_string());
            true
        }
        _ => false,
    }
}

/// One list item; a pydantic item reads `body.messages.0.content: field required`.
fn render_item(item: &Value, out: &mut Text, depth: usize) -> bool {
    if let (Some(loc), Some(msg)) = (
        item.get("loc").and_then(Value::as_array),
        item.get("msg").and_then(Value::as_str),
    ) {
        let path: Vec<String> = loc
            .iter()
            .map(|p| match p {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        if !path.is_empty() {
            out.push(&path.join("."));
            out.push(": ");
        }
        out.push(msg);
        return true;
    }
    render(item, out, depth)
}

fn message_of(v: &Value, f: fn(&Value, &mut Text, usize) -> bool) -> Option<String> {
    let mut out = Text::default();
    if f(v, &mut out, 0) {
        out.into_message()
    } else {
        None
    }
}

/// Read an error body in any of the shapes providers use:
/// OpenAI `{"error":{"message","type","code"}}`, Anthropic
/// `{"type":"error","error":{"type","message"}}`, Google
/// `{"error":{"code":429,"message","status","details"}}`, vLLM
/// `{"object":"error","message","type","code":400}`, FastAPI/pydantic
/// `{"detail":[{"loc","msg","type"}]}` (also nested under `error`),
/// `{"detail":"text"}`, `{"errors":[{"message"}]}`, flat `{"message","code"}` and
/// `{"error":"text"}`. A message may itself be an object or a list; it is
/// rendered as text and capped at [`MAX_ERROR_MESSAGE`] bytes.
/// Anything else (HTML, empty, binary) yields `None`.
///
/// ```
/// use llm_runtime::error::parse_error_body;
/// let body = br#"{"detail":[{"loc":["body","messages",0,"content"],"msg":"field required","type":"missing"}]}"#;
/// let parsed = parse_error_body(body).unwrap();
/// assert_eq!(parsed.message.as_deref(), Some("body.messages.0.content: field required"));
/// ```
pub fn parse_error_body(body: &[u8]) -> Option<ErrorBody> {
    // Only the keys read below are built; a huge `param` or `details` next
    // to the message is skipped as it is parsed.
    let v = picked(body, &ERROR_DOCUMENT)?;
    // Some servers wrap the error in a one-element array (Google streaming).
    let v = match v {
        Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
        other => other,
    };
    v.as_object()?;
    let parsed = match v.get("error") {
        Some(e @ Value::Object(_)) => ErrorBody {
            message: message_of(e, object_message),
            // Google: `status` is the symbolic code; OpenAI: `code`, then `type`.
            code: code_field(e, "status")
                .or_else(|| code_field(e, "code"))
                .or_else(|| code_field(e, "type")),
            kind: code_field(e, "type"),
        },
        Some(e @ Value::Array(items)) if !items.is_empty() => ErrorBody {
            message: message_of(e, render),
            code: code_field(&items[0], "code").or_else(|| code_field(&items[0], "type")),
            kind: None,
        },
        Some(e @ Value::String(_)) => ErrorBody {
            message: message_of(e, render),
            code: code_field(&v, "code").or_else(|| code_field(&v, "type")),
            kind: None,
        },
        _ => {
            let first_error = v.get("errors").and_then(|e| e.get(0));
            ErrorBody {
                message: message_of(&v, object_message),
                code: code_field(&v, "code")
                    .or_else(|| code_field(&v, "type"))
                    .or_else(|| first_error.and_then(|e| code_field(e, "code"))),
                kind: None,
            }
        }
    };
    if parsed.message.is_none() && parsed.code.is_none() {
        None
    } else {
        Some(parsed)
    }
}

/// The kind an HTTP status means on its own.
pub(crate) fn kind_from_status(status: u16) -> ErrorKind {
    match status {
        400 | 422 => ErrorKind::InvalidRequest,
        401 => ErrorKind::Authentication,
        402 => ErrorKind::QuotaExceeded,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 | 504 => ErrorKind::Timeout,
        409 => ErrorKind::ServerError,
        413 => ErrorKind::ContextWindowExceeded,
        429 => ErrorKind::RateLimited,
        503 | 529 => ErrorKind::Overloaded,
        500..=599 => ErrorKind::ServerError,
        _ => ErrorKind::InvalidRequest,
    }
}

/// Provider error codes and types that refine the status.
const CODE_TABLE: &[(&str, ErrorKind)] = &[
    // OpenAI and compatibles
    ("invalid_api_key", ErrorKind::Authentication),
    ("authentication_error", ErrorKind::Authentication),
    ("permission_error", ErrorKind::PermissionDenied),
    ("insufficient_quota", ErrorKind::QuotaExceeded),
    ("billing_hard_limit_reached", ErrorKind::QuotaExceeded),
    ("rate_limit_exceeded", ErrorKind::RateLimited),
    ("rate_limit_error", ErrorKind::RateLimited),
    ("context_length_exceeded", ErrorKind::ContextWindowExceeded),
    ("string_above_max_length", ErrorKind::ContextWindowExceeded),
    ("content_filter", ErrorKind::ContentFilter),
    ("content_policy_violation", ErrorKind::ContentFilter),
    ("model_not_found", ErrorKind::NotFound),
    ("not_found_error", ErrorKind::NotFound),
    ("invalid_request_error", ErrorKind::InvalidRequest),
    ("server_error", ErrorKind::ServerError),
    ("api_error", ErrorKind::ServerError),
    // Anthropic
    ("overloaded_error", ErrorKind::Overloaded),
    ("request_too_large", ErrorKind::ContextWindowExceeded),
    // Google
    ("INVALID_ARGUMENT", ErrorKind::InvalidRequest),
    ("FAILED_PRECONDITION", ErrorKind::InvalidRequest),
    ("UNAUTHENTICATED", ErrorKind::Authentication),
    ("PERMISSION_DENIED", ErrorKind::PermissionDenied),
    ("NOT_FOUND", ErrorKind::NotFound),
    ("RESOURCE_EXHAUSTED", ErrorKind::RateLimited),
    ("INTERNAL", ErrorKind::ServerError),
    ("UNAVAILABLE", ErrorKind::Overloaded),
    ("DEADLINE_EXCEEDED", ErrorKind::Timeout),
    // AWS Bedrock (`x-amzn-errortype`, and the exception messages of a stream)
    ("ThrottlingException", ErrorKind::RateLimited),
    ("ValidationException", ErrorKind::InvalidRequest),
    ("AccessDeniedException", ErrorKind::PermissionDenied),
    ("UnrecognizedClientException", ErrorKind::Authentication),
    ("InvalidSignatureException", ErrorKind::Authentication),
    ("ExpiredTokenException", ErrorKind::Authentication),
    ("ResourceNotFoundException", ErrorKind::NotFound),
    ("ServiceQuotaExceededException", ErrorKind::QuotaExceeded),
    ("ModelTimeoutException", ErrorKind::Timeout),
    ("ModelNotReadyException", ErrorKind::Overloaded),
    ("ServiceUnavailableException", ErrorKind::Overloaded),
    ("ModelStreamErrorException", ErrorKind::ServerError),
    ("ModelErrorException", ErrorKind::ServerError),
    ("InternalServerException", ErrorKind::ServerError),
];

/// Message patterns (lowercase substrings) that refine a kind whatever the code says.
/// Context-window overflows arrive as plain 400s with only the message to tell them apart.
const MESSAGE_PATTERNS: &[(&str, ErrorKind)] = &[
    ("maximum context length", ErrorKind::ContextWindowExceeded),
    ("context length", ErrorKind::ContextWindowExceeded),
    ("context window", ErrorKind::ContextWindowExceeded),
    ("prompt is too long", ErrorKind::ContextWindowExceeded),
    ("input is too long", ErrorKind::ContextWindowExceeded),
    ("too many tokens", ErrorKind::ContextWindowExceeded),
    ("input token count", ErrorKind::ContextWindowExceeded),
    (
        "exceeds the maximum number of tokens",
        ErrorKind::ContextWindowExceeded,
    ),
    ("quota", ErrorKind::QuotaExceeded),
    ("credit balance", ErrorKind::QuotaExceeded),
    ("content management policy", ErrorKind::ContentFilter),
    ("safety", ErrorKind::ContentFilter),
    ("api key not valid", ErrorKind::Authentication),
    ("invalid api key", ErrorKind::Authentication),
    ("incorrect api key", ErrorKind::Authentication),
];

/// Extra message patterns for an error that arrived in-band (in a 2xx body or a
/// stream event), where no error status narrows the kind: Ollama reports all of
/// its failures as `{"error": "..."}` this way. Checked after [`MESSAGE_PATTERNS`],
/// so `invalid api key` is still an authentication error.
const IN_BAND_PATTERNS: &[(&str, ErrorKind)] = &[
    ("not found", ErrorKind::NotFound),
    ("invalid", ErrorKind::InvalidRequest),
    ("does not support", ErrorKind::InvalidRequest),
    ("timed out", ErrorKind::Timeout),
];

fn kind_from_code(code: &str) -> Option<ErrorKind> {
    CODE_TABLE.iter().find(|(c, _)| *c == code).map(|(_, k)| *k)
}

fn kind_from_patterns(patterns: &[(&str, ErrorKind)], lower: &str) -> Option<ErrorKind> {
    patterns
        .iter()
        .find(|(p, _)| lower.contains(p))
        .map(|(_, k)| *k)
}

fn kind_from_message(message: &str) -> Option<ErrorKind> {
    kind_from_patterns(MESSAGE_PATTERNS, &message.to_ascii_lowercase())
}

fn kind_from_in_band_message(message: &str) -> Option<ErrorKind> {
    let lower = message.to_ascii_lowercase();
    kind_from_patterns(MESSAGE_PATTERNS, &lower)
        .or_else(|| kind_from_patterns(IN_BAND_PATTERNS, &lower))
}

/// Refine `base` (from the status) with a code and a message.
///
/// The code wins over the status except where the status is more specific
/// (a 429 whose code says `invalid_request_error` is still a rate limit); a
/// message pattern only refines 400/403-class kinds, so a 500 or a 429 that
/// mentions "quota" keeps its retryable kind (Google words per-minute limits
/// as "check quota").
pub(crate) fn refine(base: ErrorKind, codes: &[Option<&str>], message: Option<&str>) -> ErrorKind {
    refine_with(base, codes, message, kind_from_message)
}

fn refine_with(
    base: ErrorKind,
    codes: &[Option<&str>],
    message: Option<&str>,
    patterns: fn(&str) -> Option<ErrorKind>,
) -> ErrorKind {
    let mut kind = base;
    for code in codes.iter().flatten() {
        if let Some(k) = kind_from_code(code) {
            let generic = matches!(k, ErrorKind::InvalidRequest | ErrorKind::ServerError);
            if !(generic && base != ErrorKind::InvalidRequest) {
                kind = k;
                break;
            }
        }
    }
    if matches!(
        kind,
        ErrorKind::InvalidRequest | ErrorKind::PermissionDenied
    ) && let Some(k) = message.and_then(patterns)
    {
        // Only let a message upgrade to a more specific client-side kind.
        let allowed = match kind {
            ErrorKind::InvalidRequest => true,
            ErrorKind::PermissionDenied => {
                matches!(k, ErrorKind::QuotaExceeded | ErrorKind::Authentication)
            }
            _ => false,
        };
        if allowed {
            kind = k;
        }
    }
    kind
}

/// Whether `status` is a success status, i.e. the error arrived in-band.
fn is_in_band(status: u16) -> bool {
    (200..=299).contains(&status)
}

/// The kind of an error answered with `status`, its codes and its message.
///
/// A 2xx `status` means the error arrived in-band (see
/// [`super::in_band_error_status`]): no status narrows the kind, so the code
/// table decides, then the message patterns (plus [`IN_BAND_PATTERNS`]); what
/// neither knows is a [`ErrorKind::ServerError`], since the request was
/// accepted and the failure is the provider's.
pub(crate) fn classify_kind(
    status: u16,
    codes: &[Option<&str>],
    message: Option<&str>,
) -> ErrorKind {
    if !is_in_band(status) {
        return refine(kind_from_status(status), codes, message);
    }
    let kind = refine_with(
        ErrorKind::InvalidRequest,
        codes,
        message,
        kind_from_in_band_message,
    );
    let said_invalid = codes
        .iter()
        .flatten()
        .any(|c| kind_from_code(c) == Some(ErrorKind::InvalidRequest))
        || message.and_then(kind_from_in_band_message) == Some(ErrorKind::InvalidRequest);
    if kind == ErrorKind::InvalidRequest && !said_invalid {
        ErrorKind::ServerError
    } else {
        kind
    }
}

/// Parse `retry-after-ms` (milliseconds) or `Retry-After` (seconds or an
/// HTTP-date; a date in the past is no wait). Garbage, negative, NaN and
/// infinite values are ignored; huge ones saturate at [`super::MAX_DELAY`].
pub fn retry_after_from_headers(headers: &HeaderMap) -> Option<Duration> {
    const RETRY_AFTER_MS: http::HeaderName = http::HeaderName::from_static("retry-after-ms");
    if let Some(ms) = header_text(headers, &RETRY_AFTER_MS).and_then(delay_from_millis) {
        return Some(ms);
    }
    let value = header_text(headers, &http::header::RETRY_AFTER)?;
    if value.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.')) {
        return delay_from_secs(value);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(delay_until(when, std::time::SystemTime::now()))
}

/// The `x-should-retry` hint some providers send.
pub(crate) fn should_retry_from_headers(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry")?.to_str().ok()?.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The request id header providers send (`x-request-id`, `request-id`, ...).
pub(crate) fn request_id_from_headers(headers: &HeaderMap) -> Option<String> {
    // In order of preference. One pass over the answer's headers comparing
    // names is cheaper than five hashed look-ups, and every answer comes here.
    const NAMES: [&str; 5] = [
        "x-request-id",
        "request-id",
        "x-goog-request-id",
        "x-amzn-requestid",
        "cf-ray",
    ];
    let mut best: Option<(usize, &http::HeaderValue)> = None;
    for (name, value) in headers {
        let Some(rank) = NAMES.iter().position(|n| *n == name.as_str()) else {
            continue;
        };
        if best.is_none_or(|(b, _)| rank < b) {
            best = Some((rank, value));
        }
    }
    best.and_then(|(_, v)| v.to_str().ok()).map(str::to_owned)
}

/// Build the [`Error`] for a non-success HTTP response: the default error mapper
/// of every provider (a declaration's `error = path` replaces it).
///
/// A 2xx `status` classifies an error payload found in a success body (the
/// runtime checks every 2xx body for one): the kind comes from the payload's codes and
/// message, never from the status, and the error records no HTTP status.
pub fn classify_http_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    // An error sent as server-sent events keeps its message and code too.
    let parsed =
        parse_error_body(body).or_else(|| super::event_stream::event_stream_error_body(body));
    let in_band = is_in_band(status);
    let (kind, message, code) = match parsed {
        Some(p) => {
            let kind = classify_kind(
                status,
                &[p.code.as_deref(), p.kind.as_deref()],
                p.message.as_deref(),
            );
            let message = p.message.unwrap_or_else(|| {
                let code = p.code.as_deref().unwrap_or("none");
                if in_band {
                    format!("the response carried an error with no message (code {code})")
                } else {
                    format!("HTTP {status} with no message (code {code})")
                }
            });
            (kind, message, p.code)
        }
        None if in_band => (
            ErrorKind::ServerError,
            "the response carried an error of an unknown shape".to_owned(),
            None,
        ),
        None => (
            kind_from_status(status),
            describe_unparsed(status, headers, body),
            None,
        ),
    };
    let mut err = Error::new(kind, message)
        .with_retry_after(retry_after_from_headers(headers))
        .with_request_id(request_id_from_headers(headers))
        .with_should_retry(should_retry_from_headers(headers));
    if !in_band {
        err = err.with_status(status);
    }
    if let Some(code) = code {
        err = err.with_code(code);
    }
    if !body.is_empty() {
        err = err.with_body(body);
    }
    err
}

fn describe_unparsed(status: u16, headers: &HeaderMap, body: &[u8]) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if body.is_empty() {
        format!("HTTP {status} {reason} with an empty body")
    } else if content_type.contains("html") || body.trim_ascii_start().starts_with(b"<") {
        format!(
            "HTTP {status} {reason}: the upstream (or a proxy in front of it) sent an HTML page, not an API error"
        )
    } else {
        format!("HTTP {status} {reason}: the body is not a known error shape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, body: &str) -> ErrorKind {
        classify_http_error(status, &HeaderMap::new(), body.as_bytes()).kind()
    }

    #[test]
    fn status_alone() {
        assert_eq!(kind(401, ""), ErrorKind::Authentication);
        assert_eq!(kind(403, ""), ErrorKind::PermissionDenied);
        assert_eq!(kind(404, ""), ErrorKind::NotFound);
        assert_eq!(kind(429, ""), ErrorKind::RateLimited);
        assert_eq!(kind(500, ""), ErrorKind::ServerError);
        assert_eq!(
            kind(502, "<html>Bad gateway</html>"),
            ErrorKind::ServerError
        );
        assert_eq!(kind(503, ""), ErrorKind::Overloaded);
        assert_eq!(kind(529, ""), ErrorKind::Overloaded);
        assert_eq!(kind(408, ""), ErrorKind::Timeout);
    }

    #[test]
    fn every_code_row_classifies() {
        for (code, expected) in CODE_TABLE {
            let body = format!(r#"{{"error":{{"message":"m","type":"{code}"}}}}"#);
            let got = kind(400, &body);
            assert_eq!(got, *expected, "code {code}");
        }
    }

    #[test]
    fn every_pattern_row_classifies() {
        for (pattern, expected) in MESSAGE_PATTERNS {
            let body = format!(r#"{{"error":{{"message":"Oops: {pattern} here"}}}}"#);
            // Checked against a plain 400, the status these messages arrive with.
            assert_eq!(kind(400, &body), *expected, "pattern {pattern}");
        }
    }

    #[test]
    fn openai_context_length() {
        let body = r#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;
        let e = classify_http_error(400, &HeaderMap::new(), body.as_bytes());
        assert_eq!(e.kind(), ErrorKind::ContextWindowExceeded);
        assert_eq!(e.code(), Some("context_length_exceeded"));
        assert!(e.message().contains("maximum context length"));
    }

    #[test]
    fn anthropic_overloaded() {
        let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(kind(529, body), ErrorKind::Overloaded);
    }

    #[test]
    fn google_resource_exhausted() {
        let body = r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}"#;
        let e = classify_http_error(429, &HeaderMap::new(), body.as_bytes());
        assert_eq!(e.code(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.is_retryable());
    }

    #[test]
    fn generic_code_does_not_downgrade_status() {
        let body = r#"{"error":{"message":"slow down","type":"invalid_request_error"}}"#;
        assert_eq!(kind(429, body), ErrorKind::RateLimited);
    }

    #[test]
    fn html_page_reads_well() {
        let e = classify_http_error(
            502,
            &HeaderMap::new(),
            b"<html><body>502 Bad Gateway</body></html>",
        );
        assert!(e.message().contains("HTML"), "{}", e.message());
        assert_eq!(e.status(), Some(502));
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after_from_headers(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(
            retry_after_from_headers(&h),
            Some(Duration::from_millis(1500))
        );
        let mut h = HeaderMap::new();
        let future = std::time::SystemTime::now() + Duration::from_secs(30);
        h.insert(
            "retry-after",
            httpdate::fmt_http_date(future).parse().unwrap(),
        );
        let got = retry_after_from_headers(&h).unwrap();
        assert!(
            got > Duration::from_secs(27) && got <= Duration::from_secs(30),
            "{got:?}"
        );
        let mut h = HeaderMap::new();
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after_from_headers(&h), None);
    }

    #[test]
    fn messages_of_every_shape() {
        // (body, message, code)
        let rows: &[(&str, &str, Option<&str>)] = &[
            (
                r#"{"detail":[{"loc":["body","messages",0,"content"],"msg":"field required","type":"value_error.missing"},{"loc":["body","model"],"msg":"str type expected","type":"type_error.str"}]}"#,
                "body.messages.0.content: field required; body.model: str type expected",
                None,
            ),
            (
                r#"{"error":{"detail":[{"loc":["query","n"],"msg":"must be positive"}]}}"#,
                "query.n: must be positive",
                None,
            ),
            (r#"{"detail":"Not Found"}"#, "Not Found", None),
            (
                r#"{"object":"error","message":"max_tokens must be at least 1","type":"BadRequestError","param":null,"code":400}"#,
                "max_tokens must be at least 1",
                Some("BadRequestError"),
            ),
            (r#"{"error":"plain string"}"#, "plain string", None),
            (
                r#"{"error":"slow down","code":"rate_limit_exceeded"}"#,
                "slow down",
                Some("rate_limit_exceeded"),
            ),
            (
                r#"{"error":{"message":{"nested":"obj"}}}"#,
                r#"{"nested":"obj"}"#,
                None,
            ),
            (
                r#"{"error":{"message":{"message":"deeper"},"type":"server_error"}}"#,
                "deeper",
                Some("server_error"),
            ),
            (r#"{"message":"flat"}"#, "flat", None),
            (
                r#"{"errors":[{"message":"first","code":"bad_thing"},{"message":"second"}]}"#,
                "first; second",
                Some("bad_thing"),
            ),
            (r#"{"error":[{"message":"in a list"}]}"#, "in a list", None),
            (
                r#"{"error":{"code":429,"message":"Quota exceeded.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}"#,
                "Quota exceeded.",
                Some("RESOURCE_EXHAUSTED"),
            ),
            (
                r#"[{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}]"#,
                "The model is overloaded.",
                Some("UNAVAILABLE"),
            ),
            (
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
                "Overloaded",
                Some("overloaded_error"),
            ),
            (
                r#"{"error":{"message":"","code":"context_length_exceeded","msg":"too long"}}"#,
                "too long",
                Some("context_length_exceeded"),
            ),
            (
                r#"{"id":"x","message":"invalid api token"}"#,
                "invalid api token",
                None,
            ),
        ];
        for (body, message, code) in rows {
            let parsed = parse_error_body(body.as_bytes()).expect(body);
            assert_eq!(parsed.message.as_deref(), Some(*message), "{body}");
            assert_eq!(parsed.code.as_deref(), *code, "{body}");
            let e = classify_http_error(400, &HeaderMap::new(), body.as_bytes());
            assert_eq!(e.message(), *message, "{body}");
        }
        for body in [
            "",
            "<html>",
            "[]",
            "{}",
            r#"{"error":null}"#,
            r#"{"type":"error"}"#,
            "\u{0}",
        ] {
            assert_eq!(parse_error_body(body.as_bytes()), None, "{body}");
        }
        // A code without a message says which code.
        let e = classify_http_error(500, &HeaderMap::new(), br#"{"error":{"type":"api_error"}}"#);
        assert_eq!(e.message(), "HTTP 500 with no message (code api_error)");
    }

    #[test]
    fn a_huge_message_is_capped_on_a_char_boundary() {
        let huge = "é".repeat(16 * 1024 * 1024); // 32 MiB
        let body =
            serde_json::json!({"error": {"message": huge, "type": "server_error"}}).to_string();
        let e = classify_http_error(500, &HeaderMap::new(), body.as_bytes());
        assert!(
            e.message().len() <= MAX_ERROR_MESSAGE,
            "{}",
            e.message().len()
        );
        assert!(e.message().len() >= MAX_ERROR_MESSAGE - 1);
        assert!(e.message().chars().all(|c| c == 'é'));
        assert!(e.body().unwrap().len() <= crate::error::MAX_ERROR_BODY);
        assert!(!e.body().unwrap().ends_with('\u{FFFD}'));
        // A pydantic list of 100k items stops at the cap too.
        let items: Vec<Value> = (0..100_000)
            .map(|i| serde_json::json!({"loc": ["body", i], "msg": "bad"}))
            .collect();
        let body = serde_json::json!({ "detail": items }).to_string();
        let parsed = parse_error_body(body.as_bytes()).unwrap();
        assert!(parsed.message.unwrap().len() <= MAX_ERROR_MESSAGE);
        // Any message, from anywhere, is capped.
        let e = Error::new(ErrorKind::Decode, "x".repeat(MAX_ERROR_MESSAGE * 3));
        assert_eq!(e.message().len(), MAX_ERROR_MESSAGE);
    }

    #[test]
    fn every_in_band_pattern_row_classifies() {
        for (pattern, expected) in IN_BAND_PATTERNS.iter().chain(MESSAGE_PATTERNS) {
            let body = format!(r#"{{"error":"Oops: {pattern} here"}}"#);
            assert_eq!(kind(200, &body), *expected, "pattern {pattern}");
        }
        // What no table knows is the provider's failure.
        assert_eq!(
            kind(200, r#"{"error":"runner crashed"}"#),
            ErrorKind::ServerError
        );
        // In-band rows do not apply to status-carrying errors.
        assert_eq!(
            kind(500, r#"{"error":"the upstream timed out"}"#),
            ErrorKind::ServerError
        );
        assert_eq!(
            kind(400, r#"{"error":"the upstream timed out"}"#),
            ErrorKind::InvalidRequest
        );
        let e = classify_http_error(200, &HeaderMap::new(), br#"{"error":"x"}"#);
        assert_eq!(e.status(), None);
    }

    #[test]
    fn wire_delays_never_panic() {
        let max = crate::error::MAX_DELAY;
        // (header, value, parsed)
        let rows: &[(&str, &[u8], Option<Duration>)] = &[
            ("retry-after", b"1e20", Some(max)),
            ("retry-after", b"18446744073709551616", Some(max)),
            ("retry-after", b"-1", None),
            ("retry-after", b"NaN", None),
            ("retry-after", b"inf", None),
            ("retry-after", b"-inf", None),
            ("retry-after", b"0", Some(Duration::ZERO)),
            ("retry-after", b"garbage", None),
            (
                "retry-after",
                b"Wed, 21 Oct 2015 07:28:00 GMT",
                Some(Duration::ZERO),
            ),
            ("retry-after", b"Fri, 31 Dec 9999 23:59:59 GMT", Some(max)),
            ("retry-after", b"\xff\xfe", None),
            ("retry-after-ms", b"1e23", Some(max)),
            ("retry-after-ms", b"-1", None),
            (
                "retry-after-ms",
                b"250.5",
                Some(Duration::from_micros(250_500)),
            ),
        ];
        for (header, value, expected) in rows {
            let mut h = HeaderMap::new();
            h.insert(*header, http::HeaderValue::from_bytes(value).unwrap());
            assert_eq!(
                retry_after_from_headers(&h),
                *expected,
                "{header}: {}",
                String::from_utf8_lossy(value)
            );
        }
        // Google's retryDelay goes through the same parser.
        use crate::provider::Transform;
        for (delay, expected) in [
            ("1e20s", Some(max)),
            ("37s", Some(Duration::from_secs(37))),
            ("-1s", None),
            ("NaNs", None),
            ("1.5s", Some(Duration::from_millis(1500))),
            ("37", None),
        ] {
            let body = serde_json::json!({"error": {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]}})
            .to_string();
            let e = crate::dialects::gemini::GeminiDialect.classify_error(
                429,
                &HeaderMap::new(),
                body.as_bytes(),
            );
            assert_eq!(e.retry_after(), expected, "{delay}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_delay_header_never_panics(
            ms in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48),
            secs in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48),
            text in ".{0,40}",
        ) {
            for (a, b) in [(ms.as_slice(), secs.as_slice()), (text.as_bytes(), text.as_bytes())] {
                let mut h = HeaderMap::new();
                if let Ok(v) = http::HeaderValue::from_bytes(a) {
                    h.insert("retry-after-ms", v);
                }
                if let Ok(v) = http::HeaderValue::from_bytes(b) {
                    h.insert("retry-after", v);
                }
                if let Some(d) = retry_after_from_headers(&h) {
                    proptest::prop_assert!(d <= crate::error::MAX_DELAY);
                }
                let _ = classify_http_error(429, &h, text.as_bytes());
            }
        }

        #[test]
        fn any_body_gives_an_error_with_a_bounded_message(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            for status in [200, 400, 429, 500] {
                let e = classify_http_error(status, &HeaderMap::new(), &body);
                proptest::prop_assert!(e.message().len() <= MAX_ERROR_MESSAGE);
                proptest::prop_assert!(!e.message().is_empty());
            }
        }
    }
}
