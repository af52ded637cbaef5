//! What the dialects' unit tests share: SSE bodies run through the real
//! framer and a dialect, and stream events folded back into a response.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use crate::error::Result;
use crate::provider::Transform;
use crate::stream::{Control, Frame, ResponseAccumulator, SseDecoder};
use crate::types::{ChatResponse, StreamEvent};

/// The frames of an SSE body, through the real decoder.
pub(crate) fn sse_frames(sse: &str) -> Vec<Frame> {
    let mut decoder = SseDecoder::new();
    let mut frames = Vec::new();
    decoder.feed(sse.as_bytes(), &mut frames).unwrap();
    decoder.finish(&mut frames).unwrap();
    frames
}

/// Run an SSE body through `dialect` until a frame says anything but
/// `Continue`: the events so far and the last control.
pub(crate) fn run_sse<T: Transform>(dialect: &T, sse: &str) -> (Vec<StreamEvent>, Result<Control>) {
    let mut state = T::StreamState::default();
    let mut out = Vec::new();
    let mut control = Ok(Control::Continue);
    for frame in &sse_frames(sse) {
        control = dialect.parse_stream_event(frame, &mut state, &mut out);
        if !matches!(control, Ok(Control::Continue)) {
            break;
        }
    }
    (out, control)
}

/// Events folded into a response, as a collected stream is.
pub(crate) fn collect(events: Vec<StreamEvent>) -> ChatResponse {
    let mut acc = ResponseAccumulator::default();
    for e in events {
        acc.push(e);
    }
    acc.finish()
}
