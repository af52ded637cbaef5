//! Reading Ollama's chat objects (the non-streamed body and each stream line
//! share one shape), embeddings and the model list.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::dialects::raw_json::arguments_text;
use crate::dialects::toolkit::{embeddings_in_order, model_list};
use crate::dialects::wire::{null_as_default, opt_count};
use crate::error::{Error, Result};
use crate::types::{
    ChatResponse, EmbeddingResponse, FinishReason, ModelInfo, Part, ToolCall, ToolCallKind, Usage,
};

/// One chat object: the whole non-streamed answer, or one stream line.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ChatObject {
    #[serde(default)]
    pub(super) model: Option<String>,
    #[serde(default)]
    pub(super) message: Option<WireMessage>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) done: bool,
    #[serde(default)]
    pub(super) done_reason: Option<String>,
    #[serde(default, deserialize_with = "opt_count")]
    pub(super) prompt_eval_count: Option<u32>,
    #[serde(default, deserialize_with = "opt_count")]
    pub(super) eval_count: Option<u32>,
    /// Set instead of everything else when the server fails.
    #[serde(default)]
    pub(super) error: Option<Value>,
}

/// The assistant message of a chat object.
#[derive(Debug, Default, Deserialize)]
pub(super) struct WireMessage {
    #[serde(default)]
    pub(super) content: Option<String>,
    #[serde(default)]
    pub(super) thinking: Option<String>,
    #[serde(default)]
    pub(super) tool_calls: Option<Vec<WireToolCall>>,
}

/// A tool call: always whole (Ollama never splits one over stream lines).
#[derive(Debug, Deserialize)]
pub(super) struct WireToolCall {
    /// Sent by recent servers only.
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) function: WireFunction,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WireFunction {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) name: String,
    /// A JSON object (a string from some compatible servers), kept as the
    /// text the server sent.
    #[serde(default)]
    pub(super) arguments: Option<Box<RawValue>>,
}

impl WireToolCall {
    /// The call as the unified type; `position` names it `call_{position}` when
    /// the server gives no id.
    pub(super) fn to_tool_call(&self, position: usize) -> ToolCall {
        let id = match self.id.as_deref() {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => format!("call_{position}"),
        };
        let raw = self.function.arguments.as_deref();
        // A string holds the arguments' JSON text itself.
        let text = raw
            .filter(|raw| raw.get().starts_with('"'))
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok());
        let arguments = text.unwrap_or_else(|| arguments_text(raw));
        ToolCall {
            kind: ToolCallKind::Function,
            id,
            name: self.function.name.clone(),
            arguments,
        }
    }
}

impl ChatObject {
    /// Parse one object; bytes that are not a JSON object are a decode error.
    pub(super) fn parse(bytes: &[u8], what: &str) -> Result<Self> {
        // serde would read a struct from an array too; a chat object is a JSON object.
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(Error::decode(format!(
                "Ollama sent {what} that is not a JSON object"
            )));
        }
        serde_json::from_slice(bytes).map_err(|e| {
            Error::decode(format!("Ollama sent {what} that is not a chat object: {e}"))
        })
    }

    /// The error the object carries, if it is an error object.
    /// Classified by the one in-band table (`error/classify.rs`), whose
    /// in-band patterns came from Ollama's messages.
    pub(super) fn error(&self) -> Option<Error> {
        crate::error::error_value_error(self.error.as_ref()?)
            .map(|e| e.context("Ollama reported an error"))
    }

    /// Token counts, where the server reported any.
    pub(super) fn usage(&self) -> Option<Usage> {
        if self.prompt_eval_count.is_none() && self.eval_count.is_none() {
            return None;
        }
        Some(Usage::new(
            self.prompt_eval_count.unwrap_or(0),
            self.eval_count.unwrap_or(0),
        ))
    }
}

/// Why the answer ended. Ollama says `stop` after tool calls too; that is
/// reported as [`FinishReason::ToolCalls`], as every other dialect does.
pub(super) fn finish_reason(done_reason: Option<&str>, made_tool_calls: bool) -> FinishReason {
    match done_reason {
        None | Some("" | "stop") if made_tool_calls => FinishReason::ToolCalls,
        None | Some("" | "stop") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some(other) => FinishReason::Other(other.to_owned()),
    }
}

/// Parse a non-streamed `/api/chat` body.
pub(super) fn parse(body: &[u8]) -> Result<ChatResponse> {
    let object = ChatObject::parse(body, "a response")?;
    if let Some(e) = object.error() {
        return Err(e);
    }
    let mut response = ChatResponse::empty();
    response.model = object.model.clone().unwrap_or_default();
    response.usage = object.usage();
    let message = object.message.unwrap_or_default();
    if let Some(text) = message.content.filter(|t| !t.is_empty()) {
        response.message.content.push(Part::text(text));
    }
    response.set_plain_reasoning(message.thinking);
    response.message.tool_calls = message
        .tool_calls
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, call)| call.to_tool_call(i))
        .collect();
    response.finish_reason = Some(finish_reason(
        object.done_reason.as_deref(),
        !response.message.tool_calls.is_empty(),
    ));
    Ok(response)
}

/// Parse an `/api/embed` body: `{"model", "embeddings": [[...]], "prompt_eval_count"}`.
pub(super) fn parse_embeddings(body: &[u8], model: &str) -> Result<EmbeddingResponse> {
    #[derive(Deserialize)]
    struct Embed {
        #[serde(default)]
        model: Option<String>,
        embeddings: Vec<Vec<f32>>,
        #[serde(default, deserialize_with = "opt_count")]
        prompt_eval_count: Option<u32>,
    }
    let embed: Embed = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!(
            "Ollama sent an embeddings body that is not understood: {e}"
        ))
    })?;
    Ok(EmbeddingResponse {
        model: embed.model.unwrap_or_else(|| model.to_owned()),
        provider: String::new(),
        embeddings: embeddings_in_order(embed.embeddings),
        usage: embed.prompt_eval_count.map(|n| Usage::new(n, 0)),
    })
}

/// Parse `/api/tags`: `{"models": [{"name": "llama3.2:latest", ...}]}`.
pub(super) fn parse_models(body: &[u8]) -> Result<Vec<ModelInfo>> {
    model_list(body, "Ollama", "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::types::Embedding;

    #[test]
    fn text_reasoning_usage_and_finish() {
        let body = br#"{"model":"qwen3","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"Hi!","thinking":"User greets."},"done":true,"done_reason":"stop","total_duration":1,"prompt_eval_count":12,"eval_count":4}"#;
        let r = parse(body).unwrap();
        assert_eq!(r.id, "");
        assert_eq!(r.model, "qwen3");
        assert_eq!(r.provider, "");
        assert_eq!(r.message.content, vec![Part::text("Hi!")]);
        assert_eq!(r.reasoning.as_deref(), Some("User greets."));
        assert_eq!(r.finish_reason, Some(FinishReason::Stop));
        assert_eq!(r.usage, Some(Usage::new(12, 4)));
        assert_eq!(r.usage.map(|u| u.total_tokens), Some(16));
    }

    #[test]
    fn tool_calls_get_ids_and_json_text_arguments() {
        let body = br#"{"model":"m","message":{"role":"assistant","content":"","tool_calls":[
            {"function":{"name":"get_weather","arguments":{"city":"Paris"}}},
            {"id":"call_abc","function":{"index":1,"name":"get_time","arguments":{}}}]},"done":true,"done_reason":"stop"}"#;
        let r = parse(body).unwrap();
        assert!(r.message.content.is_empty());
        assert_eq!(r.reasoning, None);
        assert_eq!(
            r.message.tool_calls,
            vec![
                ToolCall {
                    kind: ToolCallKind::Function,
                    id: "call_0".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"city":"Paris"}"#.into()
                },
                ToolCall {
                    kind: ToolCallKind::Function,
                    id: "call_abc".into(),
                    name: "get_time".into(),
                    arguments: "{}".into()
                },
            ]
        );
        assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(r.usage, None);
    }

    #[test]
    fn finish_reasons() {
        assert_eq!(finish_reason(Some("stop"), false), FinishReason::Stop);
        assert_eq!(finish_reason(None, false), FinishReason::Stop);
        assert_eq!(finish_reason(Some("length"), true), FinishReason::Length);
        assert_eq!(finish_reason(Some("stop"), true), FinishReason::ToolCalls);
        assert_eq!(
            finish_reason(Some("unload"), false),
            FinishReason::Other("unload".into())
        );
    }

    #[test]
    fn error_objects_and_bad_bytes() {
        let e = parse(br#"{"error":"model 'nope' not found, try pulling it first"}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.message().contains("model 'nope' not found"));
        let e = parse(br#"{"error":"llama runner process has terminated"}"#).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ServerError);
        for bad in [&b"{\"model\":"[..], b"<html>", b"", b"[1,2]", b"\xff\xfe"] {
            assert_eq!(parse(bad).unwrap_err().kind(), ErrorKind::Decode);
        }
    }

    #[test]
    fn embeddings_and_models() {
        let e = parse_embeddings(
            br#"{"model":"all-minilm","embeddings":[[0.1,0.2],[0.3,0.4]],"prompt_eval_count":8}"#,
            "x",
        )
        .unwrap();
        assert_eq!(e.model, "all-minilm");
        assert_eq!(
            e.embeddings[1],
            Embedding {
                index: 1,
                vector: vec![0.3, 0.4]
            }
        );
        assert_eq!(e.usage, Some(Usage::new(8, 0)));
        assert_eq!(
            parse_embeddings(b"{}", "x").unwrap_err().kind(),
            ErrorKind::Decode
        );
        let models = parse_models(
            br#"{"models":[{"name":"llama3.2:latest","size":1},{"model":"qwen3:8b"}]}"#,
        )
        .unwrap();
        let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["llama3.2:latest", "qwen3:8b"]);
    }
}
