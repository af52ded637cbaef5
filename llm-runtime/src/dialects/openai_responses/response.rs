//! Responses API response -> `ChatResponse`; the wire types the stream shares.

use serde::Deserialize;
use serde_json::Value;

use super::SOURCE;
use crate::dialects::wire::{count, null_as_default, opt_count};
use crate::error::{Error, Result};
use crate::types::{
    ChatResponse, FinishReason, Part, ReasoningAnchor, ReasoningBlock, ToolCall, Usage,
};

/// A response object, as `POST /responses` answers and the stream's
/// `response.*` events carry it.
#[derive(Deserialize, Default)]
pub(super) struct WireResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) model: String,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) error: Option<Value>,
    #[serde(default)]
    pub(super) incomplete_details: Option<IncompleteDetails>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) output: Vec<Item>,
    #[serde(default)]
    pub(super) usage: Option<WireUsage>,
}

#[derive(Deserialize, Default)]
pub(super) struct IncompleteDetails {
    #[serde(default)]
    reason: Option<String>,
}

/// One `output` item; kinds this runtime has no place for (built-in tool
/// calls, later additions) are skipped.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Item {
    Message {
        #[serde(default)]
        id: Option<String>,
        #[serde(default, deserialize_with = "null_as_default")]
        content: Vec<Content>,
    },
    FunctionCall {
        #[serde(default)]
        id: Option<String>,
        #[serde(default, deserialize_with = "null_as_default")]
        call_id: String,
        #[serde(default, deserialize_with = "null_as_default")]
        name: String,
        #[serde(default, deserialize_with = "null_as_default")]
        arguments: String,
    },
    Reasoning {
        #[serde(default, deserialize_with = "null_as_default")]
        id: String,
        #[serde(default, deserialize_with = "null_as_default")]
        summary: Vec<Summary>,
        #[serde(default)]
        encrypted_content: Option<String>,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Content {
    OutputText {
        #[serde(default, deserialize_with = "null_as_default")]
        text: String,
    },
    Refusal {
        #[serde(default, deserialize_with = "null_as_default")]
        refusal: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
pub(super) struct Summary {
    #[serde(default, deserialize_with = "null_as_default")]
    text: String,
}

#[derive(Deserialize, Default)]
pub(super) struct WireUsage {
    #[serde(default, deserialize_with = "count")]
    input_tokens: u32,
    #[serde(default, deserialize_with = "count")]
    output_tokens: u32,
    #[serde(default, deserialize_with = "opt_count")]
    total_tokens: Option<u32>,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize, Default)]
struct InputDetails {
    #[serde(default, deserialize_with = "opt_count")]
    cached_tokens: Option<u32>,
}

#[derive(Deserialize, Default)]
struct OutputDetails {
    #[serde(default, deserialize_with = "opt_count")]
    reasoning_tokens: Option<u32>,
}

impl WireUsage {
    pub(super) fn to_usage(&self) -> Usage {
        let mut usage = Usage::new(self.input_tokens, self.output_tokens);
        if let Some(total) = self.total_tokens {
            usage.total_tokens = total;
        }
        usage.cached_tokens = self
            .input_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens);
        usage.reasoning_tokens = self
            .output_tokens_details
            .as_ref()
            .and_then(|d| d.reasoning_tokens);
        usage
    }
}

impl WireResponse {
    /// The error of a response whose `status` is `failed` (or that carries
    /// an `error`), classified by the one in-band table; `mid_stream` says
    /// so in the message.
    pub(super) fn failure(&self, mid_stream: bool) -> Option<Error> {
        let error = self.error.as_ref().filter(|e| !e.is_null());
        if error.is_none() && self.status.as_deref() != Some("failed") {
            return None;
        }
        let error = error.cloned().unwrap_or_else(
            || serde_json::json!({"message": "the response failed without saying why"}),
        );
        if mid_stream {
            let payload = serde_json::json!({ "error": error }).to_string();
            Some(crate::error::stream_error(payload.as_bytes()))
        } else {
            crate::error::error_value_error(&error)
        }
    }

    /// Why the model stopped: `completed` is a stop (tool calls when it made
    /// some), `incomplete` says why in `incomplete_details.reason`.
    pub(super) fn finish_reason(&self, made_calls: bool) -> FinishReason {
        match self.status.as_deref() {
            None | Some("completed") if made_calls => FinishReason::ToolCalls,
            None | Some("completed") => FinishReason::Stop,
            Some("incomplete") => {
                match self
                    .incomplete_details
                    .as_ref()
                    .and_then(|d| d.reason.as_deref())
                {
                    Some("max_output_tokens") => FinishReason::Length,
                    Some("content_filter") => FinishReason::ContentFilter,
                    Some(other) => FinishReason::Other(other.to_owned()),
                    None => FinishReason::Other("incomplete".to_owned()),
                }
            }
            Some(other) => FinishReason::Other(other.to_owned()),
        }
    }

    pub(super) fn made_calls(&self) -> bool {
        self.output
            .iter()
            .any(|i| matches!(i, Item::FunctionCall { .. }))
    }
}

/// The reasoning blocks of `output`, in its order: each summary part of a
/// `reasoning` item (the item's id on each, its encrypted payload on the
/// last), and the id of each message and function call that follows a
/// reasoning item, anchored on it (the API pairs them by these ids).
pub(super) fn reasoning_blocks(output: &[Item]) -> Vec<ReasoningBlock> {
    let mut blocks = Vec::new();
    let mut after_reasoning = false;
    for item in output {
        match item {
            Item::Reasoning {
                id,
                summary,
                encrypted_content,
            } => {
                after_reasoning = true;
                let first = blocks.len();
                for part in summary {
                    blocks.push(block(id, part.text.clone(), ReasoningAnchor::Own));
                }
                if blocks.len() == first {
                    blocks.push(block(id, String::new(), ReasoningAnchor::Own));
                }
                if let Some(last) = blocks.last_mut() {
                    last.encrypted.clone_from(encrypted_content);
                }
            }
            Item::Message { id: Some(id), .. } if after_reasoning => {
                blocks.push(block(id, String::new(), ReasoningAnchor::Text));
            }
            Item::FunctionCall {
                id: Some(id),
                call_id,
                ..
            } if after_reasoning => {
                let anchor = ReasoningAnchor::ToolCall(call_id.clone());
                blocks.push(block(id, String::new(), anchor));
            }
            _ => {}
        }
    }
    blocks
}

fn block(id: &str, text: String, anchor: ReasoningAnchor) -> ReasoningBlock {
    ReasoningBlock {
        text,
        source: Some(SOURCE.to_owned()),
        anchor,
        id: Some(id.to_owned()),
        ..Default::default()
    }
}

/// The answer in `body`, or the error it is or holds.
fn read_answer(body: &[u8]) -> Result<WireResponse> {
    let wire: WireResponse = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!(
            "the OpenAI Responses answer is not the expected JSON: {e}"
        ))
        .with_body(body)
    })?;
    if let Some(e) = wire.failure(false) {
        return Err(e);
    }
    // Neither a status nor any output: not a Responses answer at all (an
    // error of another shape, a model list...), never an empty success.
    if wire.status.is_none() && wire.output.is_empty() {
        return Err(Error::decode(
            "the body is not an OpenAI Responses answer: it has no `status` and no `output`",
        )
        .with_body(body));
    }
    Ok(wire)
}

/// Parse a whole response.
pub(super) fn parse(body: &[u8]) -> Result<ChatResponse> {
    let wire = read_answer(body)?;
    let mut r = ChatResponse::empty();
    let (mut text, mut refusal) = (String::new(), String::new());
    for item in &wire.output {
        match item {
            Item::Message { content, .. } => {
                for part in content {
                    match part {
                        Content::OutputText { text: t } => text.push_str(t),
                        Content::Refusal { refusal: t } => refusal.push_str(t),
                        Content::Other => {}
                    }
                }
            }
            Item::FunctionCall {
                call_id,
                name,
                arguments,
                ..
            } => r.message.tool_calls.push(ToolCall::function(
                call_id.clone(),
                name.clone(),
                arguments.clone(),
            )),
            Item::Reasoning { .. } | Item::Other => {}
        }
    }
    if !text.is_empty() {
        r.message.content.push(Part::text(text));
    }
    r.refusal = (!refusal.is_empty()).then_some(refusal);
    r.message.reasoning = reasoning_blocks(&wire.output);
    let reasoning: String = r
        .message
        .reasoning
        .iter()
        .map(|b| b.text.as_str())
        .collect();
    r.reasoning = (!reasoning.is_empty()).then_some(reasoning);
    r.finish_reason = Some(wire.finish_reason(wire.made_calls()));
    r.usage = wire.usage.as_ref().map(WireUsage::to_usage);
    r.id = wire.id;
    r.model = wire.model;
    Ok(r)
}
