//! A Messages API request body -> the unified [`ChatRequest`].

use std::collections::HashMap;

use llm_runtime::{
    ChatRequest, Message, Part, Result, Role, Tool, ToolCall,
    types::{
        CacheBreakpoint, CacheTtl, NativeBody, ReasoningBlock, ReasoningEffort, ResponseFormat,
        ToolChoice,
    },
};
use serde_json::Value;

use super::SOURCE;
use crate::ingress::fields::{Fields, Path, array, invalid, object, string};

/// A Messages request, read: the unified request and whether it streams.
#[derive(Debug)]
pub struct MessagesRequest {
    /// The unified request; its `model` is the name the caller asked for,
    /// and its [`NativeBody`] the body as written (sent unchanged to an
    /// Anthropic-format upstream).
    pub chat: ChatRequest,
    /// `stream: true`.
    pub stream: bool,
}

/// Read a Messages request body (`POST /v1/messages`).
///
/// # Errors
/// [`ErrorKind::InvalidRequest`](llm_runtime::ErrorKind::InvalidRequest),
/// naming the field, when the body is not a Messages request.
pub fn parse(body: &[u8]) -> Result<MessagesRequest> {
    let (value, text) = crate::ingress::fields::json_body(body)?;
    let root = Path::Root;
    let fields = object(&value, &root)?;
    let mut chat = read(fields, true)?;
    chat.native = Some(NativeBody::new(SOURCE, text)?);
    Ok(MessagesRequest {
        chat,
        stream: fields.opt_bool("stream")?.unwrap_or(false),
    })
}

/// Read a `count_tokens` body: a Messages request without `max_tokens`.
///
/// # Errors
/// As [`parse`].
pub fn parse_count_tokens(body: &[u8]) -> Result<ChatRequest> {
    let (value, _) = crate::ingress::fields::json_body(body)?;
    let root = Path::Root;
    read(object(&value, &root)?, false)
}

/// The unified request of a Messages body; `max_tokens` is required in a
/// Messages call, not in a count.
fn read(fields: Fields<'_>, needs_max_tokens: bool) -> Result<ChatRequest> {
    let mut chat = ChatRequest::new(fields.str("model")?);
    chat.max_tokens = fields.opt_u32("max_tokens")?;
    match chat.max_tokens {
        Some(0) => return Err(invalid(&fields.path_of("max_tokens"), "must be at least 1")),
        None if needs_max_tokens => {
            return Err(invalid(&fields.path_of("max_tokens"), "is required"));
        }
        _ => {}
    }
    if let Some(system) = fields.get("system") {
        system_messages(system, &fields.path_of("system"), &mut chat.messages)?;
    }
    let messages_path = fields.path_of("messages");
    let mut names = HashMap::new();
    for (i, message) in array(fields.required("messages")?, &messages_path)?
        .iter()
        .enumerate()
    {
        let path = Path::Index(&messages_path, i);
        turn(object(message, &path)?, &mut names, &mut chat.messages)?;
    }
    chat.temperature = fields.opt_f32("temperature")?;
    chat.top_p = fields.opt_f32("top_p")?;
    if let Some(stops) = fields.opt_array("stop_sequences")? {
        let path = fields.path_of("stop_sequences");
        for (i, stop) in stops.iter().enumerate() {
            chat.stop
                .push(string(stop, &Path::Index(&path, i))?.to_owned());
        }
    }
    if let Some(metadata) = fields.get("metadata") {
        let path = fields.path_of("metadata");
        chat.user = object(metadata, &path)?
            .opt_str("user_id")?
            .map(str::to_owned);
    }
    if let Some(tools) = fields.opt_array("tools")? {
        let path = fields.path_of("tools");
        for (i, tool) in tools.iter().enumerate() {
            let path = Path::Index(&path, i);
            chat.tools.extend(read_tool(object(tool, &path)?)?);
        }
    }
    if let Some(choice) = fields.get("tool_choice") {
        chat.tool_choice = Some(tool_choice(object(
            choice,
            &fields.path_of("tool_choice"),
        )?)?);
    }
    if let Some(thinking) = fields.get("thinking") {
        chat.reasoning_budget = thinking_budget(object(thinking, &fields.path_of("thinking"))?)?;
    }
    if let Some(config) = fields.get("output_config") {
        output_config(object(config, &fields.path_of("output_config"))?, &mut chat)?;
    }
    Ok(chat)
}

/// `system`: a string, or text blocks (each its own system message, so a
/// block's `cache_control` stays on it).
fn system_messages(value: &Value, path: &Path<'_>, into: &mut Vec<Message>) -> Result<()> {
    if let Value::String(text) = value {
        into.push(Message::system(text.as_str()));
        return Ok(());
    }
    for (i, block) in array(value, path)?.iter().enumerate() {
        let path = Path::Index(path, i);
        let block = object(block, &path)?;
        let kind = block.str("type")?;
        if kind != "text" {
            return Err(invalid(
                &block.path_of("type"),
                &format!("a system block must be `text`, not `{kind}`"),
            ));
        }
        let mut message = Message::system(block.str("text")?);
        message.cache = cache_control(block)?;
        into.push(message);
    }
    Ok(())
}

/// One `user` or `assistant` turn, as unified messages: a user turn's
/// `tool_result` blocks become tool messages (before the turn's other content).
fn turn(
    fields: Fields<'_>,
    names: &mut HashMap<String, String>,
    into: &mut Vec<Message>,
) -> Result<()> {
    let role = match fields.str("role")? {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        other => {
            return Err(invalid(
                &fields.path_of("role"),
                &format!("must be `user` or `assistant`, not `{other}`"),
            ));
        }
    };
    let mut message = Message::user_parts(Vec::new());
    message.role = role;
    let content = fields.required("content")?;
    let content_path = fields.path_of("content");
    if let Value::String(text) = content {
        message.content.push(Part::text(text.as_str()));
        into.push(message);
        return Ok(());
    }
    for (i, block) in array(content, &content_path)?.iter().enumerate() {
        let path = Path::Index(&content_path, i);
        let block = object(block, &path)?;
        if let Some(result) = content_block(block, role, &mut message, names)? {
            into.push(result);
        }
        if let Some(cache) = cache_control(block)? {
            message.cache = Some(cache);
        }
    }
    let empty =
        message.content.is_empty() && message.tool_calls.is_empty() && message.reasoning.is_empty();
    if !empty {
        into.push(message);
    }
    Ok(())
}

/// One content block into `message`; a `tool_result` is returned as its own
/// tool message. Block types with no unified form (documents, server tool
/// results, types added later) are left to the [`NativeBody`].
fn content_block(
    block: Fields<'_>,
    role: Role,
    message: &mut Message,
    names: &mut HashMap<String, String>,
) -> Result<Option<Message>> {
    match (block.str("type")?, role) {
        ("text", _) => message.content.push(Part::text(block.str("text")?)),
        ("image", _) => message.content.push(image(block)?),
        ("thinking", Role::Assistant) => {
            let mut reasoning = ReasoningBlock::text(block.opt_str("thinking")?.unwrap_or(""));
            if let Some(signature) = block.opt_str("signature")?.filter(|s| !s.is_empty()) {
                reasoning = reasoning.signed(signature, SOURCE);
            }
            message.reasoning.push(reasoning);
        }
        ("redacted_thinking", Role::Assistant) => message
            .reasoning
            .push(ReasoningBlock::redacted(block.str("data")?, SOURCE)),
        ("tool_use", Role::Assistant) => {
            let (id, name) = (block.str("id")?, block.str("name")?);
            let input = block
                .get("input")
                .map_or_else(|| "{}".to_owned(), Value::to_string);
            names.insert(id.to_owned(), name.to_owned());
            message.tool_calls.push(ToolCall::function(id, name, input));
        }
        ("tool_result", Role::User) => return tool_result(block, names).map(Some),
        _ => {}
    }
    Ok(None)
}

/// An `image` block: base64 data with its media type, or a URL.
fn image(block: Fields<'_>) -> Result<Part> {
    let source_path = block.path_of("source");
    let source = object(block.required("source")?, &source_path)?;
    match source.str("type")? {
        "base64" => Ok(Part::image_base64(
            source.str("media_type")?,
            source.str("data")?,
        )),
        "url" => Ok(Part::image_url(source.str("url")?)),
        other => Err(invalid(
            &source.path_of("type"),
            &format!("must be `base64` or `url`, not `{other}`"),
        )),
    }
}

/// A `tool_result` block as a tool message: its content a string, or text
/// and image blocks.
fn tool_result(block: Fields<'_>, names: &HashMap<String, String>) -> Result<Message> {
    let id = block.str("tool_use_id")?;
    let mut message = Message::tool_result(id, "");
    message.content.clear();
    if let Some(name) = names.get(id) {
        message.tool_name = Some(name.clone());
    }
    let path = block.path_of("content");
    match block.get("content") {
        None => {}
        Some(Value::String(text)) => message.content.push(Part::text(text.as_str())),
        Some(blocks) => {
            for (i, item) in array(blocks, &path)?.iter().enumerate() {
                let path = Path::Index(&path, i);
                let item = object(item, &path)?;
                match item.str("type")? {
                    "text" => message.content.push(Part::text(item.str("text")?)),
                    "image" => message.content.push(image(item)?),
                    _ => {}
                }
            }
        }
    }
    Ok(message)
}

/// A block's `cache_control` as a breakpoint.
fn cache_control(block: Fields<'_>) -> Result<Option<CacheBreakpoint>> {
    let Some(value) = block.get("cache_control") else {
        return Ok(None);
    };
    let path = block.path_of("cache_control");
    let control = object(value, &path)?;
    let ttl = match control.opt_str("ttl")? {
        None => None,
        Some("5m") => Some(CacheTtl::FiveMinutes),
        Some("1h") => Some(CacheTtl::OneHour),
        Some(other) => {
            return Err(invalid(
                &control.path_of("ttl"),
                &format!("must be `5m` or `1h`, not `{other}`"),
            ));
        }
    };
    Ok(Some({
        let mut cache = CacheBreakpoint::new();
        cache.ttl = ttl;
        cache
    }))
}

/// A custom tool; a server tool (`web_search_...`, with a `type` and no
/// `input_schema`) has no unified form and is left to the [`NativeBody`].
fn read_tool(tool: Fields<'_>) -> Result<Option<Tool>> {
    let name = tool.str("name")?;
    if tool.opt_str("type")?.is_some_and(|t| t != "custom") {
        return Ok(None);
    }
    let parameters = tool.required("input_schema")?;
    object(parameters, &tool.path_of("input_schema"))?;
    let mut unified = Tool::function(name, "", parameters.clone());
    unified.description = tool.opt_str("description")?.map(str::to_owned);
    unified.cache = cache_control(tool)?;
    Ok(Some(unified))
}

fn tool_choice(choice: Fields<'_>) -> Result<ToolChoice> {
    Ok(match choice.str("type")? {
        "auto" => ToolChoice::Auto,
        "any" => ToolChoice::Required,
        "none" => ToolChoice::None,
        "tool" => ToolChoice::Tool(choice.str("name")?.to_owned()),
        other => {
            return Err(invalid(
                &choice.path_of("type"),
                &format!("must be `auto`, `any`, `tool` or `none`, not `{other}`"),
            ));
        }
    })
}

/// `thinking`: `enabled` with its `budget_tokens`, or `disabled`.
fn thinking_budget(thinking: Fields<'_>) -> Result<Option<u32>> {
    match thinking.str("type")? {
        "enabled" => {
            let budget = thinking.opt_u32("budget_tokens")?;
            budget
                .ok_or_else(|| invalid(&thinking.path_of("budget_tokens"), "is required"))
                .map(Some)
        }
        "disabled" => Ok(None),
        // Later kinds (`adaptive`) are the upstream's to decide: no unified budget.
        _ => Ok(None),
    }
}

/// `output_config`: a JSON-schema `format`, and an `effort`.
fn output_config(config: Fields<'_>, chat: &mut ChatRequest) -> Result<()> {
    if let Some(effort) = config.opt_str("effort")? {
        chat.reasoning_effort = Some(ReasoningEffort::from_name(effort));
    }
    let Some(format) = config.get("format") else {
        return Ok(());
    };
    let path = config.path_of("format");
    let format = object(format, &path)?;
    if format.str("type")? == "json_schema" {
        let schema = format.required("schema")?;
        object(schema, &format.path_of("schema"))?;
        chat.response_format = Some(ResponseFormat::JsonSchema {
            name: "response".to_owned(),
            schema: schema.clone(),
            strict: true,
        });
    }
    Ok(())
}
