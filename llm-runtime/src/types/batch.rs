use std::collections::{BTreeMap, HashSet};

use super::request::ChatRequest;
use super::response::ChatResponse;
use super::setters::setters;
use crate::error::{Error, Result};

/// One chat request of a batch, under the caller's id.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItem {
    /// The caller's id: the result comes back under it.
    pub custom_id: String,
    /// The request (its model included).
    pub request: ChatRequest,
}

/// Chat requests to run asynchronously, at batch prices (OpenAI's Batch API,
/// Anthropic's Message Batches).
///
/// ```
/// use llm_runtime::types::{BatchRequest, ChatRequest};
/// let batch = BatchRequest::new()
///     .item("q1", ChatRequest::new("gpt-4o-mini").user("2+2?"))
///     .item("q2", ChatRequest::new("gpt-4o-mini").user("3+3?"));
/// assert!(batch.validate().is_ok());
/// assert!(BatchRequest::new().item("a", ChatRequest::new("m").user("x"))
///     .item("a", ChatRequest::new("m").user("y")).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchRequest {
    /// The requests, each under its id.
    pub items: Vec<BatchItem>,
    /// How long the provider may take (OpenAI: `24h`).
    pub completion_window: Option<String>,
    /// Labels kept with the batch (OpenAI).
    pub metadata: BTreeMap<String, String>,
}

impl BatchRequest {
    /// An empty batch.
    pub fn new() -> Self {
        BatchRequest::default()
    }

    setters! {
        /// Add `request` under `custom_id`.
        item(custom_id: impl Into<String>, request: ChatRequest) {
            items.push(BatchItem { custom_id: custom_id.into(), request })
        }
        /// A label kept with the batch.
        metadata(key: impl Into<String>, value: impl Into<String>) {
            metadata.insert(key.into(), value.into())
        }
    }

    /// A batch that cannot be sent: no item, an empty or repeated id, a
    /// request without a model.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest), naming the item.
    pub fn validate(&self) -> Result<()> {
        if self.items.is_empty() {
            return Err(Error::invalid_request("a batch needs at least one request"));
        }
        let mut ids = HashSet::new();
        for item in &self.items {
            if item.custom_id.is_empty() {
                return Err(Error::invalid_request("a batch item needs a custom_id"));
            }
            if !ids.insert(item.custom_id.as_str()) {
                return Err(Error::invalid_request(format!(
                    "the custom_id `{}` appears twice in the batch",
                    item.custom_id
                )));
            }
            if item.request.model.is_empty() {
                return Err(Error::invalid_request(format!(
                    "the batch item `{}` names no model",
                    item.custom_id
                )));
            }
        }
        Ok(())
    }
}

/// Where a batch is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchStatus {
    /// The input is being checked.
    Validating,
    /// Requests are running.
    InProgress,
    /// The results are being written.
    Finalizing,
    /// Done: the results can be fetched.
    Completed,
    /// The input was refused.
    Failed,
    /// The window passed before every request ran (results may be partial).
    Expired,
    /// Being cancelled.
    Cancelling,
    /// Cancelled (results may be partial).
    Cancelled,
    /// A status this crate does not know, as the provider wrote it.
    Other(String),
}

impl BatchStatus {
    /// Whether the batch will not change any more.
    pub fn is_done(&self) -> bool {
        matches!(
            self,
            BatchStatus::Completed
                | BatchStatus::Failed
                | BatchStatus::Expired
                | BatchStatus::Cancelled
        )
    }
}

/// How many requests of a batch are where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchCounts {
    /// All requests.
    pub total: u32,
    /// Those that succeeded.
    pub completed: u32,
    /// Those that failed (errored, cancelled, expired).
    pub failed: u32,
}

/// A batch as the provider reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchJob {
    /// The provider's id for it.
    pub id: String,
    /// The name of the provider that runs it.
    pub provider: String,
    /// Where it is.
    pub status: BatchStatus,
    /// How many requests are where.
    pub counts: BatchCounts,
    /// Where the results are once done (OpenAI: the output file id;
    /// Anthropic: the results URL).
    pub output: Option<String>,
    /// Where the failed requests' errors are, when separate (OpenAI's error file).
    pub error_output: Option<String>,
    /// When it was created (Unix seconds), where reported.
    pub created_at: Option<u64>,
}

/// What became of one request of a batch.
#[derive(Debug)]
pub enum BatchResult {
    /// It ran: the answer, decoded as the chat call's answer is.
    Succeeded(Box<ChatResponse>),
    /// It failed, was cancelled or expired; or its result is missing.
    Failed(Error),
}

impl BatchResult {
    /// The answer, if it ran.
    pub fn response(&self) -> Option<&ChatResponse> {
        match self {
            BatchResult::Succeeded(response) => Some(response),
            BatchResult::Failed(_) => None,
        }
    }
}

/// One request's outcome, under the caller's id.
#[derive(Debug)]
pub struct BatchOutcome {
    /// The caller's id.
    pub custom_id: String,
    /// What became of it.
    pub result: BatchResult,
}

/// The results of a finished batch, one per request, in the request's order.
#[derive(Debug)]
pub struct BatchResults {
    /// The batch.
    pub job: BatchJob,
    /// One outcome per item of the request, in its order.
    pub outcomes: Vec<BatchOutcome>,
}

impl BatchResults {
    /// The outcome of the item with `custom_id`.
    pub fn get(&self, custom_id: &str) -> Option<&BatchResult> {
        self.outcomes
            .iter()
            .find(|o| o.custom_id == custom_id)
            .map(|o| &o.result)
    }
}

/// `outcomes` (as the provider listed them, in any order) matched to the
/// caller's ids, in the order of `ids`: an id without an outcome is a
/// [`ErrorKind::Decode`](crate::ErrorKind::Decode) failure naming it, and an
/// outcome for an id that was not sent is dropped.
pub fn match_outcomes<'a>(
    ids: impl IntoIterator<Item = &'a str>,
    outcomes: Vec<(String, BatchResult)>,
) -> Vec<BatchOutcome> {
    let mut by_id: BTreeMap<String, BatchResult> = BTreeMap::new();
    for (id, result) in outcomes {
        by_id.entry(id).or_insert(result);
    }
    ids.into_iter()
        .map(|id| BatchOutcome {
            custom_id: id.to_owned(),
            result: by_id.remove(id).unwrap_or_else(|| {
                BatchResult::Failed(Error::decode(format!(
                    "the batch results hold nothing for `{id}`"
                )))
            }),
        })
        .collect()
}
