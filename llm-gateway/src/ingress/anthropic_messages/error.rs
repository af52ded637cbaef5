//! Errors in Anthropic's envelope: `{"type": "error", "error": {"type", "message"}}`
//! with the status Anthropic gives that kind of error.

use llm_runtime::{Error, ErrorKind};
use serde_json::{Value, json};

/// The status and the Anthropic error `type` of an error.
///
/// The status is Anthropic's for the kind (an upstream 429 is a 429, an
/// overloaded upstream a 529); a body past the limit is `413 request_too_large`.
pub fn status_and_type(error: &Error) -> (u16, &'static str) {
    if error.status() == Some(413) {
        return (413, "request_too_large");
    }
    match error.kind() {
        ErrorKind::Authentication => (401, "authentication_error"),
        ErrorKind::PermissionDenied => (403, "permission_error"),
        ErrorKind::RateLimited => (429, "rate_limit_error"),
        ErrorKind::QuotaExceeded => (402, "billing_error"),
        ErrorKind::NotFound => (404, "not_found_error"),
        ErrorKind::Timeout => (504, "timeout_error"),
        ErrorKind::Overloaded => (529, "overloaded_error"),
        ErrorKind::ServerError | ErrorKind::Config => (500, "api_error"),
        // The upstream's answer could not be read or was cut: a bad gateway.
        ErrorKind::Network | ErrorKind::Decode | ErrorKind::StreamTruncated => (502, "api_error"),
        // InvalidRequest, ContextWindowExceeded, ContentFilter, Unsupported, and
        // kinds added later: the request is what the upstream refused.
        _ => (400, "invalid_request_error"),
    }
}

/// The error's body: Anthropic's envelope, the message as the runtime wrote it
/// (secrets already redacted).
pub fn error_body(error: &Error) -> Value {
    let (_, kind) = status_and_type(error);
    json!({"type": "error", "error": {"type": kind, "message": error.message()}})
}

/// The `retry-after` header's value (whole seconds, rounded up), when the
/// error says when to retry.
pub fn retry_after(error: &Error) -> Option<String> {
    error.retry_after().map(|after| {
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        secs.to_string()
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn each_kind_has_anthropics_status_and_type() {
        let cases = [
            (ErrorKind::Authentication, 401, "authentication_error"),
            (ErrorKind::PermissionDenied, 403, "permission_error"),
            (ErrorKind::RateLimited, 429, "rate_limit_error"),
            (ErrorKind::QuotaExceeded, 402, "billing_error"),
            (ErrorKind::InvalidRequest, 400, "invalid_request_error"),
            (
                ErrorKind::ContextWindowExceeded,
                400,
                "invalid_request_error",
            ),
            (ErrorKind::NotFound, 404, "not_found_error"),
            (ErrorKind::Timeout, 504, "timeout_error"),
            (ErrorKind::ServerError, 500, "api_error"),
            (ErrorKind::Overloaded, 529, "overloaded_error"),
            (ErrorKind::Network, 502, "api_error"),
        ];
        for (kind, status, name) in cases {
            let error = Error::new(kind, "m");
            assert_eq!(status_and_type(&error), (status, name), "{kind:?}");
            assert_eq!(
                error_body(&error),
                json!({"type": "error", "error": {"type": name, "message": "m"}})
            );
        }
        let too_big = Error::new(ErrorKind::InvalidRequest, "big").with_status(413);
        assert_eq!(status_and_type(&too_big), (413, "request_too_large"));
        let limited = Error::new(ErrorKind::RateLimited, "slow down")
            .with_retry_after(Some(Duration::from_millis(2500)));
        assert_eq!(retry_after(&limited).as_deref(), Some("3"));
        assert_eq!(retry_after(&Error::new(ErrorKind::RateLimited, "x")), None);
    }
}
