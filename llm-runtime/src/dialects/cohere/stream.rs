//! Turning Cohere v2's typed stream events into [`StreamEvent`]s.

use serde_json::Value;

use crate::error::{Error, Result, stream_error};
use crate::stream::ToolCallAssembler;
use crate::stream::{Control, Frame};
use crate::types::StreamEvent;

use super::response::{arguments_text, finish_reason, usage};

/// What the Cohere stream parser keeps between events.
#[derive(Debug, Default)]
pub struct CohereStreamState {
    started: bool,
    calls: ToolCallAssembler,
}

fn text_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The tool call of a `tool-call-start`/`tool-call-delta` event: an object
/// (as Cohere sends it), or the first element of an array.
fn tool_call(v: &Value) -> Option<&Value> {
    match v.pointer("/delta/message/tool_calls")? {
        Value::Array(calls) => calls.first(),
        call => Some(call),
    }
}

/// Parse one SSE event. The event's `type` field names it (the SSE `event:`
/// name is the fallback); unknown types (citations, future ones) are skipped.
pub(super) fn parse_event(
    frame: &Frame,
    state: &mut CohereStreamState,
    out: &mut Vec<StreamEvent>,
) -> Result<Control> {
    let data = frame.data.trim();
    if data.is_empty() {
        return Ok(Control::Continue);
    }
    let v = read_object(data)?;
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .or(frame.event.as_deref())
        .unwrap_or_default();
    if !state.started {
        state.started = true;
        out.push(StreamEvent::Start {
            id: if kind == "message-start" {
                text_at(&v, "/id").unwrap_or_default().to_owned()
            } else {
                String::new()
            },
            model: String::new(),
        });
    }
    match kind {
        "content-start" | "content-delta" => on_content(&v, out),
        "tool-plan-delta" => {
            if let Some(text) = text_at(&v, "/delta/message/tool_plan") {
                out.push(StreamEvent::ReasoningDelta {
                    text: text.to_owned(),
                });
            }
        }
        "tool-call-start" | "tool-call-delta" => on_tool_call(&v, state, out)?,
        "message-end" => {
            on_message_end(&v, out)?;
            return Ok(Control::Done);
        }
        _ => {}
    }
    Ok(Control::Continue)
}

fn read_object(data: &str) -> Result<Value> {
    let v: Value = serde_json::from_str(data)
        .map_err(|e| Error::decode(format!("Cohere sent a stream event that is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(Error::decode(
            "Cohere sent a stream event that is not a JSON object",
        ));
    }
    Ok(v)
}

/// A `content-start`/`content-delta` event: a thinking or a text piece.
fn on_content(v: &Value, out: &mut Vec<StreamEvent>) {
    if let Some(text) = text_at(v, "/delta/message/content/thinking") {
        out.push(StreamEvent::ReasoningDelta {
            text: text.to_owned(),
        });
    }
    if let Some(text) = text_at(v, "/delta/message/content/text") {
        out.push(StreamEvent::TextDelta {
            text: text.to_owned(),
        });
    }
}

fn on_tool_call(
    v: &Value,
    state: &mut CohereStreamState,
    out: &mut Vec<StreamEvent>,
) -> Result<()> {
    let index = v
        .get("index")
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok());
    let call = tool_call(v);
    let id = call.and_then(|c| c.get("id")).and_then(Value::as_str);
    let function = call.and_then(|c| c.get("function"));
    let name = function.and_then(|f| f.get("name")).and_then(Value::as_str);
    let arguments = arguments_text(function.and_then(|f| f.get("arguments")));
    state.calls.push_events(index, id, name, &arguments, out)?;
    Ok(())
}

/// The `message-end` event: usage and the finish reason, or an in-band error.
fn on_message_end(v: &Value, out: &mut Vec<StreamEvent>) -> Result<()> {
    if text_at(v, "/delta/error").is_some() {
        // `delta` is `{"finish_reason":"ERROR","error":"..."}`: an in-band error.
        let delta = v.get("delta").map(Value::to_string).unwrap_or_default();
        return Err(stream_error(delta.as_bytes()));
    }
    if let Some(usage) = v.pointer("/delta/usage").and_then(usage) {
        out.push(StreamEvent::Usage { usage });
    }
    if let Some(reason) = text_at(v, "/delta/finish_reason") {
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
    use crate::types::{FinishReason, Usage};

    fn run(events: &[(&str, &str)]) -> (Vec<StreamEvent>, Result<Control>) {
        let mut state = CohereStreamState::default();
        let mut out = Vec::new();
        let mut last = Ok(Control::Continue);
        for (event, data) in events {
            let frame = Frame {
                event: Some((*event).to_owned()),
                data: (*data).to_owned(),
            };
            last = parse_event(&frame, &mut state, &mut out);
            if !matches!(last, Ok(Control::Continue)) {
                break;
            }
        }
        (out, last)
    }

    #[test]
    fn text_stream() {
        let (events, last) = run(&[
            (
                "message-start",
                r#"{"id":"m1","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}"#,
            ),
            (
                "content-start",
                r#"{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"text","text":""}}}}"#,
            ),
            (
                "content-delta",
                r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"Hel"}}}}"#,
            ),
            (
                "content-delta",
                r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"lo"}}}}"#,
            ),
            ("content-end", r#"{"type":"content-end","index":0}"#),
            (
                "citation-start",
                r#"{"type":"citation-start","index":0,"delta":{"message":{"citations":{"start":0,"end":1}}}}"#,
            ),
            (
                "message-end",
                r#"{"type":"message-end","delta":{"finish_reason":"MAX_TOKENS","usage":{"billed_units":{"input_tokens":3,"output_tokens":2},"tokens":{"input_tokens":70,"output_tokens":2}}}}"#,
            ),
        ]);
        assert!(matches!(last, Ok(Control::Done)));
        assert_eq!(
            events,
            vec![
                StreamEvent::Start {
                    id: "m1".into(),
                    model: String::new()
                },
                StreamEvent::TextDelta { text: "Hel".into() },
                StreamEvent::TextDelta { text: "lo".into() },
                StreamEvent::Usage {
                    usage: Usage::new(3, 2)
                },
                StreamEvent::Finish {
                    reason: FinishReason::Length
                },
            ]
        );
    }

    #[test]
    fn thinking_plan_and_parallel_tool_calls() {
        let (events, last) = run(&[
            (
                "message-start",
                r#"{"id":"m2","type":"message-start","delta":{"message":{"role":"assistant"}}}"#,
            ),
            (
                "content-start",
                r#"{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"thinking","thinking":""}}}}"#,
            ),
            (
                "content-delta",
                r#"{"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":"Hmm"}}}}"#,
            ),
            (
                "tool-plan-delta",
                r#"{"type":"tool-plan-delta","delta":{"message":{"tool_plan":"Plan"}}}"#,
            ),
            (
                "tool-call-start",
                r#"{"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"a_1","type":"function","function":{"name":"a","arguments":""}}}}}"#,
            ),
            (
                "tool-call-delta",
                r#"{"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"{\"x\""}}}}}"#,
            ),
            (
                "tool-call-start",
                r#"{"type":"tool-call-start","index":1,"delta":{"message":{"tool_calls":[{"id":"b_1","type":"function","function":{"name":"b","arguments":"{"}}]}}}"#,
            ),
            (
                "tool-call-delta",
                r#"{"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":":1}"}}}}}"#,
            ),
            (
                "tool-call-delta",
                r#"{"type":"tool-call-delta","index":1,"delta":{"message":{"tool_calls":{"function":{"arguments":"}"}}}}}"#,
            ),
            ("tool-call-end", r#"{"type":"tool-call-end","index":1}"#),
            (
                "message-end",
                r#"{"type":"message-end","delta":{"finish_reason":"TOOL_CALL"}}"#,
            ),
        ]);
        assert!(matches!(last, Ok(Control::Done)));
        assert_eq!(
            &events[1..],
            &[
                StreamEvent::ReasoningDelta { text: "Hmm".into() },
                StreamEvent::ReasoningDelta {
                    text: "Plan".into()
                },
                StreamEvent::ToolCallStart {
                    index: 0,
                    id: "a_1".into(),
                    name: "a".into()
                },
                StreamEvent::ToolCallDelta {
                    index: 0,
                    arguments: "{\"x\"".into()
                },
                StreamEvent::ToolCallStart {
                    index: 1,
                    id: "b_1".into(),
                    name: "b".into()
                },
                StreamEvent::ToolCallDelta {
                    index: 1,
                    arguments: "{".into()
                },
                StreamEvent::ToolCallDelta {
                    index: 0,
                    arguments: ":1}".into()
                },
                StreamEvent::ToolCallDelta {
                    index: 1,
                    arguments: "}".into()
                },
                StreamEvent::Finish {
                    reason: FinishReason::ToolCalls
                },
            ]
        );
    }

    #[test]
    fn type_falls_back_to_the_event_name() {
        let (events, _) = run(&[(
            "content-delta",
            r#"{"delta":{"message":{"content":{"text":"x"}}}}"#,
        )]);
        assert_eq!(events[1], StreamEvent::TextDelta { text: "x".into() });
    }

    #[test]
    fn error_at_message_end_fails() {
        let (_, last) = run(&[(
            "message-end",
            r#"{"type":"message-end","delta":{"finish_reason":"ERROR","error":"internal failure"}}"#,
        )]);
        let e = last.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ServerError);
        assert!(e.message().contains("internal failure"));
    }

    #[test]
    fn malformed_events_are_decode_errors() {
        for bad in ["{\"type\":", "[DONE]", "42", "\"text\""] {
            assert_eq!(
                run(&[("content-delta", bad)]).1.unwrap_err().kind(),
                ErrorKind::Decode,
                "{bad}"
            );
        }
    }
}
