use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::message::Message;
use super::usage::Usage;

/// Why the model stopped.
///
/// Values a provider adds later never fail decoding: they become [`FinishReason::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FinishReason {
    /// A natural stop or a stop sequence.
    Stop,
    /// The token limit.
    Length,
    /// The model called tools.
    ToolCalls,
    /// A safety filter.
    ContentFilter,
    /// Anything else, as the provider wrote it.
    Other(String),
}

impl FinishReason {
    /// The unified name (`stop`, `length`, `tool_calls`, `content_filter`, or the provider's own).
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(s) => s,
        }
    }

    /// Parse a unified name; unknown names become [`FinishReason::Other`].
    pub fn from_name(s: &str) -> Self {
        match s {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        }
    }
}

impl Serialize for FinishReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FinishReason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(FinishReason::from_name(&s))
    }
}

/// A complete answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatResponse {
    /// The provider's id for the response (empty if it gave none).
    pub id: String,
    /// The model that answered, as the provider reported it.
    pub model: String,
    /// The name of the provider that served it (set by the runtime).
    pub provider: String,
    /// The assistant message: text and tool calls.
    pub message: Message,
    /// Why it stopped.
    pub finish_reason: Option<FinishReason>,
    /// Token usage, where reported.
    pub usage: Option<Usage>,
    /// Reasoning ("thinking") text, where the provider returns it.
    pub reasoning: Option<String>,
    /// A refusal message, where the provider gives one separately.
    pub refusal: Option<String>,
    /// Request parameters left out under [`UnsupportedParamPolicy::Drop`](crate::types::UnsupportedParamPolicy::Drop).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped_params: Vec<String>,
    /// What the transport knows about the answer: request id, rate limits,
    /// attempts, latencies, the route used. Not part of the answer's content:
    /// equality ignores it, and it is not serialized.
    #[serde(skip)]
    pub meta: crate::types::ResponseMeta,
}

impl ChatResponse {
    /// An empty assistant response, for transforms to fill in.
    pub fn empty() -> Self {
        ChatResponse {
            id: String::new(),
            model: String::new(),
            provider: String::new(),
            message: Message {
                role: super::Role::Assistant,
                content: Vec::new(),
                tool_calls: Vec::new(),
                tool_call_id: None,
                tool_name: None,
                reasoning: Vec::new(),
                cache: None,
            },
            finish_reason: None,
            usage: None,
            reasoning: None,
            refusal: None,
            dropped_params: Vec::new(),
            meta: crate::types::ResponseMeta::default(),
        }
    }

    /// Set the reasoning text of an API whose reasoning is plain text (no
    /// signature): [`reasoning`](Self::reasoning), and one unsigned
    /// [`ReasoningBlock`](crate::types::ReasoningBlock) on the message, as a stream of
    /// it assembles. Empty text sets neither.
    pub fn set_plain_reasoning(&mut self, text: Option<String>) {
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            return;
        };
        self.message
            .reasoning
            .push(super::ReasoningBlock::text(text.clone()));
        self.reasoning = Some(text);
    }

    /// The text of the answer.
    pub fn text(&self) -> String {
        self.message.text()
    }

    /// The assistant message to put in the next turn's request: text, tool
    /// calls and reasoning blocks (signatures and redacted payloads included),
    /// so each dialect can send back exactly what its API requires.
    ///
    /// ```
    /// use llm_runtime::{ChatRequest, ChatResponse, Message};
    /// # let reply = ChatResponse::empty();
    /// let mut request = ChatRequest::new("m").user("What is the weather in Paris?");
    /// let calls = reply.message.tool_calls.clone();
    /// request.messages.push(reply.into_message());
    /// for call in calls {
    ///     request.messages.push(Message::tool_result(call.id, "sunny"));
    /// }
    /// ```
    pub fn into_message(self) -> Message {
        self.message
    }
}

/// A model a provider lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelInfo {
    /// The model id.
    pub id: String,
    /// Who owns it, where the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

impl ModelInfo {
    /// The model `id`, owner unknown.
    pub fn new(id: impl Into<String>) -> Self {
        ModelInfo {
            id: id.into(),
            owned_by: None,
        }
    }
}
