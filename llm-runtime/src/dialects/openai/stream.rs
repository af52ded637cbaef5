use std::borrow::Cow;
use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::response::{WireCustom, WireUsage, decode_failure, error_value, finish_reason};
use crate::dialects::wire::null_as_default;
use crate::error::Result;
use crate::stream::ToolCallAssembler;
use crate::stream::{Control, Frame};
use crate::types::StreamEvent;

/// What the OpenAI stream parser remembers between chunks.
#[derive(Debug, Default)]
pub struct OpenAiStreamState {
    started: bool,
    calls: ToolCallAssembler,
    /// The positions of the calls already marked as custom tool calls.
    custom: HashSet<usize>,
}

/// Borrowed where the wire allows: the id and model repeat on every chunk but
/// are used once, so they are not copied per chunk.
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "null_as_default")]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default, deserialize_with = "null_as_default")]
    delta: Delta,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    tool_calls: Vec<ToolDelta>,
}

#[derive(Deserialize)]
struct ToolDelta {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
    /// A custom tool's call: its name and pieces of its raw input.
    #[serde(default)]
    custom: Option<WireCustom>,
}

#[derive(Deserialize, Default)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

/// Turn one SSE frame of a chat-completions stream into events.
pub(super) fn parse_event(
    frame: &Frame,
    state: &mut OpenAiStreamState,
    out: &mut Vec<StreamEvent>,
) -> Result<Control> {
    let data = frame.data.trim();
    if data == "[DONE]" {
        return Ok(Control::Done);
    }
    if data.is_empty() {
        return Ok(Control::Continue);
    }
    let chunk: Chunk<'_> = serde_json::from_str(data)
        .map_err(|e| decode_failure(data.as_bytes(), &e, "a stream chunk"))?;
    if let Some(e) = chunk.error.as_ref().and_then(error_value) {
        return Err(e);
    }
    if !state.started {
        state.started = true;
        out.push(StreamEvent::Start {
            id: chunk.id.map(Cow::into_owned).unwrap_or_default(),
            model: chunk.model.map(Cow::into_owned).unwrap_or_default(),
        });
    }
    if let Some(choice) = chunk.choices.into_iter().next() {
        on_choice(state, choice, out)?;
    }
    if let Some(usage) = chunk.usage {
        out.push(StreamEvent::Usage {
            usage: usage.into_usage(),
        });
    }
    Ok(Control::Continue)
}

/// The first choice's delta: reasoning, text, refusal and tool-call pieces,
/// then its finish reason.
fn on_choice(
    state: &mut OpenAiStreamState,
    choice: ChunkChoice,
    out: &mut Vec<StreamEvent>,
) -> Result<()> {
    let d = choice.delta;
    if let Some(text) = d
        .reasoning_content
        .or(d.reasoning)
        .filter(|s| !s.is_empty())
    {
        out.push(StreamEvent::ReasoningDelta { text });
    }
    if let Some(text) = d.content.filter(|s| !s.is_empty()) {
        out.push(StreamEvent::TextDelta { text });
    }
    if let Some(text) = d.refusal.filter(|s| !s.is_empty()) {
        out.push(StreamEvent::RefusalDelta { text });
    }
    for call in d.tool_calls {
        let (name, arguments, custom) = match (call.custom, call.function) {
            (Some(custom), _) => (custom.name, custom.input, true),
            (None, function) => {
                let function = function.unwrap_or_default();
                (function.name, function.arguments, false)
            }
        };
        let position = state.calls.push_events(
            call.index,
            call.id.as_deref(),
            name.as_deref(),
            arguments.as_deref().unwrap_or_default(),
            out,
        )?;
        if custom && state.custom.insert(position) {
            // Right after the call's start (and before its first input
            // piece), so the kind is known before the arguments are read.
            let at = out
                .iter()
                .rposition(
                    |e| matches!(e, StreamEvent::ToolCallStart { index, .. } if *index == position),
                )
                .map_or(out.len(), |i| i + 1);
            out.insert(at, StreamEvent::CustomToolCall { index: position });
        }
    }
    if let Some(reason) = choice.finish_reason.as_deref() {
        out.push(StreamEvent::Finish {
            reason: finish_reason(reason),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn run(chunks: &[&str]) -> Result<Vec<StreamEvent>> {
        let mut state = OpenAiStreamState::default();
        let mut out = Vec::new();
        for c in chunks {
            let frame = Frame {
                event: None,
                data: (*c).to_owned(),
            };
            if parse_event(&frame, &mut state, &mut out)? == Control::Done {
                break;
            }
        }
        Ok(out)
    }

    #[test]
    fn tool_calls_tolerate_missing_index_and_repeated_id() {
        let events = run(&[
            r#"{"id":"c","model":"m","choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"f","arguments":""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"call_a","function":{"name":"","arguments":"{\"a\""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"call_b","function":{"name":"g","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ])
        .unwrap();
        let starts: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, StreamEvent::ToolCallStart { .. }))
            .collect();
        assert_eq!(starts.len(), 2, "{events:?}");
        let mut acc = crate::stream::ResponseAccumulator::default();
        for e in events {
            acc.push(e);
        }
        let r = acc.finish();
        assert_eq!(r.message.tool_calls[0].arguments, r#"{"a":1}"#);
        assert_eq!(r.message.tool_calls[0].name, "f");
        assert_eq!(r.message.tool_calls[1].id, "call_b");
    }

    #[test]
    fn usage_chunk_with_empty_choices() {
        let events = run(&[r#"{"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#]).unwrap();
        assert!(
            matches!(events.last(), Some(StreamEvent::Usage { usage }) if usage.total_tokens == 7)
        );
    }

    #[test]
    fn a_huge_event_of_tool_deltas_is_linear_and_capped() {
        use crate::stream::MAX_TOOL_CALLS;
        // 150k deltas over the most calls allowed: each an O(1) look-up.
        let deltas: Vec<String> = (0..150_000)
            .map(|i| format!(r#"{{"index":{}}}"#, i % MAX_TOOL_CALLS))
            .collect();
        let chunk = format!(
            r#"{{"choices":[{{"delta":{{"tool_calls":[{}]}}}}]}}"#,
            deltas.join(",")
        );
        let events = run(&[&chunk]).unwrap();
        let starts = events
            .iter()
            .filter(|e| matches!(e, StreamEvent::ToolCallStart { .. }))
            .count();
        assert_eq!(starts, MAX_TOOL_CALLS);
        // One call more is a decode error that names the cap.
        let chunk = format!(
            r#"{{"choices":[{{"delta":{{"tool_calls":[{},{{"index":{MAX_TOOL_CALLS}}}]}}}}]}}"#,
            deltas[..MAX_TOOL_CALLS].join(",")
        );
        let e = run(&[&chunk]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(e.message().contains("MAX_TOOL_CALLS"), "{}", e.message());
    }

    #[test]
    fn malformed_and_error_chunks() {
        assert_eq!(run(&["{not json"]).unwrap_err().kind(), ErrorKind::Decode);
        let e = run(&[r#"{"error":{"message":"overloaded","type":"server_error"}}"#]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ServerError);
    }
}
