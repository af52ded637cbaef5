//! Converse response -> `ChatResponse`, and the wire types the stream shares.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::SOURCE;
use crate::dialects::raw_json::arguments_text;
use crate::dialects::wire::{null_as_default, opt_count};
use crate::error::{Error, Result};
use crate::types::{
    ChatResponse, FinishReason, Part, ReasoningBlock, ToolCall, ToolCallKind, Usage,
};

/// A content block of the answer. Block kinds added later (citations,
/// guardrail content...) decode with every field empty and are skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ContentBlock {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tool_use: Option<ToolUse>,
    #[serde(default)]
    reasoning_content: Option<ReasoningContent>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ToolUse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) tool_use_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) name: String,
    /// The arguments object, kept as the text Bedrock sent.
    #[serde(default)]
    input: Option<Box<RawValue>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReasoningContent {
    #[serde(default)]
    reasoning_text: Option<ReasoningText>,
    #[serde(default)]
    redacted_content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ReasoningText {
    #[serde(default, deserialize_with = "null_as_default")]
    text: String,
    #[serde(default)]
    signature: Option<String>,
}

/// The `usage` object of a response or of a stream's `metadata` event.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireUsage {
    #[serde(default, deserialize_with = "opt_count")]
    input_tokens: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    output_tokens: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    cache_read_input_tokens: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    cache_write_input_tokens: Option<u32>,
}

impl WireUsage {
    /// The unified usage: Bedrock counts cached prompt tokens apart from
    /// `inputTokens`; the unified prompt count includes them.
    pub(super) fn to_usage(self) -> Usage {
        let count = |n: Option<u32>| n.unwrap_or(0);
        let prompt = count(self.input_tokens)
            .saturating_add(count(self.cache_read_input_tokens))
            .saturating_add(count(self.cache_write_input_tokens));
        let mut usage = Usage::new(prompt, count(self.output_tokens));
        usage.cached_tokens = self.cache_read_input_tokens.filter(|n| *n > 0);
        usage.cache_write_tokens = self.cache_write_input_tokens.filter(|n| *n > 0);
        usage
    }
}

/// Converse's `stopReason`, unified.
pub(super) fn finish_reason(raw: &str) -> FinishReason {
    match raw {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    output: Output,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize, Default)]
struct Output {
    #[serde(default, deserialize_with = "null_as_default")]
    message: OutputMessage,
}

#[derive(Deserialize, Default)]
struct OutputMessage {
    #[serde(default, deserialize_with = "null_as_default")]
    content: Vec<ContentBlock>,
}

/// Parse a non-streamed Converse response (it names no model and has no id).
pub(super) fn parse(body: &[u8]) -> Result<ChatResponse> {
    let answer: ConverseResponse = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!(
            "the Bedrock response is not a Converse answer: {e}"
        ))
    })?;
    let mut response = ChatResponse::empty();
    let mut text = String::new();
    let mut reasoning = String::new();
    for block in answer.output.message.content {
        if let Some(t) = block.text {
            text.push_str(&t);
        }
        if let Some(ToolUse {
            tool_use_id,
            name,
            input,
        }) = block.tool_use
        {
            response.message.tool_calls.push(ToolCall {
                kind: ToolCallKind::Function,
                id: tool_use_id,
                name,
                arguments: arguments_text(input.as_deref()),
            });
        }
        if let Some(content) = block.reasoning_content {
            if let Some(ReasoningText { text: t, signature }) = content.reasoning_text {
                reasoning.push_str(&t);
                let signature = signature.filter(|s| !s.is_empty());
                if !t.is_empty() || signature.is_some() {
                    let mut block = ReasoningBlock::text(t);
                    if let Some(signature) = signature {
                        block = block.signed(signature, SOURCE);
                    }
                    response.message.reasoning.push(block);
                }
            }
            if let Some(data) = content.redacted_content {
                response
                    .message
                    .reasoning
                    .push(ReasoningBlock::redacted(data, SOURCE));
            }
        }
    }
    if !text.is_empty() {
        response.message.content.push(Part::text(text));
    }
    response.reasoning = (!reasoning.is_empty()).then_some(reasoning);
    response.finish_reason = answer.stop_reason.as_deref().map(finish_reason);
    response.usage = answer.usage.map(WireUsage::to_usage);
    Ok(response)
}
