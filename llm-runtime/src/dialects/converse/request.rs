//! `ChatRequest` -> Converse request body.

use serde_json::{Map, Value, json};

use super::SOURCE;
use crate::dialects::toolkit::{
    Turns, arguments_object, f32_json, split_data_url, thinking_budget,
};
use crate::error::{Error, Result};
use crate::types::{ChatRequest, ImageSource, Message, Part, ReasoningBlock, Role, ToolChoice};

/// The top-level Converse fields an `extra` key may set directly; any other
/// `extra` key is a model-native parameter for `additionalModelRequestFields`.
const TOP_LEVEL: &[&str] = &[
    "additionalModelRequestFields",
    "additionalModelResponseFieldPaths",
    "guardrailConfig",
    "performanceConfig",
    "promptVariables",
    "requestMetadata",
    "inferenceConfig",
    "toolConfig",
    "system",
    "messages",
];

/// Whether the Bedrock model takes Anthropic's `thinking` field.
pub(super) fn is_anthropic(model: &str) -> bool {
    model.contains("anthropic.") || model.contains("claude")
}

/// The JSON body of a Converse (or ConverseStream) request.
pub(super) fn body(request: &ChatRequest, model: &str) -> Result<Value> {
    let mut body = Map::new();
    let system = system(request);
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    body.insert(
        "messages".into(),
        Value::Array(messages(&request.messages)?),
    );
    let inference = inference_config(request);
    if !inference.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(inference));
    }
    if !request.tools.is_empty() {
        body.insert("toolConfig".into(), tool_config(request));
    }
    let additional = additional_fields(request, model)?;
    if !additional.is_empty() {
        body.insert(
            "additionalModelRequestFields".into(),
            Value::Object(additional),
        );
    }
    merge_top_level_extra(&mut body, &request.extra);
    Ok(Value::Object(body))
}

/// The sampling options Converse has fields of its own for.
fn inference_config(request: &ChatRequest) -> Map<String, Value> {
    let mut inference = Map::new();
    if let Some(n) = request.max_tokens {
        inference.insert("maxTokens".into(), n.into());
    }
    if let Some(t) = request.temperature {
        inference.insert("temperature".into(), f32_json(t));
    }
    if let Some(p) = request.top_p {
        inference.insert("topP".into(), f32_json(p));
    }
    if !request.stop.is_empty() {
        inference.insert("stopSequences".into(), request.stop.clone().into());
    }
    inference
}

/// `additionalModelRequestFields`: the model's own options (thinking for
/// Anthropic models) and the extra fields that are not top-level ones.
fn additional_fields(request: &ChatRequest, model: &str) -> Result<Map<String, Value>> {
    let mut additional = Map::new();
    // A zero budget (effort `none`) is no thinking, which is Claude's default.
    let budget = if is_anthropic(model) {
        thinking_budget(request)?.filter(|b| *b > 0)
    } else {
        None
    };
    if let Some(budget) = budget {
        additional.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
    for (key, value) in &request.extra {
        if TOP_LEVEL.contains(&key.as_str()) {
            continue;
        }
        additional.insert(key.clone(), value.clone());
    }
    Ok(additional)
}

/// The top-level fields the caller set replace the built ones, except
/// `additionalModelRequestFields`, which is merged into.
fn merge_top_level_extra(body: &mut Map<String, Value>, extra: &Map<String, Value>) {
    for (key, value) in extra {
        if !TOP_LEVEL.contains(&key.as_str()) {
            continue;
        }
        match (body.get_mut(key.as_str()), value) {
            (Some(Value::Object(into)), Value::Object(more))
                if key == "additionalModelRequestFields" =>
            {
                into.extend(more.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            _ => {
                body.insert(key.clone(), value.clone());
            }
        }
    }
}

fn cache_point() -> Value {
    json!({"cachePoint": {"type": "default"}})
}

/// The system messages as text blocks, a cache point after a marked one.
fn system(request: &ChatRequest) -> Vec<Value> {
    let mut blocks = Vec::new();
    for message in request.messages.iter().filter(|m| m.role == Role::System) {
        let text = message.text();
        if !text.is_empty() {
            blocks.push(json!({"text": text}));
        }
        if message.cache.is_some() {
            blocks.push(cache_point());
        }
    }
    blocks
}

fn tool_config(request: &ChatRequest) -> Value {
    let mut tools = Vec::with_capacity(request.tools.len());
    for tool in &request.tools {
        let mut spec = Map::new();
        spec.insert("name".into(), json!(tool.name));
        if let Some(d) = &tool.description {
            spec.insert("description".into(), json!(d));
        }
        spec.insert("inputSchema".into(), json!({"json": tool.parameters}));
        tools.push(json!({"toolSpec": spec}));
        if tool.cache.is_some() {
            tools.push(cache_point());
        }
    }
    let mut config = Map::new();
    config.insert("tools".into(), Value::Array(tools));
    // `ToolChoice::None` has no Converse form (see `unsupported_params`).
    let choice = match &request.tool_choice {
        Some(ToolChoice::Auto) => Some(json!({"auto": {}})),
        Some(ToolChoice::Required) => Some(json!({"any": {}})),
        Some(ToolChoice::Tool(name)) => Some(json!({"tool": {"name": name}})),
        Some(ToolChoice::None) | None => None,
    };
    if let Some(choice) = choice {
        config.insert("toolChoice".into(), choice);
    }
    Value::Object(config)
}

/// The reasoning blocks Converse signed, as it wants them back: first in the
/// assistant turn, text and signature (or the redacted payload) unchanged.
fn reasoning_blocks(reasoning: &[ReasoningBlock]) -> Vec<Value> {
    reasoning
        .iter()
        .filter(|b| b.is_from(SOURCE))
        .filter_map(|b| match (&b.encrypted, &b.signature) {
            (Some(data), _) if b.redacted => {
                Some(json!({"reasoningContent": {"redactedContent": data}}))
            }
            (_, Some(signature)) => Some(json!({"reasoningContent": {
                "reasoningText": {"text": b.text, "signature": signature}
            }})),
            _ => None,
        })
        .collect()
}

/// The conversation without its system messages, as Converse turns.
fn messages(messages: &[Message]) -> Result<Vec<Value>> {
    // Converse wants user and assistant turns to alternate.
    let mut turns = Turns::default();
    for message in messages {
        let (role, mut blocks) = match message.role {
            Role::System => continue,
            Role::User => ("user", content_blocks(&message.content)?),
            Role::Assistant => {
                let mut blocks = reasoning_blocks(&message.reasoning);
                blocks.extend(content_blocks(&message.content)?);
                for call in &message.tool_calls {
                    blocks.push(json!({"toolUse": {
                        "toolUseId": call.id,
                        "name": call.name,
                        "input": arguments_object(&call.name, &call.arguments)?,
                    }}));
                }
                ("assistant", blocks)
            }
            Role::Tool => ("user", vec![tool_result(message)?]),
        };
        // Converse rejects an empty turn (an assistant reply that was empty).
        if blocks.is_empty() {
            continue;
        }
        if message.cache.is_some() {
            blocks.push(cache_point());
        }
        turns.push(role, blocks);
    }
    Ok(turns.into_json("content"))
}

/// Text and image blocks; empty text is left out (Converse rejects blank text).
fn content_blocks(parts: &[Part]) -> Result<Vec<Value>> {
    let mut blocks = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Part::Text { text } if text.is_empty() => {}
            Part::Text { text } => blocks.push(json!({"text": text})),
            Part::Image { source } => blocks.push(image_block(source)?),
        }
    }
    Ok(blocks)
}

/// `image/png` -> `png`: Converse names the format, not the media type.
fn image_format(mime: &str) -> Result<&'static str> {
    match mime.to_ascii_lowercase().as_str() {
        "image/png" => Ok("png"),
        "image/jpeg" | "image/jpg" => Ok("jpeg"),
        "image/gif" => Ok("gif"),
        "image/webp" => Ok("webp"),
        other => Err(Error::invalid_request(format!(
            "Bedrock Converse takes png, jpeg, gif or webp images, not `{other}`"
        ))),
    }
}

fn image_block(source: &ImageSource) -> Result<Value> {
    let (mime, data) = match source {
        ImageSource::Base64 { mime, data } => (mime.as_str(), data.as_str()),
        ImageSource::Url { url } => match split_data_url(url) {
            Some(inline) => inline,
            None if url.starts_with("s3://") => {
                let format = url
                    .rsplit('.')
                    .next()
                    .map(|ext| image_format(&format!("image/{ext}")))
                    .transpose()?
                    .unwrap_or("png");
                return Ok(
                    json!({"image": {"format": format, "source": {"s3Location": {"uri": url}}}}),
                );
            }
            None => {
                return Err(Error::invalid_request(
                    "Bedrock Converse takes images as bytes (base64 or a data: URL) or s3:// locations, not web URLs",
                ));
            }
        },
    };
    Ok(json!({"image": {"format": image_format(mime)?, "source": {"bytes": data}}}))
}

fn tool_result(message: &Message) -> Result<Value> {
    let id = message.tool_call_id.as_deref().ok_or_else(|| {
        Error::invalid_request("a tool message needs the id of the call it answers (tool_call_id)")
    })?;
    let mut content = content_blocks(&message.content)?;
    if content.is_empty() {
        // A tool that returned nothing: Converse wants at least one block.
        content.push(json!({"text": ""}));
    }
    Ok(json!({"toolResult": {"toolUseId": id, "content": content}}))
}
