//! A runtime [`ChatResponse`] as a Chat Completions response body.

use std::time::{SystemTime, UNIX_EPOCH};

use llm_runtime::{ChatResponse, FinishReason, ToolCall, Usage};
use serde_json::{Value, json};

/// Seconds since the epoch, OpenAI's `created`.
pub(super) fn created() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `chatcmpl-...` from the upstream's id (a fresh one when it gave none).
pub(super) fn completion_id(upstream: &str) -> String {
    if upstream.starts_with("chatcmpl-") {
        upstream.to_owned()
    } else if upstream.is_empty() {
        format!("chatcmpl-{:016x}", fastrand::u64(..))
    } else {
        format!("chatcmpl-{upstream}")
    }
}

/// OpenAI's finish reason for the unified one.
pub(super) fn finish_reason(reason: Option<&FinishReason>) -> &str {
    match reason {
        Some(r) => r.as_str(),
        None => "stop",
    }
}

/// OpenAI's `usage` object.
pub(super) fn usage_json(u: &Usage) -> Value {
    let mut usage = json!({
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
    });
    if let Some(cached) = u.cached_tokens {
        usage["prompt_tokens_details"] = json!({"cached_tokens": cached});
    }
    if let Some(reasoning) = u.reasoning_tokens {
        usage["completion_tokens_details"] = json!({"reasoning_tokens": reasoning});
    }
    usage
}

pub(super) fn tool_call_json(call: &ToolCall) -> Value {
    json!({"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}})
}

/// The response body; `requested` is the model name the caller sent, used
/// when the upstream named none.
pub fn render_response(r: &ChatResponse, requested: &str) -> Value {
    let text = r.text();
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && !r.message.tool_calls.is_empty() { Value::Null } else { Value::String(text) },
        "refusal": r.refusal,
    });
    if !r.message.tool_calls.is_empty() {
        message["tool_calls"] = r.message.tool_calls.iter().map(tool_call_json).collect();
    }
    if let Some(reasoning) = &r.reasoning {
        message["reasoning_content"] = Value::String(reasoning.clone());
    }
    let mut body = json!({
        "id": completion_id(&r.id),
        "object": "chat.completion",
        "created": created(),
        "model": if r.model.is_empty() { requested } else { &r.model },
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": finish_reason(r.finish_reason.as_ref()),
            "logprobs": null,
        }],
    });
    if let Some(u) = &r.usage {
        body["usage"] = usage_json(u);
    }
    body
}
