//! How to test your own code against the loopback mock upstream: no network,
//! real HTTP, scripted answers, faults, and the requests your code sent.
//!
//! `cargo run --example testing`. In your crate, enable the feature in
//! `[dev-dependencies] llm-runtime = { version = "...", features = ["testing"] }`
//! and write the same lines inside `#[tokio::test]` functions.

use std::time::Duration;

use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{ChatRequest, ErrorKind, ProviderClient};
use serde_json::json;

/// The code under test: it summarises a text with whatever client it is given.
async fn summarize(client: &ProviderClient<OpenAi>, text: &str) -> llm_runtime::Result<String> {
    let reply = client
        .chat(
            ChatRequest::new("gpt-4o-mini")
                .system("Summarise in one line.")
                .user(text)
                .max_tokens(50),
        )
        .await?;
    Ok(reply.text())
}

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let mock = MockServer::start().await;
    let client = OpenAi::config()
        .api_key("test-key")
        .base_url(format!("{}/v1", mock.url()))
        .max_retries(0)
        .timeout(Duration::from_secs(2))
        .connect()?;

    // 1. Script an answer and check what your code sent.
    mock.on("POST", "/v1/chat/completions", MockResponse::json(200, json!({"id": "c1", "object": "chat.completion", "created": 1_756_000_000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "A short summary."}, "finish_reason": "stop"}]})));
    let summary = summarize(&client, "A very long text ...").await?;
    assert_eq!(summary, "A short summary.");
    let sent = &mock.requests()[0];
    assert_eq!(sent.body_json()["max_tokens"], 50);
    assert_eq!(sent.header("authorization"), Some("Bearer test-key"));
    println!("1. scripted answer: {summary:?}; the request carried max_tokens=50");

    // 2. Script a failure and check your code's error handling.
    mock.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(
            429,
            json!({"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}),
        )
        .header("retry-after", "3"),
    );
    let err = summarize(&client, "text")
        .await
        .expect_err("a 429 is an error");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    println!(
        "2. a 429 became {:?} with retry_after={:?}",
        err.kind(),
        err.retry_after()
    );

    // 3. Inject a transport fault.
    mock.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::fault(Fault::StallBeforeHeaders),
    );
    let err = summarize(&client, "text")
        .await
        .expect_err("a stall times out");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    println!(
        "3. a stalled upstream became {:?} after the 2 s bound",
        err.kind()
    );
    Ok(())
}
