use serde::Deserialize;
use serde_json::Value;

use crate::dialects::wire::{TextContent, count, null_as_default, opt_count};
use crate::error::{Error, Result};
use crate::types::{
    ChatResponse, Embedding, EmbeddingResponse, FinishReason, Part, ToolCall, ToolCallKind, Usage,
};

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default, deserialize_with = "null_as_default")]
    message: WireMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    content: Option<TextContent>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    tool_calls: Vec<WireToolCall>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    function: WireFunction,
    /// A custom tool's call (`"type": "custom"`): its name and raw input.
    #[serde(default)]
    custom: Option<WireCustom>,
}

/// The `custom` object of a custom tool's call, whole or (streamed) in pieces.
#[derive(Deserialize, Default)]
pub(super) struct WireCustom {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) input: Option<String>,
}

impl WireToolCall {
    fn into_tool_call(self) -> ToolCall {
        let id = self.id.unwrap_or_default();
        match self.custom {
            Some(custom) => ToolCall::custom(
                id,
                custom.name.unwrap_or_default(),
                custom.input.unwrap_or_default(),
            ),
            None => ToolCall {
                kind: ToolCallKind::Function,
                id,
                name: self.function.name.unwrap_or_default(),
                arguments: self.function.arguments.unwrap_or_default(),
            },
        }
    }
}

#[derive(Deserialize, Default)]
struct WireFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct WireUsage {
    #[serde(default, deserialize_with = "count")]
    prompt_tokens: u32,
    #[serde(default, deserialize_with = "count")]
    completion_tokens: u32,
    #[serde(default, deserialize_with = "opt_count")]
    total_tokens: Option<u32>,
    #[serde(default)]
    prompt_tokens_details: Option<Details>,
    #[serde(default)]
    completion_tokens_details: Option<Details>,
    /// DeepSeek's count of prompt tokens read from its context cache.
    #[serde(default, deserialize_with = "opt_count")]
    prompt_cache_hit_tokens: Option<u32>,
}

#[derive(Deserialize, Default)]
struct Details {
    #[serde(default, deserialize_with = "opt_count")]
    cached_tokens: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    reasoning_tokens: Option<u32>,
}

impl WireUsage {
    pub(super) fn into_usage(self) -> Usage {
        let mut u = Usage::new(self.prompt_tokens, self.completion_tokens);
        if let Some(t) = self.total_tokens {
            u.total_tokens = t;
        }
        u.cached_tokens = self
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .or(self.prompt_cache_hit_tokens);
        u.reasoning_tokens = self
            .completion_tokens_details
            .and_then(|d| d.reasoning_tokens);
        u
    }
}

/// Map an OpenAI `finish_reason`.
pub(super) fn finish_reason(raw: &str) -> FinishReason {
    match raw {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// An `{"error": ...}` object some compatible servers send with status 200.
pub(super) fn embedded_error(v: &Value) -> Option<Error> {
    error_value(v.get("error")?)
}

/// Why a body did not decode into `what`: not JSON, an embedded error, or a
/// JSON shape we do not know. Only called on failure, so the fast path parses
/// once, straight into the typed struct.
pub(super) fn decode_failure(body: &[u8], e: &serde_json::Error, what: &str) -> Error {
    match serde_json::from_slice::<Value>(body) {
        Err(e) => Error::decode(format!("{what} is not JSON: {e}")).with_body(body),
        Ok(v) => embedded_error(&v).unwrap_or_else(|| {
            Error::decode(format!("{what} has an unexpected shape: {e}")).with_body(body)
        }),
    }
}

/// The error for the value of an `"error"` field, unless it is `null`:
/// classified by the one in-band table (its own HTTP-like `code` when it has one).
pub(super) fn error_value(err: &Value) -> Option<Error> {
    crate::error::error_value_error(err)
}

/// Parse a chat-completions response.
pub(super) fn parse(body: &[u8]) -> Result<ChatResponse> {
    let completion: Completion =
        serde_json::from_slice(body).map_err(|e| decode_failure(body, &e, "the chat response"))?;
    if let Some(e) = completion.error.as_ref().and_then(error_value) {
        return Err(e);
    }
    let Some(choice) = completion.choices.into_iter().next() else {
        return Err(Error::decode("the chat response has no choices").with_body(body));
    };
    let mut r = ChatResponse::empty();
    r.id = completion.id.unwrap_or_default();
    r.model = completion.model.unwrap_or_default();
    let text = choice.message.content.unwrap_or_default().0;
    if !text.is_empty() {
        r.message.content.push(Part::text(text));
    }
    r.message.tool_calls = choice
        .message
        .tool_calls
        .into_iter()
        .map(WireToolCall::into_tool_call)
        .collect();
    r.set_plain_reasoning(
        choice
            .message
            .reasoning_content
            .or(choice.message.reasoning),
    );
    r.refusal = choice.message.refusal.filter(|s| !s.is_empty());
    r.finish_reason = choice.finish_reason.as_deref().map(finish_reason);
    r.usage = completion.usage.map(WireUsage::into_usage);
    Ok(r)
}

/// Parse an embeddings response.
pub(super) fn parse_embeddings(body: &[u8]) -> Result<EmbeddingResponse> {
    #[derive(Deserialize)]
    struct Wire {
        data: Vec<Item>,
        #[serde(default, deserialize_with = "null_as_default")]
        model: String,
        #[serde(default)]
        usage: Option<WireUsage>,
    }
    #[derive(Deserialize)]
    struct Item {
        index: usize,
        embedding: Vec<f32>,
    }
    let wire: Wire = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!(
            "the embeddings response is not the expected JSON: {e}"
        ))
        .with_body(body)
    })?;
    let mut embeddings: Vec<Embedding> = wire
        .data
        .into_iter()
        .map(|i| Embedding {
            index: i.index,
            vector: i.embedding,
        })
        .collect();
    embeddings.sort_by_key(|e| e.index);
    Ok(EmbeddingResponse {
        model: wire.model,
        provider: String::new(),
        embeddings,
        usage: wire.usage.map(WireUsage::into_usage),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn parses_text_tools_usage() {
        let body = br#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
          "choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
            "tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},
            "logprobs":null,"finish_reason":"tool_calls"}],
          "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,
            "prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":0}},
          "system_fingerprint":"fp"}"#;
        let r = parse(body).unwrap();
        assert_eq!(r.id, "chatcmpl-1");
        assert!(r.message.content.is_empty());
        assert_eq!(r.message.tool_calls[0].arguments, r#"{"x":1}"#);
        assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
        let u = r.usage.unwrap();
        assert_eq!(
            (
                u.prompt_tokens,
                u.completion_tokens,
                u.total_tokens,
                u.cached_tokens
            ),
            (10, 5, 15, Some(4))
        );
    }

    #[test]
    fn unknown_finish_reason_is_other() {
        let body = br#"{"choices":[{"message":{"content":"hi"},"finish_reason":"brand_new"}]}"#;
        let r = parse(body).unwrap();
        assert_eq!(
            r.finish_reason,
            Some(FinishReason::Other("brand_new".into()))
        );
        assert_eq!(r.text(), "hi");
    }

    #[test]
    fn bad_bodies_are_typed_errors() {
        assert_eq!(parse(b"").unwrap_err().kind(), ErrorKind::Decode);
        assert_eq!(parse(b"<html>").unwrap_err().kind(), ErrorKind::Decode);
        assert_eq!(
            parse(br#"{"choices":[]}"#).unwrap_err().kind(),
            ErrorKind::Decode
        );
        assert_eq!(
            parse(br#"{"choices":"x"}"#).unwrap_err().kind(),
            ErrorKind::Decode
        );
        let e = parse(br#"{"error":{"message":"Rate limit","code":429}}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
    }
}
