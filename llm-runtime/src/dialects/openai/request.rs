use serde_json::{Map, Value, json};

use crate::dialects::toolkit::{SamplingNames, function_tools, image_url, merge_extra, role_name};
use crate::error::Result;
use crate::provider::RequestContext;
use crate::spec::MaxTokensField;
use crate::types::{
    ChatRequest, EmbeddingRequest, Message, Part, ResponseFormat, Role, ToolChoice,
};

/// Content as a plain string when it is text only, else the array form.
fn content(parts: &[Part]) -> Value {
    if parts.iter().all(|p| matches!(p, Part::Text { .. })) {
        let text: String = parts.iter().filter_map(Part::as_text).collect();
        return Value::String(text);
    }
    Value::Array(
        parts
            .iter()
            .map(|p| match p {
                Part::Text { text } => json!({"type": "text", "text": text}),
                Part::Image { source } => {
                    json!({"type": "image_url", "image_url": {"url": image_url(source)}})
                }
            })
            .collect(),
    )
}

fn message(m: &Message) -> Value {
    let mut obj = Map::new();
    obj.insert("role".into(), role_name(m.role).into());
    match m.role {
        Role::Assistant if !m.tool_calls.is_empty() => {
            let text = m.text();
            obj.insert(
                "content".into(),
                if text.is_empty() {
                    Value::Null
                } else {
                    text.into()
                },
            );
            obj.insert(
                "tool_calls".into(),
                m.tool_calls
                    .iter()
                    .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                    .collect(),
            );
            if let Some(reasoning) = reasoning_content(m) {
                obj.insert("reasoning_content".into(), reasoning.into());
            }
        }
        Role::Tool => {
            obj.insert("content".into(), m.text().into());
            obj.insert(
                "tool_call_id".into(),
                m.tool_call_id.clone().unwrap_or_default().into(),
            );
        }
        _ => {
            obj.insert("content".into(), content(&m.content));
        }
    }
    Value::Object(obj)
}

/// The plain reasoning text of a tool-calling assistant turn, sent back as
/// `reasoning_content`: DeepSeek's thinking mode answers 400 when a tool-call
/// turn comes back without it, while on a turn without tool calls it is
/// ignored or (the older `deepseek-reasoner`, which had no tools) rejected, so
/// it is sent on tool-call turns only. Signed or encrypted blocks belong to
/// other APIs and are never sent here.
fn reasoning_content(m: &Message) -> Option<String> {
    let text: String = m
        .reasoning
        .iter()
        .filter(|b| b.source.is_none() && !b.redacted)
        .map(|b| b.text.as_str())
        .collect();
    (!text.is_empty()).then_some(text)
}

/// The chat-completions request body as OpenAI itself takes it.
pub fn chat_body(req: &ChatRequest, stream: bool) -> Result<Value> {
    chat_body_with(req, stream, MaxTokensField::ByModel, true)
}

/// The chat-completions request body for the provider of `ctx`, with its
/// declared quirks: which field carries `max_tokens`, and whether a stream
/// asks for usage with `stream_options`.
pub fn chat_body_for(req: &ChatRequest, ctx: &RequestContext<'_>) -> Result<Value> {
    chat_body_with(
        req,
        ctx.stream,
        ctx.spec.max_tokens_field,
        ctx.spec.stream_options,
    )
}

fn chat_body_with(
    req: &ChatRequest,
    stream: bool,
    max_tokens: MaxTokensField,
    stream_options: bool,
) -> Result<Value> {
    let mut body = Map::new();
    body.insert("model".into(), req.model.clone().into());
    body.insert(
        "messages".into(),
        req.messages.iter().map(message).collect(),
    );
    let max_tokens = max_tokens.field(&req.model);
    SamplingNames {
        max_tokens: Some(max_tokens),
        ..SamplingNames::OPENAI
    }
    .insert(req, &mut body);
    if !req.tools.is_empty() {
        body.insert("tools".into(), function_tools(&req.tools));
    }
    if let Some(choice) = &req.tool_choice {
        body.insert("tool_choice".into(), tool_choice(choice));
    }
    if let Some(format) = &req.response_format {
        body.insert("response_format".into(), response_format(format));
    }
    if let Some(effort) = req.reasoning_effort {
        body.insert("reasoning_effort".into(), serde_json::to_value(effort)?);
    }
    if let Some(user) = &req.user {
        body.insert("user".into(), user.clone().into());
    }
    if let Some(key) = &req.cache_key {
        body.insert("prompt_cache_key".into(), key.clone().into());
    }
    if stream {
        body.insert("stream".into(), true.into());
        if stream_options {
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
    }
    merge_extra(&mut body, &req.extra, &[]);
    Ok(Value::Object(body))
}

fn tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

fn response_format(format: &ResponseFormat) -> Value {
    match format {
        ResponseFormat::Text => json!({"type": "text"}),
        ResponseFormat::JsonObject => json!({"type": "json_object"}),
        ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        } => {
            json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}})
        }
    }
}

/// The embeddings request body.
pub(crate) fn embedding_body(req: &EmbeddingRequest) -> Value {
    let mut body = json!({"model": req.model, "input": req.input, "encoding_format": "float"});
    if let Some(d) = req.dimensions {
        body["dimensions"] = d.into();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Part, Tool, ToolCall};

    #[test]
    fn maps_every_field() {
        let req = ChatRequest::new("gpt-4o-mini")
            .system("Be brief.")
            .user_parts(vec![
                Part::text("What is this?"),
                Part::image_base64("image/png", "AAAA"),
            ])
            .message(Message::assistant_tool_calls(
                None,
                vec![ToolCall {
                    id: "call_1".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"city":"Paris"}"#.into(),
                }],
            ))
            .message(Message::tool_result("call_1", "sunny"))
            .temperature(0.5)
            .max_tokens(100)
            .stop("END")
            .seed(7)
            .tool(Tool::function(
                "get_weather",
                "Weather",
                json!({"type": "object", "properties": {}}),
            ))
            .tool_choice(ToolChoice::Tool("get_weather".into()))
            .response_format(ResponseFormat::JsonObject)
            .extra("logprobs", json!(true));
        let body = chat_body(&req, true).unwrap();
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "Be brief."})
        );
        assert_eq!(
            body["messages"][1]["content"][1],
            json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}})
        );
        assert_eq!(body["messages"][2]["content"], Value::Null);
        assert_eq!(
            body["messages"][2]["tool_calls"][0]["function"]["arguments"],
            r#"{"city":"Paris"}"#
        );
        assert_eq!(
            body["messages"][3],
            json!({"role": "tool", "content": "sunny", "tool_call_id": "call_1"})
        );
        assert_eq!(body["max_tokens"], 100);
        assert_eq!(body["stop"], json!(["END"]));
        assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
        assert_eq!(body["tool_choice"]["function"]["name"], "get_weather");
        assert_eq!(body["response_format"]["type"], "json_object");
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["logprobs"], true);
    }

    #[test]
    fn reasoning_models_take_max_completion_tokens() {
        let body = chat_body(&ChatRequest::new("o4-mini").user("x").max_tokens(5), false).unwrap();
        assert_eq!(body["max_completion_tokens"], 5);
        assert!(body.get("max_tokens").is_none());
        assert!(body.get("stream").is_none());
    }

    #[test]
    fn declared_quirks_shape_the_body() {
        let req = ChatRequest::new("o4-mini").user("x").max_tokens(5);
        let body = chat_body_with(&req, true, MaxTokensField::MaxTokens, false).unwrap();
        assert_eq!(body["max_tokens"], 5);
        assert!(body.get("max_completion_tokens").is_none());
        assert_eq!(body["stream"], true);
        assert!(body.get("stream_options").is_none());
        let req = ChatRequest::new("glm-4.6").user("x").max_tokens(5);
        let body = chat_body_with(&req, false, MaxTokensField::MaxCompletionTokens, true).unwrap();
        assert_eq!(body["max_completion_tokens"], 5);
    }
}
