//! Turning Ollama's NDJSON stream lines into [`StreamEvent`]s.

use crate::error::Result;
use crate::stream::ToolCallAssembler;
use crate::stream::{Control, Frame};
use crate::types::StreamEvent;

use super::response::{ChatObject, finish_reason};

/// What the Ollama stream parser keeps between lines.
#[derive(Debug, Default)]
pub struct OllamaStreamState {
    started: bool,
    /// Tool calls seen so far (each arrives whole); their number is the next
    /// call's position, and its `call_N` id.
    calls: ToolCallAssembler,
}

/// Parse one NDJSON line: text, thinking and whole tool calls while `done` is
/// false, then usage and the finish reason on the `"done": true` line.
pub(super) fn parse_event(
    frame: &Frame,
    state: &mut OllamaStreamState,
    out: &mut Vec<StreamEvent>,
) -> Result<Control> {
    let line = frame.data.trim();
    if line.is_empty() {
        return Ok(Control::Continue);
    }
    let object = ChatObject::parse(line.as_bytes(), "a stream line")?;
    if let Some(e) = object.error() {
        return Err(e);
    }
    if !state.started {
        state.started = true;
        out.push(StreamEvent::Start {
            id: String::new(),
            model: object.model.clone().unwrap_or_default(),
        });
    }
    if let Some(message) = &object.message {
        if let Some(text) = message.thinking.as_deref().filter(|t| !t.is_empty()) {
            out.push(StreamEvent::ReasoningDelta {
                text: text.to_owned(),
            });
        }
        if let Some(text) = message.content.as_deref().filter(|t| !t.is_empty()) {
            out.push(StreamEvent::TextDelta {
                text: text.to_owned(),
            });
        }
        for wire in message.tool_calls.iter().flatten() {
            let call = wire.to_tool_call(state.calls.len());
            state.calls.push_whole(call, out)?;
        }
    }
    if !object.done {
        return Ok(Control::Continue);
    }
    if let Some(usage) = object.usage() {
        out.push(StreamEvent::Usage { usage });
    }
    out.push(StreamEvent::Finish {
        reason: finish_reason(object.done_reason.as_deref(), !state.calls.is_empty()),
    });
    Ok(Control::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::types::{FinishReason, Usage};

    fn run(lines: &[&str]) -> (Vec<StreamEvent>, Result<Control>) {
        let mut state = OllamaStreamState::default();
        let mut out = Vec::new();
        let mut last = Ok(Control::Continue);
        for line in lines {
            let frame = Frame {
                event: None,
                data: (*line).to_owned(),
            };
            last = parse_event(&frame, &mut state, &mut out);
            if !matches!(last, Ok(Control::Continue)) {
                break;
            }
        }
        (out, last)
    }

    #[test]
    fn text_thinking_usage_finish() {
        let (events, last) = run(&[
            r#"{"model":"qwen3","created_at":"t","message":{"role":"assistant","content":"","thinking":"Hmm"},"done":false}"#,
            r#"{"model":"qwen3","created_at":"t","message":{"role":"assistant","content":"Hel"},"done":false}"#,
            "",
            r#"{"model":"qwen3","created_at":"t","message":{"role":"assistant","content":"lo"},"done":false}"#,
            r#"{"model":"qwen3","created_at":"t","message":{"role":"assistant","content":""},"done":true,"done_reason":"length","prompt_eval_count":5,"eval_count":3}"#,
        ]);
        assert!(matches!(last, Ok(Control::Done)));
        assert_eq!(
            events,
            vec![
                StreamEvent::Start {
                    id: String::new(),
                    model: "qwen3".into()
                },
                StreamEvent::ReasoningDelta { text: "Hmm".into() },
                StreamEvent::TextDelta { text: "Hel".into() },
                StreamEvent::TextDelta { text: "lo".into() },
                StreamEvent::Usage {
                    usage: Usage::new(5, 3)
                },
                StreamEvent::Finish {
                    reason: FinishReason::Length
                },
            ]
        );
    }

    #[test]
    fn whole_tool_calls_are_numbered_across_lines() {
        let (events, last) = run(&[
            r#"{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"a","arguments":{"x":1}}}]},"done":false}"#,
            r#"{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"b","arguments":{}}}]},"done":false}"#,
            r#"{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}"#,
        ]);
        assert!(matches!(last, Ok(Control::Done)));
        assert_eq!(
            &events[1..],
            &[
                StreamEvent::ToolCallStart {
                    index: 0,
                    id: "call_0".into(),
                    name: "a".into()
                },
                StreamEvent::ToolCallDelta {
                    index: 0,
                    arguments: r#"{"x":1}"#.into()
                },
                StreamEvent::ToolCallStart {
                    index: 1,
                    id: "call_1".into(),
                    name: "b".into()
                },
                StreamEvent::ToolCallDelta {
                    index: 1,
                    arguments: "{}".into()
                },
                StreamEvent::Finish {
                    reason: FinishReason::ToolCalls
                },
            ]
        );
    }

    #[test]
    fn error_line_mid_stream_fails() {
        let (events, last) = run(&[
            r#"{"model":"m","message":{"role":"assistant","content":"Hi"},"done":false}"#,
            r#"{"error":"an error was encountered while running the model: unexpected EOF"}"#,
        ]);
        assert_eq!(events.len(), 2);
        let e = last.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ServerError);
        assert!(e.message().contains("unexpected EOF"), "{}", e.message());
    }

    #[test]
    fn malformed_lines_are_decode_errors() {
        for bad in [
            "{\"model\":",
            "data: {}",
            "[]",
            "nope",
            "{\"done\":\"yes\"}",
        ] {
            let e = run(&[bad]).1.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Decode, "{bad}");
        }
    }
}
