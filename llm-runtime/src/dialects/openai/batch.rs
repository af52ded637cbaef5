//! OpenAI's Batch API: the chat requests as a JSONL file uploaded to
//! `/files` (purpose `batch`), `POST /batches` over it, `GET /batches/{id}`
//! until done, then the output and error files from
//! `/files/{id}/content`, each line decoded as the chat call's answer.

use std::io::Write as _;

use bytes::Bytes;
use http::HeaderMap;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::OpenAiDialect;
use crate::dialects::operation_wire::{decode, item_bodies, jsonl};
use crate::dialects::wire::null_as_default;
use crate::error::{Error, Result};
use crate::http::{Multipart, path_segment};
use crate::provider::{HttpParts, RequestContext, Transform};
use crate::types::{BatchCounts, BatchJob, BatchRequest, BatchResult, BatchStatus, FileUpload};

/// The endpoint every line of a chat batch calls.
const ENDPOINT: &str = "/v1/chat/completions";

/// The input file: one line per item, `{"custom_id", "method", "url",
/// "body"}`, the body as the chat call builds it; uploaded as multipart.
pub(super) fn upload(
    wire: &OpenAiDialect,
    request: &BatchRequest,
    ctx: &RequestContext<'_>,
) -> Result<HttpParts> {
    let mut jsonl = Vec::new();
    for (custom_id, body) in item_bodies(wire, request, ctx)? {
        let line = json!({
            "custom_id": custom_id,
            "method": "POST",
            "url": ENDPOINT,
            "body": body,
        });
        serde_json::to_writer(&mut jsonl, &line)
            .and_then(|()| jsonl.write_all(b"\n").map_err(serde_json::Error::io))
            .map_err(|e| {
                Error::invalid_request(format!("the batch file could not be written: {e}"))
            })?;
    }
    let file = FileUpload::new("batch.jsonl", "application/jsonl", Bytes::from(jsonl));
    Multipart::new()
        .text("purpose", "batch")
        .file("file", &file)
        .into_parts("/files", usize::MAX)
}

/// The uploaded file's id.
pub(super) fn file_id(body: &[u8]) -> Result<String> {
    #[derive(Deserialize)]
    struct Uploaded {
        id: String,
    }
    Ok(decode::<Uploaded>(body, "the file upload response")?.id)
}

/// `POST /batches` over the uploaded file.
pub(super) fn create(request: &BatchRequest, file_id: Option<&str>) -> Result<HttpParts> {
    let Some(file_id) = file_id else {
        return Err(Error::invalid_request(
            "an OpenAI batch is created over an uploaded input file",
        ));
    };
    let mut body = json!({
        "input_file_id": file_id,
        "endpoint": ENDPOINT,
        "completion_window": request.completion_window.as_deref().unwrap_or("24h"),
    });
    if !request.metadata.is_empty() {
        body["metadata"] = json!(request.metadata);
    }
    HttpParts::post_json("/batches", &body)
}

/// `GET /batches/{id}`.
pub(super) fn get(id: &str) -> Result<HttpParts> {
    Ok(HttpParts::get(format!(
        "/batches/{}",
        path_segment(id, "batch id")?
    )))
}

#[derive(Deserialize)]
struct JobWire {
    id: String,
    status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    request_counts: CountsWire,
    #[serde(default)]
    output_file_id: Option<String>,
    #[serde(default)]
    error_file_id: Option<String>,
    #[serde(default)]
    created_at: Option<u64>,
}

#[derive(Deserialize, Default)]
struct CountsWire {
    #[serde(default)]
    total: u32,
    #[serde(default)]
    completed: u32,
    #[serde(default)]
    failed: u32,
}

/// A batch object.
pub(super) fn parse_job(body: &[u8]) -> Result<BatchJob> {
    let wire: JobWire = decode(body, "the batch")?;
    let status = match wire.status.as_str() {
        "validating" => BatchStatus::Validating,
        "in_progress" => BatchStatus::InProgress,
        "finalizing" => BatchStatus::Finalizing,
        "completed" => BatchStatus::Completed,
        "failed" => BatchStatus::Failed,
        "expired" => BatchStatus::Expired,
        "cancelling" => BatchStatus::Cancelling,
        "cancelled" => BatchStatus::Cancelled,
        other => BatchStatus::Other(other.to_owned()),
    };
    Ok(BatchJob {
        id: wire.id,
        provider: String::new(),
        status,
        counts: BatchCounts {
            total: wire.request_counts.total,
            completed: wire.request_counts.completed,
            failed: wire.request_counts.failed,
        },
        output: wire.output_file_id,
        error_output: wire.error_file_id,
        created_at: wire.created_at,
    })
}

/// The output file and the error file, each when the batch has one.
pub(super) fn results(job: &BatchJob) -> Result<Vec<HttpParts>> {
    let files: Vec<&String> = job.output.iter().chain(&job.error_output).collect();
    if files.is_empty() {
        return Err(Error::invalid_request(format!(
            "batch {} has no output file yet (status {:?})",
            job.id, job.status
        )));
    }
    files
        .into_iter()
        .map(|id| {
            Ok(HttpParts::get(format!(
                "/files/{}/content",
                path_segment(id, "file id")?
            )))
        })
        .collect()
}

#[derive(Deserialize)]
struct LineWire {
    custom_id: String,
    #[serde(default)]
    response: Option<ResponseWire>,
    #[serde(default)]
    error: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct ResponseWire {
    status_code: u16,
    #[serde(default)]
    body: Option<Box<RawValue>>,
}

/// Each line: a 2xx response's body decoded as the chat answer; another
/// status classified as that HTTP error; a line-level `error` as an invalid
/// request carrying its code and message.
pub(super) fn parse_results(
    wire: &OpenAiDialect,
    body: &[u8],
    ctx: &RequestContext<'_>,
) -> Result<Vec<(String, BatchResult)>> {
    let lines: Vec<LineWire> = jsonl(body, "the batch results")?;
    Ok(lines
        .into_iter()
        .map(|line| {
            let result = match (line.response, line.error) {
                (Some(response), _) if (200..300).contains(&response.status_code) => {
                    let body = response.body.as_ref().map_or("", |b| b.get());
                    match wire.parse_response(body.as_bytes(), ctx) {
                        Ok(answer) => BatchResult::Succeeded(Box::new(answer)),
                        Err(e) => BatchResult::Failed(e),
                    }
                }
                (Some(response), _) => {
                    let body = response.body.as_ref().map_or("", |b| b.get());
                    BatchResult::Failed(wire.classify_error(
                        response.status_code,
                        &HeaderMap::new(),
                        body.as_bytes(),
                    ))
                }
                (None, Some(error)) => BatchResult::Failed(wire.classify_error(
                    400,
                    &HeaderMap::new(),
                    format!("{{\"error\":{}}}", error.get()).as_bytes(),
                )),
                (None, None) => BatchResult::Failed(Error::decode(format!(
                    "the batch result for `{}` has neither a response nor an error",
                    line.custom_id
                ))),
            };
            (line.custom_id, result)
        })
        .collect())
}
