//! OpenAI Files, as far as batches need them: `POST /v1/files` (a JSONL
//! upload with `purpose=batch`), `GET /v1/files`, `GET /v1/files/{id}`,
//! `GET /v1/files/{id}/content` and `DELETE /v1/files/{id}`. A batch's
//! output and error files are read from its deployment when asked for.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use serde_json::{Value, json};

use super::store::{OutputKind, Store, StoredFile, new_id};
use crate::error::GatewayError;
use crate::ingress::ops::multipart;
use crate::ingress::ops::{body, now};

/// The purposes the gateway keeps files for.
const PURPOSES: &[&str] = &["batch"];

fn not_found(id: &str) -> GatewayError {
    GatewayError::new(
        http::StatusCode::NOT_FOUND,
        "invalid_request_error",
        format!("No such File object: {id}"),
    )
    .param("file_id")
}

/// OpenAI's file object.
fn object(id: &str, filename: &str, purpose: &str, bytes: usize, created_at: u64) -> Value {
    json!({"id": id, "object": "file", "bytes": bytes, "created_at": created_at,
           "filename": filename, "purpose": purpose, "status": "processed", "status_details": null})
}

fn stored_object(f: &StoredFile) -> Value {
    object(&f.id, &f.filename, &f.purpose, f.bytes.len(), f.created_at)
}

pub(super) async fn upload(
    Extension(store): Extension<Arc<Store>>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let result = body(raw).and_then(|b| {
        let parts = multipart::parse(&b, &multipart::boundary(&headers)?)?;
        let mut purpose = None;
        let mut file = None;
        for part in &parts {
            match part.name.as_str() {
                "purpose" => purpose = Some(part.text()?.to_owned()),
                "file" => file = Some(part),
                _ => {}
            }
        }
        let purpose = purpose.ok_or_else(|| {
            GatewayError::bad_request("`purpose` is required").param("purpose")
        })?;
        if !PURPOSES.contains(&purpose.as_str()) {
            return Err(GatewayError::bad_request(format!(
                "The gateway keeps files for batches only: `purpose` must be `batch`, not `{purpose}`"
            ))
            .param("purpose"));
        }
        let part = file.ok_or_else(|| GatewayError::bad_request("`file` is required").param("file"))?;
        let stored = StoredFile {
            id: new_id("file-"),
            filename: part.filename.clone().unwrap_or_else(|| "upload.jsonl".to_owned()),
            purpose,
            created_at: now(),
            bytes: part.data.clone(),
        };
        let answer = stored_object(&stored);
        store.add_file(stored)?;
        Ok(Json(answer))
    });
    result.into_response()
}

pub(super) async fn list(Extension(store): Extension<Arc<Store>>) -> Json<Value> {
    let data: Vec<Value> = store.files().iter().map(stored_object).collect();
    let first = data.first().and_then(|f| f.get("id")).cloned();
    let last = data.last().and_then(|f| f.get("id")).cloned();
    Json(json!({"object": "list", "data": data, "has_more": false,
                "first_id": first, "last_id": last}))
}

pub(super) async fn retrieve(
    Extension(store): Extension<Arc<Store>>,
    Path(id): Path<String>,
) -> Response {
    if let Some(f) = store.file(&id) {
        return Json(stored_object(&f)).into_response();
    }
    match output(&store, &id).await {
        Ok((bytes, created_at)) => Json(object(
            &id,
            &format!("{id}.jsonl"),
            "batch_output",
            bytes.len(),
            created_at,
        ))
        .into_response(),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn content(
    Extension(store): Extension<Arc<Store>>,
    Path(id): Path<String>,
) -> Response {
    let bytes = match store.file(&id) {
        Some(f) => f.bytes,
        None => match output(&store, &id).await {
            Ok((bytes, _)) => Bytes::from(bytes),
            Err(e) => return e.into_response(),
        },
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        bytes,
    )
        .into_response()
}

pub(super) async fn delete(
    Extension(store): Extension<Arc<Store>>,
    Path(id): Path<String>,
) -> Response {
    if store.delete_file(&id) {
        Json(json!({"id": id, "object": "file", "deleted": true})).into_response()
    } else {
        not_found(&id).into_response()
    }
}

/// The output or error file `id` of a finished batch, read from its
/// deployment, and the batch's creation time.
async fn output(store: &Store, id: &str) -> Result<(String, u64), GatewayError> {
    let (batch, kind) = store.output(id).ok_or_else(|| not_found(id))?;
    let job = batch.provider.batch_get(&batch.upstream_id).await?;
    if !job.status.is_done() {
        return Err(GatewayError::bad_request(format!(
            "The batch {} is not finished: its output file does not exist yet",
            batch.id
        ))
        .param("file_id"));
    }
    let listed = batch.provider.batch_results(&job).await?;
    let tuples = listed
        .into_iter()
        .map(|o| (o.custom_id, o.result))
        .collect();
    let outcomes =
        llm_runtime::types::match_outcomes(batch.custom_ids.iter().map(String::as_str), tuples);
    let (out, errors) = super::jsonl::render_outcomes(outcomes, &batch.model);
    Ok((
        match kind {
            OutputKind::Output => out,
            OutputKind::Errors => errors,
        },
        batch.created_at,
    ))
}
