//! A Responses API request body -> the unified [`ChatRequest`].

use std::collections::HashMap;

use llm_runtime::dialects::openai_responses::SOURCE;
use llm_runtime::{
    ChatRequest, Message, Part, Result, Role, Tool, ToolCall,
    types::{
        NativeBody, ReasoningAnchor, ReasoningBlock, ReasoningEffort, ReasoningSummary,
        ResponseFormat, ToolChoice,
    },
};
use serde_json::Value;

use crate::ingress::fields::{Fields, Path, array, invalid, object, string};

/// A Responses request, read.
#[derive(Debug)]
pub struct ResponsesRequest {
    /// The unified request; its `model` is the name the caller asked for,
    /// and its [`NativeBody`] the body as written (sent unchanged to an
    /// OpenAI Responses upstream).
    pub chat: ChatRequest,
    /// `stream: true`.
    pub stream: bool,
    /// The request's fields a response object repeats (`instructions`,
    /// `tools`, `temperature`...), as written.
    pub echo: serde_json::Map<String, Value>,
}

/// The request fields a response object repeats, as the API does.
const ECHOED: [&str; 14] = [
    "instructions",
    "max_output_tokens",
    "metadata",
    "parallel_tool_calls",
    "previous_response_id",
    "reasoning",
    "store",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_p",
    "truncation",
    "user",
];

/// Read a Responses request body (`POST /v1/responses`).
///
/// # Errors
/// [`ErrorKind::InvalidRequest`](llm_runtime::ErrorKind::InvalidRequest),
/// naming the field, when the body is not a Responses request.
pub fn parse(body: &[u8]) -> Result<ResponsesRequest> {
    let (value, text) = crate::ingress::fields::json_body(body)?;
    let root = Path::Root;
    let fields = object(&value, &root)?;
    let mut chat = read(fields)?;
    chat.native = Some(NativeBody::new(SOURCE, text)?);
    let echo = ECHOED
        .iter()
        .filter_map(|k| fields.get(k).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
    Ok(ResponsesRequest {
        chat,
        stream: fields.opt_bool("stream")?.unwrap_or(false),
        echo,
    })
}

fn read(fields: Fields<'_>) -> Result<ChatRequest> {
    let mut chat = ChatRequest::new(fields.str("model")?);
    if let Some(instructions) = fields.opt_str("instructions")? {
        chat.messages.push(Message::system(instructions));
    }
    let input_path = fields.path_of("input");
    match fields.required("input")? {
        Value::String(text) => chat.messages.push(Message::user(text.as_str())),
        items => input_items(array(items, &input_path)?, &input_path, &mut chat.messages)?,
    }
    chat.max_tokens = fields.opt_u32("max_output_tokens")?;
    chat.temperature = fields.opt_f32("temperature")?;
    chat.top_p = fields.opt_f32("top_p")?;
    chat.user = fields.opt_str("user")?.map(str::to_owned);
    chat.cache_key = fields.opt_str("prompt_cache_key")?.map(str::to_owned);
    if let Some(tools) = fields.opt_array("tools")? {
        let path = fields.path_of("tools");
        for (i, tool) in tools.iter().enumerate() {
            let path = Path::Index(&path, i);
            chat.tools.extend(read_tool(object(tool, &path)?)?);
        }
    }
    if let Some(choice) = fields.get("tool_choice") {
        chat.tool_choice = Some(tool_choice(choice, &fields.path_of("tool_choice"))?);
    }
    if let Some(text) = fields.get("text") {
        let path = fields.path_of("text");
        chat.response_format = text_format(object(text, &path)?)?;
    }
    if let Some(reasoning) = fields.get("reasoning") {
        let path = fields.path_of("reasoning");
        read_reasoning(object(reasoning, &path)?, &mut chat)?;
    }
    if let Some(include) = fields.opt_array("include")? {
        let path = fields.path_of("include");
        for (i, item) in include.iter().enumerate() {
            if string(item, &Path::Index(&path, i))? == "reasoning.encrypted_content" {
                chat.include_encrypted_reasoning = Some(true);
            }
        }
    }
    Ok(chat)
}

/// What the items of one assistant turn have gathered so far.
#[derive(Default)]
struct AssistantTurn {
    message: Option<Message>,
    /// A reasoning item came before: the next items pair with it by id.
    after_reasoning: bool,
}

impl AssistantTurn {
    fn message(&mut self) -> &mut Message {
        self.message
            .get_or_insert_with(|| Message::assistant_tool_calls(None, Vec::new()))
    }

    fn flush(&mut self, into: &mut Vec<Message>) {
        self.after_reasoning = false;
        into.extend(self.message.take());
    }
}

/// The `input` items: user, system and developer messages; assistant
/// messages, reasoning items and function calls (consecutive ones are one
/// assistant turn, their ids kept as the runtime's dialect sends them back);
/// function call outputs as tool messages. Item types with no unified form
/// (built-in tool calls, `item_reference`) are left to the [`NativeBody`].
fn input_items(items: &[Value], path: &Path<'_>, into: &mut Vec<Message>) -> Result<()> {
    let mut turn = AssistantTurn::default();
    let mut names = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let path = Path::Index(path, i);
        let item = object(item, &path)?;
        let kind = item.opt_str("type")?.unwrap_or("message");
        match kind {
            "message" if item.str("role")? == "assistant" => {
                let text = assistant_text(item)?;
                let paired = turn.after_reasoning;
                let message = turn.message();
                if let (true, Some(id)) = (paired, item.opt_str("id")?) {
                    message.reasoning.push(anchored(id, ReasoningAnchor::Text));
                }
                message.content.push(Part::text(text));
            }
            "message" => {
                turn.flush(into);
                into.push(input_message(item)?);
            }
            "reasoning" => {
                turn.after_reasoning = true;
                let blocks = reasoning_item(item)?;
                turn.message().reasoning.extend(blocks);
            }
            "function_call" => {
                let call_id = item.str("call_id")?;
                let name = item.str("name")?;
                names.insert(call_id.to_owned(), name.to_owned());
                let arguments = item.opt_str("arguments")?.unwrap_or("{}");
                let paired = turn.after_reasoning;
                let message = turn.message();
                if let (true, Some(id)) = (paired, item.opt_str("id")?) {
                    let anchor = ReasoningAnchor::ToolCall(call_id.to_owned());
                    message.reasoning.push(anchored(id, anchor));
                }
                message
                    .tool_calls
                    .push(ToolCall::function(call_id, name, arguments));
            }
            "function_call_output" => {
                turn.flush(into);
                let call_id = item.str("call_id")?;
                let output = match item.required("output")? {
                    Value::String(text) => text.clone(),
                    other => output_text(other, &item.path_of("output"))?,
                };
                let mut result = Message::tool_result(call_id, output);
                result.tool_name = names.get(call_id).cloned();
                into.push(result);
            }
            _ => {}
        }
    }
    turn.flush(into);
    Ok(())
}

/// A block that pairs the item `id` with the reasoning before it.
fn anchored(id: &str, anchor: ReasoningAnchor) -> ReasoningBlock {
    let mut block = ReasoningBlock::default();
    block.source = Some(SOURCE.to_owned());
    block.anchor = anchor;
    block.id = Some(id.to_owned());
    block
}

/// A `reasoning` item: one block per summary part (one without text when it
/// has none), the item's id on each, its encrypted payload on the last.
fn reasoning_item(item: Fields<'_>) -> Result<Vec<ReasoningBlock>> {
    let id = item.str("id")?;
    let mut blocks = Vec::new();
    if let Some(summary) = item.opt_array("summary")? {
        let path = item.path_of("summary");
        for (i, part) in summary.iter().enumerate() {
            let path = Path::Index(&path, i);
            let part = object(part, &path)?;
            let mut block = anchored(id, ReasoningAnchor::Own);
            block.text = part.str("text")?.to_owned();
            blocks.push(block);
        }
    }
    if blocks.is_empty() {
        blocks.push(anchored(id, ReasoningAnchor::Own));
    }
    let encrypted = item.opt_str("encrypted_content")?;
    if let Some(encrypted) = encrypted {
        let text = blocks.iter().map(|b| b.text.as_str()).collect();
        if let Some(carried) = super::carried::unwrap(text, encrypted) {
            return Ok(vec![carried]);
        }
    }
    if let Some(last) = blocks.last_mut() {
        last.encrypted = encrypted.map(str::to_owned);
    }
    Ok(blocks)
}

/// A user, system or developer message.
fn input_message(item: Fields<'_>) -> Result<Message> {
    let role = match item.str("role")? {
        "user" => Role::User,
        "system" | "developer" => Role::System,
        other => {
            return Err(invalid(
                &item.path_of("role"),
                &format!("must be `user`, `assistant`, `system` or `developer`, not `{other}`"),
            ));
        }
    };
    let path = item.path_of("content");
    let mut message = Message::user_parts(Vec::new());
    message.role = role;
    match item.required("content")? {
        Value::String(text) => message.content.push(Part::text(text.as_str())),
        parts => {
            for (i, part) in array(parts, &path)?.iter().enumerate() {
                let path = Path::Index(&path, i);
                let part = object(part, &path)?;
                match part.str("type")? {
                    "input_text" | "output_text" => {
                        message.content.push(Part::text(part.str("text")?));
                    }
                    "input_image" => {
                        if let Some(url) = part.opt_str("image_url")? {
                            message.content.push(Part::image_url(url));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(message)
}

/// An assistant message item's text: a string, or its `output_text` parts.
fn assistant_text(item: Fields<'_>) -> Result<String> {
    let path = item.path_of("content");
    match item.required("content")? {
        Value::String(text) => Ok(text.clone()),
        parts => output_text(parts, &path),
    }
}

/// The text of content parts (`output_text`, `input_text`).
fn output_text(parts: &Value, path: &Path<'_>) -> Result<String> {
    let mut text = String::new();
    for (i, part) in array(parts, path)?.iter().enumerate() {
        let path = Path::Index(path, i);
        let part = object(part, &path)?;
        if matches!(part.str("type")?, "output_text" | "input_text") {
            text.push_str(part.str("text")?);
        }
    }
    Ok(text)
}

/// A `function` tool; built-in tools (`web_search`, `file_search`...) have no
/// unified form and are left to the [`NativeBody`].
fn read_tool(tool: Fields<'_>) -> Result<Option<Tool>> {
    if tool.str("type")? != "function" {
        return Ok(None);
    }
    let parameters = match tool.get("parameters") {
        Some(p) => {
            object(p, &tool.path_of("parameters"))?;
            p.clone()
        }
        None => serde_json::json!({"type": "object", "properties": {}}),
    };
    let mut unified = Tool::function(tool.str("name")?, "", parameters);
    unified.description = tool.opt_str("description")?.map(str::to_owned);
    unified.cache = None;
    Ok(Some(unified))
}

fn tool_choice(choice: &Value, path: &Path<'_>) -> Result<ToolChoice> {
    if let Value::String(mode) = choice {
        return match mode.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            other => Err(invalid(
                path,
                &format!("must be `auto`, `none`, `required` or an object, not `{other}`"),
            )),
        };
    }
    let choice = object(choice, path)?;
    match choice.str("type")? {
        "function" => Ok(ToolChoice::Tool(choice.str("name")?.to_owned())),
        // Built-in tool choices and allowed-tool sets: the model decides among them.
        _ => Ok(ToolChoice::Auto),
    }
}

/// `text.format`: text, any JSON object, or a JSON schema.
fn text_format(text: Fields<'_>) -> Result<Option<ResponseFormat>> {
    let Some(format) = text.get("format") else {
        return Ok(None);
    };
    let path = text.path_of("format");
    let format = object(format, &path)?;
    Ok(match format.str("type")? {
        "text" => Some(ResponseFormat::Text),
        "json_object" => Some(ResponseFormat::JsonObject),
        "json_schema" => {
            let schema = format.required("schema")?;
            object(schema, &format.path_of("schema"))?;
            Some(ResponseFormat::JsonSchema {
                name: format.opt_str("name")?.unwrap_or("response").to_owned(),
                schema: schema.clone(),
                strict: format.opt_bool("strict")?.unwrap_or(false),
            })
        }
        other => {
            return Err(invalid(
                &format.path_of("type"),
                &format!("must be `text`, `json_object` or `json_schema`, not `{other}`"),
            ));
        }
    })
}

/// `reasoning`: the effort and the summary asked for.
fn read_reasoning(reasoning: Fields<'_>, chat: &mut ChatRequest) -> Result<()> {
    chat.reasoning_effort = reasoning.opt_str("effort")?.map(ReasoningEffort::from_name);
    chat.reasoning_summary = match reasoning.opt_str("summary")? {
        None => None,
        Some("auto") => Some(ReasoningSummary::Auto),
        Some("concise") => Some(ReasoningSummary::Concise),
        Some("detailed") => Some(ReasoningSummary::Detailed),
        Some(other) => {
            return Err(invalid(
                &reasoning.path_of("summary"),
                &format!("must be `auto`, `concise` or `detailed`, not `{other}`"),
            ));
        }
    };
    Ok(())
}
