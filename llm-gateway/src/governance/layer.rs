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

tokio::task_local! {
    /// The caller of the request this task serves (set by [`authenticate`]).
    static CALLER: Caller;
}

/// The caller of the request being served, when the layer identified one.
pub fn current_caller() -> Option<Caller> {
    CALLER.try_with(Caller::clone).ok()
}

/// Authenticate, or answer the refusal in OpenAI's envelope. The caller is
/// in the request's extensions and, for code below the handler that has no
/// request at hand, in [`current_caller`].
pub async fn authenticate(
    State(gov): State<Arc<Governance>>,
    request: Request,
    next: Next,
) -> Response {
    match gov.authenticate(request.headers()) {
        Ok(caller) => run_as(caller, request, next).await,
        Err(refused) => refused.into_response(),
    }
}

/// Serve `request` as `caller`.
pub async fn run_as(caller: Caller, mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert::<Caller>(caller.clone());
    CALLER
        .scope(caller, super::routed::scope(next.run(request)))
        .await
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
