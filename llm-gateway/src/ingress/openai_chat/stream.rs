//! A runtime event stream as Chat Completions SSE: `data: {chunk}` lines,
//! `data: [DONE]` at the end, the empty-`choices` usage chunk before it when
//! `stream_options.include_usage` asked, and a mid-stream error as
//! `data: {"error": ...}` (after which the stream ends, without `[DONE]`).
//!
//! The body is the event stream itself, mapped: hyper polls it only when
//! the client has taken the previous bytes, so a slow reader slows the
//! upstream read (backpressure, no buffer in between), and a client that
//! goes away drops it, which closes the upstream connection.

use std::collections::HashMap;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use llm_runtime::{StreamEvent, Usage};
use serde_json::{Value, json};

use super::response::{created, finish_reason, usage_json};
use crate::error::GatewayError;

/// Turns events into chunks for one stream.
#[derive(Debug)]
pub struct ChunkEncoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    started: bool,
    usage: Option<Usage>,
    /// Argument bytes already sent per tool call index.
    args_sent: HashMap<usize, usize>,
}

impl ChunkEncoder {
    /// An encoder for a stream answering `model`.
    pub fn new(model: &str, include_usage: bool) -> Self {
        ChunkEncoder {
            id: format!("chatcmpl-{:016x}", fastrand::u64(..)),
            model: model.to_owned(),
            created: created(),
            include_usage,
            started: false,
            usage: None,
            args_sent: HashMap::new(),
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Bytes {
        let body = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        });
        frame(&body)
    }

    /// The frames one event becomes (often one, sometimes none).
    pub fn event(&mut self, event: StreamEvent) -> Vec<Bytes> {
        let mut out = Vec::new();
        if let StreamEvent::Start { id, model } = &event {
            if !id.is_empty() {
                self.id = super::response::completion_id(id);
            }
            if !model.is_empty() {
                self.model.clone_from(model);
            }
        }
        if !self.started {
            self.started = true;
            out.push(self.chunk(json!({"role": "assistant", "content": ""}), None));
        }
        let delta = match event {
            StreamEvent::Start { .. } => None,
            StreamEvent::TextDelta { text } => Some(json!({"content": text})),
            StreamEvent::ReasoningDelta { text } => Some(json!({"reasoning_content": text})),
            StreamEvent::RefusalDelta { text } => Some(json!({"refusal": text})),
            StreamEvent::ToolCallStart { index, id, name } => {
                self.args_sent.insert(index, 0);
                Some(
                    json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
                )
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                *self.args_sent.entry(index).or_default() += arguments.len();
                Some(
                    json!({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}),
                )
            }
            StreamEvent::ToolCallEnd { index, arguments } => {
                // Arguments a dialect gave only whole: send them once.
                let sent = self.args_sent.get(&index).copied().unwrap_or(0);
                (sent == 0 && !arguments.is_empty())
                    .then(|| json!({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]}))
            }
            StreamEvent::Usage { usage } => {
                self.usage = Some(usage);
                None
            }
            StreamEvent::Finish { reason } => {
                out.push(self.chunk(json!({}), Some(finish_reason(Some(&reason)))));
                None
            }
            _ => None,
        };
        if let Some(delta) = delta {
            out.push(self.chunk(delta, None));
        }
        out
    }

    /// The frames after the last event: the usage chunk, then `[DONE]`.
    pub fn end(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        if !self.started {
            out.push(self.chunk(json!({"role": "assistant", "content": ""}), None));
        }
        if self.include_usage {
            let usage = self.usage.map_or(Value::Null, |u| usage_json(&u));
            let body = json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": [], "usage": usage,
            });
            out.push(frame(&body));
        }
        out.push(Bytes::from_static(b"data: [DONE]\n\n"));
        out
    }

    /// The frame of an error met mid-stream.
    pub fn error(&self, e: GatewayError) -> Bytes {
        frame(&e.openai_body())
    }
}

fn frame(body: &Value) -> Bytes {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"data: ");
    // A Value always serializes.
    let _ = serde_json::to_writer(&mut out, body);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// A same-dialect stream: every frame as the upstream sent it, but the
/// usage chunk (empty `choices`) when the caller did not ask for it (the
/// runtime always asks the upstream, for the metrics and the bill).
#[derive(Debug)]
pub(super) struct ChatPass {
    /// `stream_options.include_usage: true`.
    pub(super) include_usage: bool,
}

impl crate::ingress::sse::PassOn for ChatPass {
    fn keep(&self, frame: &llm_runtime::stream::Frame) -> bool {
        self.include_usage || !usage_chunk(&frame.data)
    }

    fn error(&mut self, error: &GatewayError, _last: Option<&llm_runtime::stream::Frame>) -> Bytes {
        frame(&error.openai_body())
    }
}

/// Whether `data` is the usage chunk: `usage` set and `choices` empty.
fn usage_chunk(data: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Chunk {
        #[serde(default)]
        choices: Option<Vec<serde::de::IgnoredAny>>,
        #[serde(default)]
        usage: Option<serde::de::IgnoredAny>,
    }
    // Only a chunk that names `usage` is read again.
    data.contains("\"usage\"")
        && serde_json::from_str::<Chunk>(data)
            .is_ok_and(|c| c.usage.is_some() && c.choices.is_some_and(|c| c.is_empty()))
}

/// The SSE body of `events` (an [`ObservedStream`](crate::call::ObservedStream)
/// in the gateway): each event is pulled only when the previous frames were taken.
pub fn sse<S>(
    events: S,
    encoder: ChunkEncoder,
) -> impl Stream<Item = Result<Bytes, std::convert::Infallible>> + Send
where
    S: Stream<Item = llm_runtime::Result<StreamEvent>> + Send + Unpin,
{
    // State: the events (None once ended) and the encoder.
    stream::unfold(
        (Some(events), encoder),
        |(events, mut encoder)| async move {
            let mut events = events?;
            let frames = match events.next().await {
                Some(Ok(event)) => {
                    let frames = encoder.event(event);
                    return Some((frames, (Some(events), encoder)));
                }
                Some(Err(e)) => vec![encoder.error(GatewayError::from(e))],
                None => encoder.end(),
            };
            // Ended: the record is counted and logged now; the last frames follow.
            drop(events);
            Some((frames, (None, encoder)))
        },
    )
    .flat_map(|frames| stream::iter(frames.into_iter().map(Ok)))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Backpressure: the body pulls one event per frame taken, never ahead.
    #[tokio::test]
    async fn events_are_pulled_only_as_frames_are_taken() {
        let pulled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&pulled);
        let events = stream::iter(0..10_000).map(move |i| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(StreamEvent::TextDelta {
                text: format!("t{i}"),
            })
        });
        let mut body = Box::pin(sse(events, ChunkEncoder::new("m", false)));
        for taken in 1..=50 {
            let frame = body.next().await.expect("a frame").expect("infallible");
            assert!(frame.starts_with(b"data: "));
            // The first event also gives the role chunk.
            assert!(
                pulled.load(Ordering::SeqCst) <= taken,
                "pulled {} events for {taken} frames",
                pulled.load(Ordering::SeqCst)
            );
        }
    }

    #[test]
    fn usage_chunk_then_done() {
        let mut e = ChunkEncoder::new("m", true);
        let _ = e.event(StreamEvent::Usage {
            usage: Usage::new(3, 4),
        });
        let end: Vec<String> = e
            .end()
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        assert_eq!(end.len(), 2);
        let usage: Value =
            serde_json::from_str(end[0].trim().trim_start_matches("data: ")).expect("json");
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(usage["usage"]["total_tokens"], 7);
        assert_eq!(end[1], "data: [DONE]\n\n");
    }
}
