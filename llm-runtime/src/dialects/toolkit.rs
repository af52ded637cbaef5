//! The pieces of request building the dialects share: sampling parameters
//! under each API's names, the `extra` passthrough merge, turn merging, tool
//! and image shapes, and the small conversions several APIs need.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::types::{ChatRequest, Embedding, ImageSource, ModelInfo, ReasoningEffort, Role, Tool};

/// The names an API gives the sampling parameters of a [`ChatRequest`];
/// `max_tokens: None` leaves `max_tokens` to the dialect (Anthropic requires
/// one and computes its default).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SamplingNames {
    pub(crate) temperature: &'static str,
    pub(crate) top_p: &'static str,
    pub(crate) max_tokens: Option<&'static str>,
    pub(crate) stop: &'static str,
    pub(crate) seed: &'static str,
}

impl SamplingNames {
    /// OpenAI chat completions' names.
    pub(crate) const OPENAI: SamplingNames = SamplingNames {
        temperature: "temperature",
        top_p: "top_p",
        max_tokens: Some("max_tokens"),
        stop: "stop",
        seed: "seed",
    };

    /// Write the sampling parameters `request` sets into `into`, under these names.
    pub(crate) fn insert(&self, request: &ChatRequest, into: &mut Map<String, Value>) {
        if let Some(t) = request.temperature {
            into.insert(self.temperature.into(), f32_json(t));
        }
        if let Some(p) = request.top_p {
            into.insert(self.top_p.into(), f32_json(p));
        }
        if let (Some(n), Some(name)) = (request.max_tokens, self.max_tokens) {
            into.insert(name.into(), n.into());
        }
        if !request.stop.is_empty() {
            into.insert(self.stop.into(), request.stop.clone().into());
        }
        if let Some(seed) = request.seed {
            into.insert(self.seed.into(), seed.into());
        }
    }
}

/// Merge the request's `extra` fields into `body`: an extra field replaces the
/// body's, except that for the keys in `merged` an object is merged into the
/// body's object of that key (Ollama's `extra.options` adds to the sampling options).
pub(crate) fn merge_extra(
    body: &mut Map<String, Value>,
    extra: &Map<String, Value>,
    merged: &[&str],
) {
    for (key, value) in extra {
        if let (true, Some(Value::Object(into)), Value::Object(more)) = (
            merged.contains(&key.as_str()),
            body.get_mut(key.as_str()),
            value,
        ) {
            into.extend(more.iter().map(|(k, v)| (k.clone(), v.clone())));
        } else {
            body.insert(key.clone(), value.clone());
        }
    }
}

/// A conversation as turns of alternating roles, for APIs that want consecutive
/// messages of one role in one turn (Anthropic, Gemini): parallel tool results
/// become one turn, a tool result after a user message joins it.
#[derive(Debug, Default)]
pub(crate) struct Turns(Vec<(&'static str, Vec<Value>)>);

impl Turns {
    /// Add a message's items (content blocks, parts) as `role`: to the last
    /// turn when it has the same role, else as a new turn.
    pub(crate) fn push(&mut self, role: &'static str, items: Vec<Value>) {
        match self.0.last_mut() {
            Some((last, prior)) if *last == role => prior.extend(items),
            _ => self.0.push((role, items)),
        }
    }

    /// The turns as `{"role": role, items_key: [...]}` objects.
    pub(crate) fn into_json(self, items_key: &str) -> Vec<Value> {
        self.0
            .into_iter()
            .map(|(role, items)| {
                let mut turn = Map::new();
                turn.insert("role".into(), role.into());
                turn.insert(items_key.into(), Value::Array(items));
                Value::Object(turn)
            })
            .collect()
    }
}

/// The role names OpenAI, Ollama and Cohere share.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// The thinking-token budget a [`ReasoningEffort`] stands for,
/// for APIs that take a budget (Anthropic, Gemini).
pub(crate) fn effort_budget(effort: ReasoningEffort) -> u32 {
    match effort {
        ReasoningEffort::Low => 1024,
        ReasoningEffort::Medium => 8192,
        ReasoningEffort::High => 24576,
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
/// as an object want back (Anthropic `tool_use.input`, Gemini `functionCall.args`):
/// a placeholder the body's [`RawBody`](super::raw_json::RawBody) writes as
/// the text itself, so numbers, key order and escapes go back as the model
/// wrote them ([`raw_arguments`](super::raw_json::raw_arguments)).
pub(crate) fn arguments_object(name: &str, arguments: &str) -> Result<Value> {
    super::raw_json::raw_arguments(name, arguments)
}

/// A JSON number for an `f32` as it was written (`0.2`, not the `0.20000000298023224`
/// that `json!(0.2f32)` gives by widening to `f64`); `null` for NaN and infinities.
pub(crate) fn f32_json(x: f32) -> Value {
    x.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// An image as a URL: its own, or a `data:` URL of its base64 bytes
/// (for APIs that take `image_url` parts: OpenAI, Cohere).
pub(crate) fn image_url(source: &ImageSource) -> String {
    match source {
        ImageSource::Url { url } => url.clone(),
        ImageSource::Base64 { mime, data } => format!("data:{mime};base64,{data}"),
    }
}

/// Tools in the `[{"type": "function", "function": {name, description, parameters}}]`
/// shape OpenAI, Ollama and Cohere share.
pub(crate) fn function_tools(tools: &[Tool]) -> Value {
    tools
        .iter()
        .map(|t| {
            let mut f = Map::new();
            f.insert("name".into(), t.name.clone().into());
            if let Some(d) = &t.description {
                f.insert("description".into(), d.clone().into());
            }
            f.insert("parameters".into(), t.parameters.clone());
            serde_json::json!({"type": "function", "function": f})
        })
        .collect()
}

/// Vectors numbered in the order the API gave them.
pub(crate) fn embeddings_in_order(vectors: impl IntoIterator<Item = Vec<f32>>) -> Vec<Embedding> {
    vectors
        .into_iter()
        .enumerate()
        .map(|(index, vector)| Embedding { index, vector })
        .collect()
}

/// The models of a `{"models": [{"name": ...}]}` list (Gemini, Cohere,
/// Ollama's `/api/tags`, which may say `model` instead), each id without
/// `prefix` (Gemini's `models/`); entries without a name are skipped.
pub(crate) fn model_list(body: &[u8], provider: &str, prefix: &str) -> Result<Vec<ModelInfo>> {
    use super::wire::null_as_default;
    #[derive(Deserialize)]
    struct List {
        #[serde(default, deserialize_with = "null_as_default")]
        models: Vec<Option<Model>>,
    }
    #[derive(Deserialize)]
    struct Model {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        model: Option<String>,
    }
    let list: List = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!(
            "{provider} sent a model list that is not understood: {e}"
        ))
    })?;
    Ok(list
        .models
        .into_iter()
        .flatten()
        .filter_map(|m| m.name.or(m.model))
        .map(|name| ModelInfo {
            id: name.strip_prefix(prefix).unwrap_or(&name).to_owned(),
            owned_by: None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn f32_numbers_are_written_as_given() {
        assert_eq!(f32_json(0.2).to_string(), "0.2");
        assert_eq!(f32_json(0.7).to_string(), "0.7");
        assert_eq!(f32_json(1.0).to_string(), "1.0");
        assert_eq!(f32_json(f32::NAN), Value::Null);
    }

    #[test]
    fn sampling_under_each_name() {
        let req = ChatRequest::new("m")
            .temperature(0.2)
            .top_p(0.9)
            .max_tokens(5)
            .stop("END")
            .seed(7);
        let mut body = Map::new();
        SamplingNames {
            top_p: "p",
            max_tokens: None,
            ..SamplingNames::OPENAI
        }
        .insert(&req, &mut body);
        assert_eq!(
            Value::Object(body),
            json!({"temperature": 0.2, "p": 0.9, "stop": ["END"], "seed": 7})
        );
        let mut body = Map::new();
        SamplingNames::OPENAI.insert(&ChatRequest::new("m"), &mut body);
        assert!(body.is_empty());
    }

    #[test]
    fn extra_replaces_or_merges() {
        let mut body = json!({"options": {"seed": 1}, "stream": true, "format": {"a": 1}});
        let extra = json!({"options": {"num_ctx": 8}, "format": {"b": 2}, "keep_alive": "5m"});
        if let (Value::Object(body), Value::Object(extra)) = (&mut body, &extra) {
            merge_extra(body, extra, &["options"]);
        }
        assert_eq!(
            body,
            json!({"options": {"seed": 1, "num_ctx": 8}, "stream": true, "format": {"b": 2}, "keep_alive": "5m"})
        );
    }

    #[test]
    fn turns_merge_consecutive_roles() {
        let mut turns = Turns::default();
        turns.push("user", vec![json!(1)]);
        turns.push("user", vec![json!(2)]);
        turns.push("model", vec![json!(3)]);
        turns.push("user", vec![]);
        assert_eq!(
            turns.into_json("parts"),
            [
                json!({"role": "user", "parts": [1, 2]}),
                json!({"role": "model", "parts": [3]}),
                json!({"role": "user", "parts": []}),
            ]
        );
    }

    #[test]
    fn model_lists_take_name_or_model() {
        let models = model_list(
            br#"{"models":[{"name":"models/a"},{"model":"b"},{"size":1},null],"next":""}"#,
            "X",
            "models/",
        );
        let ids: Vec<String> = models.unwrap().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(
            model_list(br#"{"models":null}"#, "X", "")
                .unwrap()
                .is_empty()
        );
        let e = model_list(b"<html>", "Cohere", "").unwrap_err();
        assert!(e.message().contains("Cohere sent a model list"));
    }
}
