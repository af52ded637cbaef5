//! Anthropic's Message Batches: `POST /messages/batches` with each request's
//! Messages body as its `params`, `GET /messages/batches/{id}` until
//! `processing_status` is `ended`, then `GET /messages/batches/{id}/results`
//! (JSONL; each `result` is `succeeded` with the message, `errored`,
//! `canceled` or `expired`).

use http::HeaderMap;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{AnthropicDialect, versioned};
use crate::dialects::operation_wire::{decode, item_bodies, jsonl};
use crate::dialects::wire::null_as_default;
use crate::error::{Error, ErrorKind, Result};
use crate::http::path_segment;
use crate::provider::{HttpParts, Operations, RequestContext, Transform};
use crate::types::{BatchCounts, BatchJob, BatchRequest, BatchResult, BatchStatus};

impl Operations for AnthropicDialect {
    /// Created in one request: nothing to upload.
    fn build_batch_upload(
        &self,
        _: &BatchRequest,
        _: &RequestContext<'_>,
    ) -> Result<Option<HttpParts>> {
        Ok(None)
    }

    fn build_batch_create(
        &self,
        request: &BatchRequest,
        _: Option<&str>,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let requests: Vec<Value> = item_bodies(self, request, ctx)?
            .into_iter()
            .map(|(custom_id, params)| json!({"custom_id": custom_id, "params": params}))
            .collect();
        let parts = HttpParts::post_json("/messages/batches", &json!({"requests": requests}))?;
        Ok(versioned(parts, ctx))
    }

    fn build_batch_get(&self, id: &str, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        let id = path_segment(id, "batch id")?;
        Ok(versioned(
            HttpParts::get(format!("/messages/batches/{id}")),
            ctx,
        ))
    }

    fn parse_batch(&self, body: &[u8]) -> Result<BatchJob> {
        parse_job(body)
    }

    /// The documented results path of the batch (its `results_url` is an
    /// absolute URL on the public host, which a configured base URL replaces).
    fn build_batch_results(
        &self,
        job: &BatchJob,
        ctx: &RequestContext<'_>,
    ) -> Result<Vec<HttpParts>> {
        let id = path_segment(&job.id, "batch id")?;
        Ok(vec![versioned(
            HttpParts::get(format!("/messages/batches/{id}/results")),
            ctx,
        )])
    }

    fn parse_batch_results(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
    ) -> Result<Vec<(String, BatchResult)>> {
        let lines: Vec<LineWire> = jsonl(body, "the batch results")?;
        Ok(lines
            .into_iter()
            .map(|line| (line.custom_id, self.outcome(line.result, ctx)))
            .collect())
    }
}

impl AnthropicDialect {
    fn outcome(&self, result: ResultWire, ctx: &RequestContext<'_>) -> BatchResult {
        match result.kind.as_str() {
            "succeeded" => {
                let message = result.message.as_ref().map_or("", |m| m.get());
                match self.parse_response(message.as_bytes(), ctx) {
                    Ok(answer) => BatchResult::Succeeded(Box::new(answer)),
                    Err(e) => BatchResult::Failed(e),
                }
            }
            "errored" => {
                let error = result.error.as_ref().map_or("{}", |e| e.get());
                BatchResult::Failed(self.classify_error(
                    status_of(error),
                    &HeaderMap::new(),
                    error.as_bytes(),
                ))
            }
            "canceled" => BatchResult::Failed(Error::new(
                ErrorKind::InvalidRequest,
                "the request was canceled with its batch before it ran",
            )),
            "expired" => BatchResult::Failed(Error::new(
                ErrorKind::Timeout,
                "the batch expired before the request ran",
            )),
            other => BatchResult::Failed(Error::decode(format!(
                "a batch result of unknown type `{other}`"
            ))),
        }
    }
}

/// The HTTP status an error type stands for (Anthropic's documented table),
/// so an errored request is classified as the same error answered directly.
fn status_of(error: &str) -> u16 {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        error: Option<Inner>,
    }
    #[derive(Deserialize)]
    struct Inner {
        #[serde(default, rename = "type")]
        kind: String,
    }
    let kind = serde_json::from_str::<Envelope>(error)
        .ok()
        .and_then(|e| e.error)
        .map(|e| e.kind)
        .unwrap_or_default();
    match kind.as_str() {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        _ => 500,
    }
}

#[derive(Deserialize)]
struct LineWire {
    custom_id: String,
    result: ResultWire,
}

#[derive(Deserialize)]
struct ResultWire {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct JobWire {
    id: String,
    processing_status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    request_counts: CountsWire,
    #[serde(default)]
    results_url: Option<String>,
}

#[derive(Deserialize, Default)]
struct CountsWire {
    #[serde(default)]
    processing: u32,
    #[serde(default)]
    succeeded: u32,
    #[serde(default)]
    errored: u32,
    #[serde(default)]
    canceled: u32,
    #[serde(default)]
    expired: u32,
}

fn parse_job(body: &[u8]) -> Result<BatchJob> {
    let wire: JobWire = decode(body, "the message batch")?;
    let status = match wire.processing_status.as_str() {
        "in_progress" => BatchStatus::InProgress,
        "canceling" => BatchStatus::Cancelling,
        "ended" => BatchStatus::Completed,
        other => BatchStatus::Other(other.to_owned()),
    };
    let c = wire.request_counts;
    let failed = c
        .errored
        .saturating_add(c.canceled)
        .saturating_add(c.expired);
    Ok(BatchJob {
        id: wire.id,
        provider: String::new(),
        status,
        counts: BatchCounts {
            total: c
                .processing
                .saturating_add(c.succeeded)
                .saturating_add(failed),
            completed: c.succeeded,
            failed,
        },
        output: wire.results_url,
        error_output: None,
        created_at: None,
    })
}
