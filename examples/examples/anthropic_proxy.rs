//! A variant of a built-in dialect: Claude behind a company proxy, in a
//! declaration and a four-line JSON rewrite.
//!
//! `cargo run --example anthropic_proxy` (offline, on the loopback mock).
//!
//! The proxy speaks Anthropic's Messages API, but model ids carry a `corp-`
//! prefix it does not know, and every call names the team (`CORP_TEAM`).
//! The dialect sends `anthropic-version` itself.

use llm_runtime::provider::Operation;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, Provider, Result, provider::RequestContext};
use serde_json::{Value, json};

/// Claude through the company's LLM proxy.
#[derive(Debug, Default, Provider)]
#[provider(name = "corp_claude", base_url = "https://llm-proxy.corp.example/anthropic/v1",
           auth(header = "x-api-key"), env = "CORP_LLM_KEY", dialect = anthropic,
           capabilities(chat, stream, tools, vision), env_headers("x-corp-team" = "CORP_TEAM"),
           rewrite_json = Self::strip_prefix)]
struct CorpClaude;

impl CorpClaude {
    /// `corp-claude-sonnet-4-5` is `claude-sonnet-4-5` upstream.
    fn strip_prefix(&self, body: &mut Value, _: Operation, ctx: &RequestContext<'_>) -> Result<()> {
        body["model"] = ctx.model.trim_start_matches("corp-").into();
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    // Stand-in for the proxy: answers in the Messages format.
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/anthropic/v1/messages",
        MockResponse::json(
            200,
            json!({
                "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "Hello from behind the proxy."}],
                "stop_reason": "end_turn", "usage": {"input_tokens": 9, "output_tokens": 7}
            }),
        ),
    );

    // `CorpClaude::from_env()` reads CORP_LLM_KEY and CORP_TEAM; offline, the
    // team is set by hand when the variable is not exported.
    let mut config = CorpClaude::config()
        .api_key("corp-key")
        .base_url(format!("{}/anthropic/v1", mock.url()));
    if std::env::var_os("CORP_TEAM").is_none() {
        config = config.header("x-corp-team", "search");
    }
    let claude = config.with_env()?.connect()?;
    let reply = claude
        .chat(ChatRequest::new("corp-claude-sonnet-4-5").user("Hello"))
        .await?;
    println!("{} says: {}", reply.provider, reply.text());

    let sent = &mock.requests()[0];
    assert_eq!(sent.body_json()["model"], "claude-sonnet-4-5");
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("x-api-key"), Some("corp-key"));
    assert!(sent.header("x-corp-team").is_some());
    assert_eq!(reply.text(), "Hello from behind the proxy.");
    Ok(())
}
