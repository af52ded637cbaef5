//! `streamGenerateContent?alt=sse` events -> `StreamEvent`s.

use super::response::{UsageMetadata, WireResponse, call_signature, finish_reason};
use crate::error::{Error, ErrorKind, Result, stream_error};
use crate::stream::ToolCallAssembler;
use crate::stream::{Control, Frame};
use crate::types::{FinishReason, StreamEvent};

/// What the Gemini stream parser keeps between events.
#[derive(Debug, Default)]
pub struct GeminiStreamState {
    started: bool,
    /// Tool calls seen so far (each arrives whole).
    calls: ToolCallAssembler,
    /// The last `finishReason` seen.
    finish: Option<String>,
    /// The prompt was blocked (`promptFeedback.blockReason`).
    blocked: bool,
    /// The last `usageMetadata` seen (each event repeats the running totals).
    usage: Option<UsageMetadata>,
}

/// Turn one SSE event (a whole `GenerateContentResponse`) into stream events.
pub(super) fn parse_event(
    frame: &Frame,
    state: &mut GeminiStreamState,
    out: &mut Vec<StreamEvent>,
) -> Result<Control> {
    let mut wire: WireResponse = serde_json::from_str(&frame.data).map_err(|e| {
        Error::decode(format!(
            "the Gemini stream sent an event that is not a GenerateContentResponse: {e}"
        ))
    })?;
    if wire.error.is_some() {
        return Err(stream_error(frame.data.as_bytes()));
    }
    if !state.started {
        state.started = true;
        out.push(StreamEvent::Start {
            id: wire.response_id.take().unwrap_or_default(),
            model: wire.model_version.take().unwrap_or_default(),
        });
    }
    if let Some(usage) = wire.usage_metadata {
        state.usage = Some(usage);
    }
    state.blocked |= wire.prompt_blocked();
    if let Some(candidate) = wire.first_candidate() {
        if let Some(reason) = candidate.finish_reason.take() {
            state.finish = Some(reason);
        }
        for part in candidate
            .content
            .take()
            .map(|c| c.parts)
            .unwrap_or_default()
        {
            if let Some((call, signature)) = part.into_events(out) {
                let call = call.into_tool_call(state.calls.len());
                let signature = call_signature(&call.id, signature);
                state.calls.push_whole(call, out)?;
                out.extend(signature);
            }
        }
    }
    Ok(Control::Continue)
}

/// The body ended (the stream's only end): send the usage and finish reason,
/// or fail if no event said the answer was finished.
pub(super) fn finish(state: &mut GeminiStreamState, out: &mut Vec<StreamEvent>) -> Result<()> {
    let reason = match state.finish.take() {
        Some(raw) => finish_reason(&raw, !state.calls.is_empty()),
        None if state.blocked => FinishReason::ContentFilter,
        None => {
            return Err(Error::new(
                ErrorKind::StreamTruncated,
                "the Gemini stream ended before any event carried a finishReason",
            ));
        }
    };
    if let Some(usage) = state.usage.take() {
        out.push(StreamEvent::Usage {
            usage: usage.to_usage(),
        });
    }
    out.push(StreamEvent::Finish { reason });
    Ok(())
}
