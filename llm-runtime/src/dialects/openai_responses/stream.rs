//! The Responses API's typed stream events -> `StreamEvent`s.

use serde::Deserialize;

use super::response::{Item, WireResponse, reasoning_blocks};
use crate::dialects::wire::null_as_default;
use crate::error::{Error, ErrorKind, Result};
use crate::stream::ToolCallAssembler;
use crate::stream::{Control, Frame};
use crate::types::StreamEvent;

/// The most output items one answer may hold; a stream that completes more
/// fails with [`ErrorKind::Decode`] rather than growing without bound.
pub const MAX_OUTPUT_ITEMS: usize = 4096;

/// What the Responses stream parser keeps between events.
#[derive(Debug, Default)]
pub struct OpenAiResponsesStreamState {
    started: bool,
    /// Function calls by `output_index`.
    calls: ToolCallAssembler,
    /// The items `response.output_item.done` gave whole (their ids and
    /// reasoning, without text or arguments), for a terminal event whose
    /// response leaves its `output` out.
    done: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum WireEvent {
    #[serde(rename = "response.created")]
    Created {
        #[serde(default, deserialize_with = "null_as_default")]
        response: WireResponse,
    },
    #[serde(rename = "response.output_item.added")]
    ItemAdded {
        #[serde(default)]
        output_index: Option<usize>,
        #[serde(default)]
        item: Option<Item>,
    },
    #[serde(rename = "response.output_item.done")]
    ItemDone {
        #[serde(default)]
        output_index: Option<usize>,
        #[serde(default)]
        item: Option<Item>,
    },
    #[serde(rename = "response.output_text.delta")]
    TextDelta {
        #[serde(default, deserialize_with = "null_as_default")]
        delta: String,
    },
    #[serde(rename = "response.refusal.delta")]
    RefusalDelta {
        #[serde(default, deserialize_with = "null_as_default")]
        delta: String,
    },
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningDelta {
        #[serde(default, deserialize_with = "null_as_default")]
        delta: String,
    },
    #[serde(rename = "response.function_call_arguments.delta")]
    ArgumentsDelta {
        #[serde(default)]
        output_index: Option<usize>,
        #[serde(default, deserialize_with = "null_as_default")]
        delta: String,
    },
    #[serde(rename = "response.completed")]
    Completed {
        #[serde(default, deserialize_with = "null_as_default")]
        response: WireResponse,
    },
    #[serde(rename = "response.incomplete")]
    Incomplete {
        #[serde(default, deserialize_with = "null_as_default")]
        response: WireResponse,
    },
    #[serde(rename = "response.failed")]
    Failed {
        #[serde(default, deserialize_with = "null_as_default")]
        response: WireResponse,
    },
    #[serde(rename = "error")]
    Error {},
    /// `response.in_progress`, `*.done`, part events, built-in tool events
    /// and event types added later carry nothing more.
    #[serde(other)]
    Other,
}

/// Turn one SSE event into stream events.
pub(super) fn parse_event(
    frame: &Frame,
    state: &mut OpenAiResponsesStreamState,
    out: &mut Vec<StreamEvent>,
) -> Result<Control> {
    let data = frame.data.trim();
    if data.is_empty() {
        return Ok(Control::Continue);
    }
    match read_event(frame, data)? {
        WireEvent::Error {} => Err(crate::error::stream_error(data.as_bytes())),
        WireEvent::Failed { response } => Err(response.failure(true).unwrap_or_else(|| {
            crate::error::stream_error(br#"{"error":{"message":"the response failed"}}"#)
        })),
        WireEvent::Created { response } => {
            start(state, out, response.id, response.model);
            Ok(Control::Continue)
        }
        event => {
            // A stream that skipped `response.created` still begins with `Start`.
            start(state, out, String::new(), String::new());
            on_answer_event(state, event, out)
        }
    }
}

fn read_event(frame: &Frame, data: &str) -> Result<WireEvent> {
    if data == "[DONE]" {
        return Err(Error::new(
            ErrorKind::StreamTruncated,
            "the stream said `[DONE]` before `response.completed`",
        ));
    }
    serde_json::from_str(data).map_err(|e| {
        let name = frame.event.as_deref().unwrap_or("message");
        Error::decode(format!(
            "the OpenAI Responses stream sent a `{name}` event that could not be read: {e}"
        ))
    })
}

/// An event of a started answer: a piece of its output, or its end.
fn on_answer_event(
    state: &mut OpenAiResponsesStreamState,
    event: WireEvent,
    out: &mut Vec<StreamEvent>,
) -> Result<Control> {
    match event {
        WireEvent::TextDelta { delta } => push(out, delta, |text| StreamEvent::TextDelta { text }),
        WireEvent::RefusalDelta { delta } => {
            push(out, delta, |text| StreamEvent::RefusalDelta { text });
        }
        WireEvent::ReasoningDelta { delta } => {
            push(out, delta, |text| StreamEvent::ReasoningDelta { text });
        }
        WireEvent::ItemAdded {
            output_index,
            item:
                Some(Item::FunctionCall {
                    call_id,
                    name,
                    arguments,
                    ..
                }),
        } => {
            state
                .calls
                .push_events(output_index, Some(&call_id), Some(&name), &arguments, out)?;
        }
        WireEvent::ArgumentsDelta {
            output_index,
            delta,
        } => {
            state
                .calls
                .push_events(output_index, None, None, &delta, out)?;
        }
        WireEvent::ItemDone {
            output_index,
            item: Some(item),
        } => item_done(state, output_index, item, out)?,
        WireEvent::Completed { response } | WireEvent::Incomplete { response } => {
            finish(state, response, out);
            return Ok(Control::Done);
        }
        _ => {}
    }
    Ok(Control::Continue)
}

fn start(
    state: &mut OpenAiResponsesStreamState,
    out: &mut Vec<StreamEvent>,
    id: String,
    model: String,
) {
    if !state.started {
        state.started = true;
        out.push(StreamEvent::Start { id, model });
    }
}

fn push(out: &mut Vec<StreamEvent>, text: String, event: fn(String) -> StreamEvent) {
    if !text.is_empty() {
        out.push(event(text));
    }
}

/// An item is complete: a function call's whole arguments replace its pieces
/// (or are its only piece), and the item is kept, without its text, for the
/// terminal event.
fn item_done(
    state: &mut OpenAiResponsesStreamState,
    output_index: Option<usize>,
    item: Item,
    out: &mut Vec<StreamEvent>,
) -> Result<()> {
    if state.done.len() >= MAX_OUTPUT_ITEMS {
        return Err(Error::decode(format!(
            "the answer holds more than {MAX_OUTPUT_ITEMS} output items (MAX_OUTPUT_ITEMS)"
        )));
    }
    let kept = match item {
        Item::FunctionCall {
            id,
            call_id,
            name,
            arguments,
        } => {
            let position =
                state
                    .calls
                    .push_events(output_index, Some(&call_id), Some(&name), "", out)?;
            let pieces = state.calls.get(position).map(|c| c.arguments.as_str());
            if pieces != Some(arguments.as_str()) {
                out.push(StreamEvent::ToolCallEnd {
                    index: position,
                    arguments,
                });
            }
            Item::FunctionCall {
                id,
                call_id,
                name,
                arguments: String::new(),
            }
        }
        Item::Message { id, .. } => Item::Message {
            id,
            content: Vec::new(),
        },
        item @ Item::Reasoning { .. } => item,
        Item::Other => return Ok(()),
    };
    state.done.push(kept);
    Ok(())
}

/// The terminal event: the reasoning blocks of the whole output (with their
/// ids and encrypted payloads), the usage and the finish reason.
fn finish(
    state: &mut OpenAiResponsesStreamState,
    mut response: WireResponse,
    out: &mut Vec<StreamEvent>,
) {
    let items = if response.output.is_empty() {
        std::mem::take(&mut state.done)
    } else {
        std::mem::take(&mut response.output)
    };
    for block in reasoning_blocks(&items) {
        out.push(StreamEvent::ReasoningDone { block });
    }
    if let Some(usage) = &response.usage {
        out.push(StreamEvent::Usage {
            usage: usage.to_usage(),
        });
    }
    let made_calls =
        !state.calls.is_empty() || items.iter().any(|i| matches!(i, Item::FunctionCall { .. }));
    out.push(StreamEvent::Finish {
        reason: response.finish_reason(made_calls),
    });
}
