//! The unified [`ChatResponse`] -> a Messages API `message` object.

use llm_runtime::{
    ChatResponse, FinishReason, Usage,
    types::{ReasoningAnchor, ReasoningBlock},
};
use serde_json::{Map, Value, json};

use super::SOURCE;

/// The `message` object of a whole answer; `model` is the name the caller asked for.
pub fn message(response: &ChatResponse, model: &str) -> Value {
    let mut content: Vec<Value> = thinking_blocks(response);
    let text = response.text();
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text}));
    }
    if let Some(refusal) = response.refusal.as_deref().filter(|r| !r.is_empty()) {
        content.push(json!({"type": "text", "text": refusal}));
    }
    for call in &response.message.tool_calls {
        content.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.name,
            "input": tool_input(&call.arguments),
        }));
    }
    let made_calls = !response.message.tool_calls.is_empty();
    json!({
        "id": message_id(&response.id),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(response.finish_reason.as_ref(), made_calls),
        "stop_sequence": null,
        "usage": usage(response.usage.as_ref()),
    })
}

/// The answer's id as Anthropic writes one (`msg_...`).
pub(super) fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else if id.is_empty() {
        format!("msg_{:024x}", fastrand::u128(..))
    } else {
        format!("msg_{id}")
    }
}

/// The thinking blocks: each reasoning block of its own, signed (this API's
/// signature, sent back unchanged), redacted, or plain text (another API's
/// reasoning, with an empty signature; it cannot be sent back to Anthropic).
fn thinking_blocks(response: &ChatResponse) -> Vec<Value> {
    let blocks: Vec<Value> = response
        .message
        .reasoning
        .iter()
        .filter_map(thinking_block)
        .collect();
    match &response.reasoning {
        Some(text) if blocks.is_empty() && !text.is_empty() => {
            vec![json!({"type": "thinking", "thinking": text, "signature": ""})]
        }
        _ => blocks,
    }
}

/// One reasoning block as a thinking block; `None` for a block that only
/// anchors another API's signature on other content.
pub(super) fn thinking_block(block: &ReasoningBlock) -> Option<Value> {
    if block.anchor != ReasoningAnchor::Own {
        return None;
    }
    if block.redacted && block.is_from(SOURCE) {
        return block
            .encrypted
            .as_ref()
            .map(|data| json!({"type": "redacted_thinking", "data": data}));
    }
    let signature = block
        .signature
        .as_deref()
        .filter(|_| block.is_from(SOURCE))
        .unwrap_or("");
    if block.text.is_empty() && signature.is_empty() {
        return None;
    }
    Some(json!({"type": "thinking", "thinking": block.text, "signature": signature}))
}

/// A tool call's arguments as the `input` object (`{}` when they are not a
/// JSON object: `input` must be one).
pub(super) fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(input @ Value::Object(_)) => input,
        _ => Value::Object(Map::new()),
    }
}

/// The `stop_reason` of a unified finish reason; a provider's own reason
/// that is one of Anthropic's stays as it is.
pub(super) fn stop_reason(reason: Option<&FinishReason>, made_calls: bool) -> Value {
    let name = match reason {
        Some(FinishReason::Stop) => "end_turn",
        Some(FinishReason::Length) => "max_tokens",
        Some(FinishReason::ToolCalls) => "tool_use",
        Some(FinishReason::ContentFilter) => "refusal",
        Some(FinishReason::Other(other)) => match other.as_str() {
            known @ ("pause_turn" | "stop_sequence" | "model_context_window_exceeded") => known,
            _ if made_calls => "tool_use",
            _ => "end_turn",
        },
        None if made_calls => "tool_use",
        None => return Value::Null,
    };
    Value::String(name.to_owned())
}

/// The `usage` object: Anthropic counts cached prompt tokens apart from
/// `input_tokens`, the unified prompt count includes them; the cache counts
/// are written when the upstream reported them.
pub(super) fn usage(usage: Option<&Usage>) -> Value {
    let usage = usage.copied().unwrap_or_default();
    let read = usage.cached_tokens.unwrap_or(0);
    let written = usage.cache_write_tokens.unwrap_or(0);
    let mut object = Map::new();
    object.insert(
        "input_tokens".into(),
        json!(
            usage
                .prompt_tokens
                .saturating_sub(read)
                .saturating_sub(written)
        ),
    );
    object.insert("output_tokens".into(), json!(usage.completion_tokens));
    if let Some(written) = usage.cache_write_tokens {
        object.insert("cache_creation_input_tokens".into(), json!(written));
    }
    if let Some(read) = usage.cached_tokens {
        object.insert("cache_read_input_tokens".into(), json!(read));
    }
    Value::Object(object)
}
