//! OpenAI Images: `POST /v1/images/generations` (JSON) and
//! `/v1/images/edits` (multipart: `image` or `image[]` files, `mask`,
//! `prompt` and the option fields), answered as OpenAI answers them:
//! `{"created", "data": [{"b64_json" | "url", "revised_prompt"}], "usage"}`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::HeaderMap;
use llm_runtime::types::{ImageData, ImageEditRequest, ImageOptions, ImageRequest, ImageResponse};
use serde_json::{Map, Value, json};

use super::multipart::{self, Part};
use super::{body, count, dispatch, json_object, now, respond, take_str, typed};
use crate::call::CallRecord;
use crate::error::GatewayError;
use crate::state::SharedState;

/// The image routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/images/generations", post(generations))
        .route("/images/generations", post(generations))
        .route("/v1/images/edits", post(edits))
        .route("/images/edits", post(edits))
}

async fn generations(
    State(state): State<SharedState>,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let parsed = body(raw).and_then(|b| {
        let mut obj = json_object(&b)?;
        let model = take_str(&mut obj, "model")?;
        let prompt = take_str(&mut obj, "prompt")?;
        let options: ImageOptions = typed(&state, obj)?;
        Ok((model, prompt, options))
    });
    let (model, prompt, options) = match parsed {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mut record = CallRecord::start(&state, "images", &model);
    let tokens = count(&model, [prompt.as_str()]);
    let result = dispatch(&state, &mut record, &model, tokens, |provider, upstream| {
        let request = ImageRequest {
            model: upstream,
            prompt: prompt.clone(),
            options: options.clone(),
        };
        async move { provider.images(request).await }
    })
    .await;
    respond(result.map(|r| Json(render(&r))), &record)
}

async fn edits(
    State(state): State<SharedState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let parsed = body(raw).and_then(|b| edit_request(&state, &headers, &b));
    let (model, request) = match parsed {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mut record = CallRecord::start(&state, "images", &model);
    let tokens = count(&model, [request.prompt.as_str()]);
    let result = dispatch(&state, &mut record, &model, tokens, |provider, upstream| {
        let mut request = request.clone();
        request.model = upstream;
        async move { provider.image_edit(request).await }
    })
    .await;
    respond(result.map(|r| Json(render(&r))), &record)
}

/// The form fields OpenAI types as integers (every other field is text).
const INTEGER_FIELDS: &[&str] = &["n", "output_compression", "partial_images"];

/// The model and the edit a multipart body asks for.
fn edit_request(
    state: &SharedState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(String, ImageEditRequest), GatewayError> {
    let parts = multipart::parse(body, &multipart::boundary(headers)?)?;
    let mut images = Vec::new();
    let mut mask = None;
    let mut fields = Map::new();
    for part in &parts {
        match part.name.as_str() {
            "image" | "image[]" => images.push(part.upload()),
            "mask" => mask = Some(part.upload()),
            _ => {
                fields.insert(part.name.clone(), form_value(part)?);
            }
        }
    }
    if images.is_empty() {
        return Err(
            GatewayError::bad_request("`image` is required: one or more image files")
                .param("image"),
        );
    }
    let model = take_str(&mut fields, "model")?;
    let prompt = take_str(&mut fields, "prompt")?;
    let options: ImageOptions = typed(state, fields)?;
    Ok((
        model.clone(),
        ImageEditRequest {
            model,
            prompt,
            images,
            mask,
            options,
        },
    ))
}

/// A text form field as JSON: a number for OpenAI's integer fields.
fn form_value(part: &Part) -> Result<Value, GatewayError> {
    let text = part.text()?;
    if INTEGER_FIELDS.contains(&part.name.as_str()) {
        return text.trim().parse::<u64>().map(Value::from).map_err(|_| {
            GatewayError::bad_request(format!("`{}` must be an integer, got `{text}`", part.name))
                .param(part.name.clone())
        });
    }
    Ok(Value::String(text.to_owned()))
}

/// OpenAI's images answer.
pub fn render(r: &ImageResponse) -> Value {
    let data: Vec<Value> = r
        .images
        .iter()
        .map(|image| {
            let mut item = match &image.data {
                ImageData::Base64 { b64, .. } => json!({"b64_json": b64}),
                ImageData::Url(url) => json!({"url": url}),
            };
            if let Some(p) = &image.revised_prompt {
                item["revised_prompt"] = json!(p);
            }
            item
        })
        .collect();
    let mut out = json!({"created": r.created.unwrap_or_else(now), "data": data});
    if let Some(u) = r.usage {
        out["usage"] = json!({
            "input_tokens": u.prompt_tokens,
            "output_tokens": u.completion_tokens,
            "total_tokens": u.total_tokens,
        });
    }
    out
}
