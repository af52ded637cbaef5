//! Building Cohere v2 `/chat` and `/embed` request bodies.

use serde_json::{Map, Value, json};

use crate::dialects::toolkit::{SamplingNames, function_tools, image_url, merge_extra};
use crate::error::{Error, Result};
use crate::types::{
    ChatRequest, EmbeddingRequest, Message, Part, ResponseFormat, Role, ToolChoice,
};

/// User content: a plain string when it is text only, else typed parts.
fn user_content(parts: &[Part]) -> Value {
    if parts.iter().all(|p| matches!(p, Part::Text { .. })) {
        return Value::String(parts.iter().filter_map(Part::as_text).collect());
    }
    parts
        .iter()
        .map(|p| match p {
            Part::Text { text } => json!({"type": "text", "text": text}),
            Part::Image { source } => {
                json!({"type": "image_url", "image_url": {"url": image_url(source)}})
            }
        })
        .collect()
}

fn message(m: &Message) -> Result<Value> {
    if m.role != Role::User && m.has_images() {
        return Err(Error::unsupported(
            "Cohere takes images in user messages only",
        ));
    }
    let mut obj = Map::new();
    match m.role {
        Role::System => {
            obj.insert("role".into(), "system".into());
            obj.insert("content".into(), m.text().into());
        }
        Role::User => {
            obj.insert("role".into(), "user".into());
            obj.insert("content".into(), user_content(&m.content));
        }
        Role::Assistant if !m.tool_calls.is_empty() => {
            // The text that goes with tool calls is the model's plan for them.
            obj.insert("role".into(), "assistant".into());
            let plan = m.text();
            if !plan.is_empty() {
                obj.insert("tool_plan".into(), plan.into());
            }
            let calls: Vec<Value> = m
                .tool_calls
                .iter()
                .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
                .collect();
            obj.insert("tool_calls".into(), calls.into());
        }
        Role::Assistant => {
            obj.insert("role".into(), "assistant".into());
            obj.insert("content".into(), m.text().into());
        }
        Role::Tool => {
            obj.insert("role".into(), "tool".into());
            obj.insert(
                "tool_call_id".into(),
                m.tool_call_id.clone().unwrap_or_default().into(),
            );
            obj.insert("content".into(), m.text().into());
        }
    }
    Ok(Value::Object(obj))
}

/// The v2 `/chat` body.
pub(crate) fn chat_body(req: &ChatRequest, stream: bool) -> Result<Value> {
    let mut body = Map::new();
    body.insert("model".into(), req.model.clone().into());
    let messages = req
        .messages
        .iter()
        .map(message)
        .collect::<Result<Vec<Value>>>()?;
    body.insert("messages".into(), messages.into());
    if !req.tools.is_empty() {
        body.insert("tools".into(), function_tools(&req.tools));
    }
    match &req.tool_choice {
        Some(ToolChoice::None) => {
            body.insert("tool_choice".into(), "NONE".into());
        }
        Some(ToolChoice::Required) => {
            body.insert("tool_choice".into(), "REQUIRED".into());
        }
        // `Tool(name)` is reported by `unsupported_params`; sent as-is under Passthrough.
        Some(ToolChoice::Tool(name)) => {
            body.insert("tool_choice".into(), name.clone().into());
        }
        Some(ToolChoice::Auto) | None => {}
    }
    SamplingNames {
        top_p: "p",
        stop: "stop_sequences",
        ..SamplingNames::OPENAI
    }
    .insert(req, &mut body);
    match &req.response_format {
        Some(ResponseFormat::Text) => {
            body.insert("response_format".into(), json!({"type": "text"}));
        }
        Some(ResponseFormat::JsonObject) => {
            body.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            body.insert(
                "response_format".into(),
                json!({"type": "json_object", "json_schema": schema}),
            );
        }
        None => {}
    }
    if let Some(budget) = req.reasoning_budget {
        body.insert(
            "thinking".into(),
            json!({"type": "enabled", "token_budget": budget}),
        );
    }
    body.insert("stream".into(), stream.into());
    merge_extra(&mut body, &req.extra, &[]);
    Ok(Value::Object(body))
}

/// The v2 `/embed` body: float vectors of texts embedded as documents.
pub(crate) fn embedding_body(req: &EmbeddingRequest) -> Value {
    let mut body = json!({
        "model": req.model,
        "texts": req.input,
        "input_type": "search_document",
        "embedding_types": ["float"],
    });
    if let Some(d) = req.dimensions {
        body["output_dimension"] = d.into();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::types::{Tool, ToolCall};

    #[test]
    fn maps_every_field() {
        let req = ChatRequest::new("command-a-03-2025")
            .system("Be brief.")
            .user_parts(vec![
                Part::text("What is this?"),
                Part::image_base64("image/png", "AAAA"),
            ])
            .message(Message::assistant_tool_calls(
                Some("I will look it up.".into()),
                vec![ToolCall::function(
                    "get_weather_1",
                    "get_weather",
                    r#"{"city":"Paris"}"#,
                )],
            ))
            .message(Message::tool_result("get_weather_1", "sunny"))
            .assistant("It is sunny.")
            .temperature(0.3)
            .top_p(0.75)
            .max_tokens(100)
            .stop("END")
            .seed(7)
            .tool(Tool::function(
                "get_weather",
                "Weather",
                json!({"type": "object", "properties": {}}),
            ))
            .tool_choice(ToolChoice::Required)
            .response_format(ResponseFormat::JsonObject)
            .reasoning_budget(2048)
            .extra("safety_mode", json!("STRICT"));
        let body = chat_body(&req, true).unwrap();
        assert_eq!(body["model"], "command-a-03-2025");
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "Be brief."})
        );
        assert_eq!(
            body["messages"][1]["content"],
            json!([
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
            ])
        );
        assert_eq!(
            body["messages"][2],
            json!({"role": "assistant", "tool_plan": "I will look it up.", "tool_calls": [
                {"id": "get_weather_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]})
        );
        assert_eq!(
            body["messages"][3],
            json!({"role": "tool", "tool_call_id": "get_weather_1", "content": "sunny"})
        );
        assert_eq!(
            body["messages"][4],
            json!({"role": "assistant", "content": "It is sunny."})
        );
        assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
        assert_eq!(body["tool_choice"], "REQUIRED");
        assert_eq!(body["temperature"].to_string(), "0.3");
        assert_eq!(body["p"].to_string(), "0.75");
        assert_eq!(body["max_tokens"], 100);
        assert_eq!(body["stop_sequences"], json!(["END"]));
        assert_eq!(body["seed"], 7);
        assert_eq!(body["response_format"], json!({"type": "json_object"}));
        assert_eq!(
            body["thinking"],
            json!({"type": "enabled", "token_budget": 2048})
        );
        assert_eq!(body["stream"], true);
        assert_eq!(body["safety_mode"], "STRICT");
    }

    #[test]
    fn text_only_user_content_is_a_string_and_schema_goes_in_json_object() {
        let schema = json!({"type": "object"});
        let req = ChatRequest::new("m")
            .user("hi")
            .response_format(ResponseFormat::JsonSchema {
                name: "x".into(),
                schema: schema.clone(),
                strict: false,
            });
        let body = chat_body(&req, false).unwrap();
        assert_eq!(
            body["messages"][0],
            json!({"role": "user", "content": "hi"})
        );
        assert_eq!(
            body["response_format"],
            json!({"type": "json_object", "json_schema": schema})
        );
        assert_eq!(body["stream"], false);
        assert!(body.get("tool_choice").is_none());
    }

    #[test]
    fn images_outside_user_messages_are_refused() {
        let mut m = Message::assistant("x");
        m.content.push(Part::image_url("https://example.com/a.png"));
        let e = chat_body(&ChatRequest::new("m").message(m), false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn embedding_body_asks_for_floats() {
        let body = embedding_body(&EmbeddingRequest::new("embed-v4.0", ["a"]).dimensions(256));
        assert_eq!(
            body,
            json!({"model": "embed-v4.0", "texts": ["a"], "input_type": "search_document", "embedding_types": ["float"], "output_dimension": 256})
        );
    }
}
