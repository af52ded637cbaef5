//! The pieces the dialects share, and the ones an author of a native wire
//! format ([`Transform`](crate::provider::Transform)) needs as well:
//!
//! - [`f32_json`]: a sampling parameter as the caller wrote it (`0.2`, not
//!   `0.20000000298023224`);
//! - [`merge_extra`]: the request's [`extra`](ChatRequest::extra) fields merged
//!   into a native body, as every built-in dialect merges them;
//! - [`stream_error`]: the [`Error`] for an error event inside a stream, to
//!   return from [`Transform::parse_stream_event`](crate::provider::Transform::parse_stream_event).
//!
//! ```
//! use llm_runtime::ChatRequest;
//! use llm_runtime::dialects::toolkit::{f32_json, merge_extra};
//! use serde_json::{Map, Value, json};
//!
//! let request = ChatRequest::new("m").user("hi").temperature(0.2).extra("top_k", json!(40));
//! let mut body = Map::new();
//! body.insert("model".into(), request.model.clone().into());
//! if let Some(t) = request.temperature {
//!     body.insert("temperature".into(), f32_json(t));
//! }
//! merge_extra(&mut body, &request.extra, &[]);
//! assert_eq!(Value::Object(body).to_string(), r#"{"model":"m","temperature":0.2,"top_k":40}"#);
//! ```
//!
//! The rest (crate-private) is what only the built-in dialects share: sampling
//! parameters under each API's names, turn merging, tool and image shapes.

use serde::Deserialize;
use serde_json::{Map, Value};

use serde_json::value::RawValue;

use super::raw_json::raw_value;
use crate::error::{Error, Result};
use crate::types::{
    ChatRequest, Embedding, ImageSource, ModelInfo, NativeBody, ReasoningEffort, Role, Tool,
};

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

/// Merge the request's [`extra`](ChatRequest::extra) fields into `body`, the
/// last step of building a native body (every built-in dialect does it so).
///
/// An extra field replaces the body's field of that name, so a caller can
/// override anything the transform wrote, except that for the keys in
/// `merged` an object is merged into the body's object of that key (Ollama's
/// `extra.options` adds to the sampling options rather than replacing them).
///
/// ```
/// use llm_runtime::dialects::toolkit::merge_extra;
/// use serde_json::{Value, json};
///
/// let Value::Object(mut body) = json!({"options": {"seed": 1}, "stream": true}) else { unreachable!() };
/// let Value::Object(extra) = json!({"options": {"num_ctx": 8}, "stream": false}) else { unreachable!() };
/// merge_extra(&mut body, &extra, &["options"]);
/// assert_eq!(Value::Object(body), json!({"options": {"seed": 1, "num_ctx": 8}, "stream": false}));
/// ```
pub fn merge_extra(body: &mut Map<String, Value>, extra: &Map<String, Value>, merged: &[&str]) {
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

/// The body of a request the caller wrote in this dialect's own format (see
/// [`NativeBody`]): its fields as written (each [`raw_value`] text, so the
/// body must be serialized through [`RawBody`](super::raw_json::RawBody)),
/// with the route's `model` and the call's `stream` in place of the caller's,
/// then the request's [`extra`](ChatRequest::extra) fields.
pub(crate) fn native_body(
    request: &ChatRequest,
    native: &NativeBody,
    model: &str,
    stream: bool,
) -> Result<Map<String, Value>> {
    let fields: std::collections::BTreeMap<String, &RawValue> =
        serde_json::from_str(native.fields()).map_err(|e| {
            Error::invalid_request(format!(
                "the caller's request body is not a JSON object: {e}"
            ))
        })?;
    let mut body: Map<String, Value> = fields
        .into_iter()
        .filter(|(key, _)| !matches!(key.as_str(), "model" | "stream"))
        .map(|(key, raw)| (key, raw_value(raw)))
        .collect();
    body.insert("model".into(), Value::String(model.to_owned()));
    if stream {
        body.insert("stream".into(), Value::Bool(true));
    }
    merge_extra(&mut body, &request.extra, &[]);
    Ok(body)
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

/// The thinking-token budget a [`ReasoningEffort`] stands for, for APIs
/// that take a budget (Anthropic, Gemini, Bedrock): `0` for
/// [`ReasoningEffort::None`] (no thinking), 1024 (the least Anthropic takes)
/// for `minimal` and `low`.
///
/// # Errors
/// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) for a level
/// with no budget ([`ReasoningEffort::Other`]): set a budget instead.
pub(crate) fn effort_budget(effort: &ReasoningEffort) -> Result<u32> {
    Ok(match effort {
        ReasoningEffort::None => 0,
        ReasoningEffort::Minimal | ReasoningEffort::Low => 1024,
        ReasoningEffort::Medium => 8192,
        ReasoningEffort::High => 24576,
        ReasoningEffort::XHigh => 32768,
        ReasoningEffort::Other(level) => {
            return Err(Error::invalid_request(format!(
                "reasoning effort `{level}` has no thinking-token budget on this API; set `reasoning_budget` instead"
            )));
        }
    })
}

/// The thinking-token budget a request asks for: its
/// [`reasoning_budget`](ChatRequest::reasoning_budget), else its effort's
/// ([`effort_budget`]); `None` when it asks for neither.
pub(crate) fn thinking_budget(request: &ChatRequest) -> Result<Option<u32>> {
    match (request.reasoning_budget, &request.reasoning_effort) {
        (Some(budget), _) => Ok(Some(budget)),
        (None, Some(effort)) => effort_budget(effort).map(Some),
        (None, None) => Ok(None),
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
///
/// [`ChatRequest`]'s `temperature` and `top_p` are `f32`: a native body
/// writes them with this.
///
/// ```
/// use llm_runtime::dialects::toolkit::f32_json;
/// assert_eq!(f32_json(0.2).to_string(), "0.2");
/// assert_eq!(serde_json::json!(0.2f32).to_string(), "0.20000000298023224");
/// assert!(f32_json(f32::NAN).is_null());
/// ```
pub fn f32_json(x: f32) -> Value {
    x.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// The [`Error`] for an error event inside a stream (`event: error`, an
/// `{"error": {...}}` line): return it from
/// [`Transform::parse_stream_event`](crate::provider::Transform::parse_stream_event) and
/// the stream ends with it, after the events already pushed.
///
/// `payload` is the event's data. It is classified by the table every HTTP
/// error goes through (the payload's HTTP-like `code`, its type, code and
/// message: an Anthropic `overloaded_error` is
/// [`ErrorKind::Overloaded`](crate::ErrorKind::Overloaded)); a payload of no
/// known shape is a [`ServerError`](crate::ErrorKind::ServerError), never a
/// success. The message says the stream failed mid-way.
///
/// ```
/// use llm_runtime::ErrorKind;
/// use llm_runtime::dialects::toolkit::stream_error;
///
/// let e = stream_error(br#"{"error":{"type":"rate_limit_error","message":"slow down"}}"#);
/// assert_eq!(e.kind(), ErrorKind::RateLimited);
/// assert_eq!(e.message(), "the stream failed mid-way: slow down");
/// assert_eq!(stream_error(b"oops").kind(), ErrorKind::ServerError);
/// ```
pub fn stream_error(payload: &[u8]) -> Error {
    crate::error::stream_error(payload)
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
        assert_eq!(f32_json(f32::INFINITY), Value::Null);
        assert_eq!(f32_json(f32::NEG_INFINITY), Value::Null);
    }

    proptest::proptest! {
        /// Every finite `f32` is written as the shortest text that reads back
        /// as itself (what `f32`'s `Display` writes), never widened.
        #[test]
        fn f32_json_reads_back_as_the_same_f32(x in proptest::num::f32::NORMAL
            | proptest::num::f32::SUBNORMAL | proptest::num::f32::ZERO) {
            let text = f32_json(x).to_string();
            proptest::prop_assert_eq!(text.parse::<f32>().ok(), Some(x), "{}", text);
            let shortest = x.to_string().parse::<f64>().ok();
            proptest::prop_assert_eq!(text.parse::<f64>().ok(), shortest);
        }
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
