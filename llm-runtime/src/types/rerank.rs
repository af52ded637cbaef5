use serde::{Deserialize, Serialize};

use super::check::distinct_indices;
use super::setters::setters;
use super::usage::Usage;
use crate::error::{Error, Result};

/// A request to rank documents by their relevance to a query (Cohere's
/// `/v2/rerank`, the format Jina, Voyage, Together and most servers follow).
///
/// ```
/// use llm_runtime::types::RerankRequest;
/// let request = RerankRequest::new("rerank-v3.5", "capital of France", ["Paris is...", "Berlin is..."])
///     .top_n(1)
///     .return_documents(true);
/// assert_eq!(request.documents.len(), 2);
/// assert_eq!(request.top_n, Some(1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RerankRequest {
    /// The rerank model.
    pub model: String,
    /// What the documents are ranked against.
    pub query: String,
    /// The documents, as texts.
    pub documents: Vec<String>,
    /// Keep only the `n` most relevant (all when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_n: Option<u32>,
    /// Return each ranked document's text with its score.
    #[serde(default)]
    pub return_documents: bool,
    /// Cut each document to this many tokens, where the API lets you choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens_per_doc: Option<u32>,
}

impl RerankRequest {
    /// Rank `documents` against `query` with `model`.
    pub fn new<I, S>(model: impl Into<String>, query: impl Into<String>, documents: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RerankRequest {
            model: model.into(),
            query: query.into(),
            documents: documents.into_iter().map(Into::into).collect(),
            ..RerankRequest::default()
        }
    }

    setters! {
        /// Keep only the `n` most relevant documents.
        top_n(n: u32) { top_n = Some(n) }
        /// Return the documents' texts with their scores.
        return_documents(yes: bool) { return_documents = yes }
        /// Cut each document to `n` tokens.
        max_tokens_per_doc(n: u32) { max_tokens_per_doc = Some(n) }
    }

    /// A request that cannot be sent as it is: no query or no documents.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest).
    pub fn validate(&self) -> Result<()> {
        if self.query.trim().is_empty() {
            return Err(Error::invalid_request("a rerank request needs a query"));
        }
        if self.documents.is_empty() {
            return Err(Error::invalid_request(
                "a rerank request needs at least one document",
            ));
        }
        if self.top_n == Some(0) {
            return Err(Error::invalid_request("top_n must be at least 1"));
        }
        Ok(())
    }
}

/// One ranked document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RerankResult {
    /// Its position in the request's `documents`.
    pub index: usize,
    /// How relevant it is (higher is more relevant).
    pub relevance_score: f64,
    /// Its text, when the request asked for documents back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
}

/// The documents of a rerank request, most relevant first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RerankResponse {
    /// The provider's id for the answer, where it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The model that answered.
    pub model: String,
    /// The name of the provider that served it.
    pub provider: String,
    /// The ranked documents, by descending relevance.
    pub results: Vec<RerankResult>,
    /// Token usage, where reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Billed search units (Cohere), where reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_units: Option<u32>,
    /// What the transport knows about the answer (not serialized).
    #[serde(skip)]
    pub meta: crate::types::ResponseMeta,
}

impl RerankResponse {
    /// This answer checked against `request`: each index in range and used
    /// once, at most `top_n` results, sorted by descending score, and the
    /// document texts filled in from the request when asked for and not
    /// returned.
    ///
    /// # Errors
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode), naming the mismatch.
    ///
    /// ```
    /// use llm_runtime::ErrorKind;
    /// use llm_runtime::types::{RerankRequest, RerankResponse, RerankResult};
    /// let request = RerankRequest::new("m", "q", ["a", "b"]).return_documents(true);
    /// let answer = |results: Vec<(usize, f64)>| RerankResponse {
    ///     id: None, model: "m".into(), provider: "p".into(), usage: None, search_units: None,
    ///     meta: Default::default(),
    ///     results: results.into_iter().map(|(index, relevance_score)| RerankResult {
    ///         index, relevance_score, document: None }).collect(),
    /// };
    /// let checked = answer(vec![(0, 0.1), (1, 0.9)]).checked(&request).unwrap();
    /// assert_eq!(checked.results[0].index, 1);
    /// assert_eq!(checked.results[0].document.as_deref(), Some("b"));
    /// assert_eq!(answer(vec![(2, 0.5)]).checked(&request).unwrap_err().kind(), ErrorKind::Decode);
    /// assert_eq!(answer(vec![(0, 0.5), (0, 0.4)]).checked(&request).unwrap_err().kind(), ErrorKind::Decode);
    /// ```
    pub fn checked(mut self, request: &RerankRequest) -> Result<Self> {
        let count = request.documents.len();
        let mismatch = |what: String| {
            Err(Error::decode(format!(
                "the rerank answer does not match the request: {what}"
            )))
        };
        let indices = self.results.iter().map(|r| r.index);
        if let Err(what) = distinct_indices(indices, count, "index", "document") {
            return mismatch(what);
        }
        if let Some(result) = self.results.iter().find(|r| !r.relevance_score.is_finite()) {
            return mismatch(format!("index {} has no finite score", result.index));
        }
        let most = request.top_n.map_or(count, |n| {
            usize::try_from(n).unwrap_or(usize::MAX).min(count)
        });
        if self.results.len() > most {
            return mismatch(format!(
                "{} results came back, at most {most} were asked for",
                self.results.len()
            ));
        }
        self.results
            .sort_by(|a, b| b.relevance_score.total_cmp(&a.relevance_score));
        if request.return_documents {
            for result in &mut self.results {
                if result.document.is_none() {
                    result.document = request.documents.get(result.index).cloned();
                }
            }
        }
        Ok(self)
    }
}
