//! The Messages API event stream -> `StreamEvent`s.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::response::{ContentBlock, RawBlock, SOURCE, WireUsage, finish_reason};
use crate::dialects::raw_json::streamed_arguments;
use crate::dialects::wire::null_as_default;
use crate::error::{Error, Result};
use crate::stream::ToolCallAssembler;
use crate::stream::{Control, Frame};
use crate::types::{ReasoningAnchor, StreamEvent};

/// What the Anthropic stream parser keeps between events.
#[derive(Debug, Default)]
pub struct AnthropicStreamState {
    started: bool,
    /// Tool-use blocks by content-block index, their `partial_json` pieces
    /// gathered as arguments (a call's position is its order of appearance).
    calls: ToolCallAssembler,
    /// What each call's position holds besides: the `input` text of its
    /// `content_block_start` (normally `{}`), and whether its arguments were sent.
    tools: Vec<(String, bool)>,
    usage: WireUsage,
    usage_seen: bool,
    usage_sent: bool,
}

/// One event, read from a [`RawEvent`] as its `type` says.
enum WireEvent {
    MessageStart {
        message: StartMessage,
    },
    /// A missing or `null` index means the block the stream is on: the last one.
    ContentBlockStart {
        index: Option<usize>,
        content_block: ContentBlock,
    },
    ContentBlockDelta {
        index: Option<usize>,
        delta: Delta,
    },
    ContentBlockStop {
        index: Option<usize>,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        usage: Option<WireUsage>,
    },
    MessageStop,
    Ping,
    Error,
    /// Event types added later are skipped, as the API asks.
    Unknown,
}

/// An event as it came: its `type` and the JSON text of each field. A
/// `#[serde(tag = "type")]` enum would buffer the event as a tree first,
/// re-encoding the `input` of a `tool_use` block in `content_block_start`.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    index: Option<&'a RawValue>,
    #[serde(default, borrow)]
    message: Option<&'a RawValue>,
    #[serde(default, borrow)]
    content_block: Option<&'a RawValue>,
    #[serde(default, borrow)]
    delta: Option<&'a RawValue>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
}

/// A field's value (`None` when missing or `null`).
fn field<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> serde_json::Result<Option<T>> {
    raw.map_or(Ok(None), |raw| serde_json::from_str(raw.get()))
}

impl<'a> RawEvent<'a> {
    /// The event its `type` names, with the fields that type has.
    fn read(&self) -> serde_json::Result<WireEvent> {
        let index = || field::<usize>(self.index);
        Ok(match &*self.kind {
            "message_start" => WireEvent::MessageStart {
                message: field(self.message)?.unwrap_or_default(),
            },
            "content_block_start" => WireEvent::ContentBlockStart {
                index: index()?,
                content_block: match field::<RawBlock<'a>>(self.content_block)? {
                    Some(block) => block.read()?,
                    None => ContentBlock::Other,
                },
            },
            "content_block_delta" => WireEvent::ContentBlockDelta {
                index: index()?,
                delta: field(self.delta)?.ok_or_else(|| {
                    <serde_json::Error as serde::de::Error>::missing_field("delta")
                })?,
            },
            "content_block_stop" => WireEvent::ContentBlockStop { index: index()? },
            "message_delta" => WireEvent::MessageDelta {
                delta: field(self.delta)?.unwrap_or_default(),
                usage: field(self.usage)?,
            },
            "message_stop" => WireEvent::MessageStop,
            "ping" => WireEvent::Ping,
            "error" => WireEvent::Error,
            _ => WireEvent::Unknown,
        })
    }
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
        WireEvent::Ping | WireEvent::Unknown => return Ok(Control::Continue),
        WireEvent::Error => return Err(stream_error(&frame.data)),
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
        WireEvent::MessageStop => {
            on_message_stop(state, out);
            return Ok(Control::Done);
        }
        WireEvent::MessageStart { .. }
        | WireEvent::Ping
        | WireEvent::Error
        | WireEvent::Unknown => {}
    }
    Ok(Control::Continue)
}

fn read_event(frame: &Frame) -> Result<WireEvent> {
    let read = serde_json::from_str::<RawEvent<'_>>(&frame.data).and_then(|raw| raw.read());
    read.map_err(|e| {
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
        ContentBlock::ToolUse {
            id,
            name,
            arguments,
        } => {
            let position = state
                .calls
                .push_events(index, Some(&id), Some(&name), "", out)?;
            if position == state.tools.len() {
                state.tools.push((arguments, false));
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
/// the whole arguments follow as the non-streamed `input` gives them (the
/// model's text, only the whitespace between tokens taken out; the pieces as
/// they are when not valid JSON), as a [`StreamEvent::ToolCallEnd`] when they
/// differ from the pieces, or as the only [`StreamEvent::ToolCallDelta`]
/// (the `content_block_start`'s `input`) when no piece came.
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
            arguments: std::mem::take(input),
        });
        return;
    }
    let arguments = if json.trim().is_empty() {
        std::mem::take(input)
    } else {
        match streamed_arguments(json) {
            Some(arguments) => arguments,
            None => return,
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
