//! OpenAI chat completions (stub).
use crate::error::Result;
use crate::types::ModelInfo;

/// The OpenAI chat-completions dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiDialect;

/// Parse `{"data":[{"id":...}]}`.
pub fn parse_model_list(body: &[u8]) -> Result<Vec<ModelInfo>> {
    #[derive(serde::Deserialize)]
    struct List {
        data: Vec<ModelInfo>,
    }
    let list: List = serde_json::from_slice(body)?;
    Ok(list.data)
}
