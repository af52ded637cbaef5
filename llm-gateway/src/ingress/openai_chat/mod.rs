//! OpenAI Chat Completions: `POST /v1/chat/completions` and `/chat/completions`,
//! JSON and SSE exactly as OpenAI frames them.

mod request;
mod response;
mod stream;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::call;
use crate::error::GatewayError;
use crate::state::SharedState;

pub use request::{ParsedChat, parse_request};
pub use response::render_response;
pub use stream::{ChunkEncoder, sse};

/// The Chat Completions routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/chat/completions", post(chat_completions))
}

async fn chat_completions(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => return GatewayError::from_body_rejection(&rejection).into_response(),
    };
    let mut parsed = match parse_request(&body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = cross_dialect_fields(&state, &parsed.model, &mut parsed.request) {
        return e.into_response();
    }
    let model = parsed.model.clone();
    if parsed.stream {
        match call::chat_stream(&state, "chat_completions", &model, parsed.request).await {
            Ok(observed) => {
                let headers = observed.headers();
                let body = if observed.wire_format().is_some() {
                    let pass = stream::ChatPass {
                        include_usage: parsed.include_usage,
                    };
                    Body::from_stream(super::sse::passthrough(observed, pass))
                } else {
                    let encoder = ChunkEncoder::new(&model, parsed.include_usage);
                    Body::from_stream(sse(observed, encoder))
                };
                crate::ingress::sse::sse_response(body, headers)
            }
            Err((e, record)) => with_headers(e.into_response(), &record),
        }
    } else {
        let (result, record) = call::chat(&state, "chat_completions", &model, parsed.request).await;
        let response = match result {
            Ok(answer) => match call::same_dialect_body("chat_completions", &answer) {
                Some(body) => super::json_body(body.clone()),
                None => axum::Json(render_response(&answer, &model)).into_response(),
            },
            Err(e) => e.into_response(),
        };
        with_headers(response, &record)
    }
}

/// Fields the runtime does not map go to an OpenAI-dialect upstream as
/// written; to another dialect they would be wrong, so they are refused
/// (400 naming them) or, under `litellm_settings.drop_params`, dropped.
fn cross_dialect_fields(
    state: &SharedState,
    model: &str,
    request: &mut llm_runtime::ChatRequest,
) -> Result<(), GatewayError> {
    if request.extra.is_empty() || state.models.speaks(model, "openai") {
        return Ok(());
    }
    if state.config.litellm_settings.drop_params == Some(true) {
        request.extra.clear();
        return Ok(());
    }
    let names: Vec<&str> = request.extra.keys().map(String::as_str).collect();
    Err(GatewayError::bad_request(format!(
        "`{model}` is served by a provider that does not speak OpenAI's format, which has no {}; \
         leave them out or set litellm_settings.drop_params: true",
        names.join(", ")
    ))
    .param(names[0].to_owned()))
}

fn with_headers(mut response: Response, record: &call::CallRecord) -> Response {
    response.headers_mut().extend(record.headers());
    response
}
