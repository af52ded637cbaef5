//! `streamGenerateContent?alt=sse` events -> `StreamEvent`s.

use super::response::{UsageMetadata, WireResponse, finish_reason};
use crate::error::{Error, ErrorKind, Result, classify_http_error};
use crate::provider::{Control, Frame};
use crate::types::{FinishReason, StreamEvent};

/// What the Gemini stream parser keeps between events.
#[derive(Debug, Default)]
pub struct GeminiStreamState {
    started: bool,
    /// Tool calls seen so far: the next call's position.
    calls: usize,
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
    if let Some(error) = &wire.error {
        let status = error
            .get("code")
            .and_then(serde_json::Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .filter(|c| (400..600).contains(c))
            .unwrap_or(500);
        let e = classify_http_error(status, &http::HeaderMap::new(), frame.data.as_bytes());
        let message = format!("the stream failed mid-way: {}", e.message());
        let mut error = Error::new(e.kind(), message)
            .with_status(status)
            .with_body(frame.data.as_bytes());
        if let Some(code) = e.code() {
            error = error.with_code(code.to_owned());
        }
        return Err(error);
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
            if let Some(call) = part.function_call {
                let position = state.calls;
                state.calls += 1;
                let call = call.into_tool_call(position);
                out.push(StreamEvent::ToolCallStart {
                    index: position,
                    id: call.id,
                    name: call.name,
                });
                out.push(StreamEvent::ToolCallDelta {
                    index: position,
                    arguments: call.arguments,
                });
            } else if let Some(text) = part.text.filter(|t| !t.is_empty()) {
                if part.thought == Some(true) {
                    out.push(StreamEvent::ReasoningDelta { text });
                } else {
                    out.push(StreamEvent::TextDelta { text });
                }
            }
        }
    }
    Ok(Control::Continue)
}

/// The body ended (the stream's only end): send the usage and finish reason,
/// or fail if no event said the answer was finished.
pub(super) fn finish(state: &mut GeminiStreamState, out: &mut Vec<StreamEvent>) -> Result<()> {
    let reason = match state.finish.take() {
        Some(raw) => finish_reason(&raw, state.calls > 0),
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
