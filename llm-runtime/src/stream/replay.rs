//! A whole [`ChatResponse`] replayed as the stream events that rebuild it
//! (a stream request answered with one JSON body; a cached answer).

use crate::types::{ChatResponse, Part, ReasoningBlock, StreamEvent};

/// The events that rebuild `block` in a [`ResponseAccumulator`].
fn reasoning_events(block: ReasoningBlock) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    // A block with an item id, or an encrypted payload beside its text, only
    // comes back whole.
    if block.id.is_some() || (block.encrypted.is_some() && !block.redacted) {
        if !block.text.is_empty() {
            events.push(StreamEvent::ReasoningDelta {
                text: block.text.clone(),
            });
        }
        events.push(StreamEvent::ReasoningDone { block });
        return events;
    }
    if !block.text.is_empty() {
        events.push(StreamEvent::ReasoningDelta { text: block.text });
    }
    let source = block.source.unwrap_or_default();
    if let Some(data) = block.encrypted.filter(|_| block.redacted) {
        events.push(StreamEvent::RedactedReasoning {
            data,
            source: source.clone(),
        });
    }
    if let Some(signature) = block.signature {
        events.push(StreamEvent::ReasoningSignature {
            signature,
            source,
            anchor: block.anchor,
        });
    }
    events
}

/// The events a stream of `response` carries, in stream order, so that
/// [`ChatStream::collect_response`] gives `response` back.
pub(crate) fn response_events(response: ChatResponse) -> Vec<StreamEvent> {
    let mut events = vec![StreamEvent::Start {
        id: response.id,
        model: response.model,
    }];
    // A hand-built response may set the reasoning text without its blocks.
    if response.message.reasoning.is_empty()
        && let Some(text) = response.reasoning
    {
        events.push(StreamEvent::ReasoningDelta { text });
    }
    for block in response.message.reasoning {
        events.extend(reasoning_events(block));
    }
    for part in response.message.content {
        if let Part::Text { text } = part {
            events.push(StreamEvent::TextDelta { text });
        }
    }
    if let Some(text) = response.refusal {
        events.push(StreamEvent::RefusalDelta { text });
    }
    for (index, call) in response.message.tool_calls.into_iter().enumerate() {
        events.push(StreamEvent::ToolCallStart {
            index,
            id: call.id,
            name: call.name,
        });
        if call.kind == crate::types::ToolCallKind::Custom {
            events.push(StreamEvent::CustomToolCall { index });
        }
        events.push(StreamEvent::ToolCallDelta {
            index,
            arguments: call.arguments,
        });
    }
    if let Some(usage) = response.usage {
        events.push(StreamEvent::Usage { usage });
    }
    if let Some(reason) = response.finish_reason {
        events.push(StreamEvent::Finish { reason });
    }
    events
}
