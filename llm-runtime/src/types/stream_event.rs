use serde::{Deserialize, Serialize};

use super::reasoning::{ReasoningAnchor, ReasoningBlock};
use super::response::FinishReason;
use super::usage::Usage;

/// One event of a streamed answer, the same for every provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum StreamEvent {
    /// The stream began; carries the response id and model where known.
    Start {
        /// The provider's response id.
        id: String,
        /// The model that answers.
        model: String,
    },
    /// A piece of the answer's text.
    TextDelta {
        /// The text.
        text: String,
    },
    /// A piece of reasoning ("thinking") text.
    ReasoningDelta {
        /// The text.
        text: String,
    },
    /// The signature of the reasoning so far: it closes the reasoning block
    /// the [`StreamEvent::ReasoningDelta`]s since the last block built (or,
    /// anchored elsewhere, stands as a block of its own); see
    /// [`ReasoningBlock`](crate::types::ReasoningBlock).
    ReasoningSignature {
        /// The opaque signature, to be sent back unchanged.
        signature: String,
        /// The wire format that issued it (`"anthropic"`, `"gemini"`).
        source: String,
        /// Which part of the answer carries it.
        #[serde(default)]
        anchor: ReasoningAnchor,
    },
    /// A reasoning block the provider redacted: only its encrypted payload.
    RedactedReasoning {
        /// The encrypted payload, to be sent back unchanged.
        data: String,
        /// The wire format that issued it.
        source: String,
    },
    /// A reasoning block is complete, as the provider gave it whole (an OpenAI
    /// Responses `reasoning` item's summary part, with the item's id and
    /// encrypted payload): it replaces the block the
    /// [`StreamEvent::ReasoningDelta`]s since the last block built (its text is
    /// the whole text, as [`StreamEvent::ToolCallEnd`]'s arguments are), or is
    /// a block of its own when none is open.
    ReasoningDone {
        /// The whole block, to be sent back unchanged.
        block: ReasoningBlock,
    },
    /// A tool call begins.
    ToolCallStart {
        /// Its position among this answer's tool calls.
        index: usize,
        /// The provider's id for the call.
        id: String,
        /// The tool's name.
        name: String,
    },
    /// The tool call begun at `index` calls a custom (free-form) tool: its
    /// [`StreamEvent::ToolCallDelta`] pieces are raw input text, not JSON
    /// (see [`ToolCallKind::Custom`](crate::types::ToolCallKind::Custom)).
    CustomToolCall {
        /// The call's position, as in [`StreamEvent::ToolCallStart`].
        index: usize,
    },
    /// A piece of a tool call's JSON arguments.
    ToolCallDelta {
        /// The call's position, as in [`StreamEvent::ToolCallStart`].
        index: usize,
        /// The piece of JSON text.
        arguments: String,
    },
    /// A tool call's arguments are complete: `arguments` is their whole JSON
    /// text and replaces the pieces [`StreamEvent::ToolCallDelta`] carried
    /// (a dialect whose pieces keep the model's own whitespace sends here the
    /// form the non-streamed answer has).
    ToolCallEnd {
        /// The call's position, as in [`StreamEvent::ToolCallStart`].
        index: usize,
        /// The whole JSON arguments text.
        arguments: String,
    },
    /// A refusal message piece.
    RefusalDelta {
        /// The text.
        text: String,
    },
    /// Token usage (often sent at the end).
    Usage {
        /// The usage.
        usage: Usage,
    },
    /// Why the model stopped.
    Finish {
        /// The reason.
        reason: FinishReason,
    },
}
