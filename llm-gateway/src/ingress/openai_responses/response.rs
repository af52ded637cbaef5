//! The unified [`ChatResponse`] -> a Responses API `response` object.

use llm_runtime::dialects::openai_responses::SOURCE;
use llm_runtime::{
    ChatResponse, FinishReason, Message, ToolCall, Usage,
    types::{ReasoningAnchor, ReasoningBlock},
};
use serde_json::{Map, Value, json};

/// The `response` object of a whole answer. `model` is the name the caller
/// asked for, `echo` the request fields a response repeats.
pub fn response_object(response: &ChatResponse, model: &str, echo: &Map<String, Value>) -> Value {
    let mut object = envelope(&response_id(&response.id), model, echo, created_at());
    let (status, incomplete) = status(response.finish_reason.as_ref());
    object.insert("status".into(), json!(status));
    object.insert("incomplete_details".into(), incomplete);
    let output = output_items(response, &mut |kind, upstream| {
        upstream.map_or_else(|| new_id(kind.prefix()), str::to_owned)
    });
    object.insert("output".into(), Value::Array(output));
    object.insert("usage".into(), usage(response.usage.as_ref()));
    Value::Object(object)
}

/// A response object's fields besides its output, status and usage: the
/// request's echoed fields over the API's defaults.
pub(super) fn envelope(
    id: &str,
    model: &str,
    echo: &Map<String, Value>,
    created_at: u64,
) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("id".into(), json!(id));
    object.insert("object".into(), json!("response"));
    object.insert("created_at".into(), json!(created_at));
    object.insert("status".into(), json!("in_progress"));
    object.insert("error".into(), Value::Null);
    object.insert("incomplete_details".into(), Value::Null);
    object.insert("model".into(), json!(model));
    object.insert("output".into(), json!([]));
    let defaults = [
        ("instructions", Value::Null),
        ("max_output_tokens", Value::Null),
        ("metadata", json!({})),
        ("parallel_tool_calls", json!(true)),
        ("previous_response_id", Value::Null),
        ("reasoning", json!({"effort": null, "summary": null})),
        ("store", json!(false)),
        ("temperature", json!(1.0)),
        ("text", json!({"format": {"type": "text"}})),
        ("tool_choice", json!("auto")),
        ("tools", json!([])),
        ("top_p", json!(1.0)),
        ("truncation", json!("disabled")),
        ("user", Value::Null),
    ];
    for (key, default) in defaults {
        let value = echo.get(key).cloned().unwrap_or(default);
        object.insert(key.into(), value);
    }
    object.insert("usage".into(), Value::Null);
    object
}

/// Seconds since the epoch, for `created_at`.
pub(super) fn created_at() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The answer's id as the API writes one (`resp_...`).
pub(super) fn response_id(id: &str) -> String {
    if id.starts_with("resp_") {
        id.to_owned()
    } else if id.is_empty() {
        new_id("resp")
    } else {
        format!("resp_{id}")
    }
}

/// A fresh item id with the API's prefix (`msg`, `fc`, `rs`).
pub(super) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{:032x}", fastrand::u128(..))
}

/// `status` and `incomplete_details` of a finish reason.
pub(super) fn status(reason: Option<&FinishReason>) -> (&'static str, Value) {
    match reason {
        Some(FinishReason::Length) => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some(FinishReason::ContentFilter) => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

/// The `usage` object.
pub(super) fn usage(usage: Option<&Usage>) -> Value {
    let Some(usage) = usage else {
        return Value::Null;
    };
    json!({
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens.unwrap_or(0),
            "cache_write_tokens": usage.cache_write_tokens.unwrap_or(0),
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens.unwrap_or(0)},
        "total_tokens": usage.total_tokens,
    })
}

/// An item of the output, whose id the caller of [`output_items`] picks.
#[derive(Debug, Clone, Copy)]
pub(super) enum Fresh<'a> {
    /// The answer's message.
    Message,
    /// The function call with this `call_id`.
    Call(&'a str),
    /// The next reasoning item.
    Reasoning,
}

impl Fresh<'_> {
    /// The API's id prefix for the item.
    pub(super) fn prefix(self) -> &'static str {
        match self {
            Fresh::Message => "msg",
            Fresh::Call(_) => "fc",
            Fresh::Reasoning => "rs",
        }
    }
}

/// Gives an item its id, given the one its upstream gave (a Responses upstream's).
pub(super) type Ids<'f> = dyn FnMut(Fresh<'_>, Option<&str>) -> String + 'f;

/// The `output` items in the order the answer's reasoning blocks give them
/// (a Responses upstream's reasoning items, with the message and calls they
/// pair with by id), then the text and calls not placed yet; reasoning from
/// another API is a reasoning item of its summary text.
pub(super) fn output_items(response: &ChatResponse, ids: &mut Ids<'_>) -> Vec<Value> {
    let message = &response.message;
    let mut items = Vec::new();
    let mut text_sent = false;
    let mut calls_sent = vec![false; message.tool_calls.len()];
    let mut blocks = message.reasoning.iter().peekable();
    while let Some(block) = blocks.next() {
        match &block.anchor {
            ReasoningAnchor::Own => {
                let mut parts = vec![block];
                while let Some(next) = blocks.next_if(|b| {
                    b.anchor == ReasoningAnchor::Own && b.id == block.id && b.id.is_some()
                }) {
                    parts.push(next);
                }
                items.extend(reasoning_item(&parts, ids));
            }
            ReasoningAnchor::Text if !text_sent => {
                text_sent = true;
                let id = ids(Fresh::Message, block.id.as_deref());
                items.extend(message_item(message, response.refusal.as_deref(), id));
            }
            ReasoningAnchor::ToolCall(call_id) => {
                let found = message
                    .tool_calls
                    .iter()
                    .position(|c| &c.id == call_id)
                    .filter(|&i| !calls_sent[i]);
                if let Some(i) = found {
                    calls_sent[i] = true;
                    let call = &message.tool_calls[i];
                    let id = ids(Fresh::Call(&call.id), block.id.as_deref());
                    items.push(call_item(call, id));
                }
            }
            _ => {}
        }
    }
    if message.reasoning.is_empty()
        && let Some(text) = response.reasoning.as_deref().filter(|t| !t.is_empty())
    {
        items.extend(reasoning_item(&[&ReasoningBlock::text(text)], ids));
    }
    if !text_sent {
        items.extend(message_item(
            message,
            response.refusal.as_deref(),
            ids(Fresh::Message, None),
        ));
    }
    for (call, sent) in message.tool_calls.iter().zip(calls_sent) {
        if !sent {
            items.push(call_item(call, ids(Fresh::Call(&call.id), None)));
        }
    }
    items
}

/// One `reasoning` item from the blocks of its summary parts; its id and
/// encrypted payload only when a Responses upstream issued them.
fn reasoning_item(parts: &[&ReasoningBlock], ids: &mut Ids<'_>) -> Option<Value> {
    let own = parts[0].is_from(SOURCE);
    let summary: Vec<Value> = parts
        .iter()
        .filter(|b| !b.text.is_empty())
        .map(|b| json!({"type": "summary_text", "text": b.text}))
        .collect();
    let encrypted = if own {
        parts.iter().find_map(|b| b.encrypted.clone())
    } else {
        // Another API's signed reasoning rides along, to come back next turn.
        super::carried::wrap(parts[0])
    };
    if summary.is_empty() && encrypted.is_none() && !own {
        return None;
    }
    let id = ids(Fresh::Reasoning, parts[0].id.as_deref().filter(|_| own));
    let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
    if let (Some(encrypted), Some(object)) = (encrypted, item.as_object_mut()) {
        object.insert("encrypted_content".into(), json!(encrypted));
    }
    Some(item)
}

/// The assistant's text (and refusal) as a `message` item, if it has any.
fn message_item(message: &Message, refusal: Option<&str>, id: String) -> Option<Value> {
    let text = message.text();
    let mut content = Vec::new();
    if !text.is_empty() {
        content.push(text_part(&text));
    }
    if let Some(refusal) = refusal.filter(|r| !r.is_empty()) {
        content.push(json!({"type": "refusal", "refusal": refusal}));
    }
    if content.is_empty() {
        return None;
    }
    Some(json!({
        "id": id,
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": content,
    }))
}

/// An `output_text` content part.
pub(super) fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// A tool call as a `function_call` item.
pub(super) fn call_item(call: &ToolCall, id: String) -> Value {
    json!({
        "id": id,
        "type": "function_call",
        "status": "completed",
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments,
    })
}
