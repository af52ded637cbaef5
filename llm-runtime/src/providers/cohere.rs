//! Cohere, on its v2 API.

use crate::Provider;

/// Cohere's v2 API (`COHERE_API_KEY`, `COHERE_BASE_URL`). The base URL is the
/// API root, as in Cohere's SDKs: chat and embeddings are under `/v2`, the model
/// list under `/v1`.
///
/// ```no_run
/// # async fn demo() -> llm_runtime::Result<()> {
/// use llm_runtime::{ChatRequest, providers::Cohere};
/// let cohere = Cohere::from_env()?;
/// let reply = cohere.chat(ChatRequest::new("command-a-03-2025").user("Hello")).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "cohere", docs = "https://docs.cohere.com/reference/chat",
           base_url = "https://api.cohere.com", auth = "bearer",
           env = "COHERE_API_KEY", base_url_env = "COHERE_BASE_URL", default_model = "command-a-03-2025",
           health = "GET /v1/models",
           capabilities(chat, stream, tools, vision, reasoning, embeddings, json_mode, rerank),
           dialect = cohere)]
pub struct Cohere;
