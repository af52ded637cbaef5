//! The handler of `POST /v1/responses`.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::{Stream, StreamExt, stream};

use super::stream::ResponsesStream;
use super::{request, response};
use crate::call::{self, CallRecord, ObservedStream};
use crate::error::GatewayError;
use crate::state::SharedState;

/// The route's name in metrics and the access log.
const ROUTE: &str = "responses";

/// The Responses routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/responses", post(responses))
        .route("/responses", post(responses))
}

async fn responses(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => return GatewayError::from_body_rejection(&rejection).into_response(),
    };
    let parsed = match request::parse(&body) {
        Ok(p) => p,
        Err(e) => return GatewayError::from(e).into_response(),
    };
    let model = parsed.chat.model.clone();
    if parsed.stream {
        match call::chat_stream(&state, ROUTE, &model, parsed.chat).await {
            Ok(observed) => {
                let headers = observed.headers();
                let body = if observed.wire_format().is_some() {
                    Body::from_stream(crate::ingress::sse::passthrough(observed, ResponsesPass))
                } else {
                    let encoder = ResponsesStream::new(&model, parsed.echo);
                    Body::from_stream(sse(observed, encoder))
                };
                crate::ingress::sse::sse_response(body, headers)
            }
            Err((e, record)) => with_headers(e.into_response(), &record),
        }
    } else {
        let (result, record) = call::chat(&state, ROUTE, &model, parsed.chat).await;
        let response = match result {
            Ok(answer) => match call::same_dialect_body(ROUTE, &answer) {
                Some(body) => crate::ingress::json_body(body.clone()),
                None => axum::Json(response::response_object(&answer, &model, &parsed.echo))
                    .into_response(),
            },
            Err(e) => e.into_response(),
        };
        with_headers(response, &record)
    }
}

fn with_headers(mut response: Response, record: &CallRecord) -> Response {
    response.headers_mut().extend(record.headers());
    response
}

/// A same-dialect stream: every frame as the upstream sent it; an error
/// met mid-stream is the Responses `error` event, numbered after the last
/// frame forwarded.
struct ResponsesPass;

impl crate::ingress::sse::PassOn for ResponsesPass {
    fn keep(&self, _frame: &llm_runtime::stream::Frame) -> bool {
        true
    }

    fn error(&mut self, error: &GatewayError, last: Option<&llm_runtime::stream::Frame>) -> Bytes {
        #[derive(serde::Deserialize)]
        struct Numbered {
            sequence_number: Option<u64>,
        }
        let next = last
            .and_then(|f| serde_json::from_str::<Numbered>(&f.data).ok())
            .and_then(|n| n.sequence_number)
            .map_or(0, |n| n + 1);
        let code = error.code.as_deref().unwrap_or(error.kind);
        let data = serde_json::json!({
            "type": "error", "code": code, "message": error.message, "param": null,
            "sequence_number": next,
        });
        crate::ingress::sse::sse_event("error", &data)
    }
}

/// The SSE body of `events`: each event's frames as it comes, then the
/// terminal event (`response.completed`, or `response.failed` on an error).
fn sse(
    events: ObservedStream,
    encoder: ResponsesStream,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
    stream::unfold(
        (Some(events), Some(encoder)),
        |(events, encoder)| async move {
            let (mut events, mut encoder) = (events?, encoder?);
            let mut frames = Vec::new();
            match events.next().await {
                Some(Ok(event)) => {
                    encoder.push(event, &mut frames);
                    return Some((frames, (Some(events), Some(encoder))));
                }
                Some(Err(e)) => encoder.error(&GatewayError::from(e), &mut frames),
                None => encoder.finish(&mut frames),
            }
            // Ended: the record is counted and logged now; the last frames follow.
            drop(events);
            Some((frames, (None, None)))
        },
    )
    .flat_map(|frames| stream::iter(frames.into_iter().map(Ok)))
}
