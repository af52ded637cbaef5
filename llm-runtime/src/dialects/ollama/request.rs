//! Building Ollama `/api/chat` and `/api/embed` request bodies.

use serde_json::{Map, Value, json};

use crate::dialects::toolkit::{
    SamplingNames, arguments_object, function_tools, merge_extra, role_name, split_data_url,
};
use crate::error::{Error, Result};
use crate::types::{
    ChatRequest, EmbeddingRequest, ImageSource, Message, Part, ReasoningEffort, ResponseFormat,
    Role,
};

/// The base64 data of an image: Ollama takes bare base64, never a URL.
fn image_data(source: &ImageSource) -> Result<String> {
    match source {
        ImageSource::Base64 { data, .. } => Ok(data.clone()),
        ImageSource::Url { url } => match split_data_url(url) {
            Some((_, data)) => Ok(data.to_owned()),
            None => Err(Error::unsupported(
                "Ollama takes images as base64 data, not URLs: download the image and pass it with `Part::image_base64`",
            )),
        },
    }
}

/// The name of the tool call `id` answers, from the assistant messages before it
/// (Ollama pairs a tool result with its call by the tool's name).
fn tool_name<'a>(history: &'a [Message], id: &str) -> Option<&'a str> {
    history
        .iter()
        .rev()
        .flat_map(|m| m.tool_calls.iter())
        .find(|c| c.id == id)
        .map(|c| c.name.as_str())
}

fn message(m: &Message, history: &[Message]) -> Result<Value> {
    let mut obj = Map::new();
    obj.insert("role".into(), role_name(m.role).into());
    obj.insert("content".into(), m.text().into());
    let images = m
        .content
        .iter()
        .filter_map(|p| match p {
            Part::Image { source } => Some(image_data(source)),
            Part::Text { .. } => None,
        })
        .collect::<Result<Vec<String>>>()?;
    if !images.is_empty() {
        obj.insert("images".into(), images.into());
    }
    if !m.tool_calls.is_empty() {
        let calls = m
            .tool_calls
            .iter()
            .map(|c| Ok(json!({"function": {"name": c.name, "arguments": arguments_object(&c.name, &c.arguments)?}})))
            .collect::<Result<Vec<Value>>>()?;
        obj.insert("tool_calls".into(), calls.into());
    }
    if m.role == Role::Tool
        && let Some(name) = m.tool_name.as_deref().or_else(|| {
            m.tool_call_id
                .as_deref()
                .and_then(|id| tool_name(history, id))
        })
    {
        obj.insert("tool_name".into(), name.into());
    }
    Ok(Value::Object(obj))
}

/// `think`: `false` for effort `none`, else the level's word as Ollama takes
/// it (`"low"`, `"medium"`, `"high"`; a level it does not know is its error to report).
fn think(effort: &ReasoningEffort) -> Value {
    match effort {
        ReasoningEffort::None => Value::Bool(false),
        level => level.as_str().into(),
    }
}

/// The `/api/chat` body. `stream` is always written: Ollama streams unless told not to.
pub(crate) fn chat_body(req: &ChatRequest, stream: bool) -> Result<Value> {
    let mut body = Map::new();
    body.insert("model".into(), req.model.clone().into());
    let messages = req
        .messages
        .iter()
        .enumerate()
        .map(|(i, m)| message(m, &req.messages[..i]))
        .collect::<Result<Vec<Value>>>()?;
    body.insert("messages".into(), messages.into());
    if !req.tools.is_empty() {
        body.insert("tools".into(), function_tools(&req.tools));
    }
    body.insert("stream".into(), stream.into());
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => {
            body.insert("format".into(), "json".into());
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            body.insert("format".into(), schema.clone());
        }
        Some(ResponseFormat::Text) | None => {}
    }
    let mut options = Map::new();
    SamplingNames {
        max_tokens: Some("num_predict"),
        ..SamplingNames::OPENAI
    }
    .insert(req, &mut options);
    if !options.is_empty() {
        body.insert("options".into(), Value::Object(options));
    }
    if let Some(effort) = &req.reasoning_effort {
        body.insert("think".into(), think(effort));
    }
    // `extra.options` adds to the sampling options rather than replacing them.
    merge_extra(&mut body, &req.extra, &["options"]);
    Ok(Value::Object(body))
}

/// The `/api/embed` body.
pub(crate) fn embedding_body(req: &EmbeddingRequest) -> Value {
    let mut body = json!({"model": req.model, "input": req.input});
    if let Some(d) = req.dimensions {
        body["dimensions"] = d.into();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::dialects::raw_json::RawBody;
    use crate::types::{Tool, ToolCall, ToolCallKind};

    fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
        ToolCall {
            kind: ToolCallKind::Function,
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    #[test]
    fn maps_messages_tools_and_options() {
        let req = ChatRequest::new("llama3.2")
            .system("Be brief.")
            .user_parts(vec![
                Part::text("What is this?"),
                Part::image_base64("image/png", "iVBORw0KGgo="),
            ])
            .message(Message::assistant_tool_calls(
                None,
                vec![
                    call("call_0", "get_weather", r#"{"city":"Paris"}"#),
                    call("call_1", "get_time", ""),
                ],
            ))
            .message(Message::tool_result("call_1", "12:00"))
            .message(Message::tool_result("call_0", "sunny"))
            .temperature(0.2)
            .top_p(0.9)
            .max_tokens(64)
            .stop("END")
            .seed(7)
            .tool(Tool::function(
                "get_weather",
                "Weather",
                json!({"type": "object"}),
            ))
            .response_format(ResponseFormat::JsonObject)
            .reasoning_effort(ReasoningEffort::High)
            .extra("keep_alive", json!("5m"))
            .extra("options", json!({"num_ctx": 8192}));
        // As sent: the tool-call arguments are written as their text.
        let body = chat_body(&req, false).unwrap();
        let body: Value =
            serde_json::from_slice(&serde_json::to_vec(&RawBody(&body)).unwrap()).unwrap();
        assert_eq!(body["model"], "llama3.2");
        assert_eq!(body["stream"], false);
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "Be brief."})
        );
        assert_eq!(
            body["messages"][1],
            json!({"role": "user", "content": "What is this?", "images": ["iVBORw0KGgo="]})
        );
        assert_eq!(
            body["messages"][2]["tool_calls"],
            json!([
                {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                {"function": {"name": "get_time", "arguments": {}}}
            ])
        );
        assert_eq!(
            body["messages"][3],
            json!({"role": "tool", "content": "12:00", "tool_name": "get_time"})
        );
        assert_eq!(body["messages"][4]["tool_name"], "get_weather");
        assert_eq!(
            body["tools"][0],
            json!({"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}})
        );
        assert_eq!(body["format"], "json");
        assert_eq!(body["think"], "high");
        assert_eq!(body["keep_alive"], "5m");
        assert_eq!(
            body["options"],
            json!({"temperature": 0.2, "top_p": 0.9, "num_predict": 64, "stop": ["END"], "seed": 7, "num_ctx": 8192})
        );
    }

    #[test]
    fn minimal_request_has_no_options_and_streams_when_asked() {
        let body = chat_body(&ChatRequest::new("m").user("hi"), true).unwrap();
        assert_eq!(
            body,
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true})
        );
    }

    #[test]
    fn json_schema_goes_to_format() {
        let schema = json!({"type": "object", "properties": {"age": {"type": "integer"}}});
        let req = ChatRequest::new("m")
            .user("x")
            .response_format(ResponseFormat::JsonSchema {
                name: "person".into(),
                schema: schema.clone(),
                strict: true,
            });
        assert_eq!(chat_body(&req, false).unwrap()["format"], schema);
    }

    #[test]
    fn data_urls_become_base64_and_web_urls_are_refused() {
        let req = ChatRequest::new("m")
            .user_parts(vec![Part::image_url("data:image/jpeg;base64,/9j/4AAQ")]);
        assert_eq!(
            chat_body(&req, false).unwrap()["messages"][0]["images"],
            json!(["/9j/4AAQ"])
        );
        let req =
            ChatRequest::new("m").user_parts(vec![Part::image_url("https://example.com/cat.png")]);
        let err = chat_body(&req, false).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.message().contains("base64"), "{}", err.message());
    }

    #[test]
    fn non_json_tool_arguments_are_an_invalid_request() {
        let req = ChatRequest::new("m").message(Message::assistant_tool_calls(
            None,
            vec![call("c", "f", "{oops")],
        ));
        assert_eq!(
            chat_body(&req, false).unwrap_err().kind(),
            ErrorKind::InvalidRequest
        );
    }

    #[test]
    fn embedding_body_maps_input_and_dimensions() {
        let req = EmbeddingRequest::new("nomic-embed-text", ["a", "b"]).dimensions(256);
        assert_eq!(
            embedding_body(&req),
            json!({"model": "nomic-embed-text", "input": ["a", "b"], "dimensions": 256})
        );
    }
}
