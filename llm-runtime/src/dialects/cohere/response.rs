//! Reading Cohere v2 chat responses, usage, embeddings and the model list.

use serde_json::Value;

use crate::dialects::toolkit::{embeddings_in_order, model_list};
use crate::dialects::wire::count_of;
use crate::error::{Error, Result};
use crate::types::{
    ChatResponse, EmbeddingResponse, FinishReason, ModelInfo, Part, ToolCall, ToolCallKind, Usage,
};

/// A token count: Cohere writes some as floats (`12.0`).
fn count(v: Option<&Value>) -> Option<u32> {
    count_of(v?)
}

/// Usage from a `usage` object: the billed units (what the prices are per),
/// else the raw token counts.
pub(super) fn usage(v: &Value) -> Option<Usage> {
    let pick = |key: &str| {
        let counts = v.get(key)?;
        let input = count(counts.get("input_tokens"));
        let output = count(counts.get("output_tokens"));
        (input.is_some() || output.is_some())
            .then(|| Usage::new(input.unwrap_or(0), output.unwrap_or(0)))
    };
    let mut usage = pick("billed_units").or_else(|| pick("tokens"))?;
    usage.cached_tokens = count(v.get("cached_tokens")).filter(|n| *n > 0);
    Some(usage)
}

/// The unified finish reason of a Cohere one (any case).
pub(super) fn finish_reason(raw: &str) -> FinishReason {
    match raw.to_ascii_uppercase().as_str() {
        "COMPLETE" | "STOP_SEQUENCE" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "TOOL_CALL" => FinishReason::ToolCalls,
        "CONTENT_BLOCKED" | "ERROR_TOXIC" => FinishReason::ContentFilter,
        _ => FinishReason::Other(raw.to_owned()),
    }
}

/// JSON text of tool-call arguments (a string on the wire; an object is re-serialized).
pub(super) fn arguments_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Parse a non-streamed v2 `/chat` body.
pub(super) fn parse(body: &[u8]) -> Result<ChatResponse> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| Error::decode(format!("Cohere sent a response that is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(Error::decode(
            "Cohere sent a response that is not a JSON object",
        ));
    }
    let message = v
        .get("message")
        .filter(|m| !m.is_null())
        .ok_or_else(|| Error::decode("Cohere sent a chat response without a `message`"))?;
    let mut response = ChatResponse::empty();
    response.id = str_at(&v, "id").unwrap_or_default().to_owned();
    let mut text = String::new();
    let mut reasoning = String::new();
    for item in message
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match str_at(item, "type") {
            Some("thinking") => reasoning.push_str(str_at(item, "thinking").unwrap_or_default()),
            Some("text") | None => text.push_str(str_at(item, "text").unwrap_or_default()),
            Some(_) => {}
        }
    }
    // The tool plan is the model's reasoning about the calls it makes; streamed
    // it comes after any thinking, so it is appended in that order here too.
    reasoning.push_str(str_at(message, "tool_plan").unwrap_or_default());
    if !text.is_empty() {
        response.message.content.push(Part::text(text));
    }
    response.set_plain_reasoning(Some(reasoning));
    response.message.tool_calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|call| {
            let function = call.get("function");
            ToolCall {
                kind: ToolCallKind::Function,
                id: str_at(call, "id").unwrap_or_default().to_owned(),
                name: function
                    .and_then(|f| str_at(f, "name"))
                    .unwrap_or_default()
                    .to_owned(),
                arguments: arguments_text(function.and_then(|f| f.get("arguments"))),
            }
        })
        .collect();
    response.finish_reason = str_at(&v, "finish_reason").map(finish_reason);
    response.usage = v.get("usage").and_then(usage);
    Ok(response)
}

/// Parse a v2 `/embed` body: `{"embeddings": {"float": [[...]]}, "meta": {"billed_units": ...}}`
/// (or the older `{"embeddings": [[...]]}`).
pub(super) fn parse_embeddings(body: &[u8], model: &str) -> Result<EmbeddingResponse> {
    let decode = |e: &dyn std::fmt::Display| {
        Error::decode(format!(
            "Cohere sent an embeddings body that is not understood: {e}"
        ))
    };
    let v: Value = serde_json::from_slice(body).map_err(|e| decode(&e))?;
    let vectors = match v.get("embeddings") {
        Some(Value::Object(by_type)) => by_type.get("float").cloned(),
        Some(list @ Value::Array(_)) => Some(list.clone()),
        _ => None,
    }
    .ok_or_else(|| decode(&"no float embeddings"))?;
    let vectors: Vec<Vec<f32>> = serde_json::from_value(vectors).map_err(|e| decode(&e))?;
    let usage = v
        .pointer("/meta/billed_units/input_tokens")
        .and_then(|n| count(Some(n)))
        .map(|n| Usage::new(n, 0));
    Ok(EmbeddingResponse {
        model: model.to_owned(),
        provider: String::new(),
        embeddings: embeddings_in_order(vectors),
        usage,
    })
}

/// Parse `GET /v1/models`: `{"models": [{"name": "command-a-03-2025", ...}]}`.
pub(super) fn parse_models(body: &[u8]) -> Result<Vec<ModelInfo>> {
    model_list(body, "Cohere", "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn text_usage_and_finish() {
        let body = br#"{"id":"c14c80c3","finish_reason":"COMPLETE","message":{"role":"assistant","content":[{"type":"text","text":"Hello"},{"type":"text","text":" there"}]},
            "usage":{"billed_units":{"input_tokens":5,"output_tokens":2.0},"tokens":{"input_tokens":71,"output_tokens":3}}}"#;
        let r = parse(body).unwrap();
        assert_eq!(r.id, "c14c80c3");
        assert_eq!(r.model, "");
        assert_eq!(r.text(), "Hello there");
        assert_eq!(r.message.content.len(), 1);
        assert_eq!(r.finish_reason, Some(FinishReason::Stop));
        assert_eq!(r.usage, Some(Usage::new(5, 2)));
        assert_eq!(r.reasoning, None);
    }

    #[test]
    fn tool_calls_plan_and_thinking() {
        let body = br#"{"id":"x","finish_reason":"TOOL_CALL","message":{"role":"assistant",
            "content":[{"type":"thinking","thinking":"Two cities. "}],
            "tool_plan":"I will check both.",
            "tool_calls":[{"id":"w_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Madrid\"}"}},
                          {"id":"w_2","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Lima\"}"}}]},
            "usage":{"tokens":{"input_tokens":10,"output_tokens":20}}}"#;
        let r = parse(body).unwrap();
        assert!(r.message.content.is_empty());
        assert_eq!(
            r.reasoning.as_deref(),
            Some("Two cities. I will check both.")
        );
        assert_eq!(r.message.tool_calls.len(), 2);
        assert_eq!(r.message.tool_calls[1].id, "w_2");
        assert_eq!(r.message.tool_calls[1].arguments, r#"{"city":"Lima"}"#);
        assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(r.usage, Some(Usage::new(10, 20)));
    }

    #[test]
    fn finish_reasons() {
        assert_eq!(finish_reason("COMPLETE"), FinishReason::Stop);
        assert_eq!(finish_reason("stop_sequence"), FinishReason::Stop);
        assert_eq!(finish_reason("MAX_TOKENS"), FinishReason::Length);
        assert_eq!(finish_reason("TOOL_CALL"), FinishReason::ToolCalls);
        assert_eq!(
            finish_reason("CONTENT_BLOCKED"),
            FinishReason::ContentFilter
        );
        assert_eq!(
            finish_reason("TIMEOUT"),
            FinishReason::Other("TIMEOUT".into())
        );
    }

    #[test]
    fn bad_bodies_are_decode_errors() {
        for bad in [
            &b"{\"id\":"[..],
            b"<html></html>",
            b"",
            b"[]",
            b"{\"id\":\"x\"}",
        ] {
            assert_eq!(parse(bad).unwrap_err().kind(), ErrorKind::Decode);
        }
    }

    #[test]
    fn embeddings_and_models() {
        let e = parse_embeddings(br#"{"id":"e","embeddings":{"float":[[0.5,-1],[2,3]]},"texts":["a","b"],"meta":{"billed_units":{"input_tokens":4}}}"#, "embed-v4.0").unwrap();
        assert_eq!(e.model, "embed-v4.0");
        assert_eq!(e.embeddings[0].vector, vec![0.5, -1.0]);
        assert_eq!(e.embeddings[1].index, 1);
        assert_eq!(e.usage, Some(Usage::new(4, 0)));
        let e = parse_embeddings(br#"{"embeddings":[[1]]}"#, "m").unwrap();
        assert_eq!(e.embeddings.len(), 1);
        assert_eq!(
            parse_embeddings(br#"{"embeddings":{"int8":[[1]]}}"#, "m")
                .unwrap_err()
                .kind(),
            ErrorKind::Decode
        );
        let models = parse_models(br#"{"models":[{"name":"command-a-03-2025","endpoints":["chat"]}],"next_page_token":""}"#).unwrap();
        assert_eq!(models[0].id, "command-a-03-2025");
    }
}
