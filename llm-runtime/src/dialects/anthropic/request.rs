//! `ChatRequest` -> Messages API request body.

use serde_json::{Map, Value, json};

use super::DEFAULT_MAX_TOKENS;
use super::response::SOURCE;
use crate::dialects::toolkit::{
    SamplingNames, Turns, arguments_object, merge_extra, native_body, split_data_url,
    thinking_budget,
};
use crate::error::{Error, Result};
use crate::types::{
    CacheBreakpoint, ChatRequest, ImageSource, Message, Part, ReasoningBlock, ResponseFormat, Role,
    Tool, ToolChoice,
};

/// The JSON body of a Messages request.
pub(super) fn body(request: &ChatRequest, model: &str, stream: bool) -> Result<Value> {
    if let Some(native) = request.native_for(SOURCE) {
        return native_body(request, native, model, stream).map(Value::Object);
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    if let Some(system) = system(request) {
        body.insert("system".into(), system);
    }
    body.insert(
        "messages".into(),
        Value::Array(messages(&request.messages)?),
    );

    insert_max_tokens_and_thinking(request, &mut body)?;
    // `seed` is only set under the Passthrough policy (see `unsupported_params`): sent as-is.
    SamplingNames {
        max_tokens: None,
        stop: "stop_sequences",
        ..SamplingNames::OPENAI
    }
    .insert(request, &mut body);
    if !request.tools.is_empty() {
        body.insert("tools".into(), tools(&request.tools));
    }
    if let Some(choice) = &request.tool_choice {
        body.insert("tool_choice".into(), tool_choice(choice));
    }
    if let Some(user) = &request.user {
        body.insert("metadata".into(), json!({"user_id": user}));
    }
    match &request.response_format {
        // Structured output: the answer's text is JSON that matches the schema.
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            body.insert(
                "output_config".into(),
                json!({"format": {"type": "json_schema", "schema": schema}}),
            );
        }
        // Only set under the Passthrough policy (see `unsupported_params`): sent as-is.
        Some(format @ ResponseFormat::JsonObject) => {
            body.insert("response_format".into(), json!(format));
        }
        Some(ResponseFormat::Text) | None => {}
    }
    if stream {
        body.insert("stream".into(), json!(true));
    }
    merge_extra(&mut body, &request.extra, &[]);
    Ok(Value::Object(body))
}

/// `max_tokens` (required by the API) and, when reasoning is asked for, `thinking`.
fn insert_max_tokens_and_thinking(
    request: &ChatRequest,
    body: &mut Map<String, Value>,
) -> Result<()> {
    // A zero budget (effort `none`) is no thinking, which is the API's default.
    let budget = thinking_budget(request)?.filter(|b| *b > 0);
    // `max_tokens` must exceed the thinking budget: leave room for the answer.
    let max_tokens = request.max_tokens.unwrap_or_else(|| {
        budget.map_or(DEFAULT_MAX_TOKENS, |b| b.saturating_add(DEFAULT_MAX_TOKENS))
    });
    body.insert("max_tokens".into(), json!(max_tokens));
    if let Some(budget) = budget {
        body.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
    Ok(())
}

/// The tools with their `input_schema` and cache breakpoints.
fn tools(tools: &[Tool]) -> Value {
    tools
        .iter()
        .map(|t| {
            let mut tool = Map::new();
            tool.insert("name".into(), json!(t.name));
            if let Some(d) = &t.description {
                tool.insert("description".into(), json!(d));
            }
            tool.insert("input_schema".into(), t.parameters.clone());
            if let Some(breakpoint) = &t.cache {
                tool.insert("cache_control".into(), cache_control(breakpoint));
            }
            Value::Object(tool)
        })
        .collect()
}

fn tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!({"type": "auto"}),
        ToolChoice::None => json!({"type": "none"}),
        ToolChoice::Required => json!({"type": "any"}),
        ToolChoice::Tool(name) => json!({"type": "tool", "name": name}),
    }
}

/// The top-level system prompt: the system messages joined as one string, or,
/// when one of them carries a cache breakpoint, one text block each so the
/// breakpoint lands on its own block.
fn system(request: &ChatRequest) -> Option<Value> {
    let system = || request.messages.iter().filter(|m| m.role == Role::System);
    if system().all(|m| m.cache.is_none()) {
        return request.system_text().map(Value::String);
    }
    let blocks: Vec<Value> = system()
        .map(|m| {
            let mut block = json!({"type": "text", "text": m.text()});
            if let (Some(breakpoint), Some(obj)) = (&m.cache, block.as_object_mut()) {
                obj.insert("cache_control".into(), cache_control(breakpoint));
            }
            block
        })
        .collect();
    Some(Value::Array(blocks))
}

/// `{"type": "ephemeral"}`, with the TTL when one was asked for.
fn cache_control(breakpoint: &CacheBreakpoint) -> Value {
    match breakpoint.ttl {
        Some(ttl) => json!({"type": "ephemeral", "ttl": ttl.as_str()}),
        None => json!({"type": "ephemeral"}),
    }
}

/// The thinking blocks this API signed, as it wants them back: first in the
/// assistant turn, `thinking` and `signature` (or `redacted_thinking.data`)
/// unchanged. Unsigned reasoning (another API's, or none) cannot be sent back.
fn thinking_blocks(reasoning: &[ReasoningBlock]) -> Vec<Value> {
    reasoning
        .iter()
        .filter(|b| b.is_from(SOURCE))
        .filter_map(|b| match (&b.encrypted, &b.signature) {
            (Some(data), _) if b.redacted => {
                Some(json!({"type": "redacted_thinking", "data": data}))
            }
            (_, Some(signature)) => {
                Some(json!({"type": "thinking", "thinking": b.text, "signature": signature}))
            }
            _ => None,
        })
        .collect()
}

/// The conversation without its system messages, as Messages API turns.
fn messages(messages: &[Message]) -> Result<Vec<Value>> {
    // The API wants user and assistant turns to alternate.
    let mut turns = Turns::default();
    for message in messages {
        let (role, mut blocks) = match message.role {
            Role::System => continue,
            Role::User => ("user", content_blocks(&message.content)),
            Role::Assistant => {
                let mut blocks = thinking_blocks(&message.reasoning);
                blocks.extend(content_blocks(&message.content));
                for call in &message.tool_calls {
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": arguments_object(&call.name, &call.arguments)?,
                    }));
                }
                ("assistant", blocks)
            }
            Role::Tool => ("user", vec![tool_result(message)?]),
        };
        // The API rejects an empty turn (an assistant reply that was empty).
        if blocks.is_empty() {
            continue;
        }
        if let Some(breakpoint) = &message.cache {
            // Thinking blocks cannot carry `cache_control`: the last other block does.
            let last = blocks
                .iter_mut()
                .rev()
                .find(|b| !matches!(b["type"].as_str(), Some("thinking" | "redacted_thinking")));
            if let Some(Value::Object(block)) = last {
                block.insert("cache_control".into(), cache_control(breakpoint));
            }
        }
        turns.push(role, blocks);
    }
    Ok(turns.into_json("content"))
}

/// Text and image blocks; empty text is left out (the API rejects empty text blocks).
fn content_blocks(parts: &[Part]) -> Vec<Value> {
    let mut blocks = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Part::Text { text } if text.is_empty() => {}
            Part::Text { text } => blocks.push(json!({"type": "text", "text": text})),
            Part::Image { source } => blocks.push(image_block(source)),
        }
    }
    blocks
}

fn image_block(source: &ImageSource) -> Value {
    let source = match source {
        ImageSource::Base64 { mime, data } => {
            json!({"type": "base64", "media_type": mime, "data": data})
        }
        ImageSource::Url { url } => match split_data_url(url) {
            Some((mime, data)) => json!({"type": "base64", "media_type": mime, "data": data}),
            None => json!({"type": "url", "url": url}),
        },
    };
    json!({"type": "image", "source": source})
}

fn tool_result(message: &Message) -> Result<Value> {
    let id = message.tool_call_id.as_deref().ok_or_else(|| {
        Error::invalid_request("a tool message needs the id of the call it answers (tool_call_id)")
    })?;
    let content = if message.has_images() {
        Value::Array(content_blocks(&message.content))
    } else {
        json!(message.text())
    };
    Ok(json!({"type": "tool_result", "tool_use_id": id, "content": content}))
}
