//! OpenAI's operations beyond chat and embeddings, and Cohere's rerank:
//! images, audio (speech, transcriptions, translations), moderations,
//! rerank, and files with batches, each in its API's exact wire format, to
//! the model groups of the config.
//!
//! Every call resolves its `model` as chat does (a group, an alias, a
//! wildcard), is admitted by governance (the key's models and limits), tries
//! a group's deployments in weighted-random order (the next after a
//! retryable error, as embeddings do: there are no fallbacks to another
//! group, whose images or voices would not be the same answer), and is
//! recorded ([`CallRecord`]: headers, metrics, access log).

pub mod audio;
pub mod batches;
pub mod images;
pub mod moderation;
pub mod multipart;
pub mod rerank;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use llm_runtime::types::ResponseMeta;
use llm_runtime::{LlmProvider, Usage};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::call::{self, CallRecord};
use crate::error::GatewayError;
use crate::models::{Price, Target};
use crate::state::SharedState;

/// Every route of this module.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .merge(images::routes())
        .merge(audio::routes())
        .merge(moderation::routes())
        .merge(rerank::routes())
        .merge(batches::routes())
}

/// One deployment a call may go to.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// The deployment id (a wildcard's: `PATTERN:provider`).
    pub(crate) label: String,
    /// Its connected provider.
    pub(crate) provider: Arc<dyn LlmProvider>,
    /// The upstream model.
    pub(crate) model: String,
    /// Its price per token, where known.
    pub(crate) price: Option<Price>,
}

/// The deployments `model` may go to, in the order to try them; names the
/// group (or wildcard pattern) in `record`.
pub(crate) fn candidates(
    state: &SharedState,
    record: &mut CallRecord,
    model: &str,
) -> Result<Vec<Candidate>, GatewayError> {
    match state.models.resolve(model) {
        None => Err(GatewayError::model_not_found(model)),
        Some(Target::Group { name, deployments }) => {
            name.clone_into(&mut record.group);
            Ok(call::weighted_order(deployments)
                .into_iter()
                .map(|i| {
                    let d = &deployments[i];
                    Candidate {
                        label: d.id.clone(),
                        provider: Arc::clone(&d.provider),
                        model: d.model.clone(),
                        price: d.price,
                    }
                })
                .collect())
        }
        Some(Target::Wildcard(w)) => {
            record.group.clone_from(&w.pattern);
            let (provider, provider_name, upstream) = w
                .target(model)
                .map_err(|e| GatewayError::bad_request(e.to_string()).param("model"))?;
            Ok(vec![Candidate {
                label: format!("{}:{provider_name}", w.pattern),
                price: call::catalog_price(&provider_name, &upstream),
                provider,
                model: upstream,
            }])
        }
    }
}

/// What the gateway reads from an operation's answer.
pub(crate) trait Answered {
    /// The transport's metadata, where the answer carries it.
    fn meta(&self) -> Option<&ResponseMeta>;
    /// Tokens used, where reported.
    fn usage(&self) -> Option<Usage> {
        None
    }
}

macro_rules! answered {
    ($($ty:ty => $usage:expr),* $(,)?) => {$(
        impl Answered for $ty {
            fn meta(&self) -> Option<&ResponseMeta> {
                Some(&self.meta)
            }
            fn usage(&self) -> Option<Usage> {
                let usage: fn(&$ty) -> Option<Usage> = $usage;
                usage(self)
            }
        }
    )*};
}

answered! {
    llm_runtime::types::ImageResponse => |r| r.usage,
    llm_runtime::types::Transcription => |r| r.usage,
    llm_runtime::types::RerankResponse => |r| r.usage,
    llm_runtime::types::ModerationResponse => |_| None,
}

impl Answered for llm_runtime::http::ByteStream {
    fn meta(&self) -> Option<&ResponseMeta> {
        Some(llm_runtime::http::ByteStream::meta(self))
    }
}

/// Admit the call (governance: the key's models and limits, `prompt_tokens`
/// of counted input), then send it to each candidate in turn until one
/// answers or fails with an error that is not retryable. The record names
/// the deployment that served, its attempts, limits, usage and cost.
pub(crate) async fn dispatch<T, F, Fut>(
    state: &SharedState,
    record: &mut CallRecord,
    model: &str,
    prompt_tokens: usize,
    mut send: F,
) -> Result<T, GatewayError>
where
    T: Answered,
    F: FnMut(Arc<dyn LlmProvider>, String) -> Fut,
    Fut: Future<Output = llm_runtime::Result<T>>,
{
    let admitted = crate::governance::wire::admit_operation(
        state,
        &record.call_id,
        model,
        i64::try_from(prompt_tokens).unwrap_or(i64::MAX),
    )
    .await;
    let result = match admitted {
        Ok(admission) => {
            record.govern(admission);
            try_each(state, record, model, &mut send).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        record.failed(e);
    }
    result
}

async fn try_each<T, F, Fut>(
    state: &SharedState,
    record: &mut CallRecord,
    model: &str,
    send: &mut F,
) -> Result<T, GatewayError>
where
    T: Answered,
    F: FnMut(Arc<dyn LlmProvider>, String) -> Fut,
    Fut: Future<Output = llm_runtime::Result<T>>,
{
    let mut last = None;
    for (tries, c) in candidates(state, record, model)?.into_iter().enumerate() {
        record.deployment = Some(c.label.clone());
        match send(Arc::clone(&c.provider), c.model.clone()).await {
            Ok(answer) => {
                let tries = u32::try_from(tries).unwrap_or(u32::MAX);
                record.attempts = tries + answer.meta().map_or(1, |m| m.attempts.max(1));
                if let Some(meta) = answer.meta() {
                    record.rate_limits = meta.rate_limits;
                }
                if let Some(u) = answer.usage() {
                    record.set_usage(u);
                    record.cost = c.price.map(|p| p.cost(&u));
                }
                // The runtime prices images per image, speech per character,
                // transcription per minute and rerank per search from its
                // catalog; that price is the operation's own, so it wins over
                // a per-token price (`Some(0.0)` is free, `None` unpriced).
                if let Some(cost) = answer.meta().and_then(|m| m.cost_usd) {
                    record.cost = Some(cost);
                }
                return Ok(answer);
            }
            Err(e) if e.is_retryable() => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or_else(
        || GatewayError::bad_request("the model group has no deployment"),
        GatewayError::from,
    ))
}

/// The body, or the error of a body past the limit (413) or unreadable.
pub(crate) fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, GatewayError> {
    body.map_err(|rejection| GatewayError::from_body_rejection(&rejection))
}

/// A JSON object body, or a 400.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(GatewayError::bad_request(
            "The request body must be a JSON object",
        )),
        Err(e) => Err(GatewayError::bad_request(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

/// A required non-empty string field, removed from `obj`.
pub(crate) fn take_str(obj: &mut Map<String, Value>, name: &str) -> Result<String, GatewayError> {
    match obj.remove(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(
            GatewayError::bad_request(format!("`{name}` is required: a non-empty string"))
                .param(name.to_owned()),
        ),
    }
}

/// `obj` read as `T` (the runtime's type, in OpenAI's field names). A field
/// `T` does not have is a 400 naming it, or dropped under
/// `litellm_settings.drop_params` (never silently ignored otherwise).
pub(crate) fn typed<T: DeserializeOwned>(
    state: &SharedState,
    obj: Map<String, Value>,
) -> Result<T, GatewayError> {
    typed_with(obj, state.config.litellm_settings.drop_params == Some(true))
}

/// [`typed`], dropping unknown fields when `drop_unknown`. A value of the
/// wrong type is a 400 naming its field.
fn typed_with<T: DeserializeOwned>(
    obj: Map<String, Value>,
    drop_unknown: bool,
) -> Result<T, GatewayError> {
    let obj: Map<String, Value> = obj.into_iter().filter(|(_, v)| !v.is_null()).collect();
    let mut unknown = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let mut note = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let ignored = serde_ignored::Deserializer::new(Value::Object(obj), &mut note);
    let value = T::deserialize(serde_path_to_error::Deserializer::new(ignored, &mut track));
    let value = value.map_err(|e| {
        let path = track.path().to_string();
        GatewayError::bad_request(format!("`{path}`: {e}")).param(path)
    })?;
    if let Some(first) = unknown.first()
        && !drop_unknown
    {
        return Err(GatewayError::bad_request(format!(
            "Unsupported parameter(s): {}; leave them out or set litellm_settings.drop_params: true",
            unknown.join(", ")
        ))
        .param(first.clone()));
    }
    Ok(value)
}

/// `response` with the call's headers.
pub(crate) fn with_headers(response: impl IntoResponse, record: &CallRecord) -> Response {
    let mut response = response.into_response();
    response.headers_mut().extend(record.headers());
    response
}

/// The answer, or the error in OpenAI's envelope, with the call's headers.
pub(crate) fn respond<T: IntoResponse>(
    result: Result<T, GatewayError>,
    record: &CallRecord,
) -> Response {
    match result {
        Ok(r) => with_headers(r, record),
        Err(e) => with_headers(e, record),
    }
}

/// Tokens of `texts` as `model` counts them (the governance estimate).
pub(crate) fn count<'a>(model: &str, texts: impl IntoIterator<Item = &'a str>) -> usize {
    texts
        .into_iter()
        .map(|t| llm_runtime::tokens::count_text(model, t).tokens)
        .sum()
}

/// Unix seconds now.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_runtime::types::{ImageOptions, SpeechRequest};
    use proptest::prelude::*;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(o) => o,
            _ => Map::new(),
        }
    }

    #[test]
    fn wrong_types_and_unknown_fields_are_named() {
        let e = typed_with::<ImageOptions>(object(json_n("two")), false).expect_err("a string n");
        assert_eq!(e.param.as_deref(), Some("n"), "{}", e.message);
        let unknown = object(serde_json::json!({"size": "1024x1024", "frobnicate": 1}));
        let e = typed_with::<ImageOptions>(unknown.clone(), false).expect_err("unknown");
        assert_eq!(e.param.as_deref(), Some("frobnicate"));
        let dropped: ImageOptions = typed_with(unknown, true).expect("dropped");
        assert_eq!(dropped.size.as_deref(), Some("1024x1024"));
    }

    fn json_n(n: &str) -> Value {
        serde_json::json!({ "n": n })
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z0-9 ]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 4, |inner| {
            proptest::collection::vec(inner, 0..3).prop_map(Value::Array)
        })
    }

    proptest! {
        /// Any fields with any values: the request, or a 400 naming a field.
        #[test]
        fn any_object_is_a_request_or_a_named_400(
            fields in proptest::collection::btree_map(
                prop_oneof![Just("model".to_owned()), Just("input".to_owned()), Just("voice".to_owned()),
                            Just("speed".to_owned()), Just("response_format".to_owned()), "[a-z_]{1,8}"],
                any_json(), 0..6),
            drop in any::<bool>(),
        ) {
            let obj: Map<String, Value> = fields.into_iter().collect();
            if let Err(e) = typed_with::<SpeechRequest>(obj, drop) {
                prop_assert_eq!(e.status, http::StatusCode::BAD_REQUEST);
                prop_assert!(e.param.is_some() || e.message.contains("missing field"), "{}", e.message);
            }
        }
    }
}
