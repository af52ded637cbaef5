//! Messages API response -> `ChatResponse`, and the wire types the stream shares.

use serde::Deserialize;
use serde_json::Value;

use crate::dialects::wire::{null_as_default, opt_count};
use crate::error::{Error, Result};
use crate::types::{
    ChatResponse, FinishReason, Part, ReasoningBlock, ToolCall, ToolCallKind, Usage,
};

/// The [`ReasoningBlock::source`] of Anthropic's signed and redacted thinking.
pub(super) const SOURCE: &str = "anthropic";

/// A content block of a response, or of a `content_block_start` event.
/// Block types added later (server tools, citations...) decode as `Other`.
#[derive(Debug, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum ContentBlock {
    Text {
        #[serde(default, deserialize_with = "null_as_default")]
        text: String,
    },
    Thinking {
        #[serde(default, deserialize_with = "null_as_default")]
        thinking: String,
        #[serde(default)]
        signature: Option<String>,
    },
    RedactedThinking {
        #[serde(default, deserialize_with = "null_as_default")]
        data: String,
    },
    ToolUse {
        #[serde(default, deserialize_with = "null_as_default")]
        id: String,
        #[serde(default, deserialize_with = "null_as_default")]
        name: String,
        #[serde(default)]
        input: Value,
    },
    #[serde(other)]
    #[default]
    Other,
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

/// A tool call's `input` object as the arguments text (`{}` when absent).
pub(super) fn arguments_text(input: &Value) -> String {
    match input {
        Value::Null => "{}".to_owned(),
        other => other.to_string(),
    }
}

#[derive(Deserialize)]
struct MessageResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    model: String,
    #[serde(default, deserialize_with = "null_as_default")]
    content: Vec<ContentBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

/// Parse a non-streamed Messages response.
pub(super) fn parse(body: &[u8]) -> Result<ChatResponse> {
    let message: MessageResponse = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!(
            "the Anthropic response is not a Messages API message: {e}"
        ))
    })?;
    let mut response = ChatResponse::empty();
    response.id = message.id;
    response.model = message.model;
    let mut text = String::new();
    let mut reasoning = String::new();
    for block in message.content {
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
            ContentBlock::ToolUse { id, name, input } => {
                response.message.tool_calls.push(ToolCall {
                    kind: ToolCallKind::Function,
                    id,
                    name,
                    arguments: arguments_text(&input),
                })
            }
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
