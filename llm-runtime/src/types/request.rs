use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::message::{Message, Part};
use super::native::NativeBody;
use super::reasoning::CacheBreakpoint;
use super::response::ChatResponse;
use super::setters::setters;

/// A tool (function) the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tool {
    /// The function's name.
    pub name: String,
    /// What it does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON-schema object describing the arguments.
    pub parameters: Value,
    /// A prompt-cache breakpoint after this tool's definition (see [`CacheBreakpoint`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheBreakpoint>,
}

impl Tool {
    /// A function tool with a JSON-schema `parameters` object.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        Tool {
            name: name.into(),
            description: Some(description.into()),
            parameters,
            cache: None,
        }
    }

    /// This tool with a prompt-cache breakpoint after its definition
    /// (tools come first in a prompt: a breakpoint on the last tool caches them all).
    pub fn cached(mut self, breakpoint: CacheBreakpoint) -> Self {
        self.cache = Some(breakpoint);
        self
    }
}

/// How the model should pick tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This tool.
    Tool(String),
}

/// The shape of the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ResponseFormat {
    /// Free text (the default).
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON that matches a schema.
    JsonSchema {
        /// The schema's name.
        name: String,
        /// The JSON schema.
        schema: Value,
        /// Whether the provider must follow the schema strictly.
        #[serde(default)]
        strict: bool,
    },
}

/// How hard a reasoning model should think.
///
/// OpenAI takes every named level as `reasoning_effort` (`reasoning.effort` on
/// the Responses API); APIs that take a thinking-token budget instead
/// (Anthropic, Gemini, Bedrock) get the budget each level stands for.
/// A level this enum does not name yet is [`ReasoningEffort::Other`], sent as
/// written where the API takes the word (and refused with
/// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) where only a
/// budget can be sent).
///
/// ```
/// use llm_runtime::types::ReasoningEffort;
/// assert_eq!(ReasoningEffort::XHigh.as_str(), "xhigh");
/// assert_eq!(ReasoningEffort::from_name("minimal"), ReasoningEffort::Minimal);
/// assert_eq!(ReasoningEffort::from_name("max"), ReasoningEffort::Other("max".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReasoningEffort {
    /// No reasoning (`none`).
    None,
    /// The least reasoning a model that always reasons does (`minimal`).
    Minimal,
    /// Little reasoning.
    Low,
    /// Some reasoning.
    Medium,
    /// Much reasoning.
    High,
    /// More than [`High`](Self::High) (`xhigh`).
    XHigh,
    /// A level this enum does not name, as the API writes it.
    Other(String),
}

impl ReasoningEffort {
    /// The named levels, from least to most reasoning.
    pub const NAMED: [ReasoningEffort; 6] = [
        ReasoningEffort::None,
        ReasoningEffort::Minimal,
        ReasoningEffort::Low,
        ReasoningEffort::Medium,
        ReasoningEffort::High,
        ReasoningEffort::XHigh,
    ];

    /// The word the API takes: `none`, `minimal`, `low`, `medium`, `high`,
    /// `xhigh`, or the [`Other`](Self::Other) text.
    pub fn as_str(&self) -> &str {
        match self {
            ReasoningEffort::None => "none",
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
            ReasoningEffort::XHigh => "xhigh",
            ReasoningEffort::Other(s) => s,
        }
    }

    /// The level a word names; an unknown word is [`Other`](Self::Other).
    pub fn from_name(name: &str) -> Self {
        Self::NAMED
            .into_iter()
            .find(|e| e.as_str() == name)
            .unwrap_or_else(|| ReasoningEffort::Other(name.to_owned()))
    }
}

impl Serialize for ReasoningEffort {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ReasoningEffort {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ReasoningEffort::from_name(&s))
    }
}

/// Whether and how a reasoning model sums up its reasoning in the answer
/// (OpenAI Responses `reasoning.summary`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningSummary {
    /// The most detailed summary the model offers (`auto`).
    Auto,
    /// A short summary (`concise`).
    Concise,
    /// A long summary (`detailed`).
    Detailed,
    /// No summary: the field is left out.
    None,
}

impl ReasoningSummary {
    /// The word the API takes, `None` for no summary.
    pub const fn as_str(self) -> Option<&'static str> {
        match self {
            ReasoningSummary::Auto => Some("auto"),
            ReasoningSummary::Concise => Some("concise"),
            ReasoningSummary::Detailed => Some("detailed"),
            ReasoningSummary::None => None,
        }
    }
}

/// What to do with a request parameter the provider does not support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsupportedParamPolicy {
    /// Fail with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) before any network call.
    #[default]
    Reject,
    /// Leave it out and name it in [`ChatResponse::dropped_params`](crate::ChatResponse::dropped_params).
    Drop,
    /// Send it as-is and let the provider decide.
    Passthrough,
}

/// A chat request, the same for every provider.
///
/// ```
/// use llm_runtime::ChatRequest;
/// let req = ChatRequest::new("gpt-4o-mini").system("Be brief.").user("Hello").temperature(0.2);
/// assert_eq!(req.messages.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatRequest {
    /// The model, as the provider names it (no `provider/` prefix).
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Sampling temperature, `0.0..=2.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling, `0.0..=1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// The most tokens to generate (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// A seed for deterministic sampling where supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// How to pick tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// The shape of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Reasoning effort for reasoning models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// A reasoning token budget (Anthropic thinking, Gemini thinking budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_budget: Option<u32>,
    /// The reasoning summary to ask for (OpenAI Responses `reasoning.summary`);
    /// `None` is the dialect's default (`auto` when reasoning is asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_summary: Option<ReasoningSummary>,
    /// Whether to ask for the model's encrypted reasoning so the next turn can
    /// send it back (OpenAI Responses `include: ["reasoning.encrypted_content"]`).
    ///
    /// `None` asks for it whenever reasoning is asked for, the conversation
    /// already carries encrypted reasoning, or the model is known to reason;
    /// `Some(true)` always (a reasoning deployment under a name of its own),
    /// `Some(false)` never (a server that rejects the field). APIs that return
    /// their reasoning state unasked (Anthropic and Gemini signatures) need no field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_encrypted_reasoning: Option<bool>,
    /// An end-user id for abuse monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Provider-specific fields merged into the request body as-is.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
    /// Overrides the client's unsupported-parameter policy for this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsupported_params: Option<UnsupportedParamPolicy>,
    /// A key that routes requests sharing a prompt prefix to the same cache
    /// (OpenAI `prompt_cache_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_key: Option<String>,
    /// The name of a cache the provider already holds, whose content prefixes
    /// the prompt (Gemini `cachedContent`, `cachedContents/...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_content: Option<String>,
    /// The request as the caller wrote it in one wire format, sent unchanged
    /// by the dialect of that format only (see [`NativeBody`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<NativeBody>,
}

impl ChatRequest {
    /// A request for `model` with no messages yet.
    pub fn new(model: impl Into<String>) -> Self {
        ChatRequest {
            model: model.into(),
            ..Default::default()
        }
    }

    setters! {
        /// Append a system message.
        system(text: impl Into<String>) { messages.push(Message::system(text)) }
        /// Append a user message.
        user(text: impl Into<String>) { messages.push(Message::user(text)) }
        /// Append a user message with several parts (text and images).
        user_parts(parts: Vec<Part>) { messages.push(Message::user_parts(parts)) }
        /// Append an assistant message.
        assistant(text: impl Into<String>) { messages.push(Message::assistant(text)) }
        /// Append any message.
        message(message: Message) { messages.push(message) }
        /// Set the model.
        model(model: impl Into<String>) { model = model.into() }
        /// Set the temperature.
        temperature(t: f32) { temperature = Some(t) }
        /// Set top-p.
        top_p(p: f32) { top_p = Some(p) }
        /// Set the most tokens to generate.
        max_tokens(n: u32) { max_tokens = Some(n) }
        /// Add a stop sequence.
        stop(s: impl Into<String>) { stop.push(s.into()) }
        /// Set the seed.
        seed(seed: u64) { seed = Some(seed) }
        /// Add a tool.
        tool(tool: Tool) { tools.push(tool) }
        /// Set the tool choice.
        tool_choice(choice: ToolChoice) { tool_choice = Some(choice) }
        /// Set the response format.
        response_format(format: ResponseFormat) { response_format = Some(format) }
        /// Set the reasoning effort.
        reasoning_effort(effort: ReasoningEffort) { reasoning_effort = Some(effort) }
        /// Set the reasoning summary to ask for.
        reasoning_summary(summary: ReasoningSummary) { reasoning_summary = Some(summary) }
        /// Ask for the model's encrypted reasoning (`true`) or never (`false`),
        /// whatever the model's name; see [`include_encrypted_reasoning`](Self::include_encrypted_reasoning).
        encrypted_reasoning(include: bool) { include_encrypted_reasoning = Some(include) }
        /// Set a reasoning token budget.
        reasoning_budget(tokens: u32) { reasoning_budget = Some(tokens) }
        /// Set the end-user id.
        end_user(user: impl Into<String>) { user = Some(user.into()) }
        /// Add a provider-specific body field.
        extra(key: impl Into<String>, value: Value) { extra.insert(key.into(), value) }
    }

    /// Put a prompt-cache breakpoint on the last message so far (the system
    /// prompt, when called right after [`system`](Self::system)).
    pub fn cache_breakpoint(mut self, breakpoint: CacheBreakpoint) -> Self {
        if let Some(last) = self.messages.last_mut() {
            last.cache = Some(breakpoint);
        }
        self
    }

    setters! {
        /// Set the prompt-cache routing key.
        cache_key(key: impl Into<String>) { cache_key = Some(key.into()) }
        /// Use the provider-held cache `name` as the prompt's prefix.
        cached_content(name: impl Into<String>) { cached_content = Some(name.into()) }
    }

    /// Append a reply as the next assistant turn, with everything the
    /// provider needs back (see [`ChatResponse::into_message`]).
    ///
    /// ```
    /// use llm_runtime::{ChatRequest, ChatResponse, Message};
    /// # let reply = ChatResponse::empty();
    /// let mut request = ChatRequest::new("m").user("Weather in Paris?");
    /// request.push_reply(&reply);
    /// for call in &reply.message.tool_calls {
    ///     request.messages.push(Message::tool_result(&call.id, "sunny"));
    /// }
    /// assert_eq!(request.messages.len(), 2);
    /// ```
    pub fn push_reply(&mut self, reply: &ChatResponse) {
        self.messages.push(reply.message.clone());
    }

    /// Set the body as the caller wrote it in one wire format (see [`NativeBody`]).
    pub fn native(mut self, native: NativeBody) -> Self {
        self.native = Some(native);
        self
    }

    /// The caller's own body, when it is written in the wire format `format`.
    pub fn native_for(&self, format: &str) -> Option<&NativeBody> {
        self.native.as_ref().filter(|n| n.format == format)
    }

    /// Set this request's unsupported-parameter policy.
    pub fn unsupported_params(mut self, policy: UnsupportedParamPolicy) -> Self {
        self.unsupported_params = Some(policy);
        self
    }

    /// The text of the system messages, joined by blank lines (for APIs with a top-level system prompt).
    pub fn system_text(&self) -> Option<String> {
        let parts: Vec<String> = self
            .messages
            .iter()
            .filter(|m| m.role == super::Role::System)
            .map(|m| m.text())
            .collect();
        if parts.is_empty() {
            None
        } else {
            Some(parts.join("\n\n"))
        }
    }
}
