//! The ConverseStream events (AWS event stream frames) -> `StreamEvent`s.

use serde::Deserialize;
use serde_json::Value;

use super::SOURCE;
use super::response::{ToolUse, WireUsage, finish_reason};
use crate::dialects::raw_json::{arguments_text, streamed_arguments};
use crate::dialects::wire::null_as_default;
use crate::error::{Error, ErrorKind, Result, classify_kind};
use crate::stream::ToolCallAssembler;
use crate::stream::{Control, Frame};
use crate::types::{ReasoningAnchor, StreamEvent};

/// What the Converse stream parser keeps between events.
#[derive(Debug, Default)]
pub struct ConverseStreamState {
    started: bool,
    /// Tool-use blocks by content-block index, their input pieces gathered.
    calls: ToolCallAssembler,
    /// Whether each call's whole arguments were handed on.
    flushed: Vec<bool>,
    /// `messageStop` was seen: the answer is complete, `metadata` may follow.
    stopped: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart {
    #[serde(default)]
    content_block_index: Option<usize>,
    #[serde(default, deserialize_with = "null_as_default")]
    start: StartBody,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    #[serde(default)]
    tool_use: Option<ToolUse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta {
    #[serde(default)]
    content_block_index: Option<usize>,
    #[serde(default, deserialize_with = "null_as_default")]
    delta: DeltaBody,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DeltaBody {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tool_use: Option<ToolInputDelta>,
    #[serde(default)]
    reasoning_content: Option<ReasoningDelta>,
}

#[derive(Deserialize, Default)]
struct ToolInputDelta {
    #[serde(default, deserialize_with = "null_as_default")]
    input: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ReasoningDelta {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    redacted_content: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStop {
    #[serde(default)]
    content_block_index: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStop {
    #[serde(default)]
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    usage: Option<WireUsage>,
}

fn read<'a, T: Deserialize<'a>>(frame: &'a Frame, name: &str) -> Result<T> {
    serde_json::from_str(&frame.data).map_err(|e| {
        Error::decode(format!(
            "the Bedrock stream sent a `{name}` event that could not be read: {e}"
        ))
    })
}

/// Turn one event stream message into stream events.
pub(super) fn parse_event(
    frame: &Frame,
    state: &mut ConverseStreamState,
    out: &mut Vec<StreamEvent>,
) -> Result<Control> {
    let name = frame.event.as_deref().unwrap_or("");
    if let Some(kind) = name.strip_prefix("exception:") {
        return Err(stream_exception(kind, &frame.data));
    }
    if !state.started {
        state.started = true;
        out.push(StreamEvent::Start {
            id: String::new(),
            model: String::new(),
        });
    }
    match name {
        "messageStart" => {}
        "contentBlockStart" => on_block_start(state, read(frame, name)?, out)?,
        "contentBlockDelta" => on_block_delta(state, read(frame, name)?, out)?,
        "contentBlockStop" => {
            let stop: BlockStop = read(frame, name)?;
            if let Some(position) = state.calls.find(stop.content_block_index, None) {
                flush_tool(state, position, out);
            }
        }
        "messageStop" => on_message_stop(state, read(frame, name)?, out),
        "metadata" => {
            on_metadata(state, read(frame, name)?, out);
            // The last event of a ConverseStream answer.
            return Ok(Control::Done);
        }
        // Event types added later are skipped.
        _ => {}
    }
    Ok(Control::Continue)
}

fn on_block_start(
    state: &mut ConverseStreamState,
    start: BlockStart,
    out: &mut Vec<StreamEvent>,
) -> Result<()> {
    if let Some(tool) = start.start.tool_use {
        let position = state.calls.push_events(
            start.content_block_index,
            Some(&tool.tool_use_id),
            Some(&tool.name),
            "",
            out,
        )?;
        if position == state.flushed.len() {
            state.flushed.push(false);
        }
    }
    Ok(())
}

fn on_block_delta(
    state: &mut ConverseStreamState,
    BlockDelta {
        content_block_index: index,
        delta,
    }: BlockDelta,
    out: &mut Vec<StreamEvent>,
) -> Result<()> {
    if let Some(text) = delta.text.filter(|t| !t.is_empty()) {
        out.push(StreamEvent::TextDelta { text });
    }
    // Input pieces for a block that is not a tool call are dropped.
    if let Some(tool) = delta.tool_use
        && state.calls.find(index, None).is_some()
    {
        state
            .calls
            .push_events(index, None, None, &tool.input, out)?;
    }
    if let Some(reasoning) = delta.reasoning_content {
        push_reasoning(reasoning, out);
    }
    Ok(())
}

fn push_reasoning(reasoning: ReasoningDelta, out: &mut Vec<StreamEvent>) {
    if let Some(text) = reasoning.text.filter(|t| !t.is_empty()) {
        out.push(StreamEvent::ReasoningDelta { text });
    }
    if let Some(signature) = reasoning.signature.filter(|s| !s.is_empty()) {
        out.push(StreamEvent::ReasoningSignature {
            signature,
            source: SOURCE.to_owned(),
            anchor: ReasoningAnchor::Own,
        });
    }
    if let Some(data) = reasoning.redacted_content {
        out.push(StreamEvent::RedactedReasoning {
            data,
            source: SOURCE.to_owned(),
        });
    }
}

fn on_message_stop(state: &mut ConverseStreamState, stop: MessageStop, out: &mut Vec<StreamEvent>) {
    flush_tools(state, out);
    state.stopped = true;
    if let Some(reason) = stop.stop_reason {
        out.push(StreamEvent::Finish {
            reason: finish_reason(&reason),
        });
    }
}

fn on_metadata(state: &mut ConverseStreamState, metadata: Metadata, out: &mut Vec<StreamEvent>) {
    flush_tools(state, out);
    if let Some(usage) = metadata.usage {
        out.push(StreamEvent::Usage {
            usage: usage.to_usage(),
        });
    }
}

/// The stream ended: complete after `messageStop` (the `metadata` event with
/// usage is the only thing missing), truncated before it.
pub(super) fn finish(state: &mut ConverseStreamState, out: &mut Vec<StreamEvent>) -> Result<()> {
    if state.stopped {
        flush_tools(state, out);
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::StreamTruncated,
        "the Bedrock stream ended before its `messageStop` event",
    ))
}

/// End the tool call at `position`: its pieces went out as they arrived; the
/// arguments as the non-streamed `input` gives them (the same text, only the
/// whitespace between tokens taken out) follow as a
/// [`StreamEvent::ToolCallEnd`] where they differ from the pieces, or as the
/// only value when no piece came. Pieces that are not JSON stay as they are.
fn flush_tool(state: &mut ConverseStreamState, position: usize, out: &mut Vec<StreamEvent>) {
    let (Some(flushed), Some(call)) = (state.flushed.get_mut(position), state.calls.get(position))
    else {
        return;
    };
    if *flushed {
        return;
    }
    *flushed = true;
    let json = call.arguments.as_str();
    let arguments = if json.trim().is_empty() {
        arguments_text(None)
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

fn flush_tools(state: &mut ConverseStreamState, out: &mut Vec<StreamEvent>) {
    for position in 0..state.flushed.len() {
        flush_tool(state, position, out);
    }
}

/// An exception message in the stream (`throttlingException`,
/// `modelStreamErrorException`...): the stream answered 200, so the kind
/// comes from the exception's name, as for an HTTP error's `x-amzn-errortype`.
fn stream_exception(kind: &str, payload: &str) -> Error {
    let code = super::exception_name(kind);
    let message = serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("Message"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| format!("the Bedrock stream failed with {code}"));
    let kind = classify_kind(200, &[Some(&code)], Some(&message));
    Error::new(kind, message)
        .with_code(code)
        .with_body(payload.as_bytes())
}
