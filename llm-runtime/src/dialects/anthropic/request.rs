//! `ChatRequest` -> Messages API request body.

use serde_json::{Map, Value, json};

use super::DEFAULT_MAX_TOKENS;
use crate::dialects::toolkit::{
    SamplingNames, Turns, arguments_object, effort_budget, merge_extra, split_data_url,
};
use crate::error::{Error, Result};
use crate::types::{ChatRequest, ImageSource, Message, Part, ResponseFormat, Role, ToolChoice};

/// The JSON body of a Messages request.
pub(super) fn body(request: &ChatRequest, model: &str, stream: bool) -> Result<Value> {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    if let Some(system) = request.system_text() {
        body.insert("system".into(), json!(system));
    }
    body.insert(
        "messages".into(),
        Value::Array(messages(&request.messages)?),
    );

    let budget = request
        .reasoning_budget
        .or_else(|| request.reasoning_effort.map(effort_budget));
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
    // `seed` is only set under the Passthrough policy (see `unsupported_params`): sent as-is.
    SamplingNames {
        max_tokens: None,
        stop: "stop_sequences",
        ..SamplingNames::OPENAI
    }
    .insert(request, &mut body);
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                let mut tool = Map::new();
                tool.insert("name".into(), json!(t.name));
                if let Some(d) = &t.description {
                    tool.insert("description".into(), json!(d));
                }
                tool.insert("input_schema".into(), t.parameters.clone());
                Value::Object(tool)
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &request.tool_choice {
        let choice = match choice {
            ToolChoice::Auto => json!({"type": "auto"}),
            ToolChoice::None => json!({"type": "none"}),
            ToolChoice::Required => json!({"type": "any"}),
            ToolChoice::Tool(name) => json!({"type": "tool", "name": name}),
        };
        body.insert("tool_choice".into(), choice);
    }
    if let Some(user) = &request.user {
        body.insert("metadata".into(), json!({"user_id": user}));
    }
    // Only set under the Passthrough policy (see `unsupported_params`): sent as-is.
    if let Some(format @ (ResponseFormat::JsonObject | ResponseFormat::JsonSchema { .. })) =
        &request.response_format
    {
        body.insert("response_format".into(), json!(format));
    }
    if stream {
        body.insert("stream".into(), json!(true));
    }
    merge_extra(&mut body, &request.extra, &[]);
    Ok(Value::Object(body))
}

/// The conversation without its system messages, as Messages API turns.
fn messages(messages: &[Message]) -> Result<Vec<Value>> {
    // The API wants user and assistant turns to alternate.
    let mut turns = Turns::default();
    for message in messages {
        let (role, blocks) = match message.role {
            Role::System => continue,
            Role::User => ("user", content_blocks(&message.content)),
            Role::Assistant => {
                let mut blocks = content_blocks(&message.content);
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
