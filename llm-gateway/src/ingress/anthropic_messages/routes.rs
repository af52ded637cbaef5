//! The handlers of `POST /v1/messages` and `POST /v1/messages/count_tokens`.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::{Stream, StreamExt, stream};

use super::error::into_response;
use super::stream::MessagesStream;
use super::{count_tokens, request, response};
use crate::call::{self, CallRecord, ObservedStream};
use crate::error::GatewayError;
use crate::models::Target;
use crate::state::SharedState;

/// The route's name in metrics and the access log.
const ROUTE: &str = "anthropic_messages";

/// The Messages routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count))
}

async fn messages(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => return into_response(&GatewayError::from_body_rejection(&rejection)),
    };
    let parsed = match request::parse(&body) {
        Ok(p) => p,
        Err(e) => return into_response(&GatewayError::from(e)),
    };
    let model = parsed.chat.model.clone();
    if parsed.stream {
        match call::chat_stream(&state, ROUTE, &model, parsed.chat).await {
            Ok(observed) => {
                let headers = observed.headers();
                let body = if observed.wire_format().is_some() {
                    let pass = MessagesPass(MessagesStream::new(&model));
                    Body::from_stream(crate::ingress::sse::passthrough(observed, pass))
                } else {
                    Body::from_stream(sse(observed, MessagesStream::new(&model)))
                };
                crate::ingress::sse::sse_response(body, headers)
            }
            Err((e, record)) => with_headers(into_response(&e), &record),
        }
    } else {
        let (result, record) = call::chat(&state, ROUTE, &model, parsed.chat).await;
        let response = match result {
            Ok(answer) => match call::same_dialect_body(ROUTE, &answer) {
                Some(body) => crate::ingress::json_body(body.clone()),
                None => axum::Json(response::message(&answer, &model)).into_response(),
            },
            Err(e) => into_response(&e),
        };
        with_headers(response, &record)
    }
}

/// The prompt's token count, without an upstream call: counted for the
/// model the name resolves to (a group's first deployment), 404 for a name
/// the config does not have.
async fn count(State(state): State<SharedState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) => return into_response(&GatewayError::from_body_rejection(&rejection)),
    };
    let mut request = match request::parse_count_tokens(&body) {
        Ok(request) => request,
        Err(e) => return into_response(&GatewayError::from(e)),
    };
    match state.models.resolve(&request.model) {
        None => return into_response(&GatewayError::model_not_found(&request.model)),
        Some(Target::Group { deployments, .. }) => {
            if let Some(first) = deployments.first() {
                request.model.clone_from(&first.model);
            }
        }
        Some(Target::Wildcard(_)) => {}
    }
    axum::Json(count_tokens(&request)).into_response()
}

fn with_headers(mut response: Response, record: &CallRecord) -> Response {
    response.headers_mut().extend(record.headers());
    response
}

/// A same-dialect stream: every frame as the upstream sent it; an error
/// met mid-stream is Anthropic's `error` event.
struct MessagesPass(MessagesStream);

impl crate::ingress::sse::PassOn for MessagesPass {
    fn keep(&self, _frame: &llm_runtime::stream::Frame) -> bool {
        true
    }

    fn error(&mut self, error: &GatewayError, _last: Option<&llm_runtime::stream::Frame>) -> Bytes {
        let mut out = Vec::with_capacity(1);
        self.0.error(error, &mut out);
        out.pop().unwrap_or_default()
    }
}

/// The SSE body of `events`: each event's frames as it comes (a slow reader
/// holds the upstream back: nothing is buffered beyond one event's frames),
/// then the end frames, or an `error` event.
fn sse(
    events: ObservedStream,
    encoder: MessagesStream,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
    stream::unfold(
        (Some(events), encoder),
        |(events, mut encoder)| async move {
            let mut events = events?;
            let mut frames = Vec::new();
            match events.next().await {
                Some(Ok(event)) => {
                    encoder.push(event, &mut frames);
                    return Some((frames, (Some(events), encoder)));
                }
                Some(Err(e)) => encoder.error(&GatewayError::from(e), &mut frames),
                None => encoder.finish(&mut frames),
            }
            // Ended: the record is counted and logged now; the last frames follow.
            drop(events);
            Some((frames, (None, encoder)))
        },
    )
    .flat_map(|frames| stream::iter(frames.into_iter().map(Ok)))
}
