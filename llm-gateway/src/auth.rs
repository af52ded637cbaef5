//! The master key: every model route needs `Authorization: Bearer KEY` (or
//! Anthropic's `x-api-key: KEY`) when one is configured.
//!
//! Governance (virtual keys, budgets) replaces [`authorize`] with its own
//! check of the same two headers.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;

use crate::error::GatewayError;
use crate::state::SharedState;

/// The key a caller sent: `Authorization: Bearer KEY`, else `x-api-key: KEY`.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    bearer.or_else(|| {
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    })
}

/// Whether `presented` is the master key, in time that does not depend on
/// where the two differ.
fn matches(presented: &str, key: &str) -> bool {
    let (a, b) = (presented.as_bytes(), key.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, byte) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ byte);
    }
    diff == 0
}

/// Refuse a request without the master key (when one is configured) with
/// 401 in OpenAI's envelope (Anthropic's on `/v1/messages`).
pub async fn authorize(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    if let Some(key) = &state.master_key {
        let ok = presented_key(request.headers()).is_some_and(|p| matches(p, key.expose()));
        if !ok {
            let e = GatewayError::unauthorized(
                "Authentication error: send the gateway's key as `Authorization: Bearer KEY`",
            )
            .code("invalid_api_key");
            return if request.uri().path().starts_with("/v1/messages") {
                anthropic_error(&e)
            } else {
                e.into_response()
            };
        }
    }
    next.run(request).await
}

/// Anthropic's envelope: `{"type": "error", "error": {"type", "message"}}`.
pub fn anthropic_error(e: &GatewayError) -> Response {
    let kind = match e.status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 | 503 => "overloaded_error",
        s if s >= 500 => "api_error",
        _ => "invalid_request_error",
    };
    let body = serde_json::json!({"type": "error", "error": {"type": kind, "message": e.message}});
    let mut response = (e.status, axum::Json(body)).into_response();
    e.add_retry_after(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_exactly() {
        assert!(matches("sk-1", "sk-1"));
        assert!(!matches("sk-1", "sk-2"));
        assert!(!matches("sk-1x", "sk-1"));
        assert!(!matches("", "sk-1"));
        assert!(!matches("sk", "sk-1"));
    }

    #[test]
    fn bearer_then_x_api_key() {
        let mut h = HeaderMap::new();
        h.insert("x-api-key", "b".parse().expect("valid"));
        assert_eq!(presented_key(&h), Some("b"));
        h.insert(
            http::header::AUTHORIZATION,
            "Bearer a".parse().expect("valid"),
        );
        assert_eq!(presented_key(&h), Some("a"));
    }
}
