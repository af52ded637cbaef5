use serde::{Deserialize, Serialize};

use super::usage::Usage;

/// A request for embeddings of one or more texts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
pub struct Embedding {
    /// Which input it belongs to.
    pub index: usize,
    /// The vector.
    pub vector: Vec<f32>,
}

/// The embeddings of a request, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
