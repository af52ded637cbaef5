//! A Chat Completions request body to the runtime's [`ChatRequest`].
//!
//! Fields the unified request has are mapped; every other field goes to
//! [`ChatRequest::extra`] unchanged, so an OpenAI-dialect upstream receives
//! what the caller sent (`parallel_tool_calls`, `logit_bias`, new fields).

use llm_runtime::{
    ChatRequest, Message, Part, ReasoningEffort, ResponseFormat, Role, Tool, ToolCall, ToolChoice,
};
use serde_json::{Map, Value};

use crate::error::GatewayError;

/// A parsed request.
#[derive(Debug)]
pub struct ParsedChat {
    /// The model name the caller sent (a group, alias or wildcard match).
    pub model: String,
    /// `stream: true`.
    pub stream: bool,
    /// `stream_options.include_usage: true`.
    pub include_usage: bool,
    /// The unified request.
    pub request: ChatRequest,
}

fn bad(param: &str, message: impl Into<String>) -> GatewayError {
    GatewayError::bad_request(message).param(param)
}

/// Parse a request body.
pub fn parse_request(body: &[u8]) -> Result<ParsedChat, GatewayError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        GatewayError::bad_request(format!("The request body is not valid JSON: {e}"))
    })?;
    let Value::Object(mut obj) = value else {
        return Err(GatewayError::bad_request(
            "The request body must be a JSON object",
        ));
    };
    let model = match obj.remove("model") {
        Some(Value::String(m)) if !m.is_empty() => m,
        _ => {
            return Err(bad(
                "model",
                "`model` is required: a model_name of the gateway's config",
            ));
        }
    };
    let stream = take_bool(&mut obj, "stream")?.unwrap_or(false);
    let include_usage = match obj.remove("stream_options") {
        Some(Value::Object(o)) => o
            .get("include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        Some(Value::Null) | None => false,
        Some(_) => return Err(bad("stream_options", "`stream_options` must be an object")),
    };
    let mut request = ChatRequest::new(model.clone());
    let messages = match obj.remove("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        _ => return Err(bad("messages", "`messages` must be a non-empty array")),
    };
    for (i, m) in messages.into_iter().enumerate() {
        request
            .messages
            .push(message(m).map_err(|e| bad(&format!("messages[{i}]"), e))?);
    }
    params(&mut obj, &mut request)?;
    match obj.remove("n") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(_) => return Err(bad("n", "Only `n: 1` is supported")),
    }
    request.extra = obj;
    Ok(ParsedChat {
        model,
        stream,
        include_usage,
        request,
    })
}

fn params(obj: &mut Map<String, Value>, r: &mut ChatRequest) -> Result<(), GatewayError> {
    r.temperature = take_f32(obj, "temperature")?;
    r.top_p = take_f32(obj, "top_p")?;
    let max_completion = take_u32(obj, "max_completion_tokens")?;
    r.max_tokens = max_completion.or(take_u32(obj, "max_tokens")?);
    r.seed = take_u64(obj, "seed")?;
    r.stop = match obj.remove("stop") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(a)) => a
            .into_iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad("stop", "`stop` items must be strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(bad(
                "stop",
                "`stop` must be a string or an array of strings",
            ));
        }
    };
    r.user = take_string(obj, "user")?;
    r.reasoning_effort =
        take_string(obj, "reasoning_effort")?.map(|e| ReasoningEffort::from_name(&e));
    r.cache_key = take_string(obj, "prompt_cache_key")?;
    if let Some(tools) = obj.remove("tools") {
        r.tools = tools_of(tools)?;
    }
    if let Some(choice) = obj.remove("tool_choice") {
        r.tool_choice = Some(tool_choice(choice)?);
    }
    if let Some(format) = obj.remove("response_format") {
        r.response_format = Some(response_format(format)?);
    }
    Ok(())
}

fn take_bool(obj: &mut Map<String, Value>, key: &str) -> Result<Option<bool>, GatewayError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(bad(key, format!("`{key}` must be a boolean"))),
    }
}

fn take_f32(obj: &mut Map<String, Value>, key: &str) -> Result<Option<f32>, GatewayError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64().map(|f| f as f32)),
        Some(_) => Err(bad(key, format!("`{key}` must be a number"))),
    }
}

fn take_u64(obj: &mut Map<String, Value>, key: &str) -> Result<Option<u64>, GatewayError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(key, format!("`{key}` must be a non-negative integer"))),
        Some(_) => Err(bad(key, format!("`{key}` must be an integer"))),
    }
}

fn take_u32(obj: &mut Map<String, Value>, key: &str) -> Result<Option<u32>, GatewayError> {
    take_u64(obj, key)?
        .map(|n| u32::try_from(n).map_err(|_| bad(key, format!("`{key}` is too large"))))
        .transpose()
}

fn take_string(obj: &mut Map<String, Value>, key: &str) -> Result<Option<String>, GatewayError> {
    match obj.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(key, format!("`{key}` must be a string"))),
    }
}

fn message(value: Value) -> Result<Message, String> {
    let Value::Object(m) = value else {
        return Err("a message must be an object".into());
    };
    let role = match m.get("role").and_then(Value::as_str) {
        Some("system" | "developer") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("tool" | "function") => Role::Tool,
        Some(other) => return Err(format!("unknown role `{other}`")),
        None => return Err("`role` is required".into()),
    };
    let content = match m.get("content") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![Part::text(s.clone())],
        Some(Value::Array(parts)) => parts.iter().map(part).collect::<Result<_, _>>()?,
        Some(_) => return Err("`content` must be a string or an array of parts".into()),
    };
    let mut message = Message::user_parts(content);
    message.role = role;
    if let Some(Value::Array(calls)) = m.get("tool_calls") {
        message.tool_calls = calls.iter().map(tool_call).collect::<Result<_, _>>()?;
    }
    if role == Role::Tool {
        message.tool_call_id = m
            .get("tool_call_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        message.tool_name = m.get("name").and_then(Value::as_str).map(str::to_owned);
    }
    Ok(message)
}

fn part(value: &Value) -> Result<Part, String> {
    match value.get("type").and_then(Value::as_str) {
        Some("text") => Ok(Part::text(
            value
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )),
        Some("image_url") => {
            let url = value
                .get("image_url")
                .and_then(|u| u.get("url").or(Some(u)))
                .and_then(Value::as_str)
                .ok_or("an `image_url` part needs `image_url.url`")?;
            Ok(Part::image_url(url))
        }
        Some(other) => Err(format!("content parts of type `{other}` are not supported")),
        None => Err("a content part needs a `type`".into()),
    }
}

fn tool_call(value: &Value) -> Result<ToolCall, String> {
    let id = value.get("id").and_then(Value::as_str).unwrap_or_default();
    let f = value
        .get("function")
        .ok_or("a tool call needs `function`")?;
    let name = f
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a tool call needs `function.name`")?;
    let args = match f.get("arguments") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "{}".into(),
    };
    Ok(ToolCall::function(id, name, args))
}

fn tools_of(value: Value) -> Result<Vec<Tool>, GatewayError> {
    let Value::Array(tools) = value else {
        return Err(bad("tools", "`tools` must be an array"));
    };
    tools
        .into_iter()
        .map(|t| {
            let f = t
                .get("function")
                .ok_or_else(|| bad("tools", "each tool needs `function`"))?;
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("tools", "each tool needs `function.name`"))?;
            let parameters = f
                .get("parameters")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
            let mut tool = Tool::function(name, "", parameters);
            tool.description = f
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned);
            Ok(tool)
        })
        .collect()
}

fn tool_choice(value: Value) -> Result<ToolChoice, GatewayError> {
    match &value {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            other => Err(bad("tool_choice", format!("unknown tool_choice `{other}`"))),
        },
        Value::Object(o) => o
            .get("function")
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .map(|n| ToolChoice::Tool(n.to_owned()))
            .ok_or_else(|| bad("tool_choice", "`tool_choice` needs `function.name`")),
        _ => Err(bad(
            "tool_choice",
            "`tool_choice` must be a string or an object",
        )),
    }
}

fn response_format(value: Value) -> Result<ResponseFormat, GatewayError> {
    match value.get("type").and_then(Value::as_str) {
        Some("text") => Ok(ResponseFormat::Text),
        Some("json_object") => Ok(ResponseFormat::JsonObject),
        Some("json_schema") => {
            let s = value
                .get("json_schema")
                .ok_or_else(|| bad("response_format", "`json_schema` is required"))?;
            Ok(ResponseFormat::JsonSchema {
                name: s
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("response")
                    .to_owned(),
                schema: s
                    .get("schema")
                    .cloned()
                    .unwrap_or(Value::Object(Map::new())),
                strict: s.get("strict").and_then(Value::as_bool).unwrap_or(false),
            })
        }
        _ => Err(bad(
            "response_format",
            "`response_format.type` must be text, json_object or json_schema",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_fields_and_keeps_the_rest() {
        let body = json!({
            "model": "gpt", "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "developer", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "max_completion_tokens": 5, "stop": "x", "parallel_tool_calls": false,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
        });
        let p = parse_request(body.to_string().as_bytes()).expect("valid");
        assert!(p.stream && p.include_usage);
        assert_eq!(p.request.messages[0].role, Role::System);
        assert_eq!(p.request.messages[1].text(), "hi");
        assert_eq!(p.request.max_tokens, Some(5));
        assert_eq!(p.request.stop, vec!["x".to_owned()]);
        assert_eq!(p.request.tool_choice, Some(ToolChoice::Tool("f".into())));
        assert_eq!(
            p.request.extra.get("parallel_tool_calls"),
            Some(&json!(false))
        );
    }

    #[test]
    fn bad_input_names_the_parameter() {
        for (body, param) in [
            (
                json!({"messages": [{"role": "user", "content": "x"}]}),
                "model",
            ),
            (json!({"model": "m", "messages": []}), "messages"),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}),
                "temperature",
            ),
            (
                json!({"model": "m", "messages": [{"role": "x"}]}),
                "messages[0]",
            ),
        ] {
            let e = parse_request(body.to_string().as_bytes()).expect_err("invalid");
            assert_eq!(e.status, http::StatusCode::BAD_REQUEST);
            assert_eq!(e.param.as_deref(), Some(param), "{}", e.message);
        }
    }
}
