//! Ollama, the local model server, on its native API (no key).

use crate::Provider;

/// Ollama's native API (`/api/chat`, NDJSON streaming), no key; `OLLAMA_BASE_URL`
/// overrides `http://localhost:11434` (a plain-http server on another host also
/// needs `.allow_http(true)`).
///
/// ```no_run
/// # async fn demo() -> llm_runtime::Result<()> {
/// use llm_runtime::{ChatRequest, providers::Ollama};
/// let ollama = Ollama::from_env()?;
/// let reply = ollama.chat(ChatRequest::new("llama3.2").user("Hello")).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "ollama", docs = "https://docs.ollama.com/api",
           base_url = "http://localhost:11434", auth = "none",
           base_url_env = "OLLAMA_BASE_URL", health = "GET /api/tags",
           capabilities(chat, stream, tools, vision, embeddings, reasoning, json_mode), dialect = ollama)]
pub struct Ollama;
