//! `ChatRequest` -> Responses API request body.

use serde_json::{Map, Value, json};

use super::SOURCE;
use crate::dialects::toolkit::{SamplingNames, image_url, merge_extra, native_body};
use crate::error::Result;
use crate::types::{
    ChatRequest, Message, Part, ReasoningAnchor, ReasoningBlock, ReasoningEffort, ReasoningSummary,
    ResponseFormat, Role, Tool, ToolCall, ToolChoice,
};

/// The JSON body of a Responses request for `model`.
pub(super) fn body(request: &ChatRequest, model: &str, stream: bool) -> Result<Value> {
    if let Some(native) = request.native_for(SOURCE) {
        return native_body(request, native, model, stream).map(Value::Object);
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    if let Some(instructions) = request.system_text() {
        body.insert("instructions".into(), json!(instructions));
    }
    body.insert("input".into(), Value::Array(input_items(request)));
    // `stop` and `seed` are only set under the Passthrough policy (see
    // `unsupported_params`): sent as-is.
    SamplingNames {
        max_tokens: Some("max_output_tokens"),
        ..SamplingNames::OPENAI
    }
    .insert(request, &mut body);
    if !request.tools.is_empty() {
        body.insert("tools".into(), flat_function_tools(&request.tools));
    }
    if let Some(choice) = &request.tool_choice {
        body.insert("tool_choice".into(), tool_choice(choice));
    }
    if let Some(format) = &request.response_format {
        body.insert("text".into(), json!({ "format": text_format(format) }));
    }
    if let Some(reasoning) = reasoning(request) {
        body.insert("reasoning".into(), reasoning);
    }
    if let Some(user) = &request.user {
        body.insert("user".into(), json!(user));
    }
    if let Some(key) = &request.cache_key {
        body.insert("prompt_cache_key".into(), json!(key));
    }
    body.insert("store".into(), json!(false));
    if wants_encrypted_reasoning(request, model) {
        body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    }
    if stream {
        body.insert("stream".into(), json!(true));
    }
    merge_extra(&mut body, &request.extra, &[]);
    Ok(Value::Object(body))
}

/// The conversation as `input` items (the system text goes in `instructions`).
fn input_items(request: &ChatRequest) -> Vec<Value> {
    // With server state the items are found by id, so they go back even without a payload.
    let stored = request.extra.get("store") == Some(&Value::Bool(true));
    let mut input = Vec::new();
    for message in &request.messages {
        match message.role {
            Role::System => {}
            Role::User => input.push(json!({"role": "user", "content": content(&message.content)})),
            Role::Assistant => assistant_items(message, stored, &mut input),
            Role::Tool => input.push(json!({
                "type": "function_call_output",
                "call_id": message.tool_call_id.clone().unwrap_or_default(),
                "output": message.text(),
            })),
        }
    }
    input
}

/// The tools as flat `function` entries (name and parameters at the top,
/// not under `function` as in Chat Completions).
fn flat_function_tools(tools: &[Tool]) -> Value {
    tools
        .iter()
        .map(|t| {
            let mut tool = Map::new();
            tool.insert("type".into(), json!("function"));
            tool.insert("name".into(), json!(t.name));
            if let Some(d) = &t.description {
                tool.insert("description".into(), json!(d));
            }
            tool.insert("parameters".into(), t.parameters.clone());
            tool.insert("strict".into(), json!(false));
            Value::Object(tool)
        })
        .collect()
}

fn tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => json!({"type": "function", "name": name}),
    }
}

/// The `text.format` of a response format.
fn text_format(format: &ResponseFormat) -> Value {
    match format {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => json!({"type": "json_schema", "name": name, "schema": schema, "strict": strict}),
    }
}

/// `reasoning`: the effort and the summary asked for (`auto` by default when
/// an effort is set, left out for [`ReasoningSummary::None`]).
fn reasoning(request: &ChatRequest) -> Option<Value> {
    let mut reasoning = Map::new();
    if let Some(effort) = &request.reasoning_effort {
        reasoning.insert("effort".into(), json!(effort));
    }
    let summary = match request.reasoning_summary {
        Some(summary) => summary.as_str(),
        None if request.reasoning_effort.is_some() => ReasoningSummary::Auto.as_str(),
        None => None,
    };
    if let Some(summary) = summary {
        reasoning.insert("summary".into(), json!(summary));
    }
    (!reasoning.is_empty()).then_some(Value::Object(reasoning))
}

/// Whether to send `include: ["reasoning.encrypted_content"]`, without which
/// a stateless (`store: false`) conversation loses its reasoning between turns.
///
/// The caller's [`ChatRequest::include_encrypted_reasoning`] decides when set;
/// otherwise it is sent whenever reasoning is asked for (an effort other than
/// `none`, or a summary), the conversation already carries this API's
/// encrypted reasoning (a deployment under a name of its own that reasoned
/// before), or the model's name is one of OpenAI's reasoning models.
fn wants_encrypted_reasoning(request: &ChatRequest, model: &str) -> bool {
    if let Some(include) = request.include_encrypted_reasoning {
        return include;
    }
    let asked = request
        .reasoning_effort
        .as_ref()
        .is_some_and(|e| *e != ReasoningEffort::None)
        || request
            .reasoning_summary
            .is_some_and(|s| s != ReasoningSummary::None);
    let carried = request
        .messages
        .iter()
        .flat_map(|m| &m.reasoning)
        .any(|b| b.is_from(SOURCE) && b.encrypted.is_some());
    asked || carried || is_reasoning_model(model)
}

/// OpenAI's reasoning models, which return encrypted reasoning when asked
/// (the others answer 400 to `include: ["reasoning.encrypted_content"]`).
fn is_reasoning_model(model: &str) -> bool {
    ["o1", "o3", "o4", "gpt-5", "codex"]
        .iter()
        .any(|p| model.starts_with(p))
        && !model.starts_with("gpt-5-chat")
}

/// A user message's content: a string when it is text only, else
/// `input_text` and `input_image` parts.
fn content(parts: &[Part]) -> Value {
    if parts.iter().all(|p| matches!(p, Part::Text { .. })) {
        return Value::String(parts.iter().filter_map(Part::as_text).collect());
    }
    parts
        .iter()
        .map(|p| match p {
            Part::Text { text } => json!({"type": "input_text", "text": text}),
            Part::Image { source } => {
                json!({"type": "input_image", "image_url": image_url(source), "detail": "auto"})
            }
        })
        .collect()
}

/// An assistant turn as the items the API returned, in their order: the
/// reasoning items and the items after them (their ids, kept as anchored
/// blocks, pair them), then whatever the blocks did not place.
///
/// Reasoning goes back only when the API can use it: with its encrypted
/// payload (stateless), or under `store: true`. Otherwise neither it nor the
/// ids of the items it paired are sent (an id whose reasoning is missing is
/// a 400), and the turn is its plain text and calls.
fn assistant_items(message: &Message, stored: bool, input: &mut Vec<Value>) {
    let own: Vec<&ReasoningBlock> = message
        .reasoning
        .iter()
        .filter(|b| b.is_from(SOURCE) && b.id.is_some())
        .collect();
    let mut items = own.iter().filter(|b| b.anchor == ReasoningAnchor::Own);
    let sendable =
        items.clone().next().is_some() && items.all(|b| stored || item_has_payload(&own, b));
    let mut text_sent = false;
    let mut calls_sent = vec![false; message.tool_calls.len()];
    if sendable {
        let mut blocks = own.iter().peekable();
        while let Some(block) = blocks.next() {
            match &block.anchor {
                ReasoningAnchor::Own => {
                    let mut parts = vec![*block];
                    while let Some(next) =
                        blocks.next_if(|b| b.anchor == ReasoningAnchor::Own && b.id == block.id)
                    {
                        parts.push(next);
                    }
                    input.push(reasoning_item(&parts));
                }
                ReasoningAnchor::Text if !text_sent => {
                    text_sent = true;
                    if let Some(item) = text_item(message, block.id.as_deref()) {
                        input.push(item);
                    }
                }
                ReasoningAnchor::ToolCall(call_id) => {
                    let found = message
                        .tool_calls
                        .iter()
                        .position(|c| &c.id == call_id)
                        .filter(|&i| !calls_sent[i]);
                    if let Some(i) = found {
                        calls_sent[i] = true;
                        input.push(call_item(&message.tool_calls[i], block.id.as_deref()));
                    }
                }
                _ => {}
            }
        }
    }
    if !text_sent && let Some(item) = text_item(message, None) {
        input.push(item);
    }
    for (call, sent) in message.tool_calls.iter().zip(calls_sent) {
        if !sent {
            input.push(call_item(call, None));
        }
    }
}

/// Whether the reasoning item `block` belongs to carries its encrypted payload.
fn item_has_payload(own: &[&ReasoningBlock], block: &ReasoningBlock) -> bool {
    own.iter()
        .any(|b| b.anchor == ReasoningAnchor::Own && b.id == block.id && b.encrypted.is_some())
}

/// One `reasoning` item from the blocks of its summary parts.
fn reasoning_item(parts: &[&ReasoningBlock]) -> Value {
    let summary: Vec<Value> = parts
        .iter()
        .filter(|b| !b.text.is_empty())
        .map(|b| json!({"type": "summary_text", "text": b.text}))
        .collect();
    let mut item = Map::new();
    item.insert("type".into(), json!("reasoning"));
    item.insert("id".into(), json!(parts[0].id));
    item.insert("summary".into(), Value::Array(summary));
    if let Some(encrypted) = parts.iter().find_map(|b| b.encrypted.as_ref()) {
        item.insert("encrypted_content".into(), json!(encrypted));
    }
    Value::Object(item)
}

/// The assistant's text as a message item (with the id it had), if it has any.
fn text_item(message: &Message, id: Option<&str>) -> Option<Value> {
    let text = message.text();
    if text.is_empty() {
        return None;
    }
    Some(match id {
        Some(id) => json!({
            "type": "message",
            "id": id,
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }),
        None => json!({"role": "assistant", "content": text}),
    })
}

/// A tool call as a `function_call` item (as the API returned it when paired:
/// with its item id and status).
fn call_item(call: &ToolCall, id: Option<&str>) -> Value {
    let mut item = Map::new();
    item.insert("type".into(), json!("function_call"));
    if let Some(id) = id {
        item.insert("id".into(), json!(id));
    }
    item.insert("call_id".into(), json!(call.id));
    item.insert("name".into(), json!(call.name));
    item.insert("arguments".into(), json!(call.arguments));
    if id.is_some() {
        item.insert("status".into(), json!("completed"));
    }
    Value::Object(item)
}
