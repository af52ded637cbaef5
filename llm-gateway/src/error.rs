//! [`GatewayError`]: every failure a handler answers with, and its status.
//!
//! Each ingress renders it in its own envelope: [`GatewayError::openai_body`]
//! (OpenAI's `{"error": {...}}`) here; an ingress with another envelope
//! (Anthropic's `{"type": "error", ...}`) reads the public fields.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use llm_runtime::ErrorKind;
use serde_json::{Value, json};

/// An error as the gateway answers it.
#[derive(Debug, Clone)]
pub struct GatewayError {
    /// The HTTP status.
    pub status: StatusCode,
    /// OpenAI's `type` (`invalid_request_error`, `rate_limit_error`...).
    pub kind: &'static str,
    /// OpenAI's `code`, where one applies (`context_length_exceeded`, `model_not_found`).
    pub code: Option<String>,
    /// What happened (never a key or prompt text).
    pub message: String,
    /// The request parameter at fault, where known.
    pub param: Option<String>,
    /// How long the caller should wait (`retry-after`).
    pub retry_after: Option<Duration>,
}

impl GatewayError {
    /// An error with `status`, OpenAI `type` `kind` and `message`.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        GatewayError {
            status,
            kind,
            code: None,
            message: message.into(),
            param: None,
            retry_after: None,
        }
    }

    /// 400 `invalid_request_error`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 401 `authentication_error`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "authentication_error", message)
    }

    /// 404 `invalid_request_error`, code `model_not_found`.
    pub fn model_not_found(model: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("The model `{model}` does not exist: it is no model_name of the config"),
        )
        .code("model_not_found")
        .param("model")
    }

    /// With OpenAI's `code`.
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// With the parameter at fault.
    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// The body of a request that could not be read: 413 past the limit, 400 otherwise.
    pub fn from_body_rejection(rejection: &BytesRejection) -> Self {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(status, "invalid_request_error", "The request body is larger than the gateway's limit (general_settings.max_request_size_mb)")
                .code("request_too_large")
        } else {
            Self::new(
                status,
                "invalid_request_error",
                format!("The request body could not be read: {rejection}"),
            )
        }
    }

    /// OpenAI's envelope: `{"error": {"message", "type", "param", "code"}}`.
    pub fn openai_body(&self) -> Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code.clone().unwrap_or_else(|| self.status.as_u16().to_string()),
        }})
    }

    /// The response in OpenAI's envelope, with `retry-after` when known.
    pub fn into_openai_response(self) -> Response {
        let mut response = (self.status, Json(self.openai_body())).into_response();
        self.add_retry_after(&mut response);
        response
    }

    /// Set `retry-after` (whole seconds, rounded up) on `response`.
    pub fn add_retry_after(&self, response: &mut Response) {
        if let Some(after) = self.retry_after {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
        }
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        self.into_openai_response()
    }
}

/// The status and OpenAI `type` of each runtime error kind.
fn status_of(kind: ErrorKind, upstream: Option<u16>) -> (StatusCode, &'static str) {
    use ErrorKind as K;
    match kind {
        K::Authentication => (StatusCode::UNAUTHORIZED, "authentication_error"),
        K::PermissionDenied => (StatusCode::FORBIDDEN, "permission_error"),
        K::RateLimited | K::QuotaExceeded => (StatusCode::TOO_MANY_REQUESTS, "rate_limit_error"),
        K::InvalidRequest | K::ContextWindowExceeded | K::ContentFilter | K::Unsupported => {
            (StatusCode::BAD_REQUEST, "invalid_request_error")
        }
        K::NotFound => (StatusCode::NOT_FOUND, "invalid_request_error"),
        K::Timeout => (StatusCode::REQUEST_TIMEOUT, "timeout_error"),
        K::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable_error"),
        K::ServerError => (
            upstream
                .and_then(|s| StatusCode::from_u16(s).ok())
                .filter(StatusCode::is_server_error)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "api_error",
        ),
        K::Network | K::Decode | K::StreamTruncated => (StatusCode::BAD_GATEWAY, "api_error"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "api_error"),
    }
}

impl From<llm_runtime::Error> for GatewayError {
    fn from(e: llm_runtime::Error) -> Self {
        let (status, kind) = status_of(e.kind(), e.status());
        let code = match e.kind() {
            ErrorKind::ContextWindowExceeded => Some("context_length_exceeded".to_owned()),
            ErrorKind::ContentFilter => Some("content_filter".to_owned()),
            ErrorKind::QuotaExceeded => Some("insufficient_quota".to_owned()),
            _ => e.code().map(str::to_owned),
        };
        GatewayError {
            status,
            kind,
            code,
            // The runtime's messages are redacted (no key, no prompt).
            message: e.message().to_owned(),
            param: None,
            retry_after: e.retry_after(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_keep_their_wait() {
        let e = llm_runtime::Error::new(ErrorKind::RateLimited, "slow down")
            .with_retry_after(Some(Duration::from_millis(1500)));
        let g = GatewayError::from(e);
        assert_eq!(g.status, StatusCode::TOO_MANY_REQUESTS);
        let response = g.into_openai_response();
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "2");
    }

    #[test]
    fn every_kind_has_an_error_status() {
        for kind in [
            ErrorKind::Authentication,
            ErrorKind::PermissionDenied,
            ErrorKind::RateLimited,
            ErrorKind::QuotaExceeded,
            ErrorKind::InvalidRequest,
            ErrorKind::ContextWindowExceeded,
            ErrorKind::ContentFilter,
            ErrorKind::NotFound,
            ErrorKind::Timeout,
            ErrorKind::ServerError,
            ErrorKind::Overloaded,
            ErrorKind::Network,
            ErrorKind::Decode,
            ErrorKind::StreamTruncated,
            ErrorKind::Unsupported,
            ErrorKind::Config,
        ] {
            let (status, _) = status_of(kind, None);
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{kind}: {status}"
            );
        }
        assert_eq!(
            status_of(ErrorKind::ServerError, Some(503)).0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
