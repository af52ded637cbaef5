use serde_json::{Map, Value, json};

use crate::dialects::toolkit::{SamplingNames, function_tools, image_url, merge_extra, role_name};
use crate::error::Result;
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

/// Whether the model takes `max_completion_tokens` instead of `max_tokens` (OpenAI reasoning models).
fn uses_max_completion_tokens(model: &str) -> bool {
    ["o1", "o3", "o4", "gpt-5"]
        .iter()
        .any(|p| model.starts_with(p))
}

/// The chat-completions request body.
pub fn chat_body(req: &ChatRequest, stream: bool) -> Result<Value> {
    let mut body = Map::new();
    body.insert("model".into(), req.model.clone().into());
    body.insert(
        "messages".into(),
        req.messages.iter().map(message).collect(),
    );
    let max_tokens = if uses_max_completion_tokens(&req.model) {
        "max_completion_tokens"
    } else {
        "max_tokens"
    };
    SamplingNames {
        max_tokens: Some(max_tokens),
        ..SamplingNames::OPENAI
    }
    .insert(req, &mut body);
    if !req.tools.is_empty() {
        body.insert("tools".into(), function_tools(&req.tools));
    }
    if let Some(choice) = &req.tool_choice {
        let v = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
        };
        body.insert("tool_choice".into(), v);
    }
    if let Some(format) = &req.response_format {
        let v = match format {
            ResponseFormat::Text => json!({"type": "text"}),
            ResponseFormat::JsonObject => json!({"type": "json_object"}),
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => {
                json!({"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}})
            }
        };
        body.insert("response_format".into(), v);
    }
    if let Some(effort) = req.reasoning_effort {
        body.insert("reasoning_effort".into(), serde_json::to_value(effort)?);
    }
    if let Some(user) = &req.user {
        body.insert("user".into(), user.clone().into());
    }
    if stream {
        body.insert("stream".into(), true.into());
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    merge_extra(&mut body, &req.extra, &[]);
    Ok(Value::Object(body))
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
}
