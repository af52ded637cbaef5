//! Server-sent events with an `event:` line, as the Anthropic and Responses
//! streams frame every event; and the same-dialect passthrough of a stream
//! (the upstream's frames, unchanged, to a caller that speaks its format).

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use llm_runtime::stream::Frame;

use crate::call::ObservedStream;
use crate::error::GatewayError;

/// A stream's response: `body` under the call's `headers`, as an event
/// stream that no cache keeps (every ingress answers its streams so).
pub(crate) fn sse_response(
    body: axum::body::Body,
    headers: http::HeaderMap,
) -> axum::response::Response {
    let mut response = axum::response::Response::new(body);
    let h = response.headers_mut();
    h.extend(headers);
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    h.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache"),
    );
    response
}

/// One server-sent event: `event: NAME\ndata: JSON\n\n`.
pub(crate) fn sse_event(name: &str, data: &serde_json::Value) -> bytes::Bytes {
    let mut frame = format!("event: {name}\ndata: ").into_bytes();
    // A `Value` always serializes; its text has no raw newline, so one `data:` line holds it.
    let _ = serde_json::to_writer(&mut frame, data);
    frame.extend_from_slice(b"\n\n");
    bytes::Bytes::from(frame)
}

/// A frame as SSE: its `event:` line, then one `data:` line per line of its
/// data (the upstream's JSON text unchanged).
pub(crate) fn frame_bytes(frame: &Frame) -> Bytes {
    let event = frame.event.as_deref().map_or(0, |e| e.len() + 8);
    let mut out = Vec::with_capacity(event + frame.data.len() + 8);
    if let Some(name) = &frame.event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    for line in frame.data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    Bytes::from(out)
}

/// What a passthrough stream does beside forwarding frames.
pub(crate) trait PassOn: Send + 'static {
    /// Whether `frame` goes to the caller.
    fn keep(&self, frame: &Frame) -> bool;
    /// The frame of an error met mid-stream, after `last` (the last frame
    /// forwarded), in the ingress's own format.
    fn error(&mut self, error: &GatewayError, last: Option<&Frame>) -> Bytes;
}

/// The SSE body of a stream whose frames are the caller's format: each
/// upstream frame as it was parsed, unchanged, while the events still go
/// through the [`ObservedStream`] (first token, usage, the record). Pulled
/// one event at a time, as the rendered bodies are (backpressure).
pub(crate) fn passthrough(
    events: ObservedStream,
    pass: impl PassOn,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send {
    // State: the events (None once ended), the last frame forwarded.
    stream::unfold(
        (Some(events), pass, None::<Frame>),
        |(events, mut pass, mut last)| async move {
            let mut events = events?;
            let item = events.next().await;
            let mut frames = Vec::new();
            events.take_frames(&mut frames);
            let mut out = Vec::with_capacity(frames.len() + 1);
            for frame in frames {
                if pass.keep(&frame) {
                    out.push(frame_bytes(&frame));
                    last = Some(frame);
                }
            }
            match item {
                Some(Ok(_)) => return Some((out, (Some(events), pass, last))),
                Some(Err(e)) => out.push(pass.error(&GatewayError::from(e), last.as_ref())),
                None => {}
            }
            // Ended: the record is counted and logged now; the last frames follow.
            drop(events);
            Some((out, (None, pass, last)))
        },
    )
    .flat_map(|frames| stream::iter(frames.into_iter().map(Ok)))
}
