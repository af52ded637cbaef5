//! The Messages API event stream -> `StreamEvent`s.

use serde::Deserialize;
use serde_json::Value;

use super::response::{ContentBlock, WireUsage, arguments_text, finish_reason};
use crate::error::{Error, ErrorKind, Result, classify_http_error, parse_error_body};
use crate::provider::{Control, Frame};
use crate::types::StreamEvent;

/// What the Anthropic stream parser keeps between events.
#[derive(Debug, Default)]
pub struct AnthropicStreamState {
    started: bool,
    /// Tool-use blocks in order of appearance: a call's position is its index here.
    tools: Vec<OpenTool>,
    usage: WireUsage,
    usage_seen: bool,
    usage_sent: bool,
}

/// A tool-use block whose arguments are still arriving.
#[derive(Debug)]
struct OpenTool {
    /// The content-block index the events name it by.
    block: usize,
    /// The `input` of `content_block_start` (normally `{}`).
    input: Value,
    /// The `partial_json` pieces so far.
    json: String,
    /// Its arguments were sent.
    sent: bool,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: usize,
        content_block: ContentBlock,
    },
    ContentBlockDelta {
        index: usize,
        delta: Delta,
    },
    ContentBlockStop {
        index: usize,
    },
    MessageDelta {
        #[serde(default)]
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    MessageStop {},
    Ping {},
    Error {},
    /// Event types added later are skipped, as the API asks.
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Delta {
    #[serde(rename = "text_delta")]
    Text {
        #[serde(default)]
        text: String,
    },
    #[serde(rename = "input_json_delta")]
    InputJson {
        #[serde(default)]
        partial_json: String,
    },
    #[serde(rename = "thinking_delta")]
    Thinking {
        #[serde(default)]
        thinking: String,
    },
    /// `signature_delta`, `citations_delta` and later kinds carry nothing unified.
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

/// Turn one SSE event into stream events.
pub(super) fn parse_event(
    frame: &Frame,
    state: &mut AnthropicStreamState,
    out: &mut Vec<StreamEvent>,
) -> Result<Control> {
    let event: WireEvent = serde_json::from_str(&frame.data).map_err(|e| {
        let name = frame.event.as_deref().unwrap_or("message");
        Error::decode(format!(
            "the Anthropic stream sent a `{name}` event that could not be read: {e}"
        ))
    })?;
    match event {
        WireEvent::Ping {} | WireEvent::Unknown => return Ok(Control::Continue),
        WireEvent::Error {} => return Err(stream_error(&frame.data)),
        WireEvent::MessageStart { message } => {
            if !state.started {
                state.started = true;
                out.push(StreamEvent::Start {
                    id: message.id,
                    model: message.model,
                });
            }
            if let Some(usage) = message.usage {
                state.usage.merge(&usage);
                state.usage_seen = true;
            }
            return Ok(Control::Continue);
        }
        _ => {}
    }
    // A stream that skipped `message_start` still begins with `Start`.
    if !state.started {
        state.started = true;
        out.push(StreamEvent::Start {
            id: String::new(),
            model: String::new(),
        });
    }
    match event {
        WireEvent::ContentBlockStart {
            index,
            content_block,
        } => match content_block {
            ContentBlock::Text { text } => push_text(out, text),
            ContentBlock::Thinking { thinking } => push_reasoning(out, thinking),
            ContentBlock::ToolUse { id, name, input } => {
                out.push(StreamEvent::ToolCallStart {
                    index: state.tools.len(),
                    id,
                    name,
                });
                state.tools.push(OpenTool {
                    block: index,
                    input,
                    json: String::new(),
                    sent: false,
                });
            }
            ContentBlock::Other => {}
        },
        WireEvent::ContentBlockDelta { index, delta } => match delta {
            Delta::Text { text } => push_text(out, text),
            Delta::Thinking { thinking } => push_reasoning(out, thinking),
            Delta::InputJson { partial_json } => {
                if let Some(tool) = state.tools.iter_mut().rev().find(|t| t.block == index) {
                    tool.json.push_str(&partial_json);
                }
            }
            Delta::Other => {}
        },
        WireEvent::ContentBlockStop { index } => {
            if let Some(position) = state.tools.iter().rposition(|t| t.block == index) {
                flush_tool(state, position, out);
            }
        }
        WireEvent::MessageDelta { delta, usage } => {
            flush_tools(state, out);
            if let Some(usage) = usage {
                state.usage.merge(&usage);
                state.usage_seen = true;
            }
            if state.usage_seen {
                state.usage_sent = true;
                out.push(StreamEvent::Usage {
                    usage: state.usage.to_usage(),
                });
            }
            if let Some(reason) = delta.stop_reason {
                out.push(StreamEvent::Finish {
                    reason: finish_reason(&reason),
                });
            }
        }
        WireEvent::MessageStop {} => {
            flush_tools(state, out);
            if state.usage_seen && !state.usage_sent {
                state.usage_sent = true;
                out.push(StreamEvent::Usage {
                    usage: state.usage.to_usage(),
                });
            }
            return Ok(Control::Done);
        }
        WireEvent::MessageStart { .. }
        | WireEvent::Ping {}
        | WireEvent::Error {}
        | WireEvent::Unknown => {}
    }
    Ok(Control::Continue)
}

fn push_text(out: &mut Vec<StreamEvent>, text: String) {
    if !text.is_empty() {
        out.push(StreamEvent::TextDelta { text });
    }
}

fn push_reasoning(out: &mut Vec<StreamEvent>, text: String) {
    if !text.is_empty() {
        out.push(StreamEvent::ReasoningDelta { text });
    }
}

/// Send the arguments of the tool call at `position`, re-serialized like the
/// non-streamed `input` object (raw pieces when they are not valid JSON).
fn flush_tool(state: &mut AnthropicStreamState, position: usize, out: &mut Vec<StreamEvent>) {
    let Some(tool) = state.tools.get_mut(position) else {
        return;
    };
    if tool.sent {
        return;
    }
    tool.sent = true;
    let arguments = if tool.json.trim().is_empty() {
        arguments_text(&tool.input)
    } else {
        match serde_json::from_str::<Value>(&tool.json) {
            Ok(value) => arguments_text(&value),
            Err(_) => std::mem::take(&mut tool.json),
        }
    };
    out.push(StreamEvent::ToolCallDelta {
        index: position,
        arguments,
    });
}

fn flush_tools(state: &mut AnthropicStreamState, out: &mut Vec<StreamEvent>) {
    for position in 0..state.tools.len() {
        flush_tool(state, position, out);
    }
}

/// The error of an `event: error` frame, classified like an HTTP error body.
///
/// The stream itself answered 200, so the kind comes from the error `type`
/// (`overloaded_error`, `rate_limit_error`, `api_error`...) and the message;
/// the error carries no HTTP status. An error type the table does not know is
/// a server error: the request was accepted, the failure is the provider's.
fn stream_error(data: &str) -> Error {
    let parsed = parse_error_body(data.as_bytes()).unwrap_or_default();
    // Classified as if it were a 400 so that the error type, not a status, decides.
    let kind = match classify_http_error(400, &http::HeaderMap::new(), data.as_bytes()).kind() {
        ErrorKind::InvalidRequest if parsed.code.as_deref() != Some("invalid_request_error") => {
            ErrorKind::ServerError
        }
        kind => kind,
    };
    let message = parsed
        .message
        .unwrap_or_else(|| "an error event without a message".to_owned());
    let mut error = Error::new(kind, format!("the stream failed mid-way: {message}"))
        .with_body(data.as_bytes());
    if let Some(code) = parsed.code {
        error = error.with_code(code);
    }
    error
}
