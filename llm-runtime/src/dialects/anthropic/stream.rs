//! The Messages API event stream -> `StreamEvent`s.

use serde::Deserialize;
use serde_json::Value;

use super::response::{ContentBlock, SOURCE, WireUsage, arguments_text, finish_reason};
use crate::dialects::wire::null_as_default;
use crate::error::{Error, Result};
use crate::provider::{Control, Frame};
use crate::stream::ToolCallAssembler;
use crate::types::{ReasoningAnchor, StreamEvent};

/// What the Anthropic stream parser keeps between events.
#[derive(Debug, Default)]
pub struct AnthropicStreamState {
    started: bool,
    /// Tool-use blocks by content-block index, their `partial_json` pieces
    /// gathered as arguments (a call's position is its order of appearance).
    calls: ToolCallAssembler,
    /// What each call's position holds besides: the `input` of its
    /// `content_block_start` (normally `{}`), and whether its arguments were sent.
    tools: Vec<(Value, bool)>,
    usage: WireUsage,
    usage_seen: bool,
    usage_sent: bool,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        #[serde(default, deserialize_with = "null_as_default")]
        message: StartMessage,
    },
    /// A missing or `null` index means the block the stream is on: the last one.
    ContentBlockStart {
        #[serde(default)]
        index: Option<usize>,
        #[serde(default, deserialize_with = "null_as_default")]
        content_block: ContentBlock,
    },
    ContentBlockDelta {
        #[serde(default)]
        index: Option<usize>,
        delta: Delta,
    },
    ContentBlockStop {
        #[serde(default)]
        index: Option<usize>,
    },
    MessageDelta {
        #[serde(default, deserialize_with = "null_as_default")]
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

#[derive(Deserialize, Default)]
struct StartMessage {
    #[serde(default, deserialize_with = "null_as_default")]
    id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    model: String,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Delta {
    #[serde(rename = "text_delta")]
    Text {
        #[serde(default, deserialize_with = "null_as_default")]
        text: String,
    },
    #[serde(rename = "input_json_delta")]
    InputJson {
        #[serde(default, deserialize_with = "null_as_default")]
        partial_json: String,
    },
    #[serde(rename = "thinking_delta")]
    Thinking {
        #[serde(default, deserialize_with = "null_as_default")]
        thinking: String,
    },
    #[serde(rename = "signature_delta")]
    Signature {
        #[serde(default, deserialize_with = "null_as_default")]
        signature: String,
    },
    /// `citations_delta` and later kinds carry nothing unified.
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
    let event = read_event(frame)?;
    match event {
        WireEvent::Ping {} | WireEvent::Unknown => return Ok(Control::Continue),
        WireEvent::Error {} => return Err(stream_error(&frame.data)),
        WireEvent::MessageStart { message } => {
            on_message_start(state, message, out);
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
        } => on_block_start(state, index, content_block, out)?,
        WireEvent::ContentBlockDelta { index, delta } => on_block_delta(state, index, delta, out)?,
        WireEvent::ContentBlockStop { index } => {
            if let Some(position) = state.calls.find(index, None) {
                flush_tool(state, position, out);
            }
        }
        WireEvent::MessageDelta { delta, usage } => on_message_delta(state, delta, usage, out),
        WireEvent::MessageStop {} => {
            on_message_stop(state, out);
            return Ok(Control::Done);
        }
        WireEvent::MessageStart { .. }
        | WireEvent::Ping {}
        | WireEvent::Error {}
        | WireEvent::Unknown => {}
    }
    Ok(Control::Continue)
}

fn read_event(frame: &Frame) -> Result<WireEvent> {
    serde_json::from_str(&frame.data).map_err(|e| {
        let name = frame.event.as_deref().unwrap_or("message");
        Error::decode(format!(
            "the Anthropic stream sent a `{name}` event that could not be read: {e}"
        ))
    })
}

fn on_message_start(
    state: &mut AnthropicStreamState,
    message: StartMessage,
    out: &mut Vec<StreamEvent>,
) {
    // The stream driver forwards the first `Start` only.
    state.started = true;
    out.push(StreamEvent::Start {
        id: message.id,
        model: message.model,
    });
    if let Some(usage) = message.usage {
        state.usage.merge(&usage);
        state.usage_seen = true;
    }
}

fn on_block_start(
    state: &mut AnthropicStreamState,
    index: Option<usize>,
    block: ContentBlock,
    out: &mut Vec<StreamEvent>,
) -> Result<()> {
    match block {
        ContentBlock::Text { text } => push_text(out, text),
        ContentBlock::Thinking {
            thinking,
            signature,
        } => {
            push_reasoning(out, thinking);
            push_signature(out, signature.unwrap_or_default());
        }
        ContentBlock::RedactedThinking { data } => out.push(StreamEvent::RedactedReasoning {
            data,
            source: SOURCE.to_owned(),
        }),
        ContentBlock::ToolUse { id, name, input } => {
            let position = state
                .calls
                .push_events(index, Some(&id), Some(&name), "", out)?;
            if position == state.tools.len() {
                state.tools.push((input, false));
            }
        }
        ContentBlock::Other => {}
    }
    Ok(())
}

fn on_block_delta(
    state: &mut AnthropicStreamState,
    index: Option<usize>,
    delta: Delta,
    out: &mut Vec<StreamEvent>,
) -> Result<()> {
    match delta {
        Delta::Text { text } => push_text(out, text),
        Delta::Thinking { thinking } => push_reasoning(out, thinking),
        Delta::Signature { signature } => push_signature(out, signature),
        // Each piece is handed on as it arrives; pieces for a block that
        // is not a tool call are dropped.
        Delta::InputJson { partial_json } => {
            if state.calls.find(index, None).is_some() {
                state
                    .calls
                    .push_events(index, None, None, &partial_json, out)?;
            }
        }
        Delta::Other => {}
    }
    Ok(())
}

fn on_message_delta(
    state: &mut AnthropicStreamState,
    delta: MessageDeltaBody,
    usage: Option<WireUsage>,
    out: &mut Vec<StreamEvent>,
) {
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

/// Tool calls not yet ended end here, and usage goes out if no
/// `message_delta` carried it.
fn on_message_stop(state: &mut AnthropicStreamState, out: &mut Vec<StreamEvent>) {
    flush_tools(state, out);
    if state.usage_seen && !state.usage_sent {
        state.usage_sent = true;
        out.push(StreamEvent::Usage {
            usage: state.usage.to_usage(),
        });
    }
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

/// A thinking block's signature closes the block (sent once, just before its stop).
fn push_signature(out: &mut Vec<StreamEvent>, signature: String) {
    if !signature.is_empty() {
        out.push(StreamEvent::ReasoningSignature {
            signature,
            source: SOURCE.to_owned(),
            anchor: ReasoningAnchor::Own,
        });
    }
}

/// End the tool call at `position`: its pieces went out as they arrived, so
/// the whole arguments follow, re-serialized like the non-streamed `input`
/// object (the raw pieces keep the model's whitespace; raw when not valid
/// JSON), as a [`StreamEvent::ToolCallEnd`] when they differ from the pieces,
/// or as the only [`StreamEvent::ToolCallDelta`] when no piece came.
fn flush_tool(state: &mut AnthropicStreamState, position: usize, out: &mut Vec<StreamEvent>) {
    let (Some((input, sent)), Some(call)) =
        (state.tools.get_mut(position), state.calls.get(position))
    else {
        return;
    };
    if *sent {
        return;
    }
    *sent = true;
    let json = call.arguments.as_str();
    if json.is_empty() {
        out.push(StreamEvent::ToolCallDelta {
            index: position,
            arguments: arguments_text(input),
        });
        return;
    }
    let arguments = if json.trim().is_empty() {
        arguments_text(input)
    } else {
        match serde_json::from_str::<Value>(json) {
            Ok(value) => arguments_text(&value),
            Err(_) => json.to_owned(),
        }
    };
    if arguments != json {
        out.push(StreamEvent::ToolCallEnd {
            index: position,
            arguments,
        });
    }
}

fn flush_tools(state: &mut AnthropicStreamState, out: &mut Vec<StreamEvent>) {
    for position in 0..state.tools.len() {
        flush_tool(state, position, out);
    }
}

/// The error of an `event: error` frame, classified by the one in-band table.
///
/// The stream itself answered 200, so the kind comes from the error `type`
/// (`overloaded_error`, `rate_limit_error`, `api_error`...) and the message;
/// the error carries no HTTP status. An error type the table does not know is
/// a server error: the request was accepted, the failure is the provider's.
fn stream_error(data: &str) -> Error {
    crate::error::stream_error(data.as_bytes())
}
