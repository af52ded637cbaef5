use serde::{Deserialize, Serialize};

use super::check::distinct_indices;
use super::usage::Usage;

/// A request for embeddings of one or more texts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbeddingRequest {
    /// The embedding model.
    pub model: String,
    /// The texts to embed.
    pub input: Vec<String>,
    /// The vector size, where the model lets you choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
}

impl EmbeddingRequest {
    /// Embed `input` with `model`.
    pub fn new<I, S>(model: impl Into<String>, input: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        EmbeddingRequest {
            model: model.into(),
            input: input.into_iter().map(Into::into).collect(),
            dimensions: None,
        }
    }

    /// Ask for vectors of `n` dimensions.
    pub fn dimensions(mut self, n: u32) -> Self {
        self.dimensions = Some(n);
        self
    }
}

/// One vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Embedding {
    /// Which input it belongs to.
    pub index: usize,
    /// The vector.
    pub vector: Vec<f32>,
}

/// The embeddings of a request, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbeddingResponse {
    /// The model that answered.
    pub model: String,
    /// The name of the provider that served it.
    pub provider: String,
    /// One vector per input, in input order.
    pub embeddings: Vec<Embedding>,
    /// Token usage, where reported.
    pub usage: Option<Usage>,
}

impl Embedding {
    /// The `vector` of input `index`.
    pub fn new(index: usize, vector: Vec<f32>) -> Self {
        Embedding { index, vector }
    }
}

impl EmbeddingResponse {
    /// An answer of `model` from `provider` (a native transform's parse); no usage.
    pub fn new(
        model: impl Into<String>,
        provider: impl Into<String>,
        embeddings: Vec<Embedding>,
    ) -> Self {
        EmbeddingResponse {
            model: model.into(),
            provider: provider.into(),
            embeddings,
            usage: None,
        }
    }

    /// This answer checked against a request of `inputs` texts, its vectors
    /// in input order: exactly one vector per input, each index in range and
    /// used once. A provider that answers two inputs with one vector (or
    /// numbers two vectors alike) has not answered what was asked, and a
    /// caller pairing inputs with vectors would pair them wrongly.
    ///
    /// # Errors
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode), naming the mismatch.
    ///
    /// ```
    /// use llm_runtime::{EmbeddingResponse, ErrorKind, types::Embedding};
    /// let answer = |indexes: &[usize]| {
    ///     let vectors = indexes.iter().map(|&index| Embedding::new(index, vec![0.5]));
    ///     EmbeddingResponse::new("m", "p", vectors.collect())
    /// };
    /// let ordered = answer(&[1, 0]).in_input_order(2).unwrap();
    /// assert_eq!(ordered.embeddings[0].index, 0);
    /// assert_eq!(answer(&[0]).in_input_order(2).unwrap_err().kind(), ErrorKind::Decode);
    /// assert_eq!(answer(&[0, 0]).in_input_order(2).unwrap_err().kind(), ErrorKind::Decode);
    /// assert_eq!(answer(&[0, 2]).in_input_order(2).unwrap_err().kind(), ErrorKind::Decode);
    /// ```
    pub fn in_input_order(mut self, inputs: usize) -> crate::error::Result<Self> {
        let mismatch = |what: String| {
            Err(crate::error::Error::decode(format!(
                "the embeddings answer does not match the request: {what}"
            )))
        };
        let indices = self.embeddings.iter().map(|e| e.index);
        if let Err(what) = distinct_indices(indices, inputs, "vector index", "input") {
            return mismatch(what);
        }
        if self.embeddings.len() != inputs {
            return mismatch(format!(
                "{inputs} input(s) were sent, {} vector(s) came back",
                self.embeddings.len()
            ));
        }
        self.embeddings.sort_by_key(|e| e.index);
        Ok(self)
    }
}
