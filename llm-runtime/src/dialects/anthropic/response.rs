//! Messages API response -> `ChatResponse`, and the wire types the stream shares.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::dialects::raw_json::arguments_text;
use crate::dialects::wire::{null_as_default, opt_count};
use crate::error::{Error, Result};
use crate::types::{
    ChatResponse, FinishReason, Part, ReasoningBlock, ToolCall, ToolCallKind, Usage,
};

/// The [`ReasoningBlock::source`] of Anthropic's signed and redacted thinking.
pub(super) const SOURCE: &str = "anthropic";

/// A content block of a response, or of a `content_block_start` event.
/// Block types added later (server tools, citations...) read as `Other`.
#[derive(Debug, Default)]
pub(super) enum ContentBlock {
    Text {
        text: String,
    },
    Thinking {
        thinking: String,
        signature: Option<String>,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        /// The `input` object's text as the API sent it ([`arguments_text`]).
        arguments: String,
    },
    #[default]
    Other,
}

/// A content block as it came: its `type` and the JSON text of each field,
/// read by [`RawBlock::read`] as the type says. A `#[serde(tag = "type")]`
/// enum would buffer the block as a tree first, where `input`'s numbers are
/// already `f64`s and no [`RawValue`] can be had.
#[derive(Deserialize)]
pub(super) struct RawBlock<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<&'a RawValue>,
    #[serde(default, borrow)]
    thinking: Option<&'a RawValue>,
    #[serde(default, borrow)]
    signature: Option<&'a RawValue>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    name: Option<&'a RawValue>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
}

impl RawBlock<'_> {
    /// The block its `type` names, each field read as that type reads it
    /// (`null` or missing strings empty; the fields of other types unread).
    pub(super) fn read(&self) -> serde_json::Result<ContentBlock> {
        let text = |raw: Option<&RawValue>| -> serde_json::Result<Option<String>> {
            raw.map_or(Ok(None), |raw| serde_json::from_str(raw.get()))
        };
        let string = |raw| text(raw).map(Option::unwrap_or_default);
        Ok(match &*self.kind {
            "text" => ContentBlock::Text {
                text: string(self.text)?,
            },
            "thinking" => ContentBlock::Thinking {
                thinking: string(self.thinking)?,
                signature: text(self.signature)?,
            },
            "redacted_thinking" => ContentBlock::RedactedThinking {
                data: string(self.data)?,
            },
            "tool_use" => ContentBlock::ToolUse {
                id: string(self.id)?,
                name: string(self.name)?,
                arguments: arguments_text(self.input),
            },
            _ => ContentBlock::Other,
        })
    }
}

/// The `usage` object; every count is optional so a `message_delta` can
/// update only the counts it carries.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub(super) struct WireUsage {
    #[serde(default, deserialize_with = "opt_count")]
    input_tokens: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    output_tokens: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    cache_creation_input_tokens: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    cache_read_input_tokens: Option<u32>,
}

impl WireUsage {
    /// Take the counts `newer` carries (a `message_delta`'s usage is cumulative).
    pub(super) fn merge(&mut self, newer: &WireUsage) {
        self.input_tokens = newer.input_tokens.or(self.input_tokens);
        self.output_tokens = newer.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = newer
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = newer
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
    }

    /// The unified usage: Anthropic counts cached prompt tokens apart from
    /// `input_tokens`, the unified prompt count includes them.
    pub(super) fn to_usage(self) -> Usage {
        let count = |n: Option<u32>| n.unwrap_or(0);
        let prompt = count(self.input_tokens)
            .saturating_add(count(self.cache_creation_input_tokens))
            .saturating_add(count(self.cache_read_input_tokens));
        let mut usage = Usage::new(prompt, count(self.output_tokens));
        usage.cached_tokens = self.cache_read_input_tokens;
        // Reported when any were written: a zero write is no billing event.
        usage.cache_write_tokens = self.cache_creation_input_tokens.filter(|n| *n > 0);
        usage
    }
}

/// The Messages API `stop_reason`, unified.
pub(super) fn finish_reason(raw: &str) -> FinishReason {
    match raw {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        // The model ran into the context window: the answer is cut like at max_tokens.
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

#[derive(Deserialize)]
struct MessageResponse<'a> {
    #[serde(default, deserialize_with = "null_as_default")]
    id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    model: String,
    #[serde(default, borrow, deserialize_with = "null_as_default")]
    content: Vec<RawBlock<'a>>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// Parse a non-streamed Messages response.
pub(super) fn parse(body: &[u8]) -> Result<ChatResponse> {
    let message: MessageResponse<'_> = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!(
            "the Anthropic response is not a Messages API message: {e}"
        ))
    })?;
    let mut response = ChatResponse::empty();
    response.id = message.id;
    response.model = message.model;
    let mut text = String::new();
    let mut reasoning = String::new();
    for block in &message.content {
        let block = block.read().map_err(|e| {
            Error::decode(format!(
                "the Anthropic response has a content block that could not be read: {e}"
            ))
        })?;
        match block {
            ContentBlock::Text { text: t } => text.push_str(&t),
            ContentBlock::Thinking {
                thinking,
                signature,
            } => {
                reasoning.push_str(&thinking);
                let signature = signature.filter(|s| !s.is_empty());
                if !thinking.is_empty() || signature.is_some() {
                    let mut block = ReasoningBlock::text(thinking);
                    if let Some(signature) = signature {
                        block = block.signed(signature, SOURCE);
                    }
                    response.message.reasoning.push(block);
                }
            }
            ContentBlock::RedactedThinking { data } => response
                .message
                .reasoning
                .push(ReasoningBlock::redacted(data, SOURCE)),
            ContentBlock::ToolUse {
                id,
                name,
                arguments,
            } => response.message.tool_calls.push(ToolCall {
                kind: ToolCallKind::Function,
                id,
                name,
                arguments,
            }),
            ContentBlock::Other => {}
        }
    }
    if !text.is_empty() {
        response.message.content.push(Part::text(text));
    }
    response.reasoning = (!reasoning.is_empty()).then_some(reasoning);
    response.finish_reason = message.stop_reason.as_deref().map(finish_reason);
    response.usage = message.usage.map(WireUsage::to_usage);
    Ok(response)
}
