//! Transforms for each wire format; `dialect = name` delegates to one.

pub mod anthropic;
pub mod cohere;
pub mod gemini;
pub mod ollama;
pub mod openai;

pub use anthropic::AnthropicDialect;
pub use cohere::CohereDialect;
pub use gemini::GeminiDialect;
pub use ollama::OllamaDialect;
pub use openai::OpenAiDialect;

/// The thinking-token budget a [`ReasoningEffort`](crate::ReasoningEffort) stands for,
/// for APIs that take a budget (Anthropic, Gemini).
pub(crate) fn effort_budget(effort: crate::types::ReasoningEffort) -> u32 {
    match effort {
        crate::types::ReasoningEffort::Low => 1024,
        crate::types::ReasoningEffort::Medium => 8192,
        crate::types::ReasoningEffort::High => 24576,
    }
}

/// The media type and base64 data of a `data:<mime>;base64,<data>` URL, for
/// APIs that take inline images as separate fields (Anthropic, Gemini).
pub(crate) fn split_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let mime = meta.strip_suffix(";base64")?;
    Some((mime, data))
}

/// A tool call's JSON arguments text as the object APIs that take arguments
/// as an object want back (Anthropic `tool_use.input`, Gemini `functionCall.args`).
pub(crate) fn arguments_object(name: &str, arguments: &str) -> crate::Result<serde_json::Value> {
    if arguments.trim().is_empty() {
        return Ok(serde_json::Value::Object(serde_json::Map::new()));
    }
    serde_json::from_str(arguments).map_err(|e| {
        crate::Error::invalid_request(format!(
            "the arguments of tool call `{name}` are not JSON, so they cannot be sent back: {e}"
        ))
    })
}

/// A JSON number for an `f32` as it was written (`0.2`, not the `0.20000000298023224`
/// that `json!(0.2f32)` gives by widening to `f64`); `null` for NaN and infinities.
pub(crate) fn f32_json(x: f32) -> serde_json::Value {
    x.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// An image as a URL: its own, or a `data:` URL of its base64 bytes
/// (for APIs that take `image_url` parts: OpenAI, Cohere).
pub(crate) fn image_url(source: &crate::types::ImageSource) -> String {
    match source {
        crate::types::ImageSource::Url { url } => url.clone(),
        crate::types::ImageSource::Base64 { mime, data } => format!("data:{mime};base64,{data}"),
    }
}

/// Tools in the `[{"type": "function", "function": {name, description, parameters}}]`
/// shape OpenAI, Ollama and Cohere share.
pub(crate) fn function_tools(tools: &[crate::types::Tool]) -> serde_json::Value {
    tools
        .iter()
        .map(|t| {
            let mut f = serde_json::Map::new();
            f.insert("name".into(), t.name.clone().into());
            if let Some(d) = &t.description {
                f.insert("description".into(), d.clone().into());
            }
            f.insert("parameters".into(), t.parameters.clone());
            serde_json::json!({"type": "function", "function": f})
        })
        .collect()
}

#[cfg(test)]
mod f32_json_tests {
    #[test]
    fn f32_numbers_are_written_as_given() {
        assert_eq!(super::f32_json(0.2).to_string(), "0.2");
        assert_eq!(super::f32_json(0.7).to_string(), "0.7");
        assert_eq!(super::f32_json(1.0).to_string(), "1.0");
        assert_eq!(super::f32_json(f32::NAN), serde_json::Value::Null);
    }
}
