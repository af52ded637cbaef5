//! The ingress codecs: one module per wire format a client speaks. Each
//! turns its wire request into the runtime's unified types, calls
//! [`crate::call`], and renders the answer (and its errors) in its own format.
//!
//! # Adding an ingress
//!
//! 1. Write `src/ingress/NAME.rs` with `pub fn routes() -> Router<SharedState>`
//!    (handlers take `State<SharedState>` and the body as
//!    `Result<Bytes, BytesRejection>`, so a body past the limit becomes a 413
//!    in the ingress's own envelope: see [`openai_chat`]).
//! 2. Declare it below and `.merge(NAME::routes())` in [`routes`].
//!
//! The routes merged here sit behind the master-key check and the request
//! body limit ([`crate::app::router`]).

use axum::Router;

use crate::state::SharedState;

pub mod anthropic_messages;
pub mod embeddings;
pub(crate) mod fields;
pub mod models;
pub mod openai_chat;
pub mod openai_responses;
pub mod ops;
pub(crate) mod sse;

/// A JSON body passed on as the upstream sent it (same-dialect passthrough).
pub(crate) fn json_body(body: bytes::Bytes) -> axum::response::Response {
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Every ingress route.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .merge(openai_chat::routes())
        .merge(embeddings::routes())
        .merge(models::routes())
        .merge(anthropic_messages::routes())
        .merge(openai_responses::routes())
        .merge(ops::routes())
}
