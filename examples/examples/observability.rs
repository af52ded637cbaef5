//! A hook that logs the cost and latency of every call, and the metadata a
//! reply carries (request id, rate limits, attempts), offline on the mock.
//!
//! ```text
//! cargo run --example observability
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use llm_runtime::hooks::{AttemptFailure, Completion, Hook};
use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatOptions, ChatRequest, retry::RetryPolicy};
use serde_json::json;

/// Logs each call's end and each failed attempt; sums the cost in micro-dollars.
#[derive(Default)]
struct CostLog {
    micro_usd: AtomicU64,
}

impl Hook for CostLog {
    fn on_error(&self, failure: &AttemptFailure<'_>) {
        println!(
            "  attempt {} of {} failed: {} (retry in {:?})",
            failure.attempt,
            failure.provider,
            failure.error.kind(),
            failure.retry_in
        );
    }

    fn on_complete(&self, done: &Completion<'_>) {
        let cost = done.cost.unwrap_or(0.0);
        self.micro_usd
            .fetch_add((cost * 1e6).round() as u64, Ordering::Relaxed);
        let usage = done
            .usage
            .map_or_else(|| "usage not reported".to_owned(), |u| u.to_string());
        println!(
            "  {}/{}: {usage}, ${cost:.6}, {} ms, {} attempt(s)",
            done.provider,
            done.model,
            done.latency.as_millis(),
            done.attempts
        );
    }
}

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let mock = MockServer::start().await;
    let answer = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_756_000_000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    });
    mock.on_sequence(
        "POST",
        "/v1/chat/completions",
        vec![
            MockResponse::json(503, json!({"error": {"message": "busy"}})),
            MockResponse::json(200, answer)
                .header("x-request-id", "req_demo")
                .header("x-ratelimit-remaining-requests", "59")
                .header("x-ratelimit-limit-requests", "60"),
        ],
    );
    let log = Arc::new(CostLog::default());
    let openai = OpenAi::config()
        .api_key("sk-offline-demo")
        .base_url(format!("{}/v1", mock.url()))
        .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_millis(20)))
        .hook(log.clone())
        .connect()?;

    println!("A chat whose first attempt gets a 503:");
    let opts = ChatOptions::new().header("x-tenant", "demo");
    let reply = openai
        .chat_with(ChatRequest::new("gpt-4o-mini").user("Hi"), &opts)
        .await?;
    let meta = &reply.meta;
    println!("reply     > {}", reply.text());
    println!(
        "metadata  > request id {}, {} of {} requests left, {} attempts",
        meta.request_id.as_deref().unwrap_or("none"),
        meta.rate_limits
            .requests
            .and_then(|r| r.remaining)
            .unwrap_or(0),
        meta.rate_limits.requests.and_then(|r| r.limit).unwrap_or(0),
        meta.attempts
    );
    let spent = log.micro_usd.load(Ordering::Relaxed);
    println!("total     > ${:.6}", spent as f64 / 1e6);
    assert_eq!(reply.meta.attempts, 2, "the 503 was retried");
    assert_eq!(mock.requests()[1].header("x-tenant"), Some("demo"));
    Ok(())
}
