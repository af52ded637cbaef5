use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde_json::{Value, json};

use crate::dialects::toolkit::{f32_json, function_tools, image_url, role_name};
use crate::error::Result;
use crate::provider::RequestContext;
use crate::spec::MaxTokensField;
use crate::types::{
    ChatRequest, EmbeddingRequest, Message, Part, ResponseFormat, Role, ToolCall, ToolCallKind,
    ToolChoice,
};

/// Content as a plain string when it is text only, else the array form.
struct Content<'a>(&'a [Part]);

impl Serialize for Content<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0 {
            [Part::Text { text }] => s.serialize_str(text),
            parts if parts.iter().all(|p| matches!(p, Part::Text { .. })) => {
                s.collect_str(&parts.iter().filter_map(Part::as_text).collect::<String>())
            }
            parts => s.collect_seq(parts.iter().map(|p| match p {
                Part::Text { text } => json!({"type": "text", "text": text}),
                Part::Image { source } => {
                    json!({"type": "image_url", "image_url": {"url": image_url(source)}})
                }
            })),
        }
    }
}

/// One `tool_calls` entry of an assistant turn.
struct WireToolCall<'a>(&'a ToolCall);

impl Serialize for WireToolCall<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let c = self.0;
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("id", &c.id)?;
        if c.kind == ToolCallKind::Custom {
            map.serialize_entry("type", "custom")?;
            map.serialize_entry("custom", &json!({"name": c.name, "input": c.arguments}))?;
        } else {
            map.serialize_entry("type", "function")?;
            map.serialize_entry(
                "function",
                &json!({"name": c.name, "arguments": c.arguments}),
            )?;
        }
        map.end()
    }
}

/// One message in the chat-completions shape.
struct WireMessage<'a>(&'a Message);

impl Serialize for WireMessage<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let m = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("role", role_name(m.role))?;
        match m.role {
            Role::Assistant if !m.tool_calls.is_empty() => {
                let text = m.text();
                map.serialize_entry("content", &(!text.is_empty()).then_some(text))?;
                map.serialize_entry("tool_calls", &Seq(&m.tool_calls, WireToolCall))?;
                if let Some(reasoning) = reasoning_content(m) {
                    map.serialize_entry("reasoning_content", &reasoning)?;
                }
            }
            Role::Tool => {
                map.serialize_entry("content", &m.text())?;
                map.serialize_entry("tool_call_id", m.tool_call_id.as_deref().unwrap_or(""))?;
                // The function's name, where the caller gave it: Mistral reads
                // it, OpenAI and most compatible servers accept it.
                if let Some(name) = &m.tool_name {
                    map.serialize_entry("name", name)?;
                }
            }
            _ => map.serialize_entry("content", &Content(&m.content))?,
        }
        map.end()
    }
}

/// A slice serialized as an array, each item through a wrapper.
struct Seq<'a, T, W>(&'a [T], fn(&'a T) -> W);

impl<'a, T, W: Serialize> Serialize for Seq<'a, T, W> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&(self.1)(item))?;
        }
        seq.end()
    }
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
    Ok(serde_json::to_value(ChatBody::new(
        req,
        stream,
        MaxTokensField::ByModel,
        true,
    ))?)
}

/// The chat-completions request body for the provider of `ctx`, with its
/// declared quirks: which field carries `max_tokens`, and whether a stream
/// asks for usage with `stream_options`.
pub fn chat_body_for(req: &ChatRequest, ctx: &RequestContext<'_>) -> Result<Value> {
    Ok(serde_json::to_value(ChatBody::for_ctx(req, ctx))?)
}

/// The chat-completions request body, serialized straight from the request.
///
/// Every call builds one, so there is no `serde_json::Value` tree in between
/// (a map node and a key string per field, then a second walk to write it).
/// A field of the request's `extra` replaces the body's field of that name.
pub(super) struct ChatBody<'a> {
    req: &'a ChatRequest,
    stream: bool,
    max_tokens: &'static str,
    stream_options: bool,
}

impl<'a> ChatBody<'a> {
    fn new(
        req: &'a ChatRequest,
        stream: bool,
        max_tokens: MaxTokensField,
        stream_options: bool,
    ) -> Self {
        ChatBody {
            req,
            stream,
            max_tokens: max_tokens.field(&req.model),
            stream_options,
        }
    }

    /// The body for the provider of `ctx`, with its declared quirks.
    pub(super) fn for_ctx(req: &'a ChatRequest, ctx: &RequestContext<'_>) -> Self {
        ChatBody::new(
            req,
            ctx.stream,
            ctx.spec.max_tokens_field,
            ctx.spec.stream_options,
        )
    }
}

impl Serialize for ChatBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let req = self.req;
        let mut map = s.serialize_map(None)?;
        // A field the caller's `extra` sets is left to `extra`.
        macro_rules! put {
            ($key:expr, $value:expr) => {
                if !req.extra.contains_key($key) {
                    map.serialize_entry($key, $value)?;
                }
            };
        }
        put!("model", &req.model);
        put!("messages", &Seq(&req.messages, WireMessage));
        if let Some(t) = req.temperature {
            put!("temperature", &f32_json(t));
        }
        if let Some(p) = req.top_p {
            put!("top_p", &f32_json(p));
        }
        if let Some(n) = req.max_tokens {
            put!(self.max_tokens, &n);
        }
        if !req.stop.is_empty() {
            put!("stop", &req.stop);
        }
        if let Some(seed) = req.seed {
            put!("seed", &seed);
        }
        if !req.tools.is_empty() {
            put!("tools", &function_tools(&req.tools));
        }
        if let Some(choice) = &req.tool_choice {
            put!("tool_choice", &tool_choice(choice));
        }
        if let Some(format) = &req.response_format {
            put!("response_format", &response_format(format));
        }
        if let Some(effort) = &req.reasoning_effort {
            put!("reasoning_effort", effort);
        }
        if let Some(user) = &req.user {
            put!("user", user);
        }
        if let Some(key) = &req.cache_key {
            put!("prompt_cache_key", key);
        }
        if self.stream {
            put!("stream", &true);
            if self.stream_options {
                put!("stream_options", &json!({"include_usage": true}));
            }
        }
        for (key, value) in &req.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
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
                vec![ToolCall::function(
                    "call_1",
                    "get_weather",
                    r#"{"city":"Paris"}"#,
                )],
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
        let body =
            serde_json::to_value(ChatBody::new(&req, true, MaxTokensField::MaxTokens, false))
                .unwrap();
        assert_eq!(body["max_tokens"], 5);
        assert!(body.get("max_completion_tokens").is_none());
        assert_eq!(body["stream"], true);
        assert!(body.get("stream_options").is_none());
        let req = ChatRequest::new("glm-4.6").user("x").max_tokens(5);
        let body = serde_json::to_value(ChatBody::new(
            &req,
            false,
            MaxTokensField::MaxCompletionTokens,
            true,
        ))
        .unwrap();
        assert_eq!(body["max_completion_tokens"], 5);
    }

    #[test]
    fn an_extra_field_replaces_the_body_field_once_on_the_wire() {
        let req = ChatRequest::new("gpt-4o-mini")
            .user("x")
            .max_tokens(5)
            .extra("max_tokens", json!(9))
            .extra("model", json!("other"));
        let bytes =
            serde_json::to_vec(&ChatBody::new(&req, false, MaxTokensField::MaxTokens, true))
                .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.matches("\"max_tokens\"").count(), 1, "{text}");
        assert_eq!(text.matches("\"model\"").count(), 1, "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["max_tokens"], 9);
        assert_eq!(body["model"], "other");
        assert_eq!(body["messages"][0], json!({"role": "user", "content": "x"}));
    }

    #[test]
    fn text_parts_join_into_one_string_and_no_parts_is_empty() {
        let joined = Message::user_parts(vec![Part::text("a"), Part::text("b")]);
        assert_eq!(
            serde_json::to_value(WireMessage(&joined)).unwrap()["content"],
            "ab"
        );
        let empty = Message::user_parts(Vec::new());
        assert_eq!(
            serde_json::to_value(WireMessage(&empty)).unwrap()["content"],
            ""
        );
    }
}
