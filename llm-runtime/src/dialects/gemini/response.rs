//! `GenerateContentResponse` -> `ChatResponse`, and the wire types the stream shares.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::dialects::raw_json::arguments_text;
use crate::dialects::wire::{null_as_default, opt_count};
use crate::error::{Error, Result};
use crate::stream::ResponseAccumulator;
use crate::types::{
    ChatResponse, FinishReason, ReasoningAnchor, StreamEvent, ToolCall, ToolCallKind, Usage,
};

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
    #[serde(default)]
    pub(super) thought_signature: Option<String>,
}

/// The [`ReasoningBlock::source`](crate::types::ReasoningBlock::source) of Gemini's thought signatures.
pub(super) const SOURCE: &str = "gemini";

impl WirePart {
    /// The events of a text or thought part, in order, written to `out`; a
    /// function call is handed back with its signature for the caller to number.
    /// A signature rides on the part it came with: a thought part's closes the
    /// reasoning so far, a text part's is anchored on the text.
    pub(super) fn into_events(
        self,
        out: &mut Vec<StreamEvent>,
    ) -> Option<(FunctionCall, Option<String>)> {
        let signature = self.thought_signature.filter(|s| !s.is_empty());
        if let Some(call) = self.function_call {
            return Some((call, signature));
        }
        let thought = self.thought == Some(true);
        if let Some(text) = self.text.filter(|t| !t.is_empty()) {
            out.push(if thought {
                StreamEvent::ReasoningDelta { text }
            } else {
                StreamEvent::TextDelta { text }
            });
        }
        if let Some(signature) = signature {
            out.push(StreamEvent::ReasoningSignature {
                signature,
                source: SOURCE.to_owned(),
                anchor: if thought {
                    ReasoningAnchor::Own
                } else {
                    ReasoningAnchor::Text
                },
            });
        }
        None
    }
}

/// The signature event of the function call `id`, if it came with one.
pub(super) fn call_signature(id: &str, signature: Option<String>) -> Option<StreamEvent> {
    signature.map(|signature| StreamEvent::ReasoningSignature {
        signature,
        source: SOURCE.to_owned(),
        anchor: ReasoningAnchor::ToolCall(id.to_owned()),
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FunctionCall {
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) name: String,
    /// The arguments object, kept as the text Gemini sent.
    #[serde(default)]
    pub(super) args: Option<Box<RawValue>>,
}

impl FunctionCall {
    /// The call as a [`ToolCall`]; `position` numbers calls without an id.
    pub(super) fn into_tool_call(self, position: usize) -> ToolCall {
        ToolCall {
            kind: ToolCallKind::Function,
            id: self
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("call_{position}")),
            name: self.name,
            arguments: arguments_text(self.args.as_deref()),
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

/// Every `finishReason` Google documents (Gemini API and Vertex AI), with the
/// unified reason it means; `None` keeps the raw value as
/// [`FinishReason::Other`]. Every reason that says a filter stopped the
/// answer (safety, recitation, blocklist, prohibited content, personal data,
/// Model Armor), text or image alike, is [`FinishReason::ContentFilter`].
pub(super) const FINISH_REASONS: &[(&str, Option<FinishReason>)] = &[
    ("FINISH_REASON_UNSPECIFIED", None),
    ("STOP", Some(FinishReason::Stop)),
    ("MAX_TOKENS", Some(FinishReason::Length)),
    ("SAFETY", Some(FinishReason::ContentFilter)),
    ("RECITATION", Some(FinishReason::ContentFilter)),
    ("LANGUAGE", None),
    ("OTHER", None),
    ("BLOCKLIST", Some(FinishReason::ContentFilter)),
    ("PROHIBITED_CONTENT", Some(FinishReason::ContentFilter)),
    ("SPII", Some(FinishReason::ContentFilter)),
    ("MALFORMED_FUNCTION_CALL", None),
    ("MODEL_ARMOR", Some(FinishReason::ContentFilter)),
    ("IMAGE_SAFETY", Some(FinishReason::ContentFilter)),
    (
        "IMAGE_PROHIBITED_CONTENT",
        Some(FinishReason::ContentFilter),
    ),
    ("IMAGE_RECITATION", Some(FinishReason::ContentFilter)),
    ("IMAGE_OTHER", None),
    ("NO_IMAGE", None),
    ("UNEXPECTED_TOOL_CALL", None),
    ("TOO_MANY_TOOL_CALLS", None),
    ("MISSING_THOUGHT_SIGNATURE", None),
    ("MALFORMED_RESPONSE", None),
];

/// The unified finish reason of a raw `finishReason` ([`FINISH_REASONS`]),
/// given whether the answer called tools.
pub(super) fn finish_reason(raw: &str, has_tool_calls: bool) -> FinishReason {
    let known = FINISH_REASONS
        .iter()
        .find(|(name, _)| *name == raw)
        .and_then(|(_, reason)| reason.clone());
    match known {
        Some(FinishReason::Stop) if has_tool_calls => FinishReason::ToolCalls,
        Some(reason) => reason,
        None => FinishReason::Other(raw.to_owned()),
    }
}

/// Parse a non-streamed `generateContent` response.
pub(super) fn parse(body: &[u8]) -> Result<ChatResponse> {
    let mut wire: WireResponse = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!(
            "the Gemini response is not a GenerateContentResponse: {e}"
        ))
    })?;
    let blocked = wire.prompt_blocked();
    let mut raw_finish = None;
    // The parts become the events a stream of them gives, assembled the one
    // way a stream is: the same blocks, text and calls either way.
    let mut acc = ResponseAccumulator::default();
    let mut events = Vec::new();
    if let Some(candidate) = wire.first_candidate() {
        raw_finish = candidate.finish_reason.take();
        let parts = candidate
            .content
            .take()
            .map(|c| c.parts)
            .unwrap_or_default();
        let mut calls = 0;
        for part in parts {
            if let Some((call, signature)) = part.into_events(&mut events) {
                let index = calls;
                calls += 1;
                let call = call.into_tool_call(index);
                let signature = call_signature(&call.id, signature);
                events.push(StreamEvent::ToolCallStart {
                    index,
                    id: call.id,
                    name: call.name,
                });
                events.push(StreamEvent::ToolCallDelta {
                    index,
                    arguments: call.arguments,
                });
                events.extend(signature);
            }
            for event in events.drain(..) {
                acc.push(event);
            }
        }
    }
    let mut response = acc.finish();
    response.id = wire.response_id.take().unwrap_or_default();
    response.model = wire.model_version.take().unwrap_or_default();
    response.usage = wire.usage_metadata.map(UsageMetadata::to_usage);
    let has_calls = !response.message.tool_calls.is_empty();
    response.finish_reason = match raw_finish {
        Some(raw) => Some(finish_reason(&raw, has_calls)),
        None if blocked => Some(FinishReason::ContentFilter),
        None => None,
    };
    Ok(response)
}
