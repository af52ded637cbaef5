//! OpenAI Moderations: `POST /v1/moderations` (and `/moderations`): `input`
//! a string, strings, or text and `image_url` parts; answered as
//! `{"id", "model", "results": [{"flagged", "categories", "category_scores",
//! "category_applied_input_types"}]}`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use llm_runtime::types::{ModerationInput, ModerationRequest, ModerationResponse};
use serde_json::{Value, json};

use super::{body, count, dispatch, json_object, respond};
use crate::call::CallRecord;
use crate::error::GatewayError;
use crate::state::SharedState;

/// The moderation routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/moderations", post(moderations))
        .route("/moderations", post(moderations))
}

async fn moderations(
    State(state): State<SharedState>,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let (model, request) = match body(raw).and_then(|b| parse(&state, &b)) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mut record = CallRecord::start(&state, "moderations", &model);
    let texts = request.input.iter().filter_map(|i| match i {
        ModerationInput::Text { text } => Some(text.as_str()),
        _ => None,
    });
    let tokens = count(&model, texts);
    let result = dispatch(&state, &mut record, &model, tokens, |provider, upstream| {
        let mut request = request.clone();
        request.model = upstream;
        async move { provider.moderate(request).await }
    })
    .await;
    respond(result.map(|r| Json(render(&r, &model))), &record)
}

fn bad(what: &str) -> GatewayError {
    GatewayError::bad_request(format!("`input` {what}")).param("input")
}

/// The model and request of a moderation body. OpenAI's default model
/// (`omni-moderation-latest`) applies when `model` is left out, as the API does.
fn parse(state: &SharedState, body: &[u8]) -> Result<(String, ModerationRequest), GatewayError> {
    let mut obj = json_object(body)?;
    let model = match obj.remove("model") {
        None | Some(Value::Null) => "omni-moderation-latest".to_owned(),
        Some(Value::String(m)) if !m.is_empty() => m,
        Some(_) => {
            return Err(GatewayError::bad_request("`model` must be a model name").param("model"));
        }
    };
    let input = match obj.remove("input") {
        Some(Value::String(s)) => vec![ModerationInput::Text { text: s }],
        Some(Value::Array(items)) if !items.is_empty() => items
            .into_iter()
            .map(input_item)
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(bad(
                "is required: a string, strings, or text and image_url parts",
            ));
        }
    };
    if let Some(name) = obj.keys().next()
        && state.config.litellm_settings.drop_params != Some(true)
    {
        return Err(GatewayError::bad_request(format!(
            "Unsupported parameter: {name}; leave it out or set litellm_settings.drop_params: true"
        ))
        .param(name.clone()));
    }
    let request = ModerationRequest {
        model: model.clone(),
        input,
    };
    Ok((model, request))
}

fn input_item(item: Value) -> Result<ModerationInput, GatewayError> {
    match item {
        Value::String(text) => Ok(ModerationInput::Text { text }),
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("text") => o
                .get("text")
                .and_then(Value::as_str)
                .map(|t| ModerationInput::Text { text: t.to_owned() })
                .ok_or_else(|| bad("text parts need `text`")),
            Some("image_url") => o
                .get("image_url")
                .and_then(|u| u.get("url"))
                .and_then(Value::as_str)
                .map(|url| ModerationInput::ImageUrl {
                    url: url.to_owned(),
                })
                .ok_or_else(|| bad("image_url parts need `image_url.url`")),
            _ => Err(bad("parts must be of type `text` or `image_url`")),
        },
        _ => Err(bad("items must be strings or parts")),
    }
}

/// OpenAI's moderation answer.
pub fn render(r: &ModerationResponse, requested: &str) -> Value {
    let results: Vec<Value> = r
        .results
        .iter()
        .map(|x| {
            json!({
                "flagged": x.flagged,
                "categories": x.categories,
                "category_scores": x.category_scores,
                "category_applied_input_types": x.category_applied_input_types,
            })
        })
        .collect();
    let model = if r.model.is_empty() {
        requested
    } else {
        &r.model
    };
    json!({"id": r.id, "model": model, "results": results})
}
