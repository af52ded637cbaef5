//! Route `"provider/model"` through a `Client` with a fallback: when the first
//! provider fails with a retryable error, the next one answers.
//!
//! `cargo run --example fallback` (offline, two loopback mocks).

use llm_runtime::providers::{Groq, OpenAi};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, Client};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let down = MockServer::start().await;
    down.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(
            503,
            json!({"error": {"message": "overloaded", "type": "server_error"}}),
        ),
    );
    let up = MockServer::start().await;
    up.on("POST", "/v1/chat/completions", MockResponse::json(200, json!({"id": "g1", "object": "chat.completion", "created": 1_756_000_000, "model": "llama-3.3-70b-versatile",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Served by the fallback."}, "finish_reason": "stop"}]})));

    let client = Client::builder()
        .register(
            OpenAi::config()
                .api_key("demo")
                .base_url(format!("{}/v1", down.url()))
                .max_retries(1)
                .connect()?,
        )?
        .register(
            Groq::config()
                .api_key("demo")
                .base_url(format!("{}/v1", up.url()))
                .connect()?,
        )?
        .fallback("groq/llama-3.3-70b-versatile")
        .build()?;

    let reply = client
        .chat("openai/gpt-4o-mini", ChatRequest::new("").user("Hi"))
        .await?;
    println!(
        "{} (provider {}, model {})",
        reply.text(),
        reply.provider,
        reply.model
    );
    println!(
        "openai got {} requests (1 + 1 retry), groq got {}",
        down.request_count(),
        up.request_count()
    );
    assert_eq!(reply.provider, "groq");
    Ok(())
}
