//! OpenAI Batch over the runtime's batch API: `POST /v1/batches` (from an
//! input file uploaded to `/v1/files`), `GET /v1/batches/{id}`,
//! `GET /v1/batches`, and the output and error files through
//! `/v1/files/{id}/content`, to any model group whose provider runs batches
//! (OpenAI's Batch API, Anthropic's Message Batches).
//!
//! What differs from OpenAI's service: the files and the batches' ids live in
//! this gateway process (a batch created on one replica is not known to
//! another, nor after a restart); only `/v1/chat/completions` lines are
//! batched (the runtime batches chat requests); a batch cannot be cancelled
//! (the runtime has no cancel: 400 `unsupported`); the batch's spend is the
//! estimate admitted at creation (its input tokens), not its actual usage.

mod files;
mod jsonl;
mod store;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use llm_runtime::LlmProvider;
use llm_runtime::types::{BatchJob, BatchStatus, ResponseMeta};
use serde_json::{Map, Value, json};

pub use store::{BatchEntry, MAX_BATCHES, MAX_FILES, MAX_STORED_BYTES, Store};

use super::{Answered, body, dispatch, json_object, respond, take_str};
use crate::call::CallRecord;
use crate::error::GatewayError;
use crate::state::SharedState;

/// The files and batches routes, sharing one [`Store`].
pub fn routes() -> Router<SharedState> {
    let store = Arc::new(Store::default());
    let mut router = Router::new();
    for prefix in ["/v1", ""] {
        router = router
            .route(
                &format!("{prefix}/files"),
                post(files::upload).get(files::list),
            )
            .route(
                &format!("{prefix}/files/{{id}}"),
                get(files::retrieve).delete(files::delete),
            )
            .route(
                &format!("{prefix}/files/{{id}}/content"),
                get(files::content),
            )
            .route(&format!("{prefix}/batches"), post(create).get(list))
            .route(&format!("{prefix}/batches/{{id}}"), get(retrieve))
            .route(&format!("{prefix}/batches/{{id}}/cancel"), post(cancel));
    }
    router.layer(Extension(store))
}

/// A batch created on a deployment.
struct Created {
    job: BatchJob,
    provider: Arc<dyn LlmProvider>,
}

impl Answered for Created {
    fn meta(&self) -> Option<&ResponseMeta> {
        None
    }
}

async fn create(
    State(state): State<SharedState>,
    Extension(store): Extension<Arc<Store>>,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let parsed = body(raw).and_then(|b| create_request(&store, &b));
    let (asked, input) = match parsed {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let model = input.model.clone();
    let mut record = CallRecord::start(&state, "batches", &model);
    let tokens = input
        .request
        .items
        .iter()
        .map(|i| llm_runtime::tokens::count_request(&i.request).tokens)
        .sum();
    let custom_ids: Vec<String> = input
        .request
        .items
        .iter()
        .map(|i| i.custom_id.clone())
        .collect();
    let window = asked.completion_window.clone();
    let result = dispatch(&state, &mut record, &model, tokens, |provider, upstream| {
        let mut request = input.request.clone();
        for item in &mut request.items {
            item.request.model.clone_from(&upstream);
        }
        request.completion_window = Some(window.clone());
        request.metadata = asked.labels();
        async move {
            let job = provider.batch_create(request).await?;
            Ok(Created { job, provider })
        }
    })
    .await;
    let result = result.map(|created| {
        let entry = BatchEntry {
            id: store::new_id("batch_"),
            model: model.clone(),
            group: record.group.clone(),
            deployment: record.deployment.clone().unwrap_or_default(),
            provider: created.provider,
            upstream_id: created.job.id.clone(),
            input_file_id: asked.input_file_id.clone(),
            endpoint: asked.endpoint.clone(),
            completion_window: asked.completion_window.clone(),
            metadata: asked.metadata.clone(),
            created_at: super::now(),
            custom_ids,
            seq: 0,
        };
        let answer = render(&entry, &created.job);
        store.add_batch(entry);
        Json(answer)
    });
    respond(result, &record)
}

/// A `POST /v1/batches` body.
#[derive(Debug)]
struct Asked {
    input_file_id: String,
    endpoint: String,
    completion_window: String,
    metadata: Map<String, Value>,
}

impl Asked {
    /// The metadata as the runtime's labels (string values; others as JSON).
    fn labels(&self) -> std::collections::BTreeMap<String, String> {
        self.metadata
            .iter()
            .map(|(k, v)| {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                (k.clone(), v)
            })
            .collect()
    }
}

fn create_request(store: &Store, body: &[u8]) -> Result<(Asked, jsonl::Input), GatewayError> {
    let mut obj = json_object(body)?;
    let input_file_id = take_str(&mut obj, "input_file_id")?;
    let endpoint = take_str(&mut obj, "endpoint")?;
    if !jsonl::ENDPOINTS.contains(&endpoint.as_str()) {
        return Err(GatewayError::bad_request(format!(
            "The gateway batches {} only, not `{endpoint}`",
            jsonl::ENDPOINTS.join(", ")
        ))
        .param("endpoint"));
    }
    let completion_window = take_str(&mut obj, "completion_window")?;
    let metadata = match obj.remove("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(GatewayError::bad_request("`metadata` must be an object").param("metadata"));
        }
    };
    if let Some(name) = obj.keys().next() {
        return Err(
            GatewayError::bad_request(format!("Unsupported parameter: {name}")).param(name.clone()),
        );
    }
    let file = store.file(&input_file_id).ok_or_else(|| {
        GatewayError::new(
            http::StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("No such File object: {input_file_id}"),
        )
        .param("input_file_id")
    })?;
    let input = jsonl::parse_input(&file.bytes, &endpoint)?;
    let asked = Asked {
        input_file_id,
        endpoint,
        completion_window,
        metadata,
    };
    Ok((asked, input))
}

fn batch_not_found(id: &str) -> GatewayError {
    GatewayError::new(
        http::StatusCode::NOT_FOUND,
        "invalid_request_error",
        format!("No such batch: {id}"),
    )
    .param("batch_id")
}

async fn retrieve(Extension(store): Extension<Arc<Store>>, Path(id): Path<String>) -> Response {
    let Some(entry) = store.batch(&id) else {
        return batch_not_found(&id).into_response();
    };
    match entry.provider.batch_get(&entry.upstream_id).await {
        Ok(job) => Json(render(&entry, &job)).into_response(),
        Err(e) => GatewayError::from(e).into_response(),
    }
}

/// `GET /v1/batches` query.
#[derive(Debug, serde::Deserialize)]
struct ListQuery {
    after: Option<String>,
    limit: Option<usize>,
}

async fn list(Extension(store): Extension<Arc<Store>>, Query(q): Query<ListQuery>) -> Response {
    let limit = q.limit.unwrap_or(20).clamp(1, 100);
    let (page, has_more) = store.batches(q.after.as_deref(), limit);
    let jobs =
        futures_util::future::join_all(page.iter().map(|e| e.provider.batch_get(&e.upstream_id)))
            .await;
    let mut data = Vec::with_capacity(page.len());
    for (entry, job) in page.iter().zip(jobs) {
        match job {
            Ok(job) => data.push(render(entry, &job)),
            Err(e) => return GatewayError::from(e).into_response(),
        }
    }
    let first = page.first().map(|e| e.id.clone());
    let last = page.last().map(|e| e.id.clone());
    Json(json!({"object": "list", "data": data, "has_more": has_more,
                "first_id": first, "last_id": last}))
    .into_response()
}

async fn cancel(Path(id): Path<String>) -> Response {
    GatewayError::bad_request(format!(
        "The gateway cannot cancel a batch ({id}): the runtime's batch API has no cancel"
    ))
    .code("unsupported")
    .into_response()
}

/// OpenAI's status name.
fn status(s: &BatchStatus) -> String {
    match s {
        BatchStatus::Validating => "validating",
        BatchStatus::InProgress => "in_progress",
        BatchStatus::Finalizing => "finalizing",
        BatchStatus::Completed => "completed",
        BatchStatus::Failed => "failed",
        BatchStatus::Expired => "expired",
        BatchStatus::Cancelling => "cancelling",
        BatchStatus::Cancelled => "cancelled",
        BatchStatus::Other(other) => other,
    }
    .to_owned()
}

/// OpenAI's batch object for `entry` in the state `job` reports.
fn render(entry: &BatchEntry, job: &BatchJob) -> Value {
    let done = job.status.is_done();
    let output = (done && (job.output.is_some() || job.counts.completed > 0))
        .then(|| entry.output_file_id());
    let errors = (done && (job.error_output.is_some() || job.counts.failed > 0))
        .then(|| entry.error_file_id());
    json!({
        "id": entry.id, "object": "batch", "endpoint": entry.endpoint, "errors": null,
        "input_file_id": entry.input_file_id, "completion_window": entry.completion_window,
        "status": status(&job.status), "output_file_id": output, "error_file_id": errors,
        "created_at": entry.created_at, "in_progress_at": null, "expires_at": null,
        "finalizing_at": null, "completed_at": null, "failed_at": null, "expired_at": null,
        "cancelling_at": null, "cancelled_at": null,
        "request_counts": {"total": job.counts.total, "completed": job.counts.completed,
                           "failed": job.counts.failed},
        "metadata": entry.metadata,
        "model": entry.model,
    })
}
