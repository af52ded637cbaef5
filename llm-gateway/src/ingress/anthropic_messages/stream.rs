//! Unified [`StreamEvent`]s -> the Messages API's event stream.
//!
//! `message_start` (and a `ping`) first; each text or thinking run is one
//! content block (`content_block_start`, deltas, `content_block_stop`); a
//! thinking block ends with its `signature_delta`; a redacted block is a
//! start and a stop; each tool call is a `tool_use` block whose
//! `input_json_delta`s carry its arguments (calls stay open until text or
//! the end, so the deltas of parallel calls may interleave by `index`, as
//! the SDKs read them); then `message_delta` with the `stop_reason` and the
//! usage, and `message_stop`. An error after the start is an `error` event.

use bytes::Bytes;
use llm_runtime::{FinishReason, StreamEvent, Usage, types::ReasoningAnchor};
use serde_json::{Value, json};

use super::SOURCE;
use super::error::error_body;
use super::response::{message_id, stop_reason, thinking_block, usage};
use crate::error::GatewayError;
use crate::ingress::sse::sse_event;

/// The content block open for text or thinking deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text(usize),
    Thinking(usize),
}

/// A tool call's block: its index, whether it is still open, and whether
/// any argument text went out.
#[derive(Debug, Clone, Copy)]
struct ToolBlock {
    index: usize,
    open: bool,
    sent: bool,
}

/// The encoder of one answer's event stream.
#[derive(Debug)]
pub struct MessagesStream {
    model: String,
    started: bool,
    blocks: usize,
    open: Option<Open>,
    /// Tool blocks by the unified call index.
    tools: Vec<Option<ToolBlock>>,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
    /// The reasoning text that went out as deltas and no whole block has
    /// claimed yet (a Responses upstream gives its summary parts whole at the end).
    reasoning_streamed: String,
}

impl MessagesStream {
    /// An encoder for an answer to a request that named `model`.
    pub fn new(model: impl Into<String>) -> Self {
        MessagesStream {
            model: model.into(),
            started: false,
            blocks: 0,
            open: None,
            tools: Vec::new(),
            usage: None,
            finish: None,
            reasoning_streamed: String::new(),
        }
    }

    /// The frames of one event.
    pub fn push(&mut self, event: StreamEvent, out: &mut Vec<Bytes>) {
        if let StreamEvent::Start { id, .. } = &event {
            self.start(id, out);
            return;
        }
        self.start("", out);
        match event {
            StreamEvent::TextDelta { text } | StreamEvent::RefusalDelta { text } => {
                self.text(text, out);
            }
            StreamEvent::ReasoningDelta { text } => self.thinking(text, out),
            StreamEvent::ReasoningSignature {
                signature,
                source,
                anchor,
            } => {
                if source == SOURCE && anchor == ReasoningAnchor::Own {
                    self.signature(signature, out);
                }
            }
            StreamEvent::RedactedReasoning { data, source } => {
                if source == SOURCE {
                    let block = json!({"type": "redacted_thinking", "data": data});
                    self.whole_block(block, out);
                }
            }
            StreamEvent::ReasoningDone { block } => {
                if let Some(rest) = self.reasoning_streamed.strip_prefix(block.text.as_str()) {
                    // Its text went out as deltas: the block it closes is done.
                    self.reasoning_streamed = rest.to_owned();
                    if matches!(self.open, Some(Open::Thinking(_))) {
                        self.close_open(out);
                    }
                } else if let Some(block) = thinking_block(&block) {
                    self.whole_block(block, out);
                }
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.tool_start(index, &id, &name, out)
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                self.tool_delta(index, arguments, out);
            }
            // Pieces went out already; the whole text goes out when none did.
            StreamEvent::ToolCallEnd { index, arguments } => {
                if self
                    .tools
                    .get(index)
                    .copied()
                    .flatten()
                    .is_some_and(|t| !t.sent)
                {
                    self.tool_delta(index, arguments, out);
                }
            }
            StreamEvent::Usage { usage } => self.usage = Some(usage),
            StreamEvent::Finish { reason } => self.finish = Some(reason),
            StreamEvent::Start { .. } | StreamEvent::CustomToolCall { .. } => {}
        }
    }

    /// The frames that end a complete answer.
    pub fn finish(&mut self, out: &mut Vec<Bytes>) {
        self.start("", out);
        self.close_all(out);
        let made_calls = self.tools.iter().any(Option::is_some);
        let data = json!({
            "type": "message_delta",
            "delta": {
                "stop_reason": stop_reason(self.finish.as_ref(), made_calls),
                "stop_sequence": null,
            },
            "usage": usage(self.usage.as_ref()),
        });
        out.push(sse_event("message_delta", &data));
        out.push(sse_event("message_stop", &json!({"type": "message_stop"})));
    }

    /// The `error` event of a failure in the middle of the answer.
    pub fn error(&mut self, error: &GatewayError, out: &mut Vec<Bytes>) {
        out.push(sse_event("error", &error_body(error)));
    }

    fn start(&mut self, id: &str, out: &mut Vec<Bytes>) {
        if self.started {
            return;
        }
        self.started = true;
        let message = json!({
            "type": "message_start",
            "message": {
                "id": message_id(id),
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": usage(None),
            },
        });
        out.push(sse_event("message_start", &message));
        out.push(sse_event("ping", &json!({"type": "ping"})));
    }

    fn text(&mut self, text: String, out: &mut Vec<Bytes>) {
        if text.is_empty() {
            return;
        }
        let index = match self.open {
            Some(Open::Text(index)) => index,
            _ => {
                let index = self.open_block(json!({"type": "text", "text": ""}), out);
                self.open = Some(Open::Text(index));
                index
            }
        };
        delta(index, json!({"type": "text_delta", "text": text}), out);
    }

    fn thinking(&mut self, text: String, out: &mut Vec<Bytes>) {
        if text.is_empty() {
            return;
        }
        self.reasoning_streamed.push_str(&text);
        let index = self.thinking_index(out);
        delta(
            index,
            json!({"type": "thinking_delta", "thinking": text}),
            out,
        );
    }

    fn thinking_index(&mut self, out: &mut Vec<Bytes>) -> usize {
        if let Some(Open::Thinking(index)) = self.open {
            return index;
        }
        let block = json!({"type": "thinking", "thinking": "", "signature": ""});
        let index = self.open_block(block, out);
        self.open = Some(Open::Thinking(index));
        index
    }

    /// The signature closes the thinking block it signs.
    fn signature(&mut self, signature: String, out: &mut Vec<Bytes>) {
        self.reasoning_streamed.clear();
        let index = self.thinking_index(out);
        delta(
            index,
            json!({"type": "signature_delta", "signature": signature}),
            out,
        );
        self.close_open(out);
    }

    fn tool_start(&mut self, call: usize, id: &str, name: &str, out: &mut Vec<Bytes>) {
        let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
        let index = self.open_block(block, out);
        if self.tools.len() <= call {
            self.tools.resize(call + 1, None);
        }
        self.tools[call] = Some(ToolBlock {
            index,
            open: true,
            sent: false,
        });
    }

    fn tool_delta(&mut self, call: usize, arguments: String, out: &mut Vec<Bytes>) {
        let Some(Some(tool)) = self.tools.get_mut(call) else {
            return;
        };
        if arguments.is_empty() || !tool.open {
            return;
        }
        tool.sent = true;
        let index = tool.index;
        let piece = json!({"type": "input_json_delta", "partial_json": arguments});
        delta(index, piece, out);
    }

    /// A block given whole: its start and its stop.
    fn whole_block(&mut self, block: Value, out: &mut Vec<Bytes>) {
        let index = self.open_block(block, out);
        stop(index, out);
    }

    fn open_block(&mut self, block: Value, out: &mut Vec<Bytes>) -> usize {
        self.close_open(out);
        // Text after tool calls: the calls are done.
        if block["type"] != "tool_use" {
            self.close_tools(out);
        }
        let index = self.blocks;
        self.blocks += 1;
        let data = json!({"type": "content_block_start", "index": index, "content_block": block});
        out.push(sse_event("content_block_start", &data));
        index
    }

    fn close_open(&mut self, out: &mut Vec<Bytes>) {
        if let Some(Open::Text(index) | Open::Thinking(index)) = self.open.take() {
            stop(index, out);
        }
    }

    fn close_tools(&mut self, out: &mut Vec<Bytes>) {
        for tool in self.tools.iter_mut().flatten().filter(|t| t.open) {
            tool.open = false;
            stop(tool.index, out);
        }
    }

    fn close_all(&mut self, out: &mut Vec<Bytes>) {
        self.close_open(out);
        self.close_tools(out);
    }
}

fn delta(index: usize, delta: Value, out: &mut Vec<Bytes>) {
    let data = json!({"type": "content_block_delta", "index": index, "delta": delta});
    out.push(sse_event("content_block_delta", &data));
}

fn stop(index: usize, out: &mut Vec<Bytes>) {
    let data = json!({"type": "content_block_stop", "index": index});
    out.push(sse_event("content_block_stop", &data));
}
