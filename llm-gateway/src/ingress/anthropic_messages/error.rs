//! Errors in Anthropic's envelope: `{"type": "error", "error": {"type", "message"}}`
//! with the status Anthropic gives that kind of error.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use crate::error::GatewayError;

/// Anthropic's status for an overloaded upstream.
const OVERLOADED: u16 = 529;

/// The status and the Anthropic error `type` of an error: the gateway's
/// status, except that an overloaded upstream (503) is Anthropic's 529.
pub fn status_and_type(error: &GatewayError) -> (StatusCode, &'static str) {
    let status = error.status.as_u16();
    let kind = match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        408 | 504 => "timeout_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | OVERLOADED => "overloaded_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    };
    let status = if status == 503 {
        StatusCode::from_u16(OVERLOADED).unwrap_or(error.status)
    } else {
        error.status
    };
    (status, kind)
}

/// The error's body in Anthropic's envelope (the message is the gateway's:
/// never a key or prompt text).
pub fn error_body(error: &GatewayError) -> Value {
    let (_, kind) = status_and_type(error);
    json!({"type": "error", "error": {"type": kind, "message": error.message}})
}

/// The error as Anthropic answers it, with `retry-after` when known.
pub fn into_response(error: &GatewayError) -> Response {
    let (status, _) = status_and_type(error);
    let mut response = (status, axum::Json(error_body(error))).into_response();
    error.add_retry_after(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use llm_runtime::{Error, ErrorKind};

    use super::*;

    #[test]
    fn each_kind_has_anthropics_status_and_type() {
        let cases = [
            (ErrorKind::Authentication, 401, "authentication_error"),
            (ErrorKind::PermissionDenied, 403, "permission_error"),
            (ErrorKind::RateLimited, 429, "rate_limit_error"),
            (ErrorKind::InvalidRequest, 400, "invalid_request_error"),
            (
                ErrorKind::ContextWindowExceeded,
                400,
                "invalid_request_error",
            ),
            (ErrorKind::NotFound, 404, "not_found_error"),
            (ErrorKind::ServerError, 500, "api_error"),
            (ErrorKind::Overloaded, 529, "overloaded_error"),
            (ErrorKind::Network, 502, "api_error"),
        ];
        for (kind, status, name) in cases {
            let error = GatewayError::from(Error::new(kind, "m"));
            assert_eq!(
                status_and_type(&error),
                (StatusCode::from_u16(status).unwrap(), name),
                "{kind:?}"
            );
            assert_eq!(
                error_body(&error),
                json!({"type": "error", "error": {"type": name, "message": "m"}})
            );
        }
        let limited = GatewayError::from(
            Error::new(ErrorKind::RateLimited, "slow down")
                .with_retry_after(Some(Duration::from_millis(2500))),
        );
        let response = into_response(&limited);
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "3");
    }
}
