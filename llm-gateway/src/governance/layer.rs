//! The axum middleware in front of the model routes: it identifies the
//! caller from the snapshot (never the store) and hands the [`Caller`] to
//! the handler in the request's extensions; the handler then reserves with
//! [`Governance::admit`] once it knows the model and the token estimate.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Governance;
use super::gate::{Caller, Refused};

/// Authenticate, or answer the refusal in OpenAI's envelope.
pub async fn authenticate(
    State(gov): State<Arc<Governance>>,
    mut request: Request,
    next: Next,
) -> Response {
    match gov.authenticate(request.headers()) {
        Ok(caller) => {
            request.extensions_mut().insert::<Caller>(caller);
            next.run(request).await
        }
        Err(refused) => refused.into_response(),
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {
            "message": self.message,
            "type": match self.status.as_u16() {
                401 => "authentication_error",
                403 => "permission_error",
                429 => "rate_limit_error",
                503 => "service_unavailable",
                _ => "invalid_request_error",
            },
            "code": self.code,
        }});
        (self.status, axum::Json(body)).into_response()
    }
}
