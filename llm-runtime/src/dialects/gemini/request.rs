//! `ChatRequest` -> `GenerateContentRequest` body.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::response::SOURCE;
use super::schema::function_schema;
use crate::dialects::toolkit::{
    SamplingNames, Turns, arguments_object, merge_extra, split_data_url, thinking_budget,
};
use crate::error::{Error, Result};
use crate::types::{
    ChatRequest, ImageSource, Message, Part, ReasoningAnchor, ReasoningBlock, ResponseFormat, Role,
    ToolChoice,
};

/// The JSON body of a `generateContent` request (the model is in the path).
pub(super) fn body(request: &ChatRequest) -> Result<Value> {
    let mut body = Map::new();
    if let Some(system) = request.system_text() {
        body.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system}]}),
        );
    }
    body.insert(
        "contents".into(),
        Value::Array(contents(&request.messages)?),
    );
    if !request.tools.is_empty() {
        let declarations: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                let mut f = Map::new();
                f.insert("name".into(), json!(t.name));
                if let Some(d) = &t.description {
                    f.insert("description".into(), json!(d));
                }
                let schema = function_schema(&t.parameters);
                if !schema.changes.is_empty() {
                    tracing::warn!(
                        tool = %t.name,
                        changes = ?schema.changes,
                        "the tool's JSON schema was changed into a form Gemini accepts"
                    );
                }
                f.insert("parametersJsonSchema".into(), schema.schema);
                Value::Object(f)
            })
            .collect();
        body.insert(
            "tools".into(),
            json!([{"functionDeclarations": declarations}]),
        );
    }
    if let Some(choice) = &request.tool_choice {
        let config = match choice {
            ToolChoice::Auto => json!({"mode": "AUTO"}),
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::Tool(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
        };
        body.insert(
            "toolConfig".into(),
            json!({"functionCallingConfig": config}),
        );
    }
    if let Some(name) = &request.cached_content {
        body.insert("cachedContent".into(), json!(name));
    }
    let generation = generation_config(request)?;
    if !generation.is_empty() {
        body.insert("generationConfig".into(), Value::Object(generation));
    }
    merge_extra(&mut body, &request.extra, &[]);
    Ok(Value::Object(body))
}

fn generation_config(request: &ChatRequest) -> Result<Map<String, Value>> {
    let mut config = Map::new();
    SamplingNames {
        temperature: "temperature",
        top_p: "topP",
        max_tokens: Some("maxOutputTokens"),
        stop: "stopSequences",
        seed: "seed",
    }
    .insert(request, &mut config);
    match &request.response_format {
        Some(ResponseFormat::JsonObject) => {
            config.insert("responseMimeType".into(), json!("application/json"));
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            config.insert("responseMimeType".into(), json!("application/json"));
            config.insert("responseJsonSchema".into(), schema.clone());
        }
        Some(ResponseFormat::Text) | None => {}
    }
    // A zero budget (effort `none`) turns thinking off: no thoughts to include.
    if let Some(budget) = thinking_budget(request)? {
        config.insert(
            "thinkingConfig".into(),
            json!({"thinkingBudget": budget, "includeThoughts": budget > 0}),
        );
    }
    Ok(config)
}

/// The conversation without its system messages, as `contents`.
fn contents(messages: &[Message]) -> Result<Vec<Value>> {
    // Tool results name the function, not the call: remember each call's name.
    let mut names: HashMap<&str, &str> = HashMap::new();
    // Parallel calls are answered by one turn holding every functionResponse.
    let mut turns = Turns::default();
    for message in messages {
        let (role, parts) = match message.role {
            Role::System => continue,
            Role::User => ("user", parts(&message.content)),
            Role::Assistant => ("model", model_parts(message, &mut names)?),
            Role::Tool => ("user", vec![function_response(message, &names)?]),
        };
        // The API rejects a turn without parts (an assistant reply that was empty).
        if parts.is_empty() {
            continue;
        }
        turns.push(role, parts);
    }
    Ok(turns.into_json("parts"))
}

/// An assistant turn's parts: its signed thoughts, its text and its calls,
/// each signature on the part it belongs to. Each call's name is remembered
/// in `names` for the tool results that answer it.
fn model_parts<'a>(
    message: &'a Message,
    names: &mut HashMap<&'a str, &'a str>,
) -> Result<Vec<Value>> {
    let signed: Vec<&ReasoningBlock> = message
        .reasoning
        .iter()
        .filter(|b| b.is_from(SOURCE) && b.signature.is_some())
        .collect();
    let signature_on = |anchor: &ReasoningAnchor| {
        signed
            .iter()
            .find(|b| b.anchor == *anchor)
            .and_then(|b| b.signature.clone())
    };
    // Signed thoughts first, as the model wrote them.
    let mut parts: Vec<Value> = signed
        .iter()
        .filter(|b| b.anchor == ReasoningAnchor::Own)
        .map(|b| json!({"text": b.text, "thought": true, "thoughtSignature": b.signature}))
        .collect();
    let mut answer = self::parts(&message.content);
    if let Some(signature) = signature_on(&ReasoningAnchor::Text) {
        // The text arrives merged: its signature goes on the last
        // text part (a part of its own when there is no text).
        match answer.iter_mut().rev().find(|p| p.get("text").is_some()) {
            Some(Value::Object(part)) => {
                part.insert("thoughtSignature".into(), json!(signature));
            }
            _ => answer.push(json!({"text": "", "thoughtSignature": signature})),
        }
    }
    parts.extend(answer);
    for call in &message.tool_calls {
        names.insert(call.id.as_str(), call.name.as_str());
        let args = arguments_object(&call.name, &call.arguments)?;
        let mut part = json!({"functionCall": {"name": call.name, "args": args}});
        let anchor = ReasoningAnchor::ToolCall(call.id.clone());
        if let (Some(signature), Some(obj)) = (signature_on(&anchor), part.as_object_mut()) {
            obj.insert("thoughtSignature".into(), json!(signature));
        }
        parts.push(part);
    }
    Ok(parts)
}

fn parts(content: &[Part]) -> Vec<Value> {
    let mut parts = Vec::with_capacity(content.len());
    for part in content {
        match part {
            Part::Text { text } if text.is_empty() => {}
            Part::Text { text } => parts.push(json!({"text": text})),
            Part::Image { source } => parts.push(image_part(source)),
        }
    }
    parts
}

fn image_part(source: &ImageSource) -> Value {
    match source {
        ImageSource::Base64 { mime, data } => {
            json!({"inlineData": {"mimeType": mime, "data": data}})
        }
        ImageSource::Url { url } => match split_data_url(url) {
            Some((mime, data)) => json!({"inlineData": {"mimeType": mime, "data": data}}),
            None => match mime_from_extension(url) {
                Some(mime) => json!({"fileData": {"mimeType": mime, "fileUri": url}}),
                None => json!({"fileData": {"fileUri": url}}),
            },
        },
    }
}

/// The image media type a URL's file extension names, if any.
fn mime_from_extension(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => return None,
    })
}

fn function_response(message: &Message, names: &HashMap<&str, &str>) -> Result<Value> {
    let id = message.tool_call_id.as_deref().ok_or_else(|| {
        Error::invalid_request("a tool message needs the id of the call it answers (tool_call_id)")
    })?;
    // The call's own name; the result's when a trimmed history no longer holds the call.
    let name = names
        .get(id)
        .copied()
        .or(message.tool_name.as_deref())
        .ok_or_else(|| {
            Error::invalid_request(format!(
                "the tool result for call `{id}` answers no earlier assistant tool call; Gemini needs the function's name (Message::tool_result_for, or with_tool_name)"
            ))
        })?;
    let text = message.text();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(object @ Value::Object(_)) => object,
        Ok(other) => json!({"result": other}),
        Err(_) => json!({"result": text}),
    };
    Ok(json!({"functionResponse": {"name": name, "response": response}}))
}
