//! Unified [`StreamEvent`]s -> the Responses API's typed event stream.
//!
//! Every event has its `event:` line and a `sequence_number` counting from 0:
//! `response.created` and `response.in_progress`; per output item
//! `response.output_item.added`, its content (`response.content_part.added`,
//! `response.output_text.delta` or `response.refusal.delta`, their `.done`
//! events; `response.reasoning_summary_part.added`,
//! `response.reasoning_summary_text.delta`...; `response.function_call_arguments.delta`
//! and `.done`) and `response.output_item.done`; then one terminal event,
//! `response.completed` (`response.incomplete` when cut short), whose
//! response is the whole answer, or `response.failed` on an error. No `[DONE]`.

use bytes::Bytes;
use llm_runtime::StreamEvent;
use llm_runtime::stream::ResponseAccumulator;
use serde_json::{Map, Value, json};

use super::response::{
    Fresh, created_at, envelope, new_id, output_items, response_id, status, text_part, usage,
};
use crate::error::GatewayError;
use crate::ingress::sse::sse_event;

/// One output item as it streams.
#[derive(Debug)]
enum Item {
    /// A message: its content parts (`true` for a refusal) and their text.
    Message {
        parts: Vec<(bool, String)>,
    },
    Reasoning {
        text: String,
    },
    Call {
        call_id: String,
        name: String,
        arguments: String,
        sent: bool,
    },
}

#[derive(Debug)]
struct Streamed {
    id: String,
    item: Item,
    open: bool,
}

/// The encoder of one answer's event stream.
#[derive(Debug)]
pub struct ResponsesStream {
    model: String,
    echo: Map<String, Value>,
    id: String,
    created_at: u64,
    sequence: u64,
    started: bool,
    items: Vec<Streamed>,
    /// The open message or reasoning item.
    open: Option<usize>,
    /// Call items by the unified call index.
    calls: Vec<Option<usize>>,
    answer: ResponseAccumulator,
}

impl ResponsesStream {
    /// An encoder for an answer to a request that named `model` and has the
    /// echoed fields `echo`.
    pub fn new(model: impl Into<String>, echo: Map<String, Value>) -> Self {
        ResponsesStream {
            model: model.into(),
            echo,
            id: String::new(),
            created_at: created_at(),
            sequence: 0,
            started: false,
            items: Vec::new(),
            open: None,
            calls: Vec::new(),
            answer: ResponseAccumulator::default(),
        }
    }

    /// The frames of one event.
    pub fn push(&mut self, event: StreamEvent, out: &mut Vec<Bytes>) {
        if let StreamEvent::Start { id, .. } = &event {
            self.start(id, out);
        }
        self.start("", out);
        match &event {
            StreamEvent::TextDelta { text } => self.message_delta(false, text, out),
            StreamEvent::RefusalDelta { text } => self.message_delta(true, text, out),
            StreamEvent::ReasoningDelta { text } => self.reasoning_delta(text, out),
            // The reasoning's text went out as deltas: its item is done.
            StreamEvent::ReasoningDone { .. }
                if self
                    .open
                    .is_some_and(|i| matches!(self.items[i].item, Item::Reasoning { .. })) =>
            {
                self.close_open(out);
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                self.call_start(*index, id, name, out)
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                self.call_delta(*index, arguments, out)
            }
            StreamEvent::ToolCallEnd { index, arguments } => {
                let unsent = self.call(*index).is_some_and(|(_, sent)| !sent);
                if unsent {
                    self.call_delta(*index, arguments, out);
                }
                if let Some(Streamed {
                    item:
                        Item::Call {
                            arguments: whole, ..
                        },
                    ..
                }) = self
                    .calls
                    .get(*index)
                    .copied()
                    .flatten()
                    .map(|i| &mut self.items[i])
                {
                    whole.clone_from(arguments);
                }
            }
            _ => {}
        }
        self.answer.push(event);
    }

    /// The frames that end a complete answer: the items' `.done` events and
    /// the terminal event with the whole response.
    pub fn finish(mut self, out: &mut Vec<Bytes>) {
        self.start("", out);
        self.close_open(out);
        self.close_calls(out);
        let answer = std::mem::take(&mut self.answer).finish();
        let mut object = envelope(&self.id, &self.model, &self.echo, self.created_at);
        let (state, incomplete) = status(answer.finish_reason.as_ref());
        object.insert("status".into(), json!(state));
        object.insert("incomplete_details".into(), incomplete);
        let mut reasoning = self
            .items
            .iter()
            .filter(|s| matches!(s.item, Item::Reasoning { .. }))
            .map(|s| s.id.clone())
            .collect::<Vec<_>>()
            .into_iter();
        // A Responses upstream's reasoning and message ids (which its
        // encrypted reasoning pairs with) stand; a call keeps the id it
        // streamed with, as SDKs match calls by `call_id` and check the id.
        let output = output_items(&answer, &mut |kind, upstream| match (kind, upstream) {
            (Fresh::Call(_), _) => self.streamed_id(kind),
            (_, Some(id)) => id.to_owned(),
            (Fresh::Reasoning, None) => reasoning.next().unwrap_or_else(|| new_id(kind.prefix())),
            (Fresh::Message, None) => self.streamed_id(kind),
        });
        object.insert("output".into(), Value::Array(output));
        object.insert("usage".into(), usage(answer.usage.as_ref()));
        let name = if state == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        self.emit(name, json!({"response": object}), out);
    }

    /// The terminal `response.failed` event of a failure mid-answer.
    pub fn error(mut self, error: &GatewayError, out: &mut Vec<Bytes>) {
        self.start("", out);
        let mut object = envelope(&self.id, &self.model, &self.echo, self.created_at);
        object.insert("status".into(), json!("failed"));
        let code = error.code.as_deref().unwrap_or(error.kind);
        let failure = json!({"code": code, "message": error.message});
        object.insert("error".into(), failure);
        self.emit("response.failed", json!({"response": object}), out);
    }

    /// The id an item of the final response had while it streamed.
    fn streamed_id(&self, kind: Fresh<'_>) -> String {
        let found = self.items.iter().find(|s| match (&s.item, kind) {
            (Item::Message { .. }, Fresh::Message) => true,
            (Item::Call { call_id, .. }, Fresh::Call(id)) => call_id == id,
            _ => false,
        });
        found.map_or_else(|| new_id(kind.prefix()), |s| s.id.clone())
    }

    fn emit(&mut self, name: &str, mut data: Value, out: &mut Vec<Bytes>) {
        if let Some(object) = data.as_object_mut() {
            object.insert("type".into(), json!(name));
            object.insert("sequence_number".into(), json!(self.sequence));
        }
        self.sequence += 1;
        out.push(sse_event(name, &data));
    }

    fn start(&mut self, id: &str, out: &mut Vec<Bytes>) {
        if self.started {
            return;
        }
        self.started = true;
        self.id = response_id(id);
        let object = Value::Object(envelope(&self.id, &self.model, &self.echo, self.created_at));
        self.emit("response.created", json!({"response": object}), out);
        self.emit("response.in_progress", json!({"response": object}), out);
    }

    /// Open a new item (closing the open one, and the calls unless it is one).
    fn add_item(&mut self, item: Item, out: &mut Vec<Bytes>) -> usize {
        self.close_open(out);
        if !matches!(item, Item::Call { .. }) {
            self.close_calls(out);
        }
        let prefix = match item {
            Item::Message { .. } => "msg",
            Item::Reasoning { .. } => "rs",
            Item::Call { .. } => "fc",
        };
        let index = self.items.len();
        self.items.push(Streamed {
            id: new_id(prefix),
            item,
            open: true,
        });
        let data = json!({"output_index": index, "item": self.item_json(index, false)});
        self.emit("response.output_item.added", data, out);
        index
    }

    fn message_delta(&mut self, refusal: bool, text: &str, out: &mut Vec<Bytes>) {
        if text.is_empty() {
            return;
        }
        let index = match self.open {
            Some(i) if matches!(self.items[i].item, Item::Message { .. }) => i,
            _ => {
                let index = self.add_item(Item::Message { parts: Vec::new() }, out);
                self.open = Some(index);
                index
            }
        };
        let id = self.items[index].id.clone();
        let Item::Message { parts } = &mut self.items[index].item else {
            return;
        };
        let new_part = parts.last().is_none_or(|(r, _)| *r != refusal);
        if new_part {
            parts.push((refusal, String::new()));
        }
        let content_index = parts.len() - 1;
        if let Some((_, whole)) = parts.last_mut() {
            whole.push_str(text);
        }
        let at = json!({"item_id": id, "output_index": index, "content_index": content_index});
        if new_part {
            let part = content_part(refusal, "");
            self.emit("response.content_part.added", with(&at, "part", part), out);
        }
        let (name, data) = if refusal {
            ("response.refusal.delta", with(&at, "delta", json!(text)))
        } else {
            let data = with(&with(&at, "delta", json!(text)), "logprobs", json!([]));
            ("response.output_text.delta", data)
        };
        self.emit(name, data, out);
    }

    fn reasoning_delta(&mut self, text: &str, out: &mut Vec<Bytes>) {
        if text.is_empty() {
            return;
        }
        let index = match self.open {
            Some(i) if matches!(self.items[i].item, Item::Reasoning { .. }) => i,
            _ => {
                let index = self.add_item(
                    Item::Reasoning {
                        text: String::new(),
                    },
                    out,
                );
                self.open = Some(index);
                let at = self.summary_at(index);
                let part = json!({"type": "summary_text", "text": ""});
                self.emit(
                    "response.reasoning_summary_part.added",
                    with(&at, "part", part),
                    out,
                );
                index
            }
        };
        if let Item::Reasoning { text: whole } = &mut self.items[index].item {
            whole.push_str(text);
        }
        let at = self.summary_at(index);
        self.emit(
            "response.reasoning_summary_text.delta",
            with(&at, "delta", json!(text)),
            out,
        );
    }

    fn summary_at(&self, index: usize) -> Value {
        json!({"item_id": self.items[index].id, "output_index": index, "summary_index": 0})
    }

    fn call(&self, call: usize) -> Option<(usize, bool)> {
        let index = self.calls.get(call).copied().flatten()?;
        match &self.items[index].item {
            Item::Call { sent, .. } => Some((index, *sent)),
            _ => None,
        }
    }

    fn call_start(&mut self, call: usize, id: &str, name: &str, out: &mut Vec<Bytes>) {
        let item = Item::Call {
            call_id: id.to_owned(),
            name: name.to_owned(),
            arguments: String::new(),
            sent: false,
        };
        let index = self.add_item(item, out);
        if self.calls.len() <= call {
            self.calls.resize(call + 1, None);
        }
        self.calls[call] = Some(index);
    }

    fn call_delta(&mut self, call: usize, piece: &str, out: &mut Vec<Bytes>) {
        let Some((index, _)) = self.call(call) else {
            return;
        };
        let streamed = &mut self.items[index];
        if piece.is_empty() || !streamed.open {
            return;
        }
        if let Item::Call {
            arguments, sent, ..
        } = &mut streamed.item
        {
            arguments.push_str(piece);
            *sent = true;
        }
        let data = json!({"item_id": streamed.id, "output_index": index, "delta": piece});
        self.emit("response.function_call_arguments.delta", data, out);
    }

    fn close_open(&mut self, out: &mut Vec<Bytes>) {
        if let Some(index) = self.open.take() {
            self.close(index, out);
        }
    }

    fn close_calls(&mut self, out: &mut Vec<Bytes>) {
        let open: Vec<usize> = self
            .calls
            .iter()
            .flatten()
            .copied()
            .filter(|&i| self.items[i].open)
            .collect();
        for index in open {
            self.close(index, out);
        }
    }

    /// An item's `.done` events.
    fn close(&mut self, index: usize, out: &mut Vec<Bytes>) {
        self.items[index].open = false;
        let id = self.items[index].id.clone();
        match &self.items[index].item {
            Item::Message { parts } => {
                for (content_index, (refusal, text)) in parts.clone().into_iter().enumerate() {
                    let at = json!({"item_id": id, "output_index": index, "content_index": content_index});
                    let (name, data) = if refusal {
                        ("response.refusal.done", with(&at, "refusal", json!(text)))
                    } else {
                        let data = with(&with(&at, "text", json!(text)), "logprobs", json!([]));
                        ("response.output_text.done", data)
                    };
                    self.emit(name, data, out);
                    let part = content_part(refusal, &text);
                    self.emit("response.content_part.done", with(&at, "part", part), out);
                }
            }
            Item::Reasoning { text } => {
                let text = text.clone();
                let at = self.summary_at(index);
                self.emit(
                    "response.reasoning_summary_text.done",
                    with(&at, "text", json!(text)),
                    out,
                );
                let part = json!({"type": "summary_text", "text": text});
                self.emit(
                    "response.reasoning_summary_part.done",
                    with(&at, "part", part),
                    out,
                );
            }
            Item::Call {
                name, arguments, ..
            } => {
                let data = json!({"item_id": id, "output_index": index, "name": name, "arguments": arguments});
                self.emit("response.function_call_arguments.done", data, out);
            }
        }
        let data = json!({"output_index": index, "item": self.item_json(index, true)});
        self.emit("response.output_item.done", data, out);
    }

    /// An item as `output_item.added` (empty, in progress) or `.done` (whole) shows it.
    fn item_json(&self, index: usize, done: bool) -> Value {
        let streamed = &self.items[index];
        let status = if done { "completed" } else { "in_progress" };
        match &streamed.item {
            Item::Message { parts } => {
                let content: Vec<Value> = if done {
                    parts.iter().map(|(r, t)| content_part(*r, t)).collect()
                } else {
                    Vec::new()
                };
                json!({"id": streamed.id, "type": "message", "status": status, "role": "assistant", "content": content})
            }
            Item::Reasoning { text } => {
                let summary = if done {
                    json!([{"type": "summary_text", "text": text}])
                } else {
                    json!([])
                };
                json!({"id": streamed.id, "type": "reasoning", "summary": summary})
            }
            Item::Call {
                call_id,
                name,
                arguments,
                ..
            } => json!({
                "id": streamed.id,
                "type": "function_call",
                "status": status,
                "call_id": call_id,
                "name": name,
                "arguments": if done { arguments.as_str() } else { "" },
            }),
        }
    }
}

/// A content part: `output_text` or `refusal`.
fn content_part(refusal: bool, text: &str) -> Value {
    if refusal {
        json!({"type": "refusal", "refusal": text})
    } else {
        text_part(text)
    }
}

/// `base` (an object) with `key` set to `value`.
fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut object = base.clone();
    if let Some(map) = object.as_object_mut() {
        map.insert(key.into(), value);
    }
    object
}
