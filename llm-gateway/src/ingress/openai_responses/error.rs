//! Errors in OpenAI's envelope: `{"error": {"message", "type", "param", "code"}}`
//! with the status OpenAI gives that kind of error.

use llm_runtime::{Error, ErrorKind};
use serde_json::{Value, json};

/// The status, OpenAI error `type` and `code` of an error.
pub fn status_type_code(error: &Error) -> (u16, &'static str, Option<&'static str>) {
    if error.status() == Some(413) {
        return (413, "invalid_request_error", Some("request_too_large"));
    }
    match error.kind() {
        ErrorKind::Authentication => (401, "authentication_error", Some("invalid_api_key")),
        ErrorKind::PermissionDenied => (403, "permission_error", None),
        ErrorKind::RateLimited => (429, "rate_limit_error", Some("rate_limit_exceeded")),
        ErrorKind::QuotaExceeded => (429, "insufficient_quota", Some("insufficient_quota")),
        ErrorKind::NotFound => (404, "invalid_request_error", Some("model_not_found")),
        ErrorKind::ContextWindowExceeded => (
            400,
            "invalid_request_error",
            Some("context_length_exceeded"),
        ),
        ErrorKind::ContentFilter => (400, "invalid_request_error", Some("content_filter")),
        ErrorKind::Timeout => (504, "timeout", Some("timeout")),
        ErrorKind::Overloaded => (503, "server_error", Some("server_is_overloaded")),
        ErrorKind::ServerError | ErrorKind::Config => (500, "server_error", Some("server_error")),
        // The upstream's answer could not be read or was cut: a bad gateway.
        ErrorKind::Network | ErrorKind::Decode | ErrorKind::StreamTruncated => {
            (502, "server_error", Some("bad_gateway"))
        }
        // InvalidRequest, Unsupported, and kinds added later.
        _ => (400, "invalid_request_error", None),
    }
}

/// The error's body: OpenAI's envelope, the message as the runtime wrote it
/// (secrets already redacted).
pub fn error_body(error: &Error) -> Value {
    let (_, kind, code) = status_type_code(error);
    json!({"error": {"message": error.message(), "type": kind, "param": null, "code": code}})
}

/// The `error` of a failed response object (`response.failed`): `code` and `message`.
pub fn error_object(error: &Error) -> Value {
    let (_, kind, code) = status_type_code(error);
    json!({"code": code.unwrap_or(kind), "message": error.message()})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_openais_status_and_type() {
        let cases = [
            (ErrorKind::Authentication, 401, "authentication_error"),
            (ErrorKind::PermissionDenied, 403, "permission_error"),
            (ErrorKind::RateLimited, 429, "rate_limit_error"),
            (ErrorKind::QuotaExceeded, 429, "insufficient_quota"),
            (ErrorKind::InvalidRequest, 400, "invalid_request_error"),
            (
                ErrorKind::ContextWindowExceeded,
                400,
                "invalid_request_error",
            ),
            (ErrorKind::NotFound, 404, "invalid_request_error"),
            (ErrorKind::Timeout, 504, "timeout"),
            (ErrorKind::ServerError, 500, "server_error"),
            (ErrorKind::Overloaded, 503, "server_error"),
            (ErrorKind::Decode, 502, "server_error"),
        ];
        for (kind, status, name) in cases {
            let error = Error::new(kind, "m");
            let (got_status, got_type, code) = status_type_code(&error);
            assert_eq!((got_status, got_type), (status, name), "{kind:?}");
            assert_eq!(
                error_body(&error),
                json!({"error": {"message": "m", "type": name, "param": null, "code": code}})
            );
        }
        let e = Error::new(ErrorKind::RateLimited, "slow");
        assert_eq!(
            error_object(&e),
            json!({"code": "rate_limit_exceeded", "message": "slow"})
        );
    }
}
