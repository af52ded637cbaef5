//! Anthropic, on the Messages API.

use crate::Provider;

/// Anthropic's Messages API (`x-api-key` auth; the dialect sends `anthropic-version`);
/// `ANTHROPIC_API_KEY` holds the key and `ANTHROPIC_BASE_URL` overrides the endpoint.
///
/// ```no_run
/// # async fn demo() -> llm_runtime::Result<()> {
/// use llm_runtime::{ChatRequest, providers::Anthropic};
/// let claude = Anthropic::from_env()?;
/// let reply = claude.chat(ChatRequest::new("claude-sonnet-4-5").system("Be brief.").user("Hello")).await?;
/// println!("{}", reply.text());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "anthropic", docs = "https://docs.anthropic.com/en/api/messages",
           base_url = "https://api.anthropic.com/v1",
           auth(header = "x-api-key"), env = "ANTHROPIC_API_KEY", base_url_env = "ANTHROPIC_BASE_URL",
           capabilities(chat, stream, tools, vision, reasoning, batch),
           default_model = "claude-sonnet-4-5", dialect = anthropic)]
pub struct Anthropic;
