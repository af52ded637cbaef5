//! Google Gemini, on the Gemini API (`generativelanguage.googleapis.com`).

use crate::Provider;

/// The Gemini API (`x-goog-api-key` auth); `GEMINI_API_KEY` holds the key and
/// `GEMINI_BASE_URL` overrides the endpoint.
///
/// ```no_run
/// # async fn demo() -> llm_runtime::Result<()> {
/// use llm_runtime::{ChatRequest, EmbeddingRequest, providers::Gemini};
/// let gemini = Gemini::from_env()?;
/// let reply = gemini.chat(ChatRequest::new("gemini-2.5-flash").user("Hello")).await?;
/// let vectors = gemini.embed(EmbeddingRequest::new("gemini-embedding-001", ["Hello"])).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "gemini", docs = "https://ai.google.dev/api/generate-content",
           base_url = "https://generativelanguage.googleapis.com/v1beta",
           auth(header = "x-goog-api-key"), env = "GEMINI_API_KEY", base_url_env = "GEMINI_BASE_URL",
           capabilities(chat, stream, tools, vision, reasoning, embeddings, json_mode, images),
           default_model = "gemini-2.5-flash", dialect = gemini)]
pub struct Gemini;
