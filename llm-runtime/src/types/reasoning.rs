//! What a reply carries besides its text and tool calls that the next turn
//! must send back: reasoning blocks with their opaque signatures, and the
//! cache breakpoints a caller marks on a conversation.

use serde::{Deserialize, Serialize};

/// One block of the model's reasoning, kept on the assistant [`Message`](crate::Message)
/// so the next turn can send it back exactly as the provider requires.
///
/// A provider that signs its reasoning (Anthropic `thinking` blocks, Gemini
/// `thoughtSignature`) rejects a tool-use turn whose reasoning comes back
/// altered or missing; an API that returns its reasoning encrypted (Anthropic
/// `redacted_thinking`, OpenAI Responses `encrypted_content`) wants the
/// payload back as given. Nothing here is meant to be read or edited by the
/// caller except [`text`](Self::text).
///
/// ```
/// use llm_runtime::types::ReasoningBlock;
/// let block = ReasoningBlock::text("17 × 23 = 391").signed("EqQBCg...", "anthropic");
/// assert_eq!(block.signature.as_deref(), Some("EqQBCg..."));
/// assert!(!block.redacted);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReasoningBlock {
    /// The reasoning text, or its summary; empty when redacted or not returned.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// The provider's opaque signature over the reasoning, sent back unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Encrypted reasoning the provider returned instead of (or besides) the
    /// text, sent back unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<String>,
    /// The provider withheld the reasoning: only [`encrypted`](Self::encrypted) holds it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
    /// The wire format whose signature or encrypted payload this is
    /// (`"anthropic"`, `"gemini"`); `None` for plain reasoning text.
    ///
    /// A dialect sends back only the signed blocks of its own format: another
    /// API's signature means nothing to it and would be rejected (a conversation
    /// that moves between providers, or a [`Client`](crate::Client) fallback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Which part of the message carries the signature.
    #[serde(default, skip_serializing_if = "ReasoningAnchor::is_own")]
    pub anchor: ReasoningAnchor,
    /// The provider's id for the reasoning item this block belongs to, sent
    /// back unchanged (OpenAI Responses `rs_...`: one item may hold several
    /// summary parts, each its own block with the item's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl ReasoningBlock {
    /// A block of plain reasoning text.
    pub fn text(text: impl Into<String>) -> Self {
        ReasoningBlock {
            text: text.into(),
            ..Default::default()
        }
    }

    /// A redacted block: the provider's encrypted payload only.
    pub fn redacted(data: impl Into<String>, source: impl Into<String>) -> Self {
        ReasoningBlock {
            encrypted: Some(data.into()),
            redacted: true,
            source: Some(source.into()),
            ..Default::default()
        }
    }

    /// This block with `signature`, issued by the wire format `source`.
    pub fn signed(mut self, signature: impl Into<String>, source: impl Into<String>) -> Self {
        self.signature = Some(signature.into());
        self.source = Some(source.into());
        self
    }

    /// This block, its signature riding on `anchor`.
    pub fn anchored(mut self, anchor: ReasoningAnchor) -> Self {
        self.anchor = anchor;
        self
    }

    /// Whether the wire format `source` issued this block's signature or payload.
    pub fn is_from(&self, source: &str) -> bool {
        self.source.as_deref() == Some(source)
    }
}

/// Where a [`ReasoningBlock`]'s signature rides on the wire.
///
/// Most APIs put reasoning in a block of its own; Gemini puts its
/// `thoughtSignature` on whichever part it chose, including the text and
/// function-call parts of the answer, and wants it back on that same part.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "on", content = "id")]
pub enum ReasoningAnchor {
    /// A reasoning block or part of its own.
    #[default]
    Own,
    /// The message's text.
    Text,
    /// The message's tool call with this id.
    ToolCall(String),
}

impl ReasoningAnchor {
    fn is_own(&self) -> bool {
        *self == ReasoningAnchor::Own
    }
}

/// A prompt-cache breakpoint: the conversation up to and including the marked
/// system prompt, message or tool is worth caching.
///
/// Anthropic sends it as `cache_control` on the marked block. OpenAI and
/// Gemini cache long prompt prefixes by themselves, so a breakpoint needs no
/// field there and is met as it is; an API without prompt caching leaves it
/// out. A breakpoint changes what a call costs, never what it answers, so it is
/// not subject to the unsupported-parameter policy.
///
/// ```
/// use llm_runtime::{ChatRequest, types::{CacheBreakpoint, CacheTtl}};
/// let req = ChatRequest::new("claude-sonnet-4-5")
///     .system("A long, stable system prompt...")
///     .cache_breakpoint(CacheBreakpoint::ttl(CacheTtl::OneHour))
///     .user("Hi");
/// assert!(req.messages[0].cache.is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CacheBreakpoint {
    /// How long the cache entry should live; `None` is the provider's default
    /// (five minutes at Anthropic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<CacheTtl>,
}

impl CacheBreakpoint {
    /// A breakpoint with the provider's default lifetime.
    pub const fn new() -> Self {
        CacheBreakpoint { ttl: None }
    }

    /// A breakpoint whose entry lives for `ttl`.
    pub const fn ttl(ttl: CacheTtl) -> Self {
        CacheBreakpoint { ttl: Some(ttl) }
    }
}

/// The lifetimes a prompt-cache entry can be asked for.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CacheTtl {
    /// Five minutes (Anthropic's `"5m"`, its default).
    #[serde(rename = "5m")]
    FiveMinutes,
    /// One hour (Anthropic's `"1h"`, written at a higher price).
    #[serde(rename = "1h")]
    OneHour,
}

impl CacheTtl {
    /// The duration as Anthropic writes it: `"5m"`, `"1h"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CacheTtl::FiveMinutes => "5m",
            CacheTtl::OneHour => "1h",
        }
    }
}
