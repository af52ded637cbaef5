//! Classification of an upstream error response: status first, then the
//! provider's error code/type, then a small table of message patterns.

use std::time::Duration;

use http::HeaderMap;
use serde_json::Value;

use super::{Error, ErrorKind};

/// The fields of an upstream error body, whatever its dialect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// The human-readable message.
    pub message: Option<String>,
    /// The provider's code or type (`rate_limit_exceeded`, `overloaded_error`, `RESOURCE_EXHAUSTED`...).
    pub code: Option<String>,
    /// A second code where the body has two (OpenAI `type` next to `code`).
    pub kind: Option<String>,
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Read an error body in any of the shapes providers use:
/// OpenAI `{"error":{"message","type","code"}}`, Anthropic
/// `{"type":"error","error":{"type","message"}}`, Google
/// `{"error":{"code":429,"message","status"}}`, and flat `{"message","code"}` or
/// `{"error":"text"}`. Anything else (HTML, empty, binary) yields `None`.
pub fn parse_error_body(body: &[u8]) -> Option<ErrorBody> {
    let v: Value = serde_json::from_slice(body).ok()?;
    // Some servers wrap the error in a one-element array (Google streaming).
    let v = match v {
        Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
        other => other,
    };
    let obj = v.as_object()?;
    match obj.get("error") {
        Some(Value::String(s)) => Some(ErrorBody {
            message: Some(s.clone()),
            code: str_field(&v, "code").or_else(|| str_field(&v, "type")),
            kind: None,
        }),
        Some(e @ Value::Object(_)) => Some(ErrorBody {
            message: str_field(e, "message"),
            // Google: `status` is the symbolic code; OpenAI: `code`, then `type`.
            code: str_field(e, "status")
                .or_else(|| str_field(e, "code").filter(|c| c.parse::<u16>().is_err()))
                .or_else(|| str_field(e, "type")),
            kind: str_field(e, "type"),
        }),
        _ => {
            let message = str_field(&v, "message").or_else(|| str_field(&v, "detail"));
            let code = str_field(&v, "code").or_else(|| str_field(&v, "type"));
            if message.is_none() && code.is_none() {
                None
            } else {
                Some(ErrorBody {
                    message,
                    code,
                    kind: None,
                })
            }
        }
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
];

/// Message patterns (lowercase substrings) that refine a kind whatever the code says.
/// Context-window overflows arrive as plain 400s with only the message to tell them apart.
const MESSAGE_PATTERNS: &[(&str, ErrorKind)] = &[
    ("maximum context length", ErrorKind::ContextWindowExceeded),
    ("context length", ErrorKind::ContextWindowExceeded),
    ("context window", ErrorKind::ContextWindowExceeded),
    ("prompt is too long", ErrorKind::ContextWindowExceeded),
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

fn kind_from_code(code: &str) -> Option<ErrorKind> {
    CODE_TABLE.iter().find(|(c, _)| *c == code).map(|(_, k)| *k)
}

fn kind_from_message(message: &str) -> Option<ErrorKind> {
    let lower = message.to_ascii_lowercase();
    MESSAGE_PATTERNS
        .iter()
        .find(|(p, _)| lower.contains(p))
        .map(|(_, k)| *k)
}

/// Refine `base` (from the status) with a code and a message.
///
/// The code wins over the status except where the status is more specific
/// (a 429 whose code says `invalid_request_error` is still a rate limit); a
/// message pattern only refines 400/403-class kinds, so a 500 or a 429 that
/// mentions "quota" keeps its retryable kind (Google words per-minute limits
/// as "check quota").
pub(crate) fn refine(base: ErrorKind, codes: &[Option<&str>], message: Option<&str>) -> ErrorKind {
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
    ) && let Some(k) = message.and_then(kind_from_message)
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

/// Parse a `Retry-After` header (seconds or HTTP-date) or `retry-after-ms`.
pub fn retry_after_from_headers(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs));
        }
        return None;
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
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
    ["x-request-id", "request-id", "x-goog-request-id", "cf-ray"]
        .iter()
        .find_map(|h| headers.get(*h))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Build the [`Error`] for a non-success HTTP response: the default error mapper
/// of every provider (a declaration's `error = path` replaces it).
pub fn classify_http_error(status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
    let parsed = parse_error_body(body);
    let base = kind_from_status(status);
    let (kind, message, code) = match &parsed {
        Some(p) => {
            let kind = refine(
                base,
                &[p.code.as_deref(), p.kind.as_deref()],
                p.message.as_deref(),
            );
            let message = p
                .message
                .clone()
                .unwrap_or_else(|| format!("HTTP {status} with no message"));
            (kind, message, p.code.clone())
        }
        None => (base, describe_unparsed(status, headers, body), None),
    };
    let mut err = Error::new(kind, message)
        .with_status(status)
        .with_retry_after(retry_after_from_headers(headers))
        .with_request_id(request_id_from_headers(headers))
        .with_should_retry(should_retry_from_headers(headers));
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
}
