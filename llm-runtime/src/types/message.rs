use serde::{Deserialize, Serialize};

use super::reasoning::{CacheBreakpoint, ReasoningBlock};
use super::setters::setters;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The caller.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call, answering [`Message::tool_call_id`].
    Tool,
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ImageSource {
    /// An `https://` or `data:` URL the provider fetches or decodes.
    Url {
        /// The URL.
        url: String,
    },
    /// Raw bytes, base64-encoded, with their media type (`image/png`...).
    Base64 {
        /// The media type, e.g. `image/png`.
        mime: String,
        /// The base64 data (no `data:` prefix).
        data: String,
    },
}

/// One piece of a message's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Part {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// An image (needs a provider with the `vision` capability).
    Image {
        /// Where the image comes from.
        source: ImageSource,
    },
}

impl Part {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Part::Text { text: text.into() }
    }

    /// An image part from a URL (`https://...` or `data:image/png;base64,...`).
    pub fn image_url(url: impl Into<String>) -> Self {
        Part::Image {
            source: ImageSource::Url { url: url.into() },
        }
    }

    /// An image part from base64 data and its media type.
    pub fn image_base64(mime: impl Into<String>, data: impl Into<String>) -> Self {
        Part::Image {
            source: ImageSource::Base64 {
                mime: mime.into(),
                data: data.into(),
            },
        }
    }

    /// The text of a text part.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Part::Text { text } => Some(text),
            Part::Image { .. } => None,
        }
    }
}

/// What kind of tool a [`ToolCall`] calls, and so what its
/// [`arguments`](ToolCall::arguments) hold.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolCallKind {
    /// A function tool: the arguments are JSON text.
    #[default]
    Function,
    /// A custom (free-form) tool (OpenAI `type: "custom"`): the arguments are
    /// the model's raw input text, not necessarily JSON.
    Custom,
}

impl ToolCallKind {
    fn is_function(&self) -> bool {
        *self == ToolCallKind::Function
    }
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCall {
    /// The provider's id for the call; a tool result answers it.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, as the JSON text the model wrote (for a
    /// [`ToolCallKind::Custom`] call: its raw input text).
    pub arguments: String,
    /// A function call, or a custom tool's call with free-form input.
    #[serde(default, skip_serializing_if = "ToolCallKind::is_function")]
    pub kind: ToolCallKind,
}

impl ToolCall {
    /// A function call with JSON `arguments`.
    pub fn function(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        ToolCall {
            kind: ToolCallKind::Function,
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    /// A custom tool's call with its raw `input` text.
    ///
    /// ```
    /// use llm_runtime::{ToolCall, types::ToolCallKind};
    /// let call = ToolCall::custom("call_1", "code_exec", "print('hi')");
    /// assert_eq!((call.kind, call.arguments.as_str()), (ToolCallKind::Custom, "print('hi')"));
    /// ```
    pub fn custom(
        id: impl Into<String>,
        name: impl Into<String>,
        input: impl Into<String>,
    ) -> Self {
        ToolCall {
            kind: ToolCallKind::Custom,
            id: id.into(),
            name: name.into(),
            arguments: input.into(),
        }
    }

    /// Parse the arguments as JSON.
    pub fn arguments_json(&self) -> crate::Result<serde_json::Value> {
        serde_json::from_str(&self.arguments).map_err(|e| {
            crate::Error::new(
                crate::ErrorKind::Decode,
                format!(
                    "tool call `{}` has arguments that are not JSON: {e}",
                    self.name
                ),
            )
        })
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its content: text and images.
    #[serde(default)]
    pub content: Vec<Part>,
    /// Tool calls made by the assistant in this message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a [`Role::Tool`] message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For a [`Role::Tool`] message: the name of the function whose call it
    /// answers (Gemini names the function in a `functionResponse`, which a
    /// trimmed history may no longer show; Mistral and Ollama take it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// For an assistant message: the reasoning that preceded it, in order,
    /// with what the provider needs back on the next turn (signatures,
    /// encrypted payloads). Filled from the reply; see [`ChatResponse::into_message`](crate::ChatResponse::into_message).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning: Vec<ReasoningBlock>,
    /// A prompt-cache breakpoint after this message (see [`CacheBreakpoint`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheBreakpoint>,
}

impl Message {
    fn with_text(role: Role, text: impl Into<String>) -> Self {
        Message {
            role,
            content: vec![Part::text(text)],
            tool_calls: Vec::new(),
            tool_call_id: None,
            tool_name: None,
            reasoning: Vec::new(),
            cache: None,
        }
    }

    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::with_text(Role::System, text)
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::with_text(Role::User, text)
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::with_text(Role::Assistant, text)
    }

    /// A user message made of several parts (text and images).
    pub fn user_parts(parts: Vec<Part>) -> Self {
        Message {
            role: Role::User,
            content: parts,
            tool_calls: Vec::new(),
            tool_call_id: None,
            tool_name: None,
            reasoning: Vec::new(),
            cache: None,
        }
    }

    /// An assistant message that made tool calls (as the model returned it).
    pub fn assistant_tool_calls(text: Option<String>, calls: Vec<ToolCall>) -> Self {
        Message {
            role: Role::Assistant,
            content: text.map(Part::text).into_iter().collect(),
            tool_calls: calls,
            tool_call_id: None,
            tool_name: None,
            reasoning: Vec::new(),
            cache: None,
        }
    }

    /// The result of the tool call `call_id`.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            role: Role::Tool,
            content: vec![Part::text(content)],
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.into()),
            tool_name: None,
            reasoning: Vec::new(),
            cache: None,
        }
    }

    /// The result of `call`, naming its function (see [`tool_name`](Self::tool_name)).
    ///
    /// ```
    /// use llm_runtime::{Message, ToolCall};
    /// let call = ToolCall::function("call_1", "get_weather", r#"{"city":"Paris"}"#);
    /// let result = Message::tool_result_for(&call, "sunny");
    /// assert_eq!(result.tool_call_id.as_deref(), Some("call_1"));
    /// assert_eq!(result.tool_name.as_deref(), Some("get_weather"));
    /// ```
    pub fn tool_result_for(call: &ToolCall, content: impl Into<String>) -> Self {
        Self::tool_result(call.id.clone(), content).with_tool_name(call.name.clone())
    }

    setters! {
        /// This tool result, naming the function whose call it answers.
        with_tool_name(name: impl Into<String>) { tool_name = Some(name.into()) }
        /// This message with a prompt-cache breakpoint after it.
        cached(breakpoint: CacheBreakpoint) { cache = Some(breakpoint) }
    }

    /// All text parts joined together.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for part in &self.content {
            if let Some(t) = part.as_text() {
                out.push_str(t);
            }
        }
        out
    }

    /// Whether any part is an image.
    pub fn has_images(&self) -> bool {
        self.content.iter().any(|p| matches!(p, Part::Image { .. }))
    }
}
