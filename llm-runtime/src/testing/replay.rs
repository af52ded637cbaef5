//! Run a transform's stream parser over recorded bytes without any HTTP, the
//! way the runtime does: for testing a dialect against fixtures split anywhere.

use crate::error::Result;
use crate::stream::{DEFAULT_MAX_LINE, Framer, ResponseAccumulator};
use crate::types::{ChatResponse, StreamEvent};
use crate::{provider::Transform, stream::Control};

/// Decode `chunks` (the body of a streamed response, split however you like)
/// with `transform`'s framing and stream parser, exactly as the runtime does,
/// including the end-of-stream check.
///
/// ```
/// use llm_runtime::dialects::openai::OpenAiDialect;
/// use llm_runtime::testing::replay_stream;
/// let body: &[&[u8]] = &[b"data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\nda", b"ta: [DONE]\n\n"];
/// let events = replay_stream(&OpenAiDialect, body.iter().copied()).unwrap();
/// assert_eq!(events.len(), 2); // Start, TextDelta
/// ```
pub fn replay_stream<'a, T: Transform>(
    transform: &T,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<StreamEvent>> {
    let mut framer = Framer::new(transform.stream_format(), DEFAULT_MAX_LINE);
    let mut state = T::StreamState::default();
    let mut frames = Vec::new();
    let mut events = Vec::new();
    let mut done = false;
    // As the runtime does: frames completed before a framing error are parsed
    // first, and bytes after the terminator are never looked at.
    for chunk in chunks {
        let fed = framer.feed(chunk, &mut frames);
        for frame in frames.drain(..) {
            if !done
                && transform.parse_stream_event(&frame, &mut state, &mut events)? == Control::Done
            {
                done = true;
            }
        }
        if done {
            return Ok(events);
        }
        fed?;
    }
    let finished = framer.finish(&mut frames);
    for frame in frames.drain(..) {
        if !done && transform.parse_stream_event(&frame, &mut state, &mut events)? == Control::Done
        {
            done = true;
        }
    }
    if done {
        return Ok(events);
    }
    finished?;
    if !done {
        transform.finish_stream(&mut state, &mut events)?;
    }
    Ok(events)
}

/// [`replay_stream`], then assemble the response as `ChatStream::collect_response` does.
pub fn replay_response<'a, T: Transform>(
    transform: &T,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<ChatResponse> {
    let mut acc = ResponseAccumulator::default();
    for event in replay_stream(transform, chunks)? {
        acc.push(event);
    }
    Ok(acc.finish())
}

/// Check that `body` decodes to the same events however it is split: whole, at
/// every single byte boundary into two pieces, and into one-byte pieces.
/// Returns the events of the whole body.
pub fn assert_split_invariant<T: Transform>(transform: &T, body: &[u8]) -> Vec<StreamEvent> {
    let whole = replay_stream(transform, [body]);
    for cut in 1..body.len() {
        let (a, b) = body.split_at(cut);
        let split = replay_stream(transform, [a, b]);
        assert_eq!(
            format!("{split:?}"),
            format!("{whole:?}"),
            "splitting the stream at byte {cut} changed the result"
        );
    }
    let bytes = replay_stream(transform, body.chunks(1));
    assert_eq!(
        format!("{bytes:?}"),
        format!("{whole:?}"),
        "one-byte chunks changed the result"
    );
    match whole {
        Ok(events) => events,
        Err(e) => panic!("the stream does not decode: {e}"),
    }
}
