//! `GenerateContentResponse` -> `ChatResponse`, and the wire types the stream shares.

use serde::Deserialize;
use serde_json::Value;

use crate::dialects::wire::{null_as_default, opt_count};
use crate::error::{Error, Result};
use crate::types::{ChatResponse, FinishReason, Part, ToolCall, Usage};

/// One `GenerateContentResponse`: a whole response, or one event of a stream.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) candidates: Vec<Candidate>,
    #[serde(default)]
    pub(super) prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    pub(super) usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    pub(super) model_version: Option<String>,
    #[serde(default)]
    pub(super) response_id: Option<String>,
    /// Set when a stream fails mid-way (the event is a Google error body).
    #[serde(default)]
    pub(super) error: Option<Value>,
}

impl WireResponse {
    /// The first candidate (the only one this runtime asks for).
    pub(super) fn first_candidate(&mut self) -> Option<&mut Candidate> {
        let position = self
            .candidates
            .iter()
            .position(|c| c.index.unwrap_or(0) == 0)
            .unwrap_or(0);
        self.candidates.get_mut(position)
    }

    /// Whether the prompt was blocked before any candidate was made.
    pub(super) fn prompt_blocked(&self) -> bool {
        self.prompt_feedback.as_ref().is_some_and(|f| {
            f.block_reason
                .as_deref()
                .is_some_and(|r| r != "BLOCK_REASON_UNSPECIFIED")
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Candidate {
    #[serde(default)]
    pub(super) content: Option<Content>,
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
    #[serde(default)]
    index: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Content {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) parts: Vec<WirePart>,
}

/// A part; kinds this runtime does not map (executable code, inline data out...) are skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WirePart {
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) thought: Option<bool>,
    #[serde(default)]
    pub(super) function_call: Option<FunctionCall>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FunctionCall {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) name: String,
    #[serde(default)]
    pub(super) args: Value,
}

impl FunctionCall {
    /// The call as a [`ToolCall`]; `position` numbers calls without an id.
    pub(super) fn into_tool_call(self, position: usize) -> ToolCall {
        ToolCall {
            id: self
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("call_{position}")),
            name: self.name,
            arguments: match self.args {
                Value::Null => "{}".to_owned(),
                args => args.to_string(),
            },
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UsageMetadata {
    #[serde(default, deserialize_with = "opt_count")]
    prompt_token_count: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    candidates_token_count: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    cached_content_token_count: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    thoughts_token_count: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    tool_use_prompt_token_count: Option<u32>,
}

impl UsageMetadata {
    /// The unified usage: the prompt counts tool-use prompt tokens too, the
    /// completion counts thinking tokens (as `totalTokenCount` does).
    pub(super) fn to_usage(self) -> Usage {
        let count = |n: Option<u32>| n.unwrap_or(0);
        let prompt =
            count(self.prompt_token_count).saturating_add(count(self.tool_use_prompt_token_count));
        let completion =
            count(self.candidates_token_count).saturating_add(count(self.thoughts_token_count));
        let mut usage = Usage::new(prompt, completion);
        usage.cached_tokens = self.cached_content_token_count;
        usage.reasoning_tokens = self.thoughts_token_count;
        usage
    }
}

/// The unified finish reason of a raw `finishReason`, given whether the answer called tools.
pub(super) fn finish_reason(raw: &str, has_tool_calls: bool) -> FinishReason {
    match raw {
        "STOP" if has_tool_calls => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Parse a non-streamed `generateContent` response.
pub(super) fn parse(body: &[u8]) -> Result<ChatResponse> {
    let mut wire: WireResponse = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!(
            "the Gemini response is not a GenerateContentResponse: {e}"
        ))
    })?;
    let mut response = ChatResponse::empty();
    response.id = wire.response_id.take().unwrap_or_default();
    response.model = wire.model_version.take().unwrap_or_default();
    response.usage = wire.usage_metadata.map(UsageMetadata::to_usage);
    let blocked = wire.prompt_blocked();
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut raw_finish = None;
    if let Some(candidate) = wire.first_candidate() {
        raw_finish = candidate.finish_reason.take();
        let parts = candidate
            .content
            .take()
            .map(|c| c.parts)
            .unwrap_or_default();
        for part in parts {
            if let Some(call) = part.function_call {
                let position = response.message.tool_calls.len();
                response
                    .message
                    .tool_calls
                    .push(call.into_tool_call(position));
            } else if let Some(t) = part.text {
                if part.thought == Some(true) {
                    reasoning.push_str(&t);
                } else {
                    text.push_str(&t);
                }
            }
        }
    }
    if !text.is_empty() {
        response.message.content.push(Part::text(text));
    }
    response.reasoning = (!reasoning.is_empty()).then_some(reasoning);
    let has_calls = !response.message.tool_calls.is_empty();
    response.finish_reason = match raw_finish {
        Some(raw) => Some(finish_reason(&raw, has_calls)),
        None if blocked => Some(FinishReason::ContentFilter),
        None => None,
    };
    Ok(response)
}
